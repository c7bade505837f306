"""The Syria tagger: places, actors, topics and a graded relevance decision with evidence.

Steps for one article:

1. fold title and text and collect every alias hit (:mod:`services.tag.matcher`);
2. drop hits of names that are also common words unless the context supports them: flag
   ``t`` needs a place word next to the name («مدينة الباب», "town of al-Bab"), flag ``c``
   needs that or other unambiguous Syrian evidence in the article (حماة is a city in a
   Syrian story, "protectors" elsewhere);
3. keep the longest non-overlapping hits;
4. resolve names shared by several places (الرقة in Syria and Kuwait, Homs and Al-Khums,
   «سوري» Syrian or Surrey) by which country the rest of the article and the words around
   the name point at;
5. aggregate mentions per entity with their evidence, and grade relevance
   (:mod:`services.tag.relevance`).
"""

from __future__ import annotations

import functools
import itertools
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from services.tag.gazetteer import AliasRef, Entry, Gazetteer, data_hash, load_gazetteer
from services.tag.matcher import Candidate, FoldedField, Matcher, select_longest
from services.tag.relevance import Mention, grade

__all__ = ["TAGGER_VERSION", "Tagger", "get_tagger"]

TAGGER_VERSION = f"tag-1.3.0+gaz-{data_hash()}"

_MAX_EVIDENCE = 25
_CONTEXT = 80  # folded characters either side used to resolve an ambiguous name

# Words that announce a place name (folded).  Arabic ones may carry a proclitic («بمدينة»).
_TRIGGERS_BEFORE = frozenset(
    [
        "مدينه",
        "بلده",
        "قريه",
        "منطقه",
        "ريف",
        "بلدات",
        "مدن",
        "قرى",
        "مخيم",
        "معبر",
        "سد",
        "نهر",
        "مطار",
        "قاعده",
        "محافظه",
        "حي",
        "احياء",
        "ناحيه",
        "جبل",
        "سهل",
        "بحيره",
        "مناطق",
        "اطراف",
        "محيط",
        "مدينتي",
        "بلدتي",
        "قريتي",
        "مخيمات",
        "حقل",
        "سجن",
        "city",
        "town",
        "village",
        "camp",
        "crossing",
        "province",
        "governorate",
        "district",
        "near",
        "outskirts",
        "neighbourhood",
        "neighborhood",
        "suburb",
        "region",
        "countryside",
        "dam",
        "river",
        "base",
        "airbase",
    ]
)
_TRIGGERS_AFTER = frozenset(
    [
        "السوريه",
        "السوري",
        "بسوريا",
        "سوريا",
        "بريف",
        "وريفها",
        "syria",
        "syrian",
        "province",
        "countryside",
        "camp",
        "dam",
        "crossing",
        "airbase",
        "governorate",
        "district",
    ]
)
_CLITICS = ("وب", "ول", "فب", "فل", "و", "ف", "ب", "ل", "ك")


def _strip_clitic(token: str) -> str:
    for p in _CLITICS:
        if token.startswith(p) and token[len(p) :] in _TRIGGERS_BEFORE:
            return token[len(p) :]
    return token


def _has_trigger(fld: FoldedField, start: int, end: int) -> bool:
    before = fld.folded[max(0, start - 40) : start].replace(",", " ").split()[-2:]
    if any(t in _TRIGGERS_BEFORE or _strip_clitic(t) in _TRIGGERS_BEFORE for t in before):
        return True
    after = fld.folded[end : end + 30].replace(",", " ").replace(".", " ").split()[:2]
    return any(t in _TRIGGERS_AFTER for t in after)


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the steps below ask of a hit's readings, worked out once per alias."""

    anchor: bool  # unambiguous Syrian evidence
    context: bool  # some reading needs context
    country: str | None  # the one country its places and demonyms point at
    tags: bool  # some reading is not a stop phrase
    person_stop: bool  # a full name from the stop group "persons"
    syrian_place: bool
    geo: tuple[int, ...]  # entries it may name as a place or demonym, in gazetteer order
    # The entries it names when no choice between places is needed (at most one geo reading).
    fixed: tuple[Entry, ...] | None
    rest: tuple[Entry, ...]  # its actors and topics

    @staticmethod
    def of(refs: list[AliasRef], entries: list[Entry]) -> _Facts:
        countries = {r.country for r in refs if r.country}
        geo = tuple(dict.fromkeys(r.entry for r in refs if r.kind in ("place", "demonym")))
        rest = tuple(dict.fromkeys(r.entry for r in refs if r.kind in ("actor", "topic")))
        return _Facts(
            anchor=any(r.anchor for r in refs) and not any(r.foreign_geo for r in refs),
            context=any(r.context for r in refs),
            country=countries.pop() if len(countries) == 1 else None,
            tags=any(r.kind != "stop" for r in refs),
            person_stop=any(r.kind == "stop" and entries[r.entry].name == "persons" for r in refs),
            syrian_place=any(r.country == "SY" and r.kind == "place" for r in refs),
            geo=geo,
            fixed=tuple(entries[j] for j in (*geo, *rest)) if len(geo) <= 1 else None,
            rest=tuple(entries[j] for j in rest),
        )


class Tagger:
    """Tag articles; construct once (loads the gazetteer and builds the automaton)."""

    version = TAGGER_VERSION

    def __init__(self, gazetteer: Gazetteer | None = None) -> None:
        self.gazetteer = gazetteer or load_gazetteer()
        self.entries: list[Entry] = self.gazetteer.entries
        # Each alias's facts are worked out once, when the automaton is built; a hit that keeps
        # every reading carries them, and only hits whose readings were narrowed need new ones.
        self._facts: dict[int, _Facts] = {}
        self.matcher = Matcher(self.gazetteer, facts=self._canonical_facts)

    def _canonical_facts(self, refs: list[AliasRef]) -> _Facts:
        facts = self._facts[id(refs)] = _Facts.of(refs, self.entries)
        return facts

    def _facts_of(self, refs: list[AliasRef]) -> _Facts:
        facts = self._facts.get(id(refs))
        return facts if facts is not None else _Facts.of(refs, self.entries)

    # -- step 2 ---------------------------------------------------------------------
    def _filter_context(self, cands: list[Candidate]) -> list[Candidate]:
        facts = self._facts_of
        for c in cands:
            if c.facts is None:
                c.facts = facts(c.refs)
        anchored = any(not c.glued and c.facts.anchor for c in cands)
        kept: list[Candidate] = []
        has_partial = False
        for c in cands:
            if not c.glued and not c.facts.context:
                kept.append(c)  # the common case: nothing to check
                continue
            refs = []
            trigger: bool | None = None
            for r in c.refs:
                need = "c" if c.glued and not r.context else r.context
                if need == "p":
                    refs.append(r)  # decided below, once the whole article is known
                    has_partial = True
                    continue
                if need == "t" or (need == "c" and not anchored):
                    if trigger is None:
                        trigger = _has_trigger(c.field, c.start, c.end)
                    if not trigger:
                        continue
                refs.append(r)
            if refs:
                if len(refs) != len(c.refs):
                    c.refs, c.facts = refs, facts(refs)
                kept.append(c)
        if not has_partial:
            return kept
        # A bare surname counts only when the full name is in the article too.
        full = {r.entry for c in kept for r in c.refs if r.context != "p"}
        out: list[Candidate] = []
        for c in kept:
            if any(r.context == "p" for r in c.refs):
                c.refs = [r for r in c.refs if r.context != "p" or r.entry in full]
                if not c.refs:
                    continue
                c.facts = facts(c.refs)
            out.append(c)
        return out

    # -- step 4 ---------------------------------------------------------------------
    def _resolve(self, chosen: list[Candidate]) -> tuple[list[tuple[Candidate, tuple[Entry, ...]]], Counter[str]]:
        persons = self._person_surnames(chosen)
        chosen = [c for c in chosen if c.facts.tags]
        if persons:
            chosen = self._drop_surnames(chosen, persons)
            for c in chosen:
                c.facts = self._facts_of(c.refs)
        doc: Counter[str] = Counter(c.facts.country for c in chosen if c.facts.country)
        out: list[tuple[Candidate, tuple[Entry, ...]]] = []
        entries = self.entries
        # One sense per article: once "Damascus, Virginia" is seen, "Damascus" is that one.
        abroad = {
            c.field.folded[c.start : c.end]
            for c, nxt in itertools.pairwise(chosen)
            if nxt.start - c.end < 8 and c.facts.syrian_place and self._qualified_abroad(c, nxt)
        }
        for i, c in enumerate(chosen):
            if abroad and c.field.folded[c.start : c.end] in abroad:
                c.refs = [r for r in c.refs if not (r.country == "SY" and r.kind in ("place", "demonym"))]
                if not c.refs:
                    continue
                c.facts = self._facts_of(c.refs)
            fixed = c.facts.fixed
            if fixed is not None:  # the common case: nothing to choose
                if fixed:
                    out.append((c, fixed))
                continue
            out.append((c, (entries[self._pick(i, list(c.facts.geo), doc, chosen)], *c.facts.rest)))
        return out, doc

    def _person_surnames(self, chosen: list[Candidate]) -> set[str]:
        """Folded surnames of people named like a Syrian place («سيباستيان سوريا», stop group ``persons``)."""
        out: set[str] = set()
        for c in chosen:
            if c.facts.person_stop:
                out.add(c.field.folded[c.start : c.end].rsplit(" ", 1)[-1])
        return out

    @staticmethod
    def _drop_surnames(chosen: list[Candidate], surnames: set[str]) -> list[Candidate]:
        """One sense per article: once the player Sebastián Soria is named in full, «سوريا» is him."""
        out: list[Candidate] = []
        for c in chosen:
            surface = c.field.folded[c.start : c.end]
            if surface in surnames or any(surface == p + n for p in _CLITICS for n in surnames):
                c.refs = [r for r in c.refs if not (r.country == "SY" and r.kind in ("place", "demonym"))]
                if not c.refs:
                    continue
            out.append(c)
        return out

    def _qualified_abroad(self, c: Candidate, nxt: Candidate) -> bool:
        """ "Damascus, Maryland": a Syrian name followed by a comma and a foreign state or country."""
        if nxt.field is not c.field or c.field.folded[c.end : nxt.start].strip() != ",":
            return False
        return any(
            r.kind == "place"
            and r.country not in (None, "SY")
            and self.entries[r.entry].type in ("state", "country", "city", "region")
            for r in nxt.refs
        )

    def _pick(self, i: int, options: list[int], doc: Counter[str], chosen: list[Candidate]) -> int:
        c = chosen[i]
        lo, hi = c.start - _CONTEXT, c.end + _CONTEXT
        local: Counter[str] = Counter()
        # chosen is in text order and non-overlapping: walk out from i until the window ends.
        j = i - 1
        while j >= 0 and chosen[j].field is c.field and chosen[j].end >= lo:
            if country := chosen[j].facts.country:
                local[country] += 1
            j -= 1
        j = i + 1
        while j < len(chosen) and chosen[j].field is c.field and chosen[j].start <= hi:
            if country := chosen[j].facts.country:
                local[country] += 1
            j += 1

        def score(i: int) -> tuple[float, int]:
            e = self.entries[i]
            ctry = e.country or ""
            return (doc[ctry] + 3.0 * local[ctry], 1 if "d" in e.flags else 0)

        return max(options, key=score)

    def _shared_country(self, doc: Counter[str]) -> str:
        """Country for a shared river (flag x): Syria unless the article is about a neighbour."""
        best = max(("IQ", "TR", "LB", "JO"), key=lambda k: doc[k])
        return best if doc[best] > doc["SY"] else "SY"

    # -- public ---------------------------------------------------------------------
    def tag(self, title: str | None, text: str, language: str | None = None) -> dict[str, Any]:
        """Tag one article.

        ``language`` is accepted for the interface; matching needs no language because
        Arabic and Latin aliases cannot match each other's script.  Returns
        ``{"syria", "places", "actors", "topics", "tagger_version"}`` with evidence offsets
        into the original ``title`` and ``text``.
        """
        title = title or ""
        fields = [self.matcher.fold("text", text)]
        if title:
            fields.insert(0, self.matcher.fold("title", title))
        cands: list[Candidate] = []
        for f in fields:
            cands.extend(self.matcher.candidates(f))
        if not cands:  # no name of the gazetteer at all
            return {"syria": {"relevant": False, "grade": 0, "score": 0.0}, "places": [], "actors": [], "topics": [],
                    "tagger_version": TAGGER_VERSION}  # fmt: skip
        cands = self._filter_context(cands)
        resolved, doc = self._resolve(select_longest(cands))
        shared = self._shared_country(doc)

        mentions: list[Mention] = []
        add_mention = mentions.append
        groups: dict[str, list[Any]] = {}  # entry id -> [entry, evidence, count]
        for c, entries in resolved:
            fld = c.field
            keys = fld.keys
            s, e = (
                (c.start + bisect_right(keys, c.start), c.end + bisect_right(keys, c.end)) if keys else (c.start, c.end)
            )
            ev: dict[str, Any] | None = None  # demonyms are evidence for the grade only
            for ent in entries:
                flags = ent.flags
                if flags:
                    add_mention(Mention(fld.name, s, e, ent.kind, ent.id, shared if "x" in flags else ent.country,
                                        ent.type, ent.scope, "w" in flags))  # fmt: skip
                else:
                    add_mention(Mention(fld.name, s, e, ent.kind, ent.id, ent.country, ent.type, ent.scope))
                if ent.kind == "demonym":
                    continue
                g = groups.get(ent.id)
                if g is None:
                    g = groups[ent.id] = [ent, [], 0]
                g[2] += 1
                if len(g[1]) < _MAX_EVIDENCE:
                    if ev is None:
                        ev = {"field": fld.name, "start": s, "end": e, "text": fld.original[s:e]}
                    g[1].append(ev)
        rel = grade(mentions, title, text)
        places, actors, topics = [], [], []
        for item, evidence, count in sorted(groups.values(), key=itemgetter(2), reverse=True):
            base = {"name": item.name, "name_ar": item.name_ar}
            if item.kind == "place":
                country = shared if "x" in item.flags else item.country
                places.append(
                    {**base, "wikidata": item.wikidata, "type": item.type, "country": country,
                     "syrian": country == "SY", "governorate": item.governorate, "lat": item.lat, "lon": item.lon,
                     "evidence": evidence, "count": count}
                )  # fmt: skip
            elif item.kind == "actor":
                actors.append(
                    {**base, "wikidata": item.wikidata, "type": item.type, "evidence": evidence,
                     "count": count}
                )  # fmt: skip
            else:
                topics.append({**base, "type": "topic", "evidence": evidence, "count": count})
        return {
            "syria": {"relevant": rel.grade >= 1, "grade": rel.grade, "score": rel.score},
            "places": places,
            "actors": actors,
            "topics": topics,
            "tagger_version": TAGGER_VERSION,
        }


@functools.cache
def get_tagger() -> Tagger:
    """The process-wide tagger (built on first use; safe to call from pool workers)."""
    return Tagger()
