"""deploy/compose.yaml parses and names only things that exist in the code.

No Docker engine runs here, so the file is checked the way Compose would read it
(YAML merge keys expanded by the parser) and cross-checked against the code: the
commands parse with the real ``newsingest`` argument parser and pick the right service,
every ``NEWSINGEST_*`` variable is a real setting and the whole environment of each
service parses into settings, the health port is the one the services serve, the
monitoring files exist and scrape those services, and the broker config keeps the
settings our own single-node broker needs (the same Kafka version, too).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from services.cli import build_parser
from services.crawler.config import CrawlerSettings
from services.runtime.broker import DEPLOY_DIR as KAFKA_DEPLOY_DIR
from services.runtime.broker import KAFKA_VERSION
from services.runtime.config import Settings
from tests.deploy.conftest import DEPLOY, REPO

COMPOSE = DEPLOY / "compose.yaml"
NEWSINGEST_SERVICES = {"crawler", "clean", "dedupe", "tag"}
JOBS = {"topics-init", "feeds-import"}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


def _ours(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {name: s for name, s in services.items() if name in NEWSINGEST_SERVICES | JOBS}


def _env(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {k: str(v) for k, v in env.items()}


def _dotenv(path: Path) -> dict[str, str]:
    pairs = (ln.split("=", 1) for ln in path.read_text().splitlines() if ln.strip() and not ln.startswith("#"))
    return {k.strip(): v.strip() for k, v in pairs}


def test_every_part_of_the_deployment_is_there(services: dict[str, dict[str, Any]]) -> None:
    assert set(services) == {"kafka", "prometheus", "grafana"} | NEWSINGEST_SERVICES | JOBS


def test_our_services_use_the_one_image_built_from_the_dockerfile(services: dict[str, dict[str, Any]]) -> None:
    for name, service in _ours(services).items():
        assert service["image"] == "${NEWSINGEST_IMAGE:-newsingest:latest}", name
        context = (COMPOSE.parent / service["build"]["context"]).resolve()
        assert context == REPO, name
        assert (context / service["build"]["dockerfile"]).is_file(), name


def test_commands_are_real_cli_commands(services: dict[str, dict[str, Any]]) -> None:
    parser = build_parser()
    for name, service in _ours(services).items():
        args = parser.parse_args(service["command"])
        if name in NEWSINGEST_SERVICES:
            assert args.fn.__name__ == "cmd_serve"
            assert args.service == name, "the compose service name is the pipeline service it runs"
    assert parser.parse_args(services["topics-init"]["command"]).fn.__name__ == "cmd_topics"
    assert parser.parse_args(services["feeds-import"]["command"]).fn.__name__ == "cmd_feeds"


def test_environment_names_are_settings_and_parse(
    services: dict[str, dict[str, Any]], setting_names: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, service in _ours(services).items():
        env = _env(service)
        unknown = [k for k in env if k.startswith("NEWSINGEST_") and k.upper() not in setting_names]
        assert unknown == [], name
        with monkeypatch.context() as m:
            for key, value in env.items():
                m.setenv(key, value)
            settings = Settings()
            CrawlerSettings()
        assert settings.kafka.bootstrap_servers == "kafka:9092"
        assert settings.stage.http_host == "0.0.0.0"


def test_customer_env_example_names_are_settings_and_parse(
    setting_names: set[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _dotenv(DEPLOY / "examples" / "customer.env")
    assert [k for k in env if k not in setting_names] == []
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    kafka = Settings().kafka
    assert kafka.security_protocol == "SASL_SSL"
    assert kafka.sasl_mechanism == "SCRAM-SHA-512"


def test_health_port_is_the_one_services_serve_and_prometheus_scrapes(services: dict[str, dict[str, Any]]) -> None:
    prometheus = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    (sd,) = prometheus["scrape_configs"][0]["dns_sd_configs"]
    for name in NEWSINGEST_SERVICES:
        service = services[name]
        port = _env(service)["NEWSINGEST_STAGE__HTTP_PORT"]
        assert service["expose"] == [port], name
        probe = " ".join(service["healthcheck"]["test"])
        assert f"http://127.0.0.1:{port}/readyz" in probe, name
        assert sd["port"] == int(port)
    assert set(sd["names"]) == NEWSINGEST_SERVICES


def test_dockerfile_defaults_match_compose(services: dict[str, dict[str, Any]]) -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    port = _env(services["tag"])["NEWSINGEST_STAGE__HTTP_PORT"]
    assert f"NEWSINGEST_STAGE__HTTP_PORT={port}" in dockerfile
    assert f"EXPOSE {port}" in dockerfile


def test_dependencies_start_in_order(services: dict[str, dict[str, Any]]) -> None:
    assert services["topics-init"]["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    for name in NEWSINGEST_SERVICES | {"feeds-import"}:
        assert services[name]["depends_on"] == {"topics-init": {"condition": "service_completed_successfully"}}
    for name, service in services.items():
        deps = service.get("depends_on", {})
        assert set(deps) <= set(services), name


def test_mounted_files_exist(compose: dict[str, Any], services: dict[str, dict[str, Any]]) -> None:
    named_volumes = set(compose.get("volumes", {}))
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (COMPOSE.parent / source).exists(), f"{name}: {source}"
            else:
                assert source in named_volumes, f"{name}: {source}"
    feeds = services["feeds-import"]
    mount = next(v for v in feeds["volumes"] if v.endswith(":/feeds:ro"))
    host = COMPOSE.parent / mount.split(":", 1)[0]
    assert (host / Path(feeds["command"][-1]).name).is_file()


def test_prometheus_and_grafana_are_provisioned(services: dict[str, dict[str, Any]]) -> None:
    prom = services["prometheus"]
    assert "--config.file=/etc/prometheus/prometheus.yml" in prom["command"]
    rules = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["rule_files"]
    mounted = {v.split(":")[1] for v in prom["volumes"]}
    for rule in rules:
        assert f"/etc/prometheus/{rule}" in mounted
    graf = services["grafana"]
    targets = {v.split(":")[1] for v in graf["volumes"]}
    assert {"/etc/grafana/provisioning", "/var/lib/grafana/dashboards"} <= targets
    datasource = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text())
    url = datasource["datasources"][0]["url"]
    assert url == f"http://prometheus:{prom['ports'][0].split(':')[1]}"
    provider = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "dashboards" / "newsingest.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def _kafka_props(service: dict[str, Any]) -> dict[str, str]:
    """The apache/kafka image's rule: KAFKA_FOO_BAR -> foo.bar."""
    return {
        k.removeprefix("KAFKA_").lower().replace("_", "."): v
        for k, v in _env(service).items()
        if k.startswith("KAFKA_") and k != "KAFKA_HEAP_OPTS"
    }


def test_kafka_is_the_official_image_in_kraft_mode_like_our_broker(services: dict[str, dict[str, Any]]) -> None:
    kafka = services["kafka"]
    assert kafka["image"] == f"apache/kafka:{KAFKA_VERSION}"
    props = _kafka_props(kafka)
    assert props["process.roles"] == "broker,controller"
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", _env(kafka)["CLUSTER_ID"])
    # What our tested single-node broker needs, above all transaction.state.log.min.isr=1.
    template = (KAFKA_DEPLOY_DIR / "server.properties.template").read_text()
    tested = dict(
        line.split("=", 1) for line in template.splitlines() if "=" in line and not line.startswith(("#", "$"))
    )
    for key in (
        "offsets.topic.replication.factor",
        "transaction.state.log.replication.factor",
        "transaction.state.log.min.isr",
        "share.coordinator.state.topic.replication.factor",
        "share.coordinator.state.topic.min.isr",
        "default.replication.factor",
        "min.insync.replicas",
        "auto.create.topics.enable",
        "message.max.bytes",
        "replica.fetch.max.bytes",
        "transaction.max.timeout.ms",
        "controller.listener.names",
        "inter.broker.listener.name",
    ):
        assert props[key] == tested[key], key
    # Clients inside compose reach the broker at the address it advertises.
    advertised = props["advertised.listeners"].split(",")
    bootstrap = _env(services["clean"])["NEWSINGEST_KAFKA__BOOTSTRAP_SERVERS"]
    assert f"PLAINTEXT://{bootstrap}" in advertised
    listeners = {entry.split("://")[0] for entry in props["listeners"].split(",")}
    mapped = {entry.split(":")[0] for entry in props["listener.security.protocol.map"].split(",")}
    assert listeners == mapped
    host_port = next(a for a in advertised if a.startswith("HOST://")).rsplit(":", 1)[1]
    assert f"{host_port}:{host_port}" in kafka["ports"]
