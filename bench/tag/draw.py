"""Draw a fresh SaudiNewsNet relevance sample, disjoint from the labelled ones.

Prints ``index<TAB>url`` for articles whose folded title and text match a Syria/ISIS keyword,
excluding every url already in an earlier sample (:data:`EARLIER`) and any article whose
content repeats one of those (the corpus has exact duplicates across outlets).  The person
labelling then reads each article and writes the grades; no text is stored.

    .venv/bin/python -m bench.tag.draw --seed 9 --n 80                 # the fourth sample
    .venv/bin/python -m bench.tag.draw --seed 23 --n 80 --after-fresh  # the fifth, disjoint from the fourth
"""

from __future__ import annotations

import argparse
import random
import re
import sys
from pathlib import Path

if __package__ in (None, ""):  # ``python bench/tag/draw.py``
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bench.tag.datasets import load_labels, saudinewsnet
from services.text.arabic import normalize_arabic

__all__ = ["EARLIER", "FRESH", "KEYWORDS", "draw", "main"]

# The samples labelled before the fresh one (seed 9); the fresh sample is their complement.
EARLIER = ("saudinewsnet_relevance.tsv", "saudinewsnet_relevance_test.tsv", "saudinewsnet_relevance_final.tsv")
# The fifth sample (seed 23) also leaves out the fourth.
FRESH = "saudinewsnet_relevance_fresh.tsv"

# Folded forms (ta marbuta -> ه, hamza-less alef), as normalize_arabic returns them.
KEYWORDS = re.compile("سوريا|سوريه|السوري|داعش|الاسد|دمشق|حلب|حمص|ادلب|الرقه|درعا")


def draw(seed: int, n: int, earlier: tuple[str, ...] = EARLIER) -> list[str]:
    """``n`` urls drawn with ``random.Random(seed)`` from the keyword articles not in ``earlier``."""
    arts = saudinewsnet()
    labelled = {row[0] for name in earlier for row in load_labels(name)}
    seen_heads = {(arts[u].get("content") or "")[:500] for u in labelled if u in arts}
    pool: list[str] = []
    for url, a in arts.items():
        head = (a.get("content") or "")[:500]
        if url in labelled or head in seen_heads:
            continue
        if KEYWORDS.search(normalize_arabic(f"{a.get('title') or ''}\n{a.get('content') or ''}")):
            pool.append(url)
            seen_heads.add(head)
    pool.sort()
    return random.Random(seed).sample(pool, n)


def main(argv: list[str] | None = None) -> int:
    """Print the drawn sample."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--n", type=int, default=80)
    ap.add_argument("--after-fresh", action="store_true", help="also leave out the fourth (seed 9) sample")
    args = ap.parse_args(argv)
    earlier = (*EARLIER, FRESH) if args.after_fresh else EARLIER
    for i, url in enumerate(draw(args.seed, args.n, earlier)):
        print(f"{i}\t{url}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
