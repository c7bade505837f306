"""``newsingest run``: the whole pipeline on one machine, for a demo or a first look.

Starts a real Kafka broker (jars fetched with Maven), the demo news site, the crawler and
the clean, dedupe and tag services (one process each, logs to files), registers the demo
site's feeds, and prints Syria-tagged articles as they arrive.  Ctrl-C stops everything
in reverse order: services first (SIGTERM, then SIGKILL after a grace period), then the
site and the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

from rich.console import Console

from services.runtime.broker import LocalBroker, free_port

__all__ = ["run_everything"]

SERVICES = ("crawler", "clean", "dedupe", "tag")
_GRACE_S = 20.0


def _env(bootstrap: str, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "NEWSINGEST_KAFKA__BOOTSTRAP_SERVERS": bootstrap,
            # The demo site is on 127.0.0.1: the crawler's SSRF guard must be told so.
            "NEWSINGEST_CRAWLER_ALLOW_NETWORKS": '["127.0.0.0/8"]',
            "NEWSINGEST_CRAWLER_POLL_MIN_INTERVAL_S": "3",
            "NEWSINGEST_CRAWLER_POLL_MAX_INTERVAL_S": "15",
            "NEWSINGEST_CRAWLER_PER_HOST_MIN_DELAY_S": "0.1",
            "NEWSINGEST_CRAWLER_INSTANCE_ID": "demo-crawler-1",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def _spawn(args: list[str], log_path: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as out:
        return subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _stop_all(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + _GRACE_S
    for proc in procs.values():
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(max(0.1, deadline - time.monotonic()))
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def _wait_http(url: str, timeout_s: float = 30.0) -> bytes:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                return bytes(resp.read())
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.3)


class _Supervisor(threading.Thread):
    """Restarts a service that died (as an orchestrator would), with a growing pause."""

    def __init__(
        self,
        procs: dict[str, subprocess.Popen[bytes]],
        spawn: Callable[[str], subprocess.Popen[bytes]],
        console: Console,
    ) -> None:
        super().__init__(daemon=True, name="supervisor")
        self.procs, self.spawn, self.console = procs, spawn, console
        self.stopping = threading.Event()
        self.restarts: dict[str, int] = {}

    def run(self) -> None:
        while not self.stopping.wait(2.0):
            for name in SERVICES:
                proc = self.procs.get(name)
                if proc is None or proc.poll() is None or self.stopping.is_set():
                    continue
                n = self.restarts[name] = self.restarts.get(name, 0) + 1
                with contextlib.suppress(OSError):
                    self.console.print(f"[red]{name} exited with {proc.returncode}; restarting (#{n}), see its log[/]")
                if self.stopping.wait(min(30.0, 2.0**n)):
                    return
                self.procs[name] = self.spawn(name)


@contextlib.contextmanager
def _pipeline(workdir: Path, real_dir: str | None, console: Console) -> Iterator[str]:
    procs: dict[str, subprocess.Popen[bytes]] = {}
    supervisor: _Supervisor | None = None
    broker = LocalBroker.create(workdir / "kafka")
    console.print(f"[dim]starting Kafka {broker.bootstrap_servers} (data in {broker.workdir})…[/]")
    broker.start()
    try:
        env = _env(broker.bootstrap_servers)
        py = sys.executable
        subprocess.run([py, "-m", "services.cli", "topics", "create"], env=env, check=True, capture_output=True)
        port = free_port()
        site_args = [py, "-m", "services.demo", "--port", str(port), "--drip-seconds", "4"]
        if real_dir:
            site_args += ["--real-dir", str(Path(real_dir).resolve())]
        procs["demo-site"] = _spawn(site_args, workdir / "logs" / "demo-site.log", env)
        feeds = json.loads(_wait_http(f"http://127.0.0.1:{port}/feeds.json"))
        feed_file = workdir / "demo-feeds.json"
        feed_file.write_text(json.dumps(feeds))
        subprocess.run(
            [py, "-m", "services.cli", "feeds", "import", str(feed_file)], env=env, check=True, capture_output=True
        )
        console.print(f"[dim]demo site http://127.0.0.1:{port}/ with {len(feeds)} feeds registered[/]")

        # Each service serves /livez, /readyz and /metrics on a port of its own; `newsingest status` reads this map.
        health_ports = {name: free_port() for name in SERVICES}
        (workdir / "services.json").write_text(
            json.dumps({n: f"http://127.0.0.1:{p}" for n, p in health_ports.items()})
        )

        def spawn(name: str) -> subprocess.Popen[bytes]:
            service_env = {**env, "NEWSINGEST_STAGE__HTTP_PORT": str(health_ports[name])}
            return _spawn([py, "-m", "services.cli", "serve", name], workdir / "logs" / f"{name}.log", service_env)

        for name in SERVICES:
            procs[name] = spawn(name)
        console.print(f"[dim]services {', '.join(SERVICES)} started; logs in {workdir / 'logs'}[/]")
        supervisor = _Supervisor(procs, spawn, console)
        supervisor.start()
        yield broker.bootstrap_servers
    finally:
        if supervisor is not None:
            supervisor.stopping.set()
            supervisor.join(5)
        # Teardown first, words after: the terminal may already be gone (closed pipe).
        with contextlib.suppress(OSError):
            console.print("[dim]stopping services…[/]")
        _stop_all({k: v for k, v in procs.items() if k != "demo-site"})
        _stop_all({k: v for k, v in procs.items() if k == "demo-site"})
        broker.stop()
        with contextlib.suppress(OSError):
            console.print("[dim]stopped.[/]")


def run_everything(real_dir: str | None, workdir: Path) -> int:
    """Bring everything up, print ``news.syria`` until Ctrl-C, then bring it all down."""
    from services.runtime.watch import watch_async

    console = Console()
    # The first Ctrl-C ends the watch; teardown must not be interrupted by it.
    with _pipeline(workdir, real_dir, console) as bootstrap:
        os.environ["NEWSINGEST_KAFKA__BOOTSTRAP_SERVERS"] = bootstrap
        console.print("[bold green]waiting for Syria-tagged articles on news.syria[/] (Ctrl-C stops everything)")
        with contextlib.suppress(KeyboardInterrupt, OSError):
            asyncio.run(watch_async(bootstrap, "news.syria", 0, True, console))
    return 0
