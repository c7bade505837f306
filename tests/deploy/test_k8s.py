"""deploy/k8s: valid against the Kubernetes JSON schemas and consistent with the code.

Validation uses the schemas shipped in the ``kubernetes-validate`` package (strict mode:
unknown fields are errors) for the oldest and newest Kubernetes minor versions it
knows that we support.  The cross-checks read the manifests as the cluster would: the
commands parse with the real CLI, every environment variable (ConfigMap, Secret, env)
is a real setting and the whole environment parses into settings, probes ask the
endpoints and the port the services serve, and the stateful dedupe stage has a
PodDisruptionBudget that protects it without blocking node drains.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from services.cli import build_parser
from services.runtime.config import Settings
from tests.deploy.conftest import DEPLOY, REPO
from tests.deploy.test_dockerfile import parse_dockerfile

K8S = DEPLOY / "k8s"
PIPELINE = {"crawler", "clean", "dedupe", "tag"}
VERSIONS = ("1.30.0", kubernetes_validate.latest_version())
WORKLOADS = {"Deployment", "StatefulSet", "Job"}


def _load() -> list[tuple[Path, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        docs += [(path, d) for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


DOCS = _load()


def _by_kind(kind: str) -> list[dict[str, Any]]:
    return [d for _, d in DOCS if d["kind"] == kind]


def _one(kind: str, name: str) -> dict[str, Any]:
    (doc,) = [d for d in _by_kind(kind) if d["metadata"]["name"] == name]
    return doc


def _workloads() -> list[dict[str, Any]]:
    return [d for _, d in DOCS if d["kind"] in WORKLOADS]


def _pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    return workload["spec"]["template"]["spec"]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("path", "doc"), DOCS, ids=[f"{p.name}:{d['kind']}/{d['metadata']['name']}" for p, d in DOCS])
def test_manifest_is_valid_kubernetes(path: Path, doc: dict[str, Any], version: str) -> None:
    kubernetes_validate.validate(doc, version, strict=True)


def test_validation_catches_mistakes() -> None:
    """Strict validation rejects a misspelt field and a wrong type (so the test above means something)."""
    deployment = json.loads(json.dumps(_one("Deployment", "newsingest-tag")))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)
    deployment = json.loads(json.dumps(_one("Deployment", "newsingest-tag")))
    deployment["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, VERSIONS[-1], strict=True)


def test_kustomization_applies_every_manifest_with_one_image() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files
    (image,) = kustomization["images"]
    for workload in _workloads():
        for container in _pod_spec(workload)["containers"]:
            assert container["image"] == image["name"], workload["metadata"]["name"]
    assert all(
        d["metadata"].get("namespace") == kustomization["namespace"] for _, d in DOCS if d["kind"] != "Namespace"
    )


def test_every_pipeline_service_runs_with_a_real_command() -> None:
    parser = build_parser()
    seen = set()
    for workload in _workloads():
        (container,) = _pod_spec(workload)["containers"]
        args = parser.parse_args(container["args"])
        component = workload["metadata"]["labels"]["app.kubernetes.io/component"]
        if workload["kind"] == "Job":
            assert args.fn.__name__ == "cmd_topics"
            continue
        assert args.fn.__name__ == "cmd_serve"
        assert args.service == component
        seen.add(args.service)
    assert seen == PIPELINE


def _environment(container: dict[str, Any], pod: dict[str, Any]) -> dict[str, str]:
    """The container's environment as the kubelet would build it (fieldRefs filled in)."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(_one("ConfigMap", source["configMapRef"]["name"])["data"])
        if "secretRef" in source:
            env.update(_one("Secret", source["secretRef"]["name"])["stringData"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
        elif item["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name":
            env[item["name"]] = pod["metadata"]["name"] + "-0"
    return env


def test_environment_is_made_of_settings_and_parses(setting_names: set[str], monkeypatch: pytest.MonkeyPatch) -> None:
    for workload in _workloads():
        (container,) = _pod_spec(workload)["containers"]
        env = _environment(container, workload)
        assert [k for k in env if k not in setting_names] == [], workload["metadata"]["name"]
        with monkeypatch.context() as m:
            for key, value in env.items():
                m.setenv(key, value)
            settings = Settings()
        assert settings.kafka.security_protocol == "SASL_SSL"
        assert settings.kafka.sasl_password is not None
        assert settings.stage.http_host == "0.0.0.0"


def test_secrets_hold_the_secret_settings() -> None:
    config = _one("ConfigMap", "newsingest-config")["data"]
    assert not [k for k in config if "PASSWORD" in k or "SECRET" in k]
    assert "NEWSINGEST_KAFKA__SASL_PASSWORD" in _one("Secret", "newsingest-kafka")["stringData"]


def test_ca_file_is_mounted_where_the_settings_point() -> None:
    cafile = Path(_one("ConfigMap", "newsingest-config")["data"]["NEWSINGEST_KAFKA__SSL_CAFILE"])
    for workload in _workloads():
        pod = _pod_spec(workload)
        (container,) = pod["containers"]
        mount = next(v for v in container["volumeMounts"] if Path(v["mountPath"]) == cafile.parent)
        volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
        assert cafile.name in _one("Secret", volume["secret"]["secretName"])["stringData"]


def test_probes_ask_the_health_endpoints_on_the_service_port() -> None:
    port = int(_one("ConfigMap", "newsingest-config")["data"]["NEWSINGEST_STAGE__HTTP_PORT"])
    health = (REPO / "services" / "runtime" / "health.py").read_text()
    for workload in _workloads():
        if workload["kind"] == "Job":
            continue
        template = workload["spec"]["template"]
        (container,) = template["spec"]["containers"]
        (http,) = container["ports"]
        assert http == {"name": "http", "containerPort": port}
        assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "http"}
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
        assert container["startupProbe"]["httpGet"]["path"] == "/livez"
        for path in ("/livez", "/readyz", "/metrics"):
            assert f'"{path}"' in health
        assert template["metadata"]["annotations"]["prometheus.io/port"] == str(port)
        assert workload["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] >= 30


def test_resources_and_non_root() -> None:
    (user,) = parse_dockerfile((REPO / "Dockerfile").read_text())[1][-1].all("USER")
    uid = int(user.split(":")[0])
    for workload in _workloads():
        pod = _pod_spec(workload)
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == uid
        (container,) = pod["containers"]
        requests = container["resources"]["requests"]
        assert {"cpu", "memory"} <= set(requests), workload["metadata"]["name"]
        assert "memory" in container["resources"]["limits"]
        assert container["securityContext"]["allowPrivilegeEscalation"] is False


def test_dedupe_has_a_disruption_budget_that_allows_drains() -> None:
    dedupe = _one("Deployment", "newsingest-dedupe")
    (pdb,) = _by_kind("PodDisruptionBudget")
    labels = dedupe["spec"]["template"]["metadata"]["labels"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert 1 <= pdb["spec"]["minAvailable"] < dedupe["spec"]["replicas"]
    # A new pod replays the changelog before it is ready: never stop the old one first.
    assert dedupe["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0


def test_crawler_instances_have_stable_names() -> None:
    crawler = _one("StatefulSet", "newsingest-crawler")
    (container,) = _pod_spec(crawler)["containers"]
    (instance,) = [e for e in container["env"] if e["name"] == "NEWSINGEST_CRAWLER_INSTANCE_ID"]
    assert instance["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
    assert _one("Service", crawler["spec"]["serviceName"])["spec"]["clusterIP"] == "None"
