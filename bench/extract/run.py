"""Benchmark: trafilatura (baseline, the installed version) vs our extractor, same run.

Run ``.venv/bin/python -m bench.extract.run [--limit N] [--sets a,b] [--with-fast] [--modes gated,always,never]``.

For each dataset both extractors see the same raw bytes, one after the other in this
process; the time is wall-clock over the whole set (decoding, parsing, extraction; for
ours also metadata and language detection), after a warm-up page.

Metrics:
- ``trafilatura-eval``: trafilatura's own metric, pooled over all pages: a ``with``
  snippet found in the output is a true positive, missing a false negative; a
  ``without`` snippet found is a false positive.
- other sets: bag-of-words token overlap with the gold main text, precision/recall/F1
  per page (an empty output scores 0), averaged over pages.

``--modes`` adds our extractor with other settings of the readability/jusText
comparison (:mod:`services.clean.cascade`): ``always`` is trafilatura's own cascade
on our pruned tree, ``never`` its fast mode; "ours" is the default, ``gated``.  Each
prints F1 and docs/s from the same interleaved run: the speed/quality trade-off curve.

"ours" is scored on the ``text`` field the clean stage publishes, the same kind of
output as trafilatura's text.  "ours +title" scores the same run's title line
followed by the text (the title is a separate field; trafilatura's text keeps a
headline only when it sits in the main content).
"""

from __future__ import annotations

import argparse
import functools
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast, get_args

import trafilatura

from bench.extract.datasets import DATASETS, Doc, load
from services.clean.cascade import CompareMode
from services.clean.extract import extract_page
from services.clean.language import warm_up
from services.errors import NewsIngestError

_TOKEN = re.compile(r"\w+")


@dataclass
class Score:
    """Precision, recall, F1 and throughput of one extractor on one set."""

    precision: float
    recall: float
    f1: float
    docs_per_s: float
    empty: int


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def snippet_score(docs: list[Doc], outputs: list[str]) -> tuple[float, float, float]:
    tp = fn = fp = 0
    for doc, out in zip(docs, outputs, strict=True):
        for s in doc.with_:
            if out and s in out:
                tp += 1
            else:
                fn += 1
        fp += sum(1 for s in doc.without if out and s in out)
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, _f1(p, r)


def token_score(docs: list[Doc], outputs: list[str]) -> tuple[float, float, float]:
    ps, rs, fs = [], [], []
    for doc, out in zip(docs, outputs, strict=True):
        gold = Counter(_TOKEN.findall((doc.gold or "").lower()))
        if not gold:
            continue
        pred = Counter(_TOKEN.findall(out.lower()))
        common = sum((gold & pred).values())
        p = common / sum(pred.values()) if pred else 0.0
        r = common / sum(gold.values())
        ps.append(p)
        rs.append(r)
        fs.append(_f1(p, r))
    n = len(fs) or 1
    return sum(ps) / n, sum(rs) / n, sum(fs) / n


def run_trafilatura(doc: Doc, fast: bool = False) -> str:
    try:
        return trafilatura.extract(doc.body, url=doc.url or None, include_comments=False, fast=fast) or ""
    except Exception:
        return ""


def run_ours(doc: Doc, compare: CompareMode = "gated") -> tuple[str, str]:
    try:
        result = extract_page(doc.body, doc.url, compare=compare)
    except NewsIngestError:
        return "", ""
    return f"{result.title}\n{result.text}" if result.title else result.text, result.text


def bench_set(name: str, docs: list[Doc], with_fast: bool, modes: tuple[CompareMode, ...] = ()) -> dict[str, Score]:
    """Run every extractor on every page, interleaved page by page.

    Interleaving makes the speed ratio fair on a shared machine: a burst of load from
    other processes slows both extractors alike instead of whichever ran at the time.
    """
    scorer = snippet_score if name == "trafilatura-eval" else token_score
    runners: dict[str, Callable[[Doc], tuple[str, str]]] = {
        "trafilatura": lambda d: (run_trafilatura(d),) * 2,
        "ours": run_ours,
    }
    if with_fast:
        runners["trafilatura fast"] = lambda d: (run_trafilatura(d, fast=True),) * 2
    for mode in modes:
        if mode != "gated":
            runners[f"ours {mode}"] = functools.partial(run_ours, compare=mode)
    for fn in runners.values():
        fn(docs[0])  # warm-up: lazy imports, model loading
    outputs: dict[str, list[tuple[str, str]]] = {k: [] for k in runners}
    seconds = dict.fromkeys(runners, 0.0)
    order = list(runners)
    for i, doc in enumerate(docs):
        for key in order if i % 2 == 0 else reversed(order):
            start = time.perf_counter()
            outputs[key].append(runners[key](doc))
            seconds[key] += time.perf_counter() - start
    scores: dict[str, Score] = {}
    for key, pairs in outputs.items():
        full = [o[0] for o in pairs]
        speed = len(docs) / seconds[key]
        scores[key] = Score(*scorer(docs, full), speed, sum(1 for o in pairs if not o[1]))
        if key.startswith("ours"):
            text_only = [o[1] for o in pairs]
            if key == "ours":
                scores["ours +title"] = scores["ours"]
            scores[key] = Score(*scorer(docs, text_only), speed, scores[key].empty)
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=None, help="pages per set (default: all)")
    parser.add_argument("--sets", default=",".join(DATASETS), help=f"comma-separated, from {', '.join(DATASETS)}")
    parser.add_argument("--with-fast", action="store_true", help="also run trafilatura with fast=True")
    parser.add_argument(
        "--modes", default="gated", help="comma-separated comparison modes of ours: gated (default), always, never"
    )
    args = parser.parse_args(argv)
    modes = cast("tuple[CompareMode, ...]", tuple(m for m in args.modes.split(",") if m in get_args(CompareMode)))
    warm_up()
    print(f"trafilatura {trafilatura.__version__}; limit={args.limit}; {time.strftime('%Y-%m-%d %H:%M:%S')}")
    print(f"{'set':<17} {'extractor':<17} {'docs':>5} {'P':>7} {'R':>7} {'F1':>7} {'docs/s':>7} {'empty':>5}")
    for name in args.sets.split(","):
        docs = load(name, args.limit)
        scores = bench_set(name, docs, args.with_fast, modes)
        for extractor, s in scores.items():
            print(
                f"{name:<17} {extractor:<17} {len(docs):>5} {s.precision:7.4f} {s.recall:7.4f} {s.f1:7.4f}"
                f" {s.docs_per_s:7.1f} {s.empty:>5}"
            )
        base = scores["trafilatura"]
        for key, ours in scores.items():
            if key.startswith("ours") and key != "ours +title":
                label = f"{key}/baseline:"
                print(
                    f"{name:<17} {label:<24} F1 {ours.f1 - base.f1:+.4f}, speed x{ours.docs_per_s / base.docs_per_s:.2f}"
                )
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
