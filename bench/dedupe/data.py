"""Readers for the dedupe benchmark sets, in place under ``../shared/data``.

Nothing is copied into the repository; archives are streamed with :mod:`tarfile`.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Doc", "ans_pairs", "data_dir", "english_docs", "saudinewsnet"]

_REPO = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """``$NEWSINGEST_SHARED_DIR/data`` or ``<repo>/../shared/data``."""
    return Path(os.environ.get("NEWSINGEST_SHARED_DIR", _REPO.parent / "shared")) / "data"


@dataclass(frozen=True, slots=True)
class Doc:
    """One article of a benchmark corpus."""

    id: str
    url: str
    source: str
    title: str
    text: str
    fetched_at: str


def saudinewsnet() -> list[Doc]:
    """All SaudiNewsNet articles in crawl order (file by file)."""
    docs: list[Doc] = []
    path = data_dir() / "saudinewsnet" / "saudinewsnet-dev.tar.xz"
    with tarfile.open(path, "r:xz") as tf:
        for member in tf:
            f = tf.extractfile(member)
            if f is None:
                continue
            for a in json.load(f):
                stamp = str(a.get("date_extracted") or "2015-07-21 00:00:00").replace(" ", "T") + "Z"
                docs.append(Doc(f"snn{len(docs)}", a["url"], a["source"], a["title"] or "", a["content"], stamp))
    return docs


def ans_pairs() -> list[tuple[str, str, str]]:
    """All ANS stance pairs ``(s1, s2, stance)`` from train, dev and test (nothing is trained)."""
    out: list[tuple[str, str, str]] = []
    for split in ("train", "dev", "test"):
        path = data_dir() / "ans-arabic-news-stance" / "stance" / f"{split}.csv"
        with path.open(encoding="utf-8") as f:
            out.extend((r["s1"], r["s2"], r["stance"]) for r in csv.DictReader(f))
    return out


def english_docs(min_words: int = 80) -> list[Doc]:
    """English news texts: fundus ground truth bodies and Dragnet gold texts."""
    docs: list[Doc] = []
    truth = json.loads((data_dir() / "fundus-evaluation" / "ground_truth.json").read_text(encoding="utf-8"))
    for name, item in sorted(truth.items()):
        text = "\n".join(item.get("body") or [])
        url = str(item.get("url") or f"https://fundus.example/{name}")
        docs.append(Doc(f"fundus:{name}", url, "fundus", str(item.get("headline") or name), text, ""))
    with tarfile.open(data_dir() / "html-cleaning-merged" / "dragnet_data.tar.xz", "r:xz") as tf:
        for member in tf:
            if "/GoldStandard/" not in member.name or not member.isfile():
                continue
            f = tf.extractfile(member)
            if f is None:
                continue
            raw = f.read()
            if raw[:2] == b"\x1f\x8b":
                raw = gzip.decompress(raw)
            text = raw.decode("utf-8", errors="replace").strip()
            lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
            title = next((ln for ln in lines if len(ln.split()) >= 4), "")
            stem = Path(member.name).stem
            docs.append(Doc(f"dragnet:{stem}", f"https://dragnet.example/{stem}", "dragnet", title, text, ""))
    return [d for d in docs if len(d.text.split()) >= min_words]
