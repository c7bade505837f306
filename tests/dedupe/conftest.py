"""Fixtures for the dedupe tests: real articles from ../shared/data, read in place."""

from __future__ import annotations

import csv
import json
import tarfile
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="session")
def saudi_days(shared_dir: Path) -> list[dict[str, Any]]:
    """Articles of the first two crawl days of SaudiNewsNet (~5k articles, many copies)."""
    out: list[dict[str, Any]] = []
    with tarfile.open(shared_dir / "data" / "saudinewsnet" / "saudinewsnet-dev.tar.xz", "r:xz") as tf:
        for n, member in enumerate(tf):
            if n >= 2:
                break
            f = tf.extractfile(member)
            assert f is not None
            out.extend(json.load(f))
    return out


@pytest.fixture(scope="session")
def ans_pairs(shared_dir: Path) -> list[tuple[str, str, str]]:
    """ANS stance dev pairs ``(s1, s2, stance)``."""
    path = shared_dir / "data" / "ans-arabic-news-stance" / "stance" / "dev.csv"
    with path.open(encoding="utf-8") as f:
        return [(r["s1"], r["s2"], r["stance"]) for r in csv.DictReader(f)]
