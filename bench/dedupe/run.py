"""Dedupe benchmark: exact and near-duplicate precision/recall, throughput, memory.

Run: ``.venv/bin/python -m bench.dedupe.run [--quick]``

Sets (read in place from ../shared/data):

- SaudiNewsNet (30,723 Arabic articles): exact-duplicate groups (identical content,
  across and within outlets); natural near-duplicates (wire stories); 600 synthetic
  republished copies at three edit levels (:mod:`bench.dedupe.edits`).
- English (fundus ground truth + Dragnet gold texts): 500 synthetic copies at three levels.
- ANS stance pairs: paraphrased ("agree") vs contradicting/unrelated headlines.
- Hard negatives: SaudiNewsNet pairs from different outlets on the same day sharing
  many rare words (names, places, figures) but not the text: two stories, one event.

Baselines measured in the same run: ``exact-only`` (the same handler, near detection
off) and ``datasketch-default`` (exact hash + ``datasketch.MinHashLSH()`` defaults).

"Correct" for a near-duplicate verdict is detector-independent: the matched article
shares at least half of the 3-word shingles of the shorter of the two texts with the
copy's source (exact sets, no MinHash), or is the source itself.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from functools import cache

import numpy as np
from datasketch import MinHash

from bench.dedupe.data import Doc, ans_pairs, english_docs, saudinewsnet
from bench.dedupe.detectors import DatasketchLSH, Detector, Ours, Verdict, article_of
from bench.dedupe.edits import LEVELS, edit
from services.dedupe.fingerprint import (
    MIN_NEAR_TOKENS,
    fingerprint,
    minhash,
    shingle_hashes,
    similarity,
)
from services.dedupe.folding import normalize_text, word_hashes
from services.dedupe.handler import (
    CONTAINMENT_FLOOR,
    CONTAINMENT_THRESHOLD,
    MIN_LENGTH_RATIO,
    NEAR_THRESHOLD,
    DedupeHandler,
    fingerprint_article,
)
from services.dedupe.index import DedupeIndex, Entry
from services.runtime.handler import Out

SWEEP = (0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9)


def out(line: str = "") -> None:
    print(line, flush=True)


def stream(det: Detector, docs: Sequence[Doc]) -> tuple[list[Verdict], tuple[float, float]]:
    """Verdicts and (wall seconds, CPU seconds of this process)."""
    t, c = time.perf_counter(), time.process_time()
    verdicts = [det.check(d) for d in docs]
    return verdicts, (time.perf_counter() - t, time.process_time() - c)


# -- ground truth helpers ----------------------------------------------------------------


@cache
def _shingles(text: str) -> frozenset[int]:
    return frozenset(shingle_hashes(word_hashes(text)).tolist())


def same_story(a: Doc, b: Doc) -> bool:
    """Detector-independent truth: b shares >= half the shingles of the shorter text."""
    if a.id == b.id:
        return True
    sa, sb = _shingles(a.text), _shingles(b.text)
    if not sa or not sb:
        return normalize_text(a.text) == normalize_text(b.text)
    return len(sa & sb) / min(len(sa), len(sb)) >= 0.5


def exact_jaccard(a: str, b: str) -> float:
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / max(1, len(sa | sb))


def roots(docs: Sequence[Doc], verdicts: Sequence[Verdict]) -> dict[str, str]:
    root: dict[str, str] = {}
    for d, (dup_of, _) in zip(docs, verdicts, strict=True):
        root[d.id] = root.get(dup_of, dup_of) if dup_of else d.id
    return root


def pr(tp: int, flagged: int, total: int) -> str:
    p = tp / flagged if flagged else float("nan")
    r = tp / total if total else float("nan")
    return f"P={p:.4f} R={r:.4f} (tp={tp} flagged={flagged} n={total})"


# -- sections ------------------------------------------------------------------------------


def exact_section(snn: list[Doc], runs: dict[str, list[Verdict]]) -> None:
    out("== Exact duplicates: SaudiNewsNet (groups of identical content) ==")
    groups: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(snn):
        groups[d.text].append(i)
    multi = [g for g in groups.values() if len(g) > 1]
    substantive = [g for g in multi if len(snn[g[0]].text.split()) >= MIN_NEAR_TOKENS]
    out(
        f"groups: {len(multi)} ({sum(map(len, multi))} articles); with >= {MIN_NEAR_TOKENS} words: "
        f"{len(substantive)} ({sum(map(len, substantive))} articles); the rest are empty/caption-only bodies"
    )
    by_id = {d.id: d for d in snn}
    for name, verdicts in runs.items():
        root = roots(snn, verdicts)

        def found(g: list[int], root: dict[str, str] = root, verdicts: list[Verdict] = verdicts) -> bool:
            first = root[snn[g[0]].id]
            return all(verdicts[i][0] is not None and root[snn[i].id] == first for i in g[1:])

        members = sum(len(g) - 1 for g in substantive)
        flagged_members = sum(1 for g in substantive for i in g[1:] if verdicts[i][0] is not None)
        exact = [(d, by_id[v[0]]) for d, v in zip(snn, verdicts, strict=True) if v[1] == "exact" and v[0]]
        exact_ok = sum(
            1
            for a, b in exact
            if normalize_text(a.text) == normalize_text(b.text)
            and (len(a.text.split()) >= MIN_NEAR_TOKENS or normalize_text(a.title) == normalize_text(b.title))
        )
        out(
            f"  {name:20s} groups found {sum(map(found, substantive))}/{len(substantive)} "
            f"(all {sum(map(found, multi))}/{len(multi)}); copies flagged {flagged_members}/{members}; "
            f"exact verdicts {len(exact)}, precision {exact_ok / max(1, len(exact)):.4f}"
        )


def make_copies(docs: list[Doc], n: int, lang: str, seed: int) -> dict[str, list[tuple[Doc, Doc]]]:
    rng = random.Random(seed)
    pool = [d for d in docs if len(d.text.split()) >= 60]
    sources = rng.sample(pool, min(n, len(pool)))
    copies: dict[str, list[tuple[Doc, Doc]]] = {}
    for level in LEVELS:
        pairs = []
        for i, src in enumerate(sources):
            other = rng.choice(pool)
            text, title = edit(src.text, src.title, level, lang=lang, rng=rng, other=other.text)
            cp = Doc(
                f"{src.id}~{level}", f"https://copy-{level}.example/{lang}/{i}", "copy", title, text, src.fetched_at
            )
            pairs.append((src, cp))
        copies[level] = pairs
    return copies


def near_section(
    label: str,
    docs: list[Doc],
    copies: dict[str, list[tuple[Doc, Doc]]],
    bases: dict[str, Detector],
    stats: dict[str, list[float]],
) -> None:
    out(f"== Near duplicates: {label} ({len(docs)} originals indexed; copies per level: {len(copies[LEVELS[0]])}) ==")
    by_id = {d.id: d for d in docs}
    for name, base in bases.items():
        cells = []
        tp_all = fl_all = n_all = 0
        for level in LEVELS:
            # Ours: a fresh instance restored from the changelog, as after a restart.
            # datasketch: the same instance, frozen (copies are only queried).
            det: Detector = base.restored() if isinstance(base, Ours) else base
            if isinstance(det, DatasketchLSH):
                det.frozen = True
            pairs = copies[level]
            verdicts, _ = stream(det, [cp for _, cp in pairs])
            if isinstance(det, DatasketchLSH):
                det.frozen = False
            tp = fl = 0
            for (src, _), (dup_of, _) in zip(pairs, verdicts, strict=True):
                if dup_of is None:
                    continue
                fl += 1
                tp += dup_of in by_id and same_story(src, by_id[dup_of])
            cells.append(f"{level}: {pr(tp, fl, len(pairs))}")
            tp_all, fl_all, n_all = tp_all + tp, fl_all + fl, n_all + len(pairs)
        out(f"  {name:20s} ALL: {pr(tp_all, fl_all, n_all)}")
        for c in cells:
            out(f"  {'':20s}   {c}")
    # Exact Jaccard of copy vs source, to show what each level means.
    for level in LEVELS:
        js = [exact_jaccard(s.text, c.text) for s, c in copies[level]]
        stats.setdefault(level, []).extend(js)
        out(f"  true Jaccard copy/source, {level}: median {np.median(js):.2f}, 5th pct {np.percentile(js, 5):.2f}")


#: One candidate of a lookup: (estimated Jaccard, its distinct shingles, is the same story).
Cand = tuple[float, int, bool]
CONTAINMENT_SWEEP = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 2.0)


def _candidates(index: DedupeIndex, sig: np.ndarray, truth: Callable[[str | None], bool]) -> list[Cand]:
    """Every live LSH candidate of ``sig`` once, with its estimate and ground truth."""
    found = index.lookup(None, sig)
    if found.slots.size == 0:
        return []
    slots, first = np.unique(found.slots, return_index=True)
    urls = index.urls_of(slots)
    return [(float(found.jaccard[i]), int(found.shingles[i]), truth(url)) for i, url in zip(first, urls, strict=True)]


def _decide(h: DedupeHandler, shingles: int, cands: list[Cand]) -> bool | None:
    """The handler's rule on recorded candidates: None (not flagged) or whether the pick is right."""
    if not cands:
        return None
    jac = np.array([c[0] for c in cands])
    ok = h.is_near(jac, shingles, np.array([c[1] for c in cands], dtype=np.int64))
    if not ok.any():
        return None
    return cands[int(np.argmax(np.where(ok, jac, -1.0)))][2]


def sweep_section(
    sets: list[tuple[list[Doc], dict[str, list[tuple[Doc, Doc]]], Ours]],
    natural: list[tuple[Doc, Doc, float]],
    hard: list[tuple[int, list[Cand]]],
) -> None:
    """Decisions on the recorded LSH candidates of every copy under other thresholds."""
    out("== Threshold sweep (on the LSH candidates of each copy; Jaccard only, then with containment) ==")
    rows: list[tuple[int, list[Cand]]] = []
    for docs, copies, base in sets:
        by_url = {d.url: d for d in docs}
        index = base.handler.index
        for level in LEVELS:
            for src, cp in copies[level]:
                fp = fingerprint(cp.text)

                def truth(url: str | None, src: Doc = src, by_url: dict[str, Doc] = by_url) -> bool:
                    doc = by_url.get(url or "")
                    return doc is not None and same_story(src, doc)

                rows.append((fp.shingles, _candidates(index, fp.signature, truth)))
    n = len(rows)
    nat = [(sim, same_story(a, b)) for a, b, sim in natural]
    out(f"  synthetic copies: {n}; natural near pairs flagged in the corpora at t=0.4: {len(nat)}")
    out("  t     copies P   copies R   | natural flags  silver P (shared >= 50% shingles)")
    for t in SWEEP:
        best = [max(c)[::2] for _, c in rows if c]  # (best Jaccard, its truth)
        tp = sum(1 for s, ok in best if s >= t and ok)
        fp = sum(1 for s, ok in best if s >= t and not ok)
        nflag = [ok for s, ok in nat if s >= t]
        mark = "  <- NEAR_THRESHOLD" if abs(t - NEAR_THRESHOLD) < 1e-9 else ""
        out(
            f"  {t:.2f}  {tp / max(1, tp + fp):.4f}     {tp / max(1, n):.4f}     | {len(nflag):6d}        "
            f"{sum(nflag) / max(1, len(nflag)):.4f}{mark}"
        )
    out(
        f"  with containment (Jaccard >= {NEAR_THRESHOLD}, or overlap >= c of the shorter text, length ratio >= "
        f"{MIN_LENGTH_RATIO}, Jaccard >= {CONTAINMENT_FLOOR}); hard negatives: {len(hard)} pairs"
    )
    out("  c     copies P   copies R   | hard negatives flagged")
    for c in CONTAINMENT_SWEEP:
        h = DedupeHandler(containment_threshold=c)
        verdicts = [_decide(h, a, cands) for a, cands in rows]
        tp = sum(1 for v in verdicts if v)
        fl = sum(1 for v in verdicts if v is not None)
        hard_fl = sum(1 for a, cands in hard if _decide(h, a, cands) is not None)
        mark = "  <- CONTAINMENT_THRESHOLD" if abs(c - CONTAINMENT_THRESHOLD) < 1e-9 else ""
        label = "off " if c > 1 else f"{c:.2f}"
        out(f"  {label}  {tp / max(1, fl):.4f}     {tp / max(1, n):.4f}     | {hard_fl:6d}{mark}")


def hard_negatives(
    docs: list[Doc], n: int = 400, min_shared: int = 8, max_overlap: float = 0.3
) -> list[tuple[Doc, Doc, int]]:
    """Two different stories about the same event, found in the corpus itself.

    Pairs of articles from different outlets on the same day that share the most rare
    words (document frequency 2-30: names of people, places, organisations, figures)
    while sharing less than ``max_overlap`` of the shorter text's shingles: the same
    event written up separately.  (Pairs between 0.3 and 0.5 are mostly one press
    release rewritten by two outlets, neither clearly the same text nor clearly not;
    the natural-pairs section covers them.)
    """
    words = [set(word_hashes(d.text).tolist()) if len(d.text.split()) >= 60 else set() for d in docs]
    df: Counter[int] = Counter(w for ws in words for w in ws)
    by_day: dict[str, list[int]] = defaultdict(list)
    for i, d in enumerate(docs):
        if words[i]:
            by_day[d.fetched_at[:10]].append(i)
    scored: list[tuple[int, int, int]] = []
    for ids in by_day.values():
        postings: dict[int, list[int]] = defaultdict(list)
        for i in ids:
            for w in words[i]:
                if 2 <= df[w] <= 30:
                    postings[w].append(i)
        shared: Counter[tuple[int, int]] = Counter()
        for post in postings.values():
            if len(post) <= 12:
                for x in range(len(post)):
                    for y in range(x + 1, len(post)):
                        if docs[post[x]].source != docs[post[y]].source:
                            shared[(post[x], post[y])] += 1
        scored.extend((c, a, b) for (a, b), c in shared.items() if c >= min_shared)
    scored.sort(reverse=True)
    pairs: list[tuple[Doc, Doc, int]] = []
    used: set[int] = set()  # each article in one pair at most
    for c, a, b in scored:
        if a in used or b in used or _overlap(docs[a], docs[b]) >= max_overlap:
            continue
        used.update((a, b))
        pairs.append((docs[a], docs[b], c))
        if len(pairs) >= n:
            break
    return pairs


def hard_negative_section(pairs: list[tuple[Doc, Doc, int]]) -> list[tuple[int, list[Cand]]]:
    """Each pair on its own: index the first article, check the second; every flag is wrong."""
    out(f"== Hard negatives: SaudiNewsNet, {len(pairs)} pairs of different stories about the same event ==")
    if not pairs:
        return []
    out(
        f"  same day, different outlets, {pairs[-1][2]}-{pairs[0][2]} shared rare words; "
        f"true shingle overlap of the shorter text: median {np.median([_overlap(a, b) for a, b, _ in pairs]):.2f}, "
        f"max {max(_overlap(a, b) for a, b, _ in pairs):.2f}"
    )
    flagged = 0
    recorded: list[tuple[int, list[Cand]]] = []
    for a, b, _ in pairs:
        det = Ours("ours", clock=lambda: 0.0)
        det.check(a)
        flagged += det.check(b)[0] is not None
        fa, fb = fingerprint(a.text), fingerprint(b.text)
        # For the sweep: the pair's estimate as if LSH always proposed it (a worst case).
        if fa.signature.size and fb.signature.size:
            recorded.append((fb.shingles, [(similarity(fa.signature, fb.signature), fa.shingles, False)]))
    out(f"  ours: {flagged}/{len(pairs)} second articles flagged as duplicates of the first (false positives)")
    return recorded


def _overlap(a: Doc, b: Doc) -> float:
    sa, sb = _shingles(a.text), _shingles(b.text)
    return len(sa & sb) / max(1, min(len(sa), len(sb)))


def natural_pairs(docs: list[Doc], threshold: float = 0.4) -> list[tuple[Doc, Doc, float]]:
    """Near pairs inside a corpus: each doc vs the best earlier doc (own LSH index).

    A pair is kept when the best candidate's estimated Jaccard is >= ``threshold`` or
    the handler's rule (containment included) accepts a candidate.
    """
    h = DedupeHandler(near_threshold=2.0, containment_threshold=2.0)
    rule = DedupeHandler()
    pairs: list[tuple[Doc, Doc, float]] = []
    by_url = {d.url: d for d in docs}
    index: DedupeIndex = h.index
    for i, d in enumerate(docs):
        fp = fingerprint(d.text, d.title)
        if fp.signature.size:
            found = index.lookup(None, fp.signature)
            ok = rule.is_near(found.jaccard, fp.shingles, found.shingles) | (found.jaccard >= threshold)
            best = index.best(found, ok & (found.jaccard < 1.0))
            if best is not None:
                other = by_url.get(best.url or "")
                if other is not None:
                    pairs.append((d, other, best.similarity))
        index.put(Entry(d.id, d.url, i, 0, 0.0, fp.signature, fp.shingles))
    return pairs


def natural_section(label: str, pairs: list[tuple[Doc, Doc, float]], rng: random.Random) -> None:
    rule = DedupeHandler()
    flagged = [
        (a, b, sim)
        for a, b, sim in pairs
        if rule.is_near(np.array([sim]), len(_shingles(a.text)), np.array([len(_shingles(b.text))]))[0]
    ]
    silver = sum(same_story(a, b) for a, b, _ in flagged)
    cross = sum(a.source != b.source for a, b, _ in flagged)
    out(
        f"== Natural near duplicates in {label} (handler rule, NEAR_THRESHOLD={NEAR_THRESHOLD}, "
        f"CONTAINMENT_THRESHOLD={CONTAINMENT_THRESHOLD}): {len(flagged)} pairs "
        f"({cross} across outlets); silver precision {silver / max(1, len(flagged)):.4f} =="
    )
    low = sorted(flagged, key=lambda p: p[2])[:200]
    for a, b, sim in rng.sample(low, min(6, len(low))):
        out(
            f"  sim {sim:.2f} J {exact_jaccard(a.text, b.text):.2f} | {a.source}: {a.title[:55]} | {b.source}: {b.title[:55]}"
        )


def ans_section() -> None:
    pairs = ans_pairs()
    out(f"== ANS headline pairs ({len(pairs)}): same story = 'agree' ==")
    sims = []
    for s1, s2, stance in pairs:
        a = minhash(shingle_hashes(word_hashes(s1), k=1))
        b = minhash(shingle_hashes(word_hashes(s2), k=1))
        sims.append((similarity(a, b), stance == "agree", normalize_text(s1) == normalize_text(s2)))
    pos = sum(1 for _, ok, _ in sims if ok)
    ex = sum(1 for _, ok, same in sims if same)
    out(
        f"  handler (headlines are below {MIN_NEAR_TOKENS} words: exact hash only): "
        f"{ex} pairs identical after folding, recall {ex / max(1, pos):.4f}"
    )
    out("  word-set MinHash on headlines (diagnostic, not used by the handler):")
    for t in sorted({0.3, 0.5, 0.7, NEAR_THRESHOLD}):
        tp = sum(1 for s, ok, _ in sims if s >= t and ok)
        fl = sum(1 for s, _, _ in sims if s >= t)
        fp_dis = sum(1 for (s, ok, _), p in zip(sims, pairs, strict=True) if s >= t and p[2] == "disagree")
        out(f"    t={t:.2f} {pr(tp, fl, pos)}; flagged 'disagree' pairs {fp_dis}")


def throughput_section(snn: list[Doc], timings: dict[str, tuple[float, float]]) -> None:
    out(f"== Throughput (one process, one thread; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores) ==")
    out("  per CPU-second of this process (robust to other load) and per wall-second")
    words = np.mean([len(d.text.split()) for d in snn])
    chars = np.mean([len(d.text) for d in snn])
    out(f"  SaudiNewsNet stream, {len(snn)} articles, mean {chars:.0f} chars / {words:.0f} words")
    for name, (wall, cpu) in timings.items():
        out(f"  {name:30s} {len(snn) / cpu:8.0f} checks/CPU-s {len(snn) / wall:8.0f} checks/wall-s")
    arts = [article_of(d) for d in snn]
    t, c = time.perf_counter(), time.process_time()
    fps = [fingerprint_article(a) for a in arts]
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    out(f"  {'fingerprint_article only':30s} {len(arts) / cpu:8.0f} /CPU-s        {len(arts) / wall:8.0f} /wall-s")
    h = DedupeHandler()
    t, c = time.perf_counter(), time.process_time()
    for a, fp in zip(arts, fps, strict=True):
        h.handle_fingerprinted(a, fp)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    out(
        f"  {'handle_fingerprinted only':30s} {len(arts) / cpu:8.0f} /CPU-s        {len(arts) / wall:8.0f} /wall-s"
        "  (the stateful part, when a pool computes the fingerprints)"
    )


def _rss() -> int:
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _url(i: int) -> str:
    return f"https://www.example-news-site.com/world/middle-east/2025/07/21/article-{i:09d}.html"


def _fill_ours(sigs: np.ndarray, hashes: np.ndarray) -> DedupeIndex:
    index = DedupeIndex()
    for i in range(sigs.shape[0]):
        index.put(Entry(f"{i:032x}", _url(i), int(hashes[i]), 0, 1.7e9 + i, sigs[i]))
    return index


def index_size_probe(n: int) -> None:
    """Build an index of ``n`` synthetic entries; print RSS growth and lookup speed."""
    rng = np.random.default_rng(7)
    sigs = rng.integers(0, 2**8, size=(n, 128), dtype=np.uint8)
    hashes = rng.integers(0, 2**63, size=n, dtype=np.uint64)
    probe = rng.integers(0, 2**8, size=(2000, 128), dtype=np.uint8)
    r0 = _rss()
    t = time.process_time()
    index = _fill_ours(sigs, hashes)
    secs = time.process_time() - t
    grown = _rss() - r0
    step = max(1, n // 2000)
    t = time.process_time()
    for q in probe:
        index.find_near(q, NEAR_THRESHOLD)
    miss_rate = probe.shape[0] / (time.process_time() - t)
    t = time.process_time()
    for i in range(0, n, step):
        index.find_near(sigs[i], NEAR_THRESHOLD)
    hit_rate = len(range(0, n, step)) / (time.process_time() - t)
    out(
        f"  ours, {n:>9,d} articles: RSS +{grown / 2**20:7.1f} MiB = {grown / n * 1e5 / 2**20:5.1f} MiB per 100k; "
        f"numpy arrays {index.nbytes_arrays() / 2**20:.1f} MiB; built at {n / secs:.0f} puts/CPU-s; "
        f"find_near at this size: new text {miss_rate:.0f}/CPU-s, indexed text {hit_rate:.0f}/CPU-s"
    )


def memory_section(changelog: Sequence[Out], sizes: Iterable[int]) -> None:
    out("== Memory of the index ==")
    tracemalloc.start()
    t = time.process_time()
    h = DedupeHandler()
    for rec in changelog:
        h.restore(rec.key or b"", rec.value)
    cur, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    n = len(h.index)
    out(
        f"  ours, restored from the SaudiNewsNet changelog ({len(changelog)} records, {n} articles): "
        f"{cur / 2**20:.1f} MiB = {cur / n * 1e5 / 2**20:.1f} MiB per 100k (tracemalloc); "
        f"restore {len(changelog) / (time.process_time() - t):.0f} records/CPU-s (traced)"
    )
    del h
    out("  synthetic entries (32-hex ids, 84-char URLs, random signatures), each size in a fresh process:")
    for n in sizes:
        proc = subprocess.run(
            [sys.executable, "-m", "bench.dedupe.run", "--index-size", str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        out(proc.stdout.rstrip())
    rng = np.random.default_rng(8)
    n = 20_000
    tracemalloc.start()
    lsh = DatasketchLSH()
    sigs32 = rng.integers(0, 2**32, size=(n, 128), dtype=np.uint64)
    for i in range(n):
        m = MinHash(hashvalues=sigs32[i], scheme="affine32")
        lsh.minhashes[f"{i:032x}"] = m
        lsh.lsh.insert(f"{i:032x}", m)
    cur, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    out(
        f"  datasketch-default, {n:,d} articles: {cur / 2**20:.1f} MiB = {cur / n * 1e5 / 2**20:.1f} MiB per 100k "
        "(MinHash objects + MinHashLSH; tracemalloc)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="smaller copy sets, no 1M memory run")
    ap.add_argument("--index-size", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.index_size:
        index_size_probe(args.index_size)
        return 0
    t0 = time.perf_counter()
    snn = saudinewsnet()
    eng = english_docs()
    n_copies = 200 if args.quick else 600
    out(f"loaded {len(snn)} SaudiNewsNet, {len(eng)} English docs in {time.perf_counter() - t0:.1f}s")
    out(
        f"NEAR_THRESHOLD={NEAR_THRESHOLD} CONTAINMENT_THRESHOLD={CONTAINMENT_THRESHOLD} "
        f"MIN_LENGTH_RATIO={MIN_LENGTH_RATIO} CONTAINMENT_FLOOR={CONTAINMENT_FLOOR}"
    )

    dets: dict[str, Detector] = {
        "ours": Ours(),
        "exact-only": Ours("exact-only", near_threshold=2.0, containment_threshold=2.0),
        "datasketch-default": DatasketchLSH(),
    }
    runs: dict[str, list[Verdict]] = {}
    timings: dict[str, tuple[float, float]] = {}
    for name, det in dets.items():
        runs[name], timings[name] = stream(det, snn)
    exact_section(snn, runs)

    ar_copies = make_copies(snn, n_copies, "ar", seed=1)
    stats: dict[str, list[float]] = {}
    near_section("SaudiNewsNet Arabic, synthetic copies", snn, ar_copies, dets, stats)

    eng_dets: dict[str, Detector] = {
        "ours": Ours(),
        "exact-only": Ours("exact-only", near_threshold=2.0, containment_threshold=2.0),
        "datasketch-default": DatasketchLSH(),
    }
    for det in eng_dets.values():
        stream(det, eng)
    en_copies = make_copies(eng, n_copies * 5 // 6, "en", seed=2)
    near_section("English (fundus + Dragnet), synthetic copies", eng, en_copies, eng_dets, stats)

    hard = hard_negative_section(hard_negatives(snn))
    rng = random.Random(3)
    nat_ar = natural_pairs(snn)
    nat_en = natural_pairs(eng)
    natural_section("SaudiNewsNet", nat_ar, rng)
    natural_section("English", nat_en, rng)
    ours_ar, ours_en = dets["ours"], eng_dets["ours"]
    assert isinstance(ours_ar, Ours)
    assert isinstance(ours_en, Ours)
    sweep_section([(snn, ar_copies, ours_ar), (eng, en_copies, ours_en)], nat_ar + nat_en, hard)
    ans_section()
    throughput_section(snn, {f"handle() {k}": v for k, v in timings.items()})
    memory_section(ours_ar.changelog, (100_000,) if args.quick else (100_000, 1_000_000))
    out(f"total bench time {time.perf_counter() - t0:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
