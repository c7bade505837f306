"""The graded Syria decision: 2 = about Syria, 1 = a substantive Syrian passage, 0 = not.

The grade is computed from the tagger's mentions, not from a second pass over the text:

- Syrian evidence: Syria itself, places in Syria, the Syrian demonym, Syria-specific
  actors (the Syrian government, the SDF, HTS...).  Jihadist groups active far beyond Syria
  (ISIS, al-Qaeda) and Syria-specific topics (Astana talks) add weight only when there is
  other Syrian evidence: ISIS in Mosul or the Sahel is not Syria news.
- A mention of Syria inside a list of countries ("Iraq, Syria, Libya and Yemen") is a
  passing mention and weighs little; "US operations in Syria" is no list.
- "Near the Syrian border", «الحدود السورية», "the border with Syria" locate a place abroad:
  weak evidence, no Syrian fact.
- An aside is not a passage: when every Syrian mention of a longer article sits in one
  sentence past the lead, and the title says nothing Syrian (not even "Iraq and Syria"), the
  grade is 0.
- A Syrian place or actor in the lead (not one name in a row of others) and Syria again in a
  later sentence make Syria a thread of the article: grade 1.
- The title and the lead weigh more than the tail; other countries' evidence (places and
  demonyms) competes with Syria's for "primarily about".
"""

from __future__ import annotations

import bisect
import itertools
import math
import re
from dataclasses import dataclass

__all__ = ["Mention", "Relevance", "grade"]

# Separators that make two adjacent country names a list: commas, و, and/or, slashes.
_LIST_GAP = re.compile(
    r"^[\s,،;/&]*(?:(?:and|or|as well as|then|و|ف|أو|او|ثم)\s*)?(?:(?:in|في)\s*)?[\s,،;/&]*$",
    re.IGNORECASE,
)
# «الحدود السورية», «الحدود التركية - السورية», «الحدود مع سوريا», "Syrian border", "border with Syria".
_BORDER_BEFORE_ADJ = re.compile(r"(?:^|\s)[وبلف]{0,2}(?:ال)?حدود\s+(?:\S+ي[ةه]\s*[-–]?\s*)?$")
_BORDER_BEFORE_NOUN = re.compile(
    r"(?:(?:^|\s)[وبلف]{0,2}(?:ال)?حدود(?:\s+مع)?|\bborders?\s+(?:with|of))\s*$", re.IGNORECASE
)
_BORDER_AFTER = re.compile(r"(?:'s)?\s*(?:[-–]\s*[A-Z]\w+\s+)?(?:border|frontier)\b")
_IN_GAP = re.compile(r"^\s*(?:in|في)\s*$", re.IGNORECASE)
_RESTATE_GAP = re.compile(r"^\s*(?:,|،|in|في|ب|\(|-)?\s*$", re.IGNORECASE)
_SPECIFIC_TOPICS = frozenset(
    {"de-escalation-zones", "astana-talks", "geneva-talks", "sochi-talks", "turkish-operations", "raqqa-offensive"}
)
_LEAD_CHARS = 400
_PASSAGE_CHARS = 400
# A sentence ends at . ! ? or the Arabic question mark followed by a space, or at a line break;
# "3.5" and "U.S.-led" do not end one.
_SENTENCE_END = re.compile(r"[.!?؟](?=\s)|\n")
_SENTENCE_SPLIT = re.compile(r"(?:[.!?؟](?=\s)|\n)\s*")
# Below this many characters of text an article is a news brief, where one sentence on Syria is
# a Syria-specific fact rather than an aside.
_ASIDE_MIN_CHARS = 1000
# A headline inside the text: one line this short, without a closing full stop.
_HEADLINE_CHARS = 100
_BULLETS = "*•·▪►■-–"
_SENTENCE_MARKS = ".!?؟:;,،"


@dataclass(slots=True)
class Mention:
    """One resolved entity occurrence, in original offsets."""

    field: str  # "title" | "text"
    start: int
    end: int
    kind: str  # place | demonym | actor | topic
    entry_id: str
    country: str | None
    type: str
    scope: str | None
    weak: bool = False


@dataclass(frozen=True, slots=True)
class Relevance:
    """The graded decision and the evidence weights behind it."""

    grade: int
    score: float
    syria_weight: float
    other_weight: float


def _list_members(ordered: list[Mention], texts: dict[str, str]) -> set[int]:
    """Ids of the countries that sit next to another country with only a separator between."""
    out: set[int] = set()
    for a, b in itertools.pairwise(ordered):
        if a.type != "country" or b.type != "country" or a.country == b.country or a.field != b.field:
            continue
        gap = texts[a.field][a.end : b.start]
        # "US operations in Syria", «القوات الإيرانية في سوريا»: a country in another is no list.
        if len(gap) <= 12 and _LIST_GAP.match(gap) and not _IN_GAP.match(gap):
            out.update((id(a), id(b)))
    return out


def _at_border(m: Mention, text: str) -> bool:
    """ "Near the Syrian border", «الحدود السورية التركية», "the border with Syria": a place abroad.

    A town in Turkey or Lebanon located by its distance to the border is no Syrian fact.
    """
    if m.kind != "demonym" and m.type != "country":
        return False
    # Cheap words test first: most Syrian mentions have no border word near them at all.
    before = text[max(0, m.start - 30) : m.start]
    if "حدود" not in before and "order" not in before and "ORDER" not in before:
        after = text[m.end : m.end + 40]
        if "border" not in after and "frontier" not in after:
            return False
    if m.kind == "demonym":
        return bool(_BORDER_BEFORE_ADJ.search(text, max(0, m.start - 30), m.start) or _BORDER_AFTER.match(text, m.end))
    if m.type == "country":
        return bool(_BORDER_BEFORE_NOUN.search(text, max(0, m.start - 30), m.start) or _BORDER_AFTER.match(text, m.end))
    return False


def _weight(m: Mention) -> float:
    if m.kind == "place":
        return 0.3 if m.weak else 1.0
    if m.kind == "demonym":
        return 0.6
    return 1.0


def _position(m: Mention) -> float:
    if m.field == "title":
        return 3.0
    return 1.5 if m.start < _LEAD_CHARS else 1.0


def grade(mentions: list[Mention], title: str, text: str) -> Relevance:
    """Grade an article from its mentions (see the module docstring)."""
    texts = {"title": title, "text": text}
    places = sorted(
        (m for m in mentions if m.kind in ("place", "demonym")), key=lambda m: (m.field != "title", m.start)
    )
    in_list = _list_members(places, texts)
    # "Manbij in Syria", "Raqqa, Syria": the country restates the place, it is not a second mention.
    restated = {
        id(m)
        for prev, m in itertools.pairwise(places)
        if m.type == "country"
        and m.country == "SY"
        and prev.country == "SY"
        and prev.field == m.field
        and _RESTATE_GAP.match(texts[m.field][prev.end : m.start])
    }

    syria = 0.0
    strong: list[Mention] = []  # Syrian mentions outside country lists
    near_border: list[Mention] = []  # "near the Syrian border": no fact, but Syria is on the writer's mind
    other: dict[str, float] = {}
    for m in mentions:
        if m.kind in ("place", "demonym"):
            if m.country == "SY":
                if id(m) in restated:
                    continue
                border = _at_border(m, texts[m.field])
                w = _weight(m) * (0.25 if id(m) in in_list else 0.3 if border else 1.0)
                if id(m) not in in_list and not m.weak:
                    (near_border if border else strong).append(m)
            elif m.country:
                w = _weight(m) * (0.5 if id(m) in in_list else 1.0) * _position(m)
                other[m.country] = other.get(m.country, 0.0) + w
                continue
            else:
                continue
        elif m.kind == "actor" and m.scope == "S":
            w = 1.0
            strong.append(m)
        else:
            continue
        syria += w * _position(m)
    if not syria and not strong:  # most articles in a stream: nothing Syrian at all
        return Relevance(0, 0.0, 0.0, round(max(other.values(), default=0.0), 3))
    if strong:
        # Groups and topics that are Syrian only when the article is otherwise Syrian:
        # they add to the score, capped, but never make a passage on their own.
        aux = 0.0
        for m in mentions:
            if m.kind == "actor" and m.scope == "J":
                aux += 0.3 * (2.0 if m.field == "title" else 1.0)
            elif m.kind == "topic" and m.entry_id in _SPECIFIC_TOPICS:
                aux += 0.5 * (2.0 if m.field == "title" else 1.0)
                strong.append(m)
        syria += min(aux, 2.0)

    n_strong = len(strong)
    title_hit = any(m.field == "title" for m in strong)
    # A title that names Syria even beside another country ("strikes in Iraq and Syria") is about
    # Syria in part: no aside, and one more Syrian fact in the text makes a passage.
    title_any = title_hit or (
        bool(title)
        and any(
            m.field == "title" and m.country == "SY" and m.kind in ("place", "demonym") and not m.weak for m in mentions
        )
    )
    lead_hit = any(m.field == "text" and m.start < _LEAD_CHARS for m in strong)
    top_other = max(other.values(), default=0.0)
    share = syria / (syria + top_other) if syria else 0.0
    length_k = max(1.0, (len(title) + len(text)) / 1000.0)
    density = syria / length_k

    named = [m for m in strong if m.kind != "demonym"]  # a place, a Syrian actor or a Syrian topic
    in_text = [m for m in strong if m.field == "text"]
    if not title_any and _is_aside(strong + near_border, text):
        g = 0
    elif n_strong >= 2 and named and share >= 0.5 and (title_hit or (lead_hit and density >= 1.5) or density >= 3.0):
        g = 2
    elif (
        (named and title_hit)
        or (title_any and in_text)
        or _has_passage(strong, long_text=length_k > 3.0)
        or _lead_and_more(in_text, text, _listed_actors(mentions, text))
        or (len(named) >= 4 and share >= 0.25)
        # A short item that names a Syrian place or actor in its lead and no other country, or a
        # Syria-specific actor and no other country more ("the Assad regime will attend talks in
        # Geneva"); a place name alone is too often a product or a birthplace (Latakia tobacco).
        or (
            length_k <= 1.5
            and any(
                m.field == "text"
                and m.start < _LEAD_CHARS
                and m.type != "country"
                and (not top_other or (m.kind == "actor" and share >= 0.5))
                for m in named
            )
        )
        or _headed_item(in_text, text)
    ):
        g = 1
    else:
        g = 0
    score = round((1.0 - math.exp(-syria / 4.0)) * (0.5 + 0.5 * share), 4)
    return Relevance(g, score, round(syria, 3), round(top_other, 3))


def _headed_item(ms: list[Mention], text: str) -> bool:
    """A headline line that names Syria, and Syria again in the lines below it.

    Digests, front pages and newsletters run many items, each with its own headline ("* Syria in
    Bush's Cross Hairs", then a blurb on funding the opposition to the Damascus government): such an
    item is a Syria-specific passage however short, as a title naming Syria makes one.
    """
    checked = -1  # end of the last line looked at: each line once
    for i, m in enumerate(ms):
        if m.start < checked:
            continue
        end = text.find("\n", m.end)
        if end < 0:
            break  # the last line: nothing below it
        checked = end
        start = text.rfind("\n", 0, m.start) + 1
        if not start or end - start > 2 * _HEADLINE_CHARS:
            continue
        line = text[start:end].strip()
        bullet = line[:1] in _BULLETS
        line = line.lstrip("".join(_BULLETS)).strip()
        if not 0 < len(line) <= _HEADLINE_CHARS or line[-1] in _SENTENCE_MARKS:
            continue
        # A headline is a line of its own: a bullet item, or one after a finished line (hard-wrapped
        # prose also breaks lines without a full stop, but its next line never follows one).
        before = text[: start - 1].rstrip()
        if not bullet and before and before[-1] not in _SENTENCE_MARKS + ")":
            continue
        if any(end < b.start <= end + _PASSAGE_CHARS for b in ms[i + 1 :]):
            return True
    return False


def _is_aside(strong: list[Mention], text: str) -> bool:
    """Every Syrian mention sits in one sentence past the lead of a longer article.

    Opinion pieces and reports about something else touch on Syria in one sentence («كما في
    سوريا والعراق…», "as the regime in Damascus did"), often several names at once; a whole
    passage or a lead about Syria is what makes an article substantively Syrian.
    """
    if len(text) < _ASIDE_MIN_CHARS:
        return False
    ms = sorted((m for m in strong if m.field == "text"), key=lambda m: m.start)
    if not ms or ms[0].start < _LEAD_CHARS:
        return False
    return not any(_SENTENCE_END.search(text, a.end, b.start) for a, b in itertools.pairwise(ms))


def _sentence_starts(text: str) -> list[int]:
    """Start offsets of the text's sentences (runs of boundaries and blank lines count once)."""
    return [0, *(m.end() for m in _SENTENCE_SPLIT.finditer(text))]


def _listed_actors(mentions: list[Mention], text: str) -> set[int]:
    """Ids of text actors named in a row with another actor («حسن نصر الله، وبشار الأسد، ونوري المالكي»)."""
    actors = sorted((m for m in mentions if m.kind == "actor" and m.field == "text"), key=lambda m: m.start)
    out: set[int] = set()
    for a, b in itertools.pairwise(actors):
        if a.entry_id != b.entry_id and b.start - a.end <= 12 and _LIST_GAP.match(text[a.end : b.start]):
            out.update((id(a), id(b)))
    return out


def _lead_and_more(ms: list[Mention], text: str, listed: set[int]) -> bool:
    """A Syrian name in the lead, and Syria again in a later sentence.

    The lead says what an article is about; when it names a Syrian place or actor («خطاب بشار
    الأسد», "Hezbollah's war in Syria") and the article comes back to Syria further on, Syria is a
    thread of the piece, not a passing mention.
    """
    lead = [
        m for m in ms if m.start < _LEAD_CHARS and m.kind != "demonym" and m.type != "country" and id(m) not in listed
    ]
    if not lead:
        return False
    starts = _sentence_starts(text)
    first = {bisect.bisect_right(starts, m.start) for m in lead}
    return any(m.start >= _LEAD_CHARS and bisect.bisect_right(starts, m.start) not in first for m in ms)


def _has_passage(strong: list[Mention], *, long_text: bool) -> bool:
    """Syrian mentions close together: two with a name among them, or three of any kind.

    In a long article (opinion pieces, round-ups) two mentions are still an aside; it takes three.
    """
    ms = sorted((m for m in strong if m.field == "text"), key=lambda m: m.start)
    for i, a in enumerate(ms):
        near = [b for b in ms[i + 1 : i + 3] if b.start - a.start <= _PASSAGE_CHARS]
        if len(near) >= 2 or (not long_text and any((a.kind, b.kind) != ("demonym", "demonym") for b in near)):
            return True
    return False
