"""Fast gazetteer matching over folded text with offsets into the original.

One Aho-Corasick automaton holds every folded alias.  A hit is kept only if it sits on a
word boundary: nothing alphanumeric after it, and before it either a non-word character or,
for Arabic names, an allowed proclitic (و، ف، ب، ل، ك and their pairs).  English proper
names must be capitalised in the original and acronyms must match exactly, so "turkey"
and "is" do not become Turkey and the Islamic State.  Overlapping hits are resolved
longest-first, so «قوات سوريا الديمقراطية» is the SDF and not also the country Syria.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

import ahocorasick

from services.tag.gazetteer import CASE_CAPITAL, CASE_EXACT, AliasRef, Gazetteer
from services.text.arabic import fold_for_matching, to_original

__all__ = ["Candidate", "FoldedField", "Matcher", "select_longest"]

_MAX_PREFIX = 4


@dataclass(slots=True)
class FoldedField:
    """One field (title or text) in original and folded form."""

    name: str
    original: str
    folded: str
    keys: list[int]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """Original offsets of the folded span ``[start, end)``."""
        return to_original(self.keys, start), to_original(self.keys, end, end=True)


@dataclass(slots=True)
class Candidate:
    """An alias occurrence that passed the boundary, clitic and case checks."""

    field: FoldedField
    start: int  # folded offsets
    end: int
    refs: list[AliasRef]
    # A short Arabic name with a proclitic glued to it («فاطمة» = ف + اطمة) is as often
    # a different word: it needs the same support as a context-flagged name.
    glued: bool = False
    # What the tagger derives from ``refs`` (its ``_Facts``), kept with them while they stay the same.
    facts: Any = None

    @property
    def length(self) -> int:
        """Length in folded characters (longest match wins)."""
        return self.end - self.start


class Matcher:
    """Find gazetteer aliases in text; build once, reuse for every article.

    ``facts`` (optional) derives what later steps need from an alias's readings; it runs once
    per alias here, and each candidate that keeps all its readings carries the result.
    """

    def __init__(self, gazetteer: Gazetteer, facts: Callable[[list[AliasRef]], Any] | None = None) -> None:
        self.gazetteer = gazetteer
        self._automaton = ahocorasick.Automaton()
        for key, refs in gazetteer.aliases.items():
            # latin: 0 = Arabic script (clitics allowed), 1 = Latin, 2 = Latin and every
            # reading is an exact-case acronym (lets "is"/"us" be rejected at once), 3 = Latin
            # and every reading a capitalised name (one check decides them all).
            latin = 0 if any(r.prefixes != frozenset({""}) for r in refs) else 1
            if latin and all(r.case == CASE_EXACT for r in refs):
                latin = 2
            elif latin and all(r.case == CASE_CAPITAL for r in refs):
                latin = 3
            self._automaton.add_word(key, (len(key), latin, refs, facts(refs) if facts else None))
        self._automaton.make_automaton()

    def fold(self, name: str, text: str) -> FoldedField:
        """Fold one field for matching."""
        folded, keys = fold_for_matching(text)
        return FoldedField(name, text, folded, keys)

    def candidates(self, fld: FoldedField) -> list[Candidate]:
        """Every acceptable alias occurrence in ``fld`` (overlaps included)."""
        folded = fld.folded
        n = len(folded)
        out: list[Candidate] = []
        append = out.append
        original = fld.original
        keys = fld.keys  # empty: no deleted marks, folded offsets are original offsets
        for last, (length, latin, refs, facts) in self._automaton.iter(folded):
            end = last + 1
            if end < n and folded[end].isalnum():
                continue
            start = end - length
            if latin:
                # Latin names take no proclitics; an acronym must start upper-case.
                if start and folded[start - 1].isalnum():
                    continue
                if keys:
                    s, e = start + bisect_right(keys, start), end + bisect_right(keys, end)
                else:
                    s, e = start, end
                if latin == 3:
                    # Capitalised: some letter is upper-case (names always have letters).
                    if not original[s:e].islower():
                        append(Candidate(fld, start, end, refs, False, facts))
                    continue
                if latin == 2 and not original[s].isupper():
                    continue
                capital = not original[s:e].islower()
                ok = [
                    r
                    for r in refs
                    if r.case == 0 or (capital if r.case == CASE_CAPITAL else _exact_ok(r, original, s, e))
                ]
                if ok:
                    # The gazetteer's own list when every reading passed: its facts come with it.
                    append(Candidate(fld, start, end, refs, False, facts) if len(ok) == len(refs)
                           else Candidate(fld, start, end, ok))  # fmt: skip
                continue
            # Walk back over letters glued to the match: they must be a proclitic.
            ws = start
            while ws > 0 and folded[ws - 1].isalnum():
                ws -= 1
                if start - ws > _MAX_PREFIX:
                    break
            if start - ws > _MAX_PREFIX:
                continue
            if ws == start:
                append(Candidate(fld, start, end, refs, False, facts))
                continue
            prefix = folded[ws:start]
            ok = [r for r in refs if prefix in r.prefixes]
            if ok:
                glued = length <= 4 and not folded.startswith("ال", start)
                append(Candidate(fld, start, end, refs, glued, facts) if len(ok) == len(refs)
                       else Candidate(fld, start, end, ok, glued))  # fmt: skip
        return out


def _exact_ok(ref: AliasRef, original: str, s: int, e: int) -> bool:
    """An acronym's letters as written ("IS", "I.S."), not inside an all-capitals headline."""
    surface = original[s:e]
    if surface != ref.raw and [c for c in surface if c.isalpha()] != [c for c in ref.raw if c.isalpha()]:
        return False
    # In an all-capitals headline "IS" and "US" are ordinary words.
    window = original[max(0, s - 30) : e + 30]
    return not window.isupper()  # the acronym's own capitals make the window cased


def select_longest(cands: list[Candidate]) -> list[Candidate]:
    """Keep non-overlapping candidates, longest first, then leftmost; return in text order.

    Greedy choice only interacts within a run of overlapping candidates, so each run is
    resolved on its own and a candidate that overlaps nothing (most of them) is kept as is.
    """
    if not cands:
        return []
    first = cands[0].field
    if all(c.field is first for c in cands):
        groups = [cands]
    else:
        fields: dict[str, list[Candidate]] = {}
        for c in cands:
            fields.setdefault(c.field.name, []).append(c)
        groups = [fields[name] for name in sorted(fields, key=lambda name: name != "title")]
    chosen: list[Candidate] = []
    for group in groups:
        # By start (one C-level sort of a nearly sorted list: the automaton reports by end).
        # The order among equal starts does not matter: they overlap, so they share a run
        # and the run is resolved longest first.
        order = sorted(group, key=_START)
        run = 0
        reach = order[0].end
        for k in range(1, len(order)):
            c = order[k]
            if c.start < reach:  # overlaps the run so far
                reach = max(reach, c.end)
                continue
            if k - run == 1:
                chosen.append(order[run])
            else:
                chosen.extend(_longest_first(order[run:k]))
            run, reach = k, c.end
        if len(order) - run == 1:
            chosen.append(order[run])
        else:
            chosen.extend(_longest_first(order[run:]))
    return chosen


_START = attrgetter("start")


def _longest_first(run: list[Candidate]) -> list[Candidate]:
    kept: list[Candidate] = []
    for c in sorted(run, key=lambda c: (-c.length, c.start)):
        if all(c.end <= k.start or k.end <= c.start for k in kept):
            kept.append(c)
    kept.sort(key=_START)
    return kept
