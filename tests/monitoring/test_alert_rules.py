"""The alert rules in deploy/prometheus/ are valid and behave as their unit tests say (promtool)."""

from __future__ import annotations

import subprocess

from tests.monitoring.conftest import DEPLOY

PROM = DEPLOY / "prometheus"
TEST_FILES = ("alerts.test.yml", "alerts.daily.test.yml")


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


def test_rules_are_valid(promtool: str) -> None:
    res = _run(promtool, "check", "rules", str(PROM / "alerts.yml"))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "12 rules found" in res.stdout


def test_rule_unit_tests_pass(promtool: str) -> None:
    res = _run(promtool, "test", "rules", *(str(PROM / name) for name in TEST_FILES))
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stdout.count("SUCCESS") == len(TEST_FILES)


def test_every_alert_has_a_firing_test() -> None:
    import yaml

    rules = yaml.safe_load((PROM / "alerts.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"] if "alert" in r}
    fired = {
        case["alertname"]
        for name in TEST_FILES
        for t in yaml.safe_load((PROM / name).read_text())["tests"]
        for case in t.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts - fired == set(), "alerts without a test in which they fire"
    for g in rules["groups"]:
        for r in g["rules"]:
            assert r["labels"]["severity"] in ("page", "ticket"), r["alert"]
            assert r["annotations"]["summary"], r["alert"]
            assert r["annotations"]["description"], r["alert"]


def test_scrape_config_is_valid(promtool: str) -> None:
    res = _run(promtool, "check", "config", str(PROM / "prometheus.yml"))
    assert res.returncode == 0, res.stdout + res.stderr
