"""The image's entry commands, run outside a container with the environment compose gives them.

The Dockerfile's entry point is the ``newsingest`` console script; here the same script
runs as a child process: ``topics create`` (the topic-init job) and ``serve`` for every
service against the real broker, with the compose environment except the broker address
and the ports.  Each service must answer ``/livez`` and ``/readyz`` (the probes of compose,
the Dockerfile and Kubernetes), serve ``/metrics``, and exit 0 on SIGTERM.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from services.runtime.broker import free_port
from services.runtime.topics import TOPICS
from tests.deploy.conftest import DEPLOY, REPO
from tests.deploy.test_dockerfile import parse_dockerfile


def _console_script() -> list[str]:
    script = Path(sys.executable).parent / "newsingest"
    return [str(script)] if script.exists() else [sys.executable, "-m", "services.cli"]


def _compose_env(service: str, bootstrap: str, prefix: str, port: int) -> dict[str, str]:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    env = {k: str(v) for k, v in compose["services"][service]["environment"].items()}
    env.update(
        NEWSINGEST_KAFKA__BOOTSTRAP_SERVERS=bootstrap,
        NEWSINGEST_KAFKA__TOPIC_PREFIX=prefix,
        NEWSINGEST_KAFKA__PARTITIONS="2",
        NEWSINGEST_STAGE__HTTP_HOST="127.0.0.1",  # 0.0.0.0 in the container; loopback only here
        NEWSINGEST_STAGE__HTTP_PORT=str(port),
        NEWSINGEST_CRAWLER_GROUP_ID=f"{prefix}crawler",
        NEWSINGEST_CRAWLER_INSTANCE_ID=f"{prefix}crawler-0",
        NEWSINGEST_STAGE__WORKERS="1",
    )
    return {**{k: v for k, v in os.environ.items() if not k.startswith("NEWSINGEST_")}, **env}


def test_console_script_runs() -> None:
    done = subprocess.run([*_console_script(), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert "newsingest serve crawler|clean|dedupe|tag" in done.stdout


@pytest.mark.kafka
def test_topics_create_job(kafka_bootstrap: str) -> None:
    prefix = f"e{uuid.uuid4().hex[:8]}."
    env = _compose_env("topics-init", kafka_bootstrap, prefix, 0)
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    command = compose["services"]["topics-init"]["command"]
    done = subprocess.run(
        [*_console_script(), *command], env=env, capture_output=True, text=True, timeout=120, check=False, cwd="/"
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert sorted(done.stdout.split()) == sorted(prefix + t for t in TOPICS)


@pytest.fixture
def services(kafka_bootstrap: str) -> Iterator[dict[str, tuple[subprocess.Popen[bytes], int]]]:
    prefix = f"e{uuid.uuid4().hex[:8]}."
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    procs: dict[str, tuple[subprocess.Popen[bytes], int]] = {}
    try:
        for name in ("crawler", "clean", "dedupe", "tag"):
            port = free_port()
            procs[name] = (
                subprocess.Popen(
                    [*_console_script(), *compose["services"][name]["command"]],
                    env=_compose_env(name, kafka_bootstrap, prefix, port),
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    cwd="/",  # like the image: nothing from the repository's working directory
                ),
                port,
            )
        yield procs
    finally:
        for proc, _ in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)


async def _until_ready(name: str, proc: subprocess.Popen[bytes], port: int, timeout_s: float) -> None:
    deadline = asyncio.get_running_loop().time() + timeout_s
    async with httpx.AsyncClient(timeout=2) as client:
        while True:
            assert proc.poll() is None, (
                f"{name} exited early: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
            )
            try:
                live = await client.get(f"http://127.0.0.1:{port}/livez")
                ready = await client.get(f"http://127.0.0.1:{port}/readyz")
                if live.status_code == 200 and ready.status_code == 200:
                    metrics = await client.get(f"http://127.0.0.1:{port}/metrics")
                    assert metrics.status_code == 200
                    assert "newsingest_" in metrics.text
                    return
            except httpx.TransportError:
                pass
            assert asyncio.get_running_loop().time() < deadline, f"{name} not ready after {timeout_s}s"
            await asyncio.sleep(0.5)


def _healthcheck(test: list[str], port: int) -> int:
    """Run a compose/Dockerfile exec-form health check with the port of this run."""
    argv = [a.replace("127.0.0.1:9100", f"127.0.0.1:{port}") for a in test[1:]]
    argv = [sys.executable if a == "python" else a for a in argv]
    return subprocess.run(argv, capture_output=True, timeout=30, check=False).returncode


@pytest.mark.kafka
async def test_every_service_starts_answers_probes_and_stops_cleanly(
    services: dict[str, tuple[subprocess.Popen[bytes], int]],
) -> None:
    await asyncio.gather(*(_until_ready(n, p, port, 120) for n, (p, port) in services.items()))

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    (healthcheck,) = parse_dockerfile((REPO / "Dockerfile").read_text())[1][-1].all("HEALTHCHECK")
    docker_check = json.loads(healthcheck.split(" CMD ", 1)[1])
    for name, (_, port) in services.items():
        assert _healthcheck(compose["services"][name]["healthcheck"]["test"], port) == 0, name
        assert _healthcheck(["CMD", *docker_check], port) == 0, name

    for proc, _ in services.values():
        proc.send_signal(signal.SIGTERM)
    for name, (proc, _) in services.items():
        code = await asyncio.to_thread(proc.wait, 60)
        assert code == 0, f"{name} exited {code}: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}"
