"""The gazetteer: places, demonyms, actors and topics read from ``services/tag/data``.

The data files are plain tab-separated text so that reviewers can diff them and the
tagger version can carry their hash.  Every alias is folded with
:func:`services.text.arabic.fold_for_matching`, so the same fold applies to names and to
article text.  Arabic aliases also get their clitic forms: the proclitics و ف ب ل ك (and
pairs such as وب، فل) are accepted in front of a name at match time, and a name that starts
with the article ال also gets its لل form (ل + ال is written «للرقة»).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from services.tag.errors import GazetteerError
from services.text.arabic import fold_for_matching

__all__ = [
    "DATA_DIR",
    "AliasRef",
    "Entry",
    "Gazetteer",
    "data_hash",
    "load_gazetteer",
]

DATA_DIR = Path(__file__).resolve().parent / "data"
_FILES = ("places.tsv", "demonyms.tsv", "actors.tsv", "topics.tsv", "stop.tsv")

_ARABIC = re.compile("[\u0600-\u06ff]")
_SPACES = re.compile(r"\s+")

# Proclitics that may stick to any Arabic name: conjunctions و/ف, prepositions ب/ل/ك.
PREFIXES = frozenset({"", "و", "ف", "ب", "ل", "ك", "وب", "ول", "وك", "فب", "فل", "فك"})
# A name written with the article: ل + ال becomes لل, which only و/ف may precede.
PREFIXES_LL = frozenset({"", "و", "ف"})
# Topic words (غارات, لاجئين) also take the article itself and its combinations.
PREFIXES_ARTICLE = PREFIXES | frozenset({"ال", "وال", "فال", "بال", "كال", "وبال", "لل", "ولل", "فلل"})
_LATIN_ONLY = frozenset({""})

CASE_ANY, CASE_CAPITAL, CASE_EXACT = 0, 1, 2


@dataclass(slots=True)
class Entry:
    """One gazetteer entity (a place, a demonym, an actor or a topic)."""

    id: str
    kind: str  # "place" | "demonym" | "actor" | "topic" | "stop"
    name: str
    name_ar: str | None
    type: str
    country: str | None = None
    governorate: str | None = None
    wikidata: str | None = None
    lat: float | None = None
    lon: float | None = None
    flags: frozenset[str] = frozenset()
    scope: str | None = None  # actors: S (Syria-specific), J (jihadist), F (foreign)

    @property
    def syrian(self) -> bool:
        """Whether the entity is in Syria (places, demonyms)."""
        return self.country == "SY"


@dataclass(frozen=True, slots=True)
class AliasRef:
    """How one folded alias points at one entry, with the checks its match must pass.

    ``context`` is what the match needs besides its own letters: ``""`` nothing, ``"c"``
    other Syrian evidence in the article or a place word next to it, ``"t"`` a place word,
    ``"p"`` a fuller name of the same entity elsewhere in the article (الأسد after بشار الأسد).
    """

    entry: int
    raw: str
    case: int
    prefixes: frozenset[str]
    context: str = ""
    kind: str = ""
    country: str | None = None
    # Unambiguous Syrian evidence (supports context-flagged names elsewhere in the article).
    anchor: bool = False
    # A place or demonym of another country.
    foreign_geo: bool = False


_ALIAS_FLAGS = re.compile(r"\{([A-Za-z]*)\}$")


def _context(flags: Iterable[str], arabic: bool) -> str:
    """Effective context need: lower-case flags apply to every alias, upper-case to Arabic only."""
    f = set(flags)
    if "p" in f or (arabic and "P" in f):
        return "p"
    if "t" in f or (arabic and "T" in f):
        return "t"
    if "c" in f or (arabic and "C" in f):
        return "c"
    return ""


@dataclass(slots=True)
class Gazetteer:
    """All entries, and for each folded alias the entries it may name."""

    entries: list[Entry] = field(default_factory=list)
    aliases: dict[str, list[AliasRef]] = field(default_factory=dict)

    def add_alias(self, raw: str, entry: int, *, article: bool = False) -> None:
        """Register ``raw`` (and its Arabic clitic forms) as a name of ``entries[entry]``.

        A trailing ``{flags}`` on an alias adds flags for that alias only, for names that
        are ordinary words in one spelling (الأسد "the lion") but not in another (Assad).
        """
        raw = raw.strip()
        extra = ""
        if m := _ALIAS_FLAGS.search(raw):
            extra, raw = m.group(1), raw[: m.start()].strip()
        if not raw or raw == "-":
            return
        e = self.entries[entry]
        flags = set(e.flags) | set(extra)
        folded = _SPACES.sub(" ", fold_for_matching(raw)[0]).strip()
        arabic = bool(_ARABIC.search(folded))
        ctx = _context(flags, arabic=arabic)
        geo = e.kind in ("place", "demonym")
        anchor = not ctx and (
            (geo and e.country == "SY" and not flags & {"w", "x"}) or (e.kind == "actor" and e.scope == "S")
        )
        foreign = geo and e.country not in (None, "SY")
        if arabic:
            prefixes = PREFIXES_ARTICLE if article else PREFIXES
            self._put(folded, AliasRef(entry, raw, CASE_ANY, prefixes, ctx, e.kind, e.country, anchor, foreign))
            if folded.startswith("ال") and len(folded) > 3:
                ref = AliasRef(entry, raw, CASE_ANY, PREFIXES_LL, ctx, e.kind, e.country, anchor, foreign)
                self._put("لل" + folded[2:], ref)
            return
        letters = [c for c in raw if c.isalpha()]
        if letters and all(c.isupper() for c in letters) and len(letters) <= 5:
            case = CASE_EXACT  # acronyms: IS, US, SDF are words in lower case
        elif any(c.isupper() for c in letters):
            case = CASE_CAPITAL  # proper names: Turkey, not turkey
        else:
            case = CASE_ANY
        self._put(folded, AliasRef(entry, raw, case, _LATIN_ONLY, ctx, e.kind, e.country, anchor, foreign))

    def _put(self, key: str, ref: AliasRef) -> None:
        refs = self.aliases.setdefault(key, [])
        if all(not (r.entry == ref.entry and r.case == ref.case and r.raw == ref.raw) for r in refs):
            refs.append(ref)


def _rows(path: Path, width: int) -> Iterable[list[str]]:
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) < 2:
            raise GazetteerError(f"{path.name}:{lineno}: expected tab-separated columns")
        yield (cols + [""] * width)[:width]


def _opt(value: str) -> str | None:
    value = value.strip()
    return None if value in ("", "-") else value


def _float(value: str) -> float | None:
    v = _opt(value)
    return None if v is None else float(v)


def _split(value: str) -> list[str]:
    return [a for a in (s.strip() for s in value.split(";")) if a]


def load_gazetteer(data_dir: Path = DATA_DIR) -> Gazetteer:
    """Read the data files into a :class:`Gazetteer`."""
    gaz = Gazetteer()
    for cols in _rows(data_dir / "places.tsv", 11):
        pid, ptype, name, name_ar, country, gov, wd, lat, lon, flags, aliases = cols
        gaz.entries.append(
            Entry(pid, "place", name, _opt(name_ar), ptype, _opt(country), _opt(gov), _opt(wd),
                  _float(lat), _float(lon), frozenset(flags.strip()))
        )  # fmt: skip
        idx = len(gaz.entries) - 1
        for alias in (name, name_ar, *_split(aliases)):
            gaz.add_alias(alias, idx)
    for cols in _rows(data_dir / "demonyms.tsv", 3):
        country, flags, aliases = cols
        gaz.entries.append(
            Entry(f"{country}-demonym", "demonym", country, None, "demonym", country, flags=frozenset(flags))
        )
        idx = len(gaz.entries) - 1
        for alias in _split(aliases):
            gaz.add_alias(alias, idx)
    for cols in _rows(data_dir / "actors.tsv", 8):
        aid, atype, name, name_ar, wd, scope, flags, aliases = cols
        gaz.entries.append(
            Entry(aid, "actor", name, _opt(name_ar), atype, wikidata=_opt(wd), flags=frozenset(flags.strip()),
                  scope=scope.strip() or "F")
        )  # fmt: skip
        idx = len(gaz.entries) - 1
        for alias in (name, name_ar, *_split(aliases)):
            gaz.add_alias(alias, idx)
    for cols in _rows(data_dir / "topics.tsv", 4):
        slug, name_ar, flags, aliases = cols
        gaz.entries.append(Entry(slug, "topic", slug, _opt(name_ar), "topic", flags=frozenset(flags.strip())))
        idx = len(gaz.entries) - 1
        for alias in (name_ar, *_split(aliases)):
            gaz.add_alias(alias, idx, article="a" in flags)
    for cols in _rows(data_dir / "stop.tsv", 2):
        note, aliases = cols
        gaz.entries.append(Entry(f"stop:{note}", "stop", note, None, "stop"))
        idx = len(gaz.entries) - 1
        for alias in _split(aliases):
            gaz.add_alias(alias, idx, article=True)
    return gaz


def data_hash(data_dir: Path = DATA_DIR) -> str:
    """Short content hash of the data files: part of the tagger version."""
    h = hashlib.blake2b(digest_size=4)
    for name in _FILES:
        h.update((data_dir / name).read_bytes())
    return h.hexdigest()
