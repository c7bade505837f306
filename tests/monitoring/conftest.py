"""Fixtures of the monitoring tests: the Prometheus binaries from Debian's package.

CI installs them with ``make system-deps`` (package ``prometheus``); a machine without
them fails these tests with a clear message instead of skipping them silently.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def _binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if path is None:
        pytest.fail(f"{name} not found: install Debian's prometheus package (make system-deps)")
    return path


@pytest.fixture(scope="session")
def promtool() -> str:
    """Path of promtool."""
    return _binary("promtool")


@pytest.fixture(scope="session")
def prometheus_bin() -> str:
    """Path of the Prometheus server."""
    return _binary("prometheus")
