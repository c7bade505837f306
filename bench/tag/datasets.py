"""Loaders for the tagging benchmark, reading ``../shared/data`` in place.

Nothing here is copied into the repository: archives are read with :mod:`tarfile` and
``lzma`` straight from the shared folder; only our own labels live in ``labels/``.
"""

from __future__ import annotations

import json
import lzma
import os
import re
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from html import unescape as html_unescape
from pathlib import Path

__all__ = [
    "LABELS",
    "Doc",
    "Span",
    "english_dev",
    "english_web",
    "load_labels",
    "ner_docs",
    "re3d_docs",
    "saudinewsnet",
    "shared_data",
]

REPO = Path(__file__).resolve().parents[2]
LABELS = Path(__file__).resolve().parent / "labels"

# NewsFANE classes that are places (geo-political, natural, airports); buildings, roads and
# (oddly) car models under "Land" are not.
NEWSFANE_LOC = frozenset(
    {
        "Nation",
        "Population-Center",
        "State-or-Province",
        "County-or-District",
        "GPE-Cluster",
        "Water-Body",
        "Land-Region-Natural",
        "Airport",
    }
)


def shared_data() -> Path:
    """``$NEWSINGEST_SHARED_DIR/data`` or ``<repo>/../shared/data``."""
    return Path(os.environ.get("NEWSINGEST_SHARED_DIR", REPO.parent / "shared")).resolve() / "data"


@dataclass(slots=True)
class Span:
    """A gold span in character offsets of :attr:`Doc.text`."""

    start: int
    end: int
    label: str
    value: str


@dataclass(slots=True)
class Doc:
    """A document with gold spans."""

    id: str
    title: str | None
    text: str
    spans: list[Span] = field(default_factory=list)


def _json_lines(raw: bytes) -> Iterator[dict[str, object]]:
    for line in raw.decode("utf-8").splitlines():
        if line.strip():
            yield json.loads(line)


def re3d_docs() -> list[Doc]:
    """The 98 re3d documents with their gold entity spans (offsets into ``text``)."""
    docs: dict[str, Doc] = {}
    spans: list[dict[str, object]] = []
    with tarfile.open(shared_data() / "dstl-re3d-syria-iraq-entities" / "re3d.tar.xz", "r:xz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            f = tar.extractfile(member) if member.isfile() else None
            if f is None:
                continue
            if member.name.endswith("/documents.json"):
                for d in _json_lines(f.read()):
                    docs[str(d["_id"])] = Doc(str(d["_id"]), str(d.get("title") or ""), str(d["text"]))
            elif member.name.endswith("/entities.json"):
                spans.extend(_json_lines(f.read()))
    for s in spans:
        doc = docs.get(str(s["documentId"]))
        if doc is not None:
            doc.spans.append(Span(int(s["begin"]), int(s["end"]), str(s["type"]), str(s["value"])))  # type: ignore[call-overload]
    return list(docs.values())


def _sentences_newsfane(raw: str) -> Iterator[list[tuple[str, str]]]:
    sent: list[tuple[str, str]] = []
    for raw_line in raw.splitlines():
        line = raw_line.replace("\ufeff", "").strip("\r")
        if not line.strip():
            if sent:
                yield sent
            sent = []
            continue
        parts = line.split("\t")
        tok, tag = parts[0].replace("\u200e", "").strip(), parts[-1].strip()
        if tok:
            sent.append((tok, tag))
    if sent:
        yield sent


def _sentences_anercorp(raw: str) -> Iterator[list[tuple[str, str]]]:
    sent: list[tuple[str, str]] = []
    for line in raw.splitlines():
        parts = line.split()
        if not parts:
            if sent:
                yield sent
            sent = []
            continue
        sent.append((parts[0], parts[-1]))
    if sent:
        yield sent


def ner_docs(corpus: str, sentences_per_doc: int = 10) -> list[Doc]:
    """NewsFANE or ANERcorp as pseudo-documents of ``sentences_per_doc`` sentences.

    The corpora have no document boundaries; tokens are joined with spaces, sentences with
    newlines.  Gold spans are the location classes (see :data:`NEWSFANE_LOC`; ``LOC`` for
    ANERcorp) in character offsets of the joined text.
    """
    base = shared_data() / "arabic-ner-newsfane-anercorp"
    if corpus == "newsfane":
        with lzma.open(base / "NewsFANE_Gold_2014_170K.txt.xz", "rt", encoding="utf-8") as f:
            raw = f.read()
        sents = list(_sentences_newsfane(raw))
    else:
        with lzma.open(base / "ANERCorp_CamelLab_test.txt.xz", "rt", encoding="utf-8") as f:
            raw = f.read()
        sents = list(_sentences_anercorp(raw))
    docs: list[Doc] = []
    for d0 in range(0, len(sents), sentences_per_doc):
        text_parts: list[str] = []
        spans: list[Span] = []
        pos = 0
        cur: list[int] | None = None  # [start, end, label]
        cur_label = ""
        for sent in sents[d0 : d0 + sentences_per_doc]:
            for tok, tag in sent:
                start = pos
                text_parts.append(tok)
                pos += len(tok)
                kind = tag[2:] if tag[:2] in ("B-", "I-") else ""
                if tag.startswith("I-") and cur is not None and kind == cur_label:
                    cur[1] = pos
                else:
                    if cur is not None:
                        spans.append(Span(cur[0], cur[1], cur_label, ""))
                        cur = None
                    if tag.startswith("B-"):
                        cur, cur_label = [start, pos], kind
                text_parts.append(" ")
                pos += 1
            if cur is not None:
                spans.append(Span(cur[0], cur[1], cur_label, ""))
                cur = None
            text_parts[-1] = "\n"
        text = "".join(text_parts)
        keep = NEWSFANE_LOC if corpus == "newsfane" else frozenset({"LOC"})
        gold = [Span(s.start, s.end, s.label, text[s.start : s.end]) for s in spans if s.label in keep]
        docs.append(Doc(f"{corpus}-{d0 // sentences_per_doc}", None, text, gold))
    return docs


def saudinewsnet() -> dict[str, dict[str, str]]:
    """SaudiNewsNet articles by url (first occurrence wins)."""
    arts: dict[str, dict[str, str]] = {}
    with tarfile.open(shared_data() / "saudinewsnet" / "saudinewsnet-dev.tar.xz", "r:xz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            f = tar.extractfile(member) if member.isfile() and member.name.endswith(".json") else None
            if f is None:
                continue
            for a in json.load(f):
                arts.setdefault(a["url"], a)
    return arts


def load_labels(name: str) -> list[list[str]]:
    """Rows of a tab-separated label file (comments skipped)."""
    rows = []
    for line in (LABELS / name).read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            rows.append(line.split("\t"))
    return rows


def english_dev(name: str = "english_dev.jsonl") -> list[dict[str, object]]:
    """Our own short English relevance texts (written for this bench, with grades)."""
    lines = (LABELS / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


# Syria-related words that put an English web text in the relevance pool (as draw.py's KEYWORDS for Arabic).
ENGLISH_KEYWORDS = re.compile(
    r"\bSyria|\bAssad\b|\bDamascus\b|\bAleppo\b|\bISIS\b|\bISIL\b|Islamic State|\bHoms\b|\bIdlib\b|\bRaqqa"
)
_CLEANEVAL_MARK = re.compile(r"^\s*<[phl]>", re.MULTILINE)


def _html_text(raw: bytes, xpath: str = "//body") -> str:
    from lxml import html

    root = html.fromstring(raw.decode("utf-8", "replace"))
    return "\n".join(" ".join(el.text_content().split()) for el in root.xpath(xpath)).strip()


def _is_english(text: str) -> bool:
    """At least two of every hundred words are "the" (the Readability tests include Spanish pages)."""
    words = text.lower().split()
    return bool(words) and words.count("the") * 50 >= len(words)


_GOLD_ARCHIVES = ("dragnet_data", "cleaneval-dev", "cleaneval-final", "page-signal-master", "readability")


def _gold_texts(archives: Iterable[str], *, strip_bom: bool) -> Iterator[tuple[str, str | None, str]]:
    """``(<archive>/<file>, title, text)`` of each gold text in html-cleaning-merged's ``archives``.

    ``strip_bom`` drops a leading BOM and blank lines before CleanEval's ``URL:`` line: the first
    English sample was drawn (and labelled) without it, so it keeps that line on such pages.
    """
    base = shared_data() / "html-cleaning-merged"
    for archive in archives:
        with tarfile.open(base / f"{archive}.tar.xz", "r:xz") as tar:
            for member in sorted(tar.getmembers(), key=lambda m: m.name):
                f = tar.extractfile(member) if member.isfile() and "/GoldStandard/" in member.name else None
                if f is None:
                    continue
                raw = f.read()
                title: str | None = None
                if archive == "page-signal-master":  # L3S-GN1 labels: sel1 headline, sel2 full text
                    title = _html_text(raw, "//*[contains(@class, 'x-nc-sel1')]") or None
                    text = _html_text(raw, "//*[contains(@class, 'x-nc-sel2')]")
                elif archive == "readability":
                    text = _html_text(raw, "//body")
                else:
                    text = raw.decode("utf-8", "replace")
                    if archive.startswith(("cleaneval", "CleanPortal")):
                        if strip_bom:
                            text = text.lstrip("\ufeff\n ")
                        text = _CLEANEVAL_MARK.sub("", text.split("\n", 1)[1] if text.startswith("URL:") else text)
                    if archive == "CleanPortalEval-master":  # written with HTML entities
                        text = html_unescape(text)
                yield f"{archive}/{member.name.rsplit('/', 1)[1]}", title, text


def english_web() -> list[Doc]:
    """English gold main texts of the extraction benchmarks that mention Syria-related words.

    The texts are the human gold extractions of ``html-cleaning-merged`` (Dragnet 2012 news,
    CleanEval 2007 web pages, L3S-GN1 2008 Google News with its headline and full-text labels,
    Readability tests) and ``fundus-evaluation``; a text enters when :data:`ENGLISH_KEYWORDS`
    matches it.  Ids are ``<set>/<file>``.
    """
    docs = [
        Doc(doc_id, title, text.strip())
        for doc_id, title, text in _gold_texts(_GOLD_ARCHIVES, strip_bom=False)
        if ENGLISH_KEYWORDS.search(f"{title or ''}\n{text}") and _is_english(text)
    ]
    truth = json.loads((shared_data() / "fundus-evaluation" / "ground_truth.json").read_text(encoding="utf-8"))
    for name in sorted(truth):
        text = "\n".join(truth[name].get("body") or [])
        if ENGLISH_KEYWORDS.search(text) and _is_english(text):
            docs.append(Doc(f"fundus/{name}", None, text))
    return docs


# Middle East words that put a text already outside the first English sample into the second one: the
# hard negatives (Iraq, Iran, Hezbollah, Turkey, refugees without Syria) and any Syrian text the first
# keyword list missed.
MIDEAST_WORDS = re.compile(
    r"\b(?:Iraq|Iran|Lebanon|Hezbollah|Hizbollah|Kurd|Turkey|Turkish|Jordan|Israel|Golan|Baghdad|Beirut|Mosul|"
    r"refugee|Qaeda|jihad|Islamist|Middle East|Euphrates|Palmyra|Alawite|Baath|Damascus|Syria|Assad|Aleppo|"
    r"ISIS|ISIL|Islamic State|Isis)"
)
_MIDEAST_BYTES = re.compile(MIDEAST_WORDS.pattern.encode())


def _feed_items(archive: str, member: str) -> Iterator[Doc]:
    """Items of one RSS feed in a fixture archive: title, and the description's text as the text."""
    from lxml import etree, html

    with tarfile.open(shared_data() / "feed-parser-fixtures" / archive, "r:xz") as tar:
        f = tar.extractfile(member)
        assert f is not None
        root = etree.fromstring(f.read())
    for item in root.iter("item"):
        desc = item.findtext("description") or ""
        paras = html.fromstring(f"<div>{desc}</div>").xpath("//p")
        text = "\n".join(" ".join(p.text_content().split()) for p in paras if p.text_content().strip())
        text = "\n".join(line for line in text.splitlines() if not line.startswith(("Related:", "Continue reading")))
        yield Doc(f"guardian-rss/{item.findtext('link')}", (item.findtext("title") or "").strip(), text)


def english_news(seed: int = 31, n_mideast: int = 25) -> list[Doc]:
    """The second English relevance sample, disjoint from :func:`english_web` (ids ``<set>/<file or url>``).

    - every item of the Guardian world-news RSS fixture (feed-parser-fixtures, 55 items, January 2018);
    - every English gold text of CleanPortalEval (BBC, WSJ Brussels blog, MSNBC, Washington Post blogs);
    - ``n_mideast`` gold texts of the other html-cleaning-merged sets that are not in the first sample
      but match :data:`MIDEAST_WORDS`, drawn with ``random.Random(seed)``;
    - the English trafilatura-eval pages matching :data:`MIDEAST_WORDS` (text by trafilatura).
    """
    import random

    docs = list(_feed_items("rss-parser.tar.xz", "rss-parser/test/input/guardian.rss"))
    first = {row[0] for row in load_labels("english_web_relevance.tsv")}  # every text english_web() yields
    pool: list[Doc] = []
    for doc_id, title, text in _gold_texts(("CleanPortalEval-master", *_GOLD_ARCHIVES), strip_bom=True):
        doc = Doc(doc_id, title, text.strip())
        if doc.id in first or not _is_english(text):
            continue
        if doc_id.startswith("CleanPortalEval-master/"):
            docs.append(doc)
        elif MIDEAST_WORDS.search(f"{title or ''}\n{text}"):
            pool.append(doc)
    docs.extend(random.Random(seed).sample(pool, n_mideast))
    import trafilatura

    with tarfile.open(shared_data() / "trafilatura-eval" / "html.tar.xz", "r:xz") as tar:
        for member in sorted(tar.getmembers(), key=lambda m: m.name):
            f = tar.extractfile(member) if member.isfile() else None
            if f is None:
                continue
            raw = f.read()
            if not _MIDEAST_BYTES.search(raw):
                continue
            text = trafilatura.extract(raw.decode("utf-8", "replace")) or ""
            if _is_english(text) and MIDEAST_WORDS.search(text):
                docs.append(Doc(f"trafilatura-eval/{member.name.rsplit('/', 1)[1]}", None, text))
    return docs
