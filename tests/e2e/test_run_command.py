"""`newsingest run` (what `make run` calls): everything comes up, Syria items appear, Ctrl-C stops it all."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def _alive(pattern: str) -> list[str]:
    out = subprocess.run(["pgrep", "-af", pattern], capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if "pgrep" not in line]


def test_run_shows_syria_items_and_stops_cleanly(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "120", "PYTHONUNBUFFERED": "1", "TERM": "dumb"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "services.cli", "run", "--workdir", str(tmp_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env=env,
    )
    assert proc.stdout is not None
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    out = b""
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and out.count(b"grade 2") < 3:
            if sel.select(timeout=1):
                chunk = os.read(proc.stdout.fileno(), 65536)
                if not chunk:
                    break
                out += chunk
        text = out.decode("utf-8", "replace")
        assert text.count("grade 2") >= 3, text[-3000:]
        assert "places:" in text
        assert "سوريا" in text or "Syria" in text
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=90)
    text = (out + rest).decode("utf-8", "replace")
    assert proc.returncode == 0, text[-2000:]
    assert "stopped." in text
    assert not _alive(str(tmp_path)), "the broker outlived `newsingest run`"
    logs = {p.stem: p.read_text() for p in (tmp_path / "logs").glob("*.log")}
    for service in ("crawler", "clean", "dedupe", "tag"):
        assert '"msg":"stopping"' in logs[service], f"{service} was not stopped with SIGTERM"
        assert "service crashed" not in logs[service], logs[service][-2000:]
