"""Every query of the Grafana dashboard and of the alert rules names metrics the services export.

"Exported" is what the services' ``/metrics`` serves: the families registered in
prometheus_client's registry once the runtime and crawler metric modules are imported
(counters as ``<name>_total``, histograms as ``_bucket``/``_count``/``_sum``), plus
``up``, which Prometheus adds per target.  The queries must also parse: promtool checks
each as a recording rule.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY

import services.crawler.metrics
import services.runtime.metrics  # noqa: F401  (registers the families)
from tests.monitoring.conftest import DEPLOY

DASHBOARD = DEPLOY / "grafana" / "dashboards" / "newsingest.json"
PROVISIONING = DEPLOY / "grafana" / "provisioning"
_NAME = re.compile(r"\b(newsingest_[a-z0-9_]+|up)\b")
_SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",)}


def exported_names() -> set[str]:
    """Sample names the services' /metrics can carry."""
    names = {"up"}
    for family in REGISTRY.collect():
        if family.name.startswith("newsingest_"):
            names.update(family.name + s for s in _SUFFIXES.get(family.type, ("",)))
    return names


def _targets(panels: list[dict[str, Any]]) -> list[tuple[str, str]]:
    out = []
    for p in panels:
        out.extend((p["title"], t["expr"]) for t in p.get("targets", []))
        out.extend(_targets(p.get("panels", [])))
    return out


def dashboard_queries() -> list[tuple[str, str]]:
    """(panel title, PromQL) of every dashboard query."""
    return _targets(json.loads(DASHBOARD.read_text())["panels"])


def alert_queries() -> list[tuple[str, str]]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [(r["alert"], r["expr"]) for g in rules["groups"] for r in g["rules"]]


def test_exported_names_include_the_key_families() -> None:
    names = exported_names()
    for key in (
        "newsingest_stage_items_total",
        "newsingest_consumer_lag_records",
        "newsingest_end_to_end_latency_seconds_bucket",
        "newsingest_crawler_requests_total",
        "newsingest_crawler_feed_last_success_timestamp_seconds",
        "newsingest_crawler_feed_items_total",
        "newsingest_extract_pages_total",
    ):
        assert key in names


@pytest.mark.parametrize("source", ["dashboard", "alerts"])
def test_every_query_names_exported_metrics(source: str) -> None:
    queries = dashboard_queries() if source == "dashboard" else alert_queries()
    assert len(queries) >= 12
    exported = exported_names()
    unknown = {(title, name) for title, expr in queries for name in _NAME.findall(expr) if name not in exported}
    assert unknown == set(), f"queries name metrics no service exports: {sorted(unknown)}"
    for title, expr in queries:
        assert _NAME.search(expr), f"{title}: names no metric"


def test_dashboard_covers_what_an_operator_needs() -> None:
    text = DASHBOARD.read_text()
    dash = json.loads(text)
    rows = {p["title"] for p in dash["panels"] if p["type"] == "row"}
    assert {"Pipeline flow", "Lag and transactions", "Feed health", "Dead letters", "Latency"} <= rows
    ids = [p["id"] for p in dash["panels"]]
    assert len(ids) == len(set(ids))
    for p in dash["panels"]:
        if p["type"] != "row":
            assert p["datasource"]["uid"] == "prometheus", p["title"]
    datasource = yaml.safe_load((PROVISIONING / "datasources" / "prometheus.yml").read_text())
    assert datasource["datasources"][0]["uid"] == "prometheus"
    provider = yaml.safe_load((PROVISIONING / "dashboards" / "newsingest.yml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_dashboard_queries_parse(promtool: str, tmp_path: Path) -> None:
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:q{i}", "expr": expr} for i, (_t, expr) in enumerate(dashboard_queries())
                ],
            }
        ]
    }
    path = tmp_path / "dashboard-rules.yml"
    path.write_text(yaml.safe_dump(rules))
    res = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60, check=False
    )
    assert res.returncode == 0, res.stdout + res.stderr
