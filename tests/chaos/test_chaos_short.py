"""Short chaos run in the suite: stage processes SIGKILLed, the broker restarted, exactly once after.

The full run (50,000 items, 20+ kills per stage, 3 broker restarts) is ``bench/chaos``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chaos.driver import ChaosConfig, run_chaos

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


async def test_every_input_once_on_articles_despite_kills(tmp_path: Path) -> None:
    cfg = ChaosConfig(
        n_items=2000, kills_per_stage=2, broker_restarts=1, kill_every_s=(3.0, 6.0), deadline_s=420, workdir=tmp_path
    )
    result = await run_chaos(cfg, log=lambda _m: None)
    assert sum(result.kills.values()) == 6
    assert result.broker_restarts == 1
    assert result.missing == 0
    assert result.duplicates_on_articles == 0
    assert result.unique_on_articles == cfg.n_items
    assert result.dead_letters == 0
