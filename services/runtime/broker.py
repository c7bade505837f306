"""A real single-node Kafka broker (KRaft) for tests, CI and the demo.

The jars come from Maven Central through ``deploy/kafka/pom.xml`` into a cache folder
outside the repository; storage is formatted with ``kafka.tools.StorageTool`` and the
broker runs as a plain ``java`` process on 127.0.0.1.  No Docker.

    with LocalBroker.create(Path("/tmp/k")) as broker:
        print(broker.bootstrap_servers)
"""

from __future__ import annotations

import base64
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from types import TracebackType

from services.runtime.errors import BrokerStartError

__all__ = ["KAFKA_VERSION", "LocalBroker", "fetch_jars", "free_port", "kafka_cache_dir"]

log = logging.getLogger(__name__)

KAFKA_VERSION = "4.3.1"
DEPLOY_DIR = Path(__file__).resolve().parents[2] / "deploy" / "kafka"
_JVM_OPTS = ["-Xms256m", "-Xmx512m", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError", "-XX:TieredStopAtLevel=1"]


def kafka_cache_dir() -> Path:
    """Where the broker's jars are cached (``NEWSINGEST_KAFKA_CACHE`` overrides)."""
    default = Path.home() / ".cache" / "newsingest" / f"kafka-{KAFKA_VERSION}"
    return Path(os.environ.get("NEWSINGEST_KAFKA_CACHE", default))


def _require(tool: str, apt_package: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise BrokerStartError(f"'{tool}' not found: install it with `apt-get install -y {apt_package}`")
    return path


def fetch_jars(cache: Path | None = None) -> Path:
    """Resolve Kafka's runtime jars with Maven into ``cache/libs`` (idempotent); return that folder."""
    libs = (cache or kafka_cache_dir()) / "libs"
    marker = libs / f".complete-{KAFKA_VERSION}"
    if marker.exists():
        return libs
    mvn = _require("mvn", "maven")
    _require("java", "openjdk-17-jre-headless")
    libs.mkdir(parents=True, exist_ok=True)
    cmd = [
        mvn, "-B", "-q", "-f", str(DEPLOY_DIR / "pom.xml"),
        "dependency:copy-dependencies", "-DincludeScope=runtime", f"-DoutputDirectory={libs}",
    ]  # fmt: skip
    log.info("fetching kafka jars", extra={"cmd": " ".join(cmd)})
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0:
        raise BrokerStartError(
            f"maven could not fetch Kafka {KAFKA_VERSION}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        )
    if not any(libs.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
        raise BrokerStartError(f"maven finished but kafka_2.13-{KAFKA_VERSION}.jar is not in {libs}")
    marker.touch()
    return libs


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _cluster_id() -> str:
    # 16 random bytes as URL-safe base64 without padding; a leading '-' confuses the CLI parser.
    while True:
        cid = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


@dataclass
class LocalBroker:
    """One broker+controller process; a context manager that stops it on exit."""

    workdir: Path
    port: int
    controller_port: int
    libs: Path
    extra_config: dict[str, str] = field(default_factory=dict)
    extra_listeners: list[tuple[str, int, str]] = field(default_factory=list)  # (name, port, protocol)
    scram_users: list[str] = field(default_factory=list)  # StorageTool --add-scram arguments
    _proc: subprocess.Popen[bytes] | None = None

    @classmethod
    def create(cls, workdir: Path, *, port: int | None = None, **kw: object) -> LocalBroker:
        """A broker in ``workdir`` (created), with jars fetched and free ports picked."""
        workdir.mkdir(parents=True, exist_ok=True)
        return cls(workdir=workdir, port=port or free_port(), controller_port=free_port(), libs=fetch_jars(), **kw)  # type: ignore[arg-type]

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def log_file(self) -> Path:
        return self.workdir / "logs" / "server.log"

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def _write_properties(self) -> Path:
        tpl = Template((DEPLOY_DIR / "server.properties.template").read_text())
        listeners = "".join(f",{n}://127.0.0.1:{p}" for n, p, _ in self.extra_listeners)
        protocols = "".join(f",{n}:{proto}" for n, _, proto in self.extra_listeners)
        text = tpl.substitute(
            port=self.port,
            controller_port=self.controller_port,
            data_dir=self.data_dir,
            internal_partitions=1,
            extra_listeners=listeners,
            extra_advertised=listeners,
            extra_protocol_map=protocols,
            extra_config="\n".join(f"{k}={v}" for k, v in self.extra_config.items()),
        )
        path = self.workdir / "server.properties"
        path.write_text(text)
        return path

    def _java(self, main: str, *args: str) -> list[str]:
        return [
            _require("java", "openjdk-17-jre-headless"), *_JVM_OPTS,
            f"-Dlog4j2.configurationFile={DEPLOY_DIR / 'log4j2.properties'}",
            f"-Dkafka.logs.dir={self.workdir / 'logs'}",
            "-cp", f"{self.libs}/*", main, *args,
        ]  # fmt: skip

    def format(self) -> None:
        """Format the storage folder once (a formatted folder keeps its cluster id)."""
        props = self._write_properties()
        if (self.data_dir / "meta.properties").exists():
            return
        extra = [a for u in self.scram_users for a in ("--add-scram", u)]
        cmd = self._java(
            "kafka.tools.StorageTool", "format", "--standalone", "-t", _cluster_id(), "-c", str(props), *extra
        )
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise BrokerStartError(f"kafka storage format failed: {done.stdout[-1500:]}{done.stderr[-1500:]}")

    def start(self, timeout_s: float = 90.0) -> None:
        """Format if needed, start the JVM, and wait until the broker accepts connections."""
        if self.running:
            return
        self.format()
        (self.workdir / "logs").mkdir(exist_ok=True)
        props = self._write_properties()
        out = (self.workdir / "logs" / "stdout.log").open("ab")
        self._proc = subprocess.Popen(
            self._java("kafka.Kafka", str(props)), stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        out.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BrokerStartError(f"kafka exited with {self._proc.returncode}; see {self.workdir / 'logs'}")
            if _port_open(self.port) and self._started_logged():
                log.info("kafka started", extra={"bootstrap": self.bootstrap_servers})
                return
            time.sleep(0.2)
        self.stop()
        raise BrokerStartError(f"kafka did not start within {timeout_s:.0f}s; see {self.log_file}")

    def _started_logged(self) -> bool:
        try:
            return "Kafka Server started" in self.log_file.read_text(errors="replace")
        except FileNotFoundError:
            return False

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``; idempotent."""
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)

    def kill(self) -> None:
        """SIGKILL at once (chaos tests)."""
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(10)

    def __enter__(self) -> LocalBroker:
        self.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()
