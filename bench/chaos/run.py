"""``python -m bench.chaos.run``: the full chaos run (50,000 items, 20+ kills per stage, 3 broker restarts).

Prints what reached ``news.articles`` (read_committed) against what went in; the baseline
is the input itself: every item exactly once, no dead letters.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bench.chaos.driver import ChaosConfig, run_chaos


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--items", type=int, default=50_000)
    p.add_argument("--kills-per-stage", type=int, default=20)
    p.add_argument("--broker-restarts", type=int, default=3)
    p.add_argument("--kill-every", type=float, nargs=2, default=(5.0, 15.0), metavar=("MIN_S", "MAX_S"))
    p.add_argument("--deadline", type=float, default=3 * 3600)
    p.add_argument("--workdir", type=Path, default=Path("/tmp/newsingest-chaos"))
    a = p.parse_args(argv)
    cfg = ChaosConfig(
        n_items=a.items,
        kills_per_stage=a.kills_per_stage,
        broker_restarts=a.broker_restarts,
        kill_every_s=tuple(a.kill_every),
        deadline_s=a.deadline,
        workdir=a.workdir,
    )
    r = asyncio.run(run_chaos(cfg, log=lambda m: print(m, flush=True)))
    print(f"items in:                 {r.n_items}")
    print(f"unique on news.articles:  {r.unique_on_articles}")
    print(f"duplicates:               {r.duplicates_on_articles}")
    print(f"missing:                  {r.missing}")
    print(f"dead letters:             {r.dead_letters}")
    print(f"kills:                    {dict(r.kills)}; broker restarts: {r.broker_restarts}")
    print(f"wall time:                {r.seconds:.0f}s ({r.n_items / r.seconds:.1f} items/s end to end under chaos)")
    print("EXACTLY ONCE" if r.exactly_once and r.dead_letters == 0 else "VIOLATION")
    return 0 if r.exactly_once and r.dead_letters == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
