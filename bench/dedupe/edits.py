"""Realistic republishing edits that turn one article into a near-duplicate copy.

What outlets do to a wire story: a new headline, their own dateline and footer
(credits, "follow us", related links), a few words changed in some sentences, a
sentence cut, the tail trimmed, a sentence of context added.  Three levels:

- ``light``: new headline, dateline and one footer line;
- ``medium``: light + words changed in 3 sentences, one sentence dropped, a related-links block;
- ``heavy``: medium + words changed in 3 more sentences, last quarter trimmed, one
  sentence from another article inserted.
"""

from __future__ import annotations

import random
import re

__all__ = ["LEVELS", "edit"]

LEVELS = ("light", "medium", "heavy")

_SENTENCE = re.compile(r"(?<=[.!?؟])\s+|\n+")

_DATELINES = {
    "ar": ["الرياض - واس:", "جدة - المدينة", "متابعات:", "دبي - (رويترز):", "القاهرة - أ ف ب", "عين اليوم – المنامة"],
    "en": ["WASHINGTON (AP) —", "LONDON (Reuters) -", "NEW YORK —", "(CNN) —", "BEIRUT, Lebanon (AP) —"],
}
_FOOTERS = {
    "ar": [
        "تابعوا آخر الأخبار عبر حسابنا على تويتر وفيسبوك.",
        "جميع الحقوق محفوظة للصحيفة ويمنع النقل دون ذكر المصدر.",
        "المصدر: وكالة الأنباء السعودية.",
        "حمّل تطبيق الصحيفة لتصلك الأخبار العاجلة أولاً بأول.",
    ],
    "en": [
        "Copyright 2024 The Associated Press. All rights reserved.",
        "Reporting by staff; Editing by the news desk.",
        "Sign up for our daily newsletter to get the latest headlines in your inbox.",
        "Follow us on Twitter and Facebook for breaking news.",
    ],
}
_RELATED = {
    "ar": "اقرأ أيضاً: {a} | {b} | الأكثر قراءة اليوم في قسم الأخبار المحلية والدولية",
    "en": "Related coverage: {a} | {b} | Most read today in World News and Politics",
}


def _sentences(text: str) -> list[str]:
    return [s for s in (p.strip() for p in _SENTENCE.split(text)) if s]


def _change_words(sentence: str, vocab: list[str], rng: random.Random, n: int) -> str:
    words = sentence.split()
    if len(words) < 3:
        return sentence
    for _ in range(n):
        i = rng.randrange(len(words))
        if rng.random() < 0.5 or not vocab:
            del words[i]
            if len(words) < 3:
                break
        else:
            words[i] = rng.choice(vocab)
    return " ".join(words)


def edit(text: str, title: str, level: str, *, lang: str, rng: random.Random, other: str) -> tuple[str, str]:
    """Return ``(text, title)`` of a republished copy at ``level``; ``other`` is an unrelated text."""
    sents = _sentences(text)
    vocab = text.split()
    new_title = " ".join(reversed(title.split()[:8])) or "untitled"
    if level in ("medium", "heavy"):
        rounds = 3 if level == "medium" else 6
        for _ in range(rounds):
            if sents:
                i = rng.randrange(len(sents))
                sents[i] = _change_words(sents[i], vocab, rng, 2)
        if len(sents) > 4:
            del sents[rng.randrange(1, len(sents))]
    if level == "heavy":
        keep = max(3, round(len(sents) * 0.75))
        sents = sents[:keep]
        extra = _sentences(other)
        if extra:
            sents.insert(rng.randrange(1, max(2, len(sents))), rng.choice(extra))
    body = "\n".join(sents)
    parts = [rng.choice(_DATELINES[lang]) + " " + body, rng.choice(_FOOTERS[lang])]
    if level != "light":
        titles = [t for t in _sentences(other)[:2] if t] or ["", ""]
        parts.append(_RELATED[lang].format(a=titles[0][:60], b=titles[-1][:60]))
    return "\n".join(parts), new_title
