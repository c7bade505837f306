"""The evaluation sets, read in place from ``../shared/data`` (archives read in memory).

Each loader yields :class:`Doc` records: raw page bytes plus either the snippet
expectations of trafilatura's evaluation (``with``/``without``) or a gold main text.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from lxml import html as lxml_html

__all__ = ["DATASETS", "Doc", "data_dir", "load"]

_REPO = Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """``$NEWSINGEST_SHARED_DIR/data``, default ``<repo>/../shared/data``."""
    return Path(os.environ.get("NEWSINGEST_SHARED_DIR", _REPO.parent / "shared")).resolve() / "data"


@dataclass
class Doc:
    """One evaluation page."""

    id: str
    body: bytes
    url: str = ""
    gold: str | None = None
    with_: list[str] = field(default_factory=list)
    without: list[str] = field(default_factory=list)


def _members(archive: Path) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    with tarfile.open(archive, "r:xz") as tar:
        for m in tar:
            fh = tar.extractfile(m) if m.isfile() else None
            if fh is not None:
                out[m.name] = fh.read()
    return out


def trafilatura_eval() -> Iterator[Doc]:
    """990 pages with snippets that must / must not appear (trafilatura's own benchmark)."""
    base = data_dir() / "trafilatura-eval"
    evaldata = json.loads((base / "evaldata.json").read_text("utf-8"))
    pages = {Path(k).name: v for k, v in _members(base / "html.tar.xz").items()}
    for url, item in evaldata.items():
        body = pages.get(item["file"])
        if body is not None:
            yield Doc(item["file"], body, url, with_=list(item["with"]), without=list(item["without"]))


_CLEANEVAL_MARK = re.compile(r"<(?:p|h|l)>", re.IGNORECASE)


def _cleaneval_gold(raw: bytes) -> str:
    text = raw.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if lines and lines[0].startswith("URL:"):
        lines = lines[1:]
    return _CLEANEVAL_MARK.sub("\n", "\n".join(lines))


def _l3s_gold(raw: bytes) -> str:
    """L3S-GN1 gold: text of the spans annotated ``x-nc-sel2`` (the article's full text)."""
    tree = lxml_html.fromstring(raw)
    return "\n".join(el.text_content() for el in tree.xpath("//*[contains(@class,'x-nc-sel2')]"))


def _paired(archive: str, gold_of: type | object) -> Iterator[Doc]:
    members = _members(data_dir() / "html-cleaning-merged" / archive)
    inputs = {Path(k).stem: v for k, v in members.items() if "/input/" in k}
    golds = {Path(k).stem: v for k, v in members.items() if "/GoldStandard/" in k}
    for stem in sorted(inputs):
        if stem in golds:
            yield Doc(f"{archive.split('.', maxsplit=1)[0]}/{stem}", inputs[stem], gold=gold_of(golds[stem]))  # type: ignore[operator]


def l3s_gn1() -> Iterator[Doc]:
    """L3S-GN1 (Google News, 621 pages), from the page-signal mirror."""
    return _paired("page-signal-master.tar.xz", _l3s_gold)


def cleaneval() -> Iterator[Doc]:
    """CleanEval final (681 pages with gold)."""
    return _paired("cleaneval-final.tar.xz", _cleaneval_gold)


def dragnet() -> Iterator[Doc]:
    """Dragnet (1,381 pages)."""
    return _paired("dragnet_data.tar.xz", lambda raw: raw.decode("utf-8", errors="replace"))


def fundus() -> Iterator[Doc]:
    """Fundus evaluation: 80 English news pages with paragraph ground truth."""
    base = data_dir() / "fundus-evaluation"
    truth = json.loads((base / "ground_truth.json").read_text("utf-8"))
    for name in sorted(truth):
        item = truth[name]
        body = gzip.decompress((base / "html" / name).read_bytes())
        yield Doc(name, body, item.get("url") or "", gold="\n".join(item["body"]))


DATASETS = {
    "trafilatura-eval": trafilatura_eval,
    "l3s-gn1": l3s_gn1,
    "cleaneval": cleaneval,
    "dragnet": dragnet,
    "fundus": fundus,
}


def load(name: str, limit: int | None = None) -> list[Doc]:
    """The first ``limit`` docs of one dataset, bodies in memory."""
    docs: list[Doc] = []
    for doc in DATASETS[name]():
        docs.append(doc)
        if limit is not None and len(docs) >= limit:
            break
    return docs
