"""The Dockerfile, read without a Docker engine: stages, user, entry point, build context.

A real ``docker build`` cannot run here; what it would need is checked instead: every
file it copies exists and survives ``.dockerignore``, the final stage is slim and runs as
a non-root user, the entry point is the console script the package declares, and the
health check asks an endpoint the services serve (``test_entrypoints.py`` runs it).
"""

from __future__ import annotations

import fnmatch
import json
import re
import tomllib
from dataclasses import dataclass, field

import pytest

from tests.deploy.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [args for kw, args in self.instructions if kw == keyword]


def parse_dockerfile(text: str) -> tuple[dict[str, str], list[Stage]]:
    """Global ARGs and the build stages (continuation lines joined, comments dropped)."""
    joined = re.sub(r"\\\n", " ", "\n".join(ln for ln in text.splitlines() if not ln.lstrip().startswith("#")))
    args: dict[str, str] = {}
    stages: list[Stage] = []
    for line in joined.splitlines():
        if not line.strip():
            continue
        keyword, _, rest = line.strip().partition(" ")
        keyword, rest = keyword.upper(), rest.strip()
        if keyword == "FROM":
            parts = rest.split()
            base = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), parts[0])
            name = parts[2] if len(parts) == 3 and parts[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(base, name))
        elif not stages:
            if keyword == "ARG":
                key, _, value = rest.partition("=")
                args[key] = value
        else:
            stages[-1].instructions.append((keyword, rest))
    return args, stages


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return parse_dockerfile(DOCKERFILE.read_text())[1]


def _ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; ``!`` re-includes."""
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        pat = pattern.removeprefix("!").rstrip("/")
        if pat == "**" or fnmatch.fnmatch(path, pat) or fnmatch.fnmatch(path, pat + "/*") or path == pat:
            ignored = not negate
    return ignored


def _dockerignore() -> list[str]:
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.startswith("#")]


def test_multi_stage_with_a_slim_runtime(stages: list[Stage]) -> None:
    assert len(stages) >= 2
    runtime = stages[-1]
    assert "slim" in runtime.base
    assert any("--from=build" in c for c in runtime.all("COPY"))
    # Compilers stay in the build stage.
    assert not any("build-essential" in r for r in runtime.all("RUN"))


def test_runtime_runs_as_a_non_root_user(stages: list[Stage]) -> None:
    runtime = stages[-1]
    (user,) = runtime.all("USER")
    uid = user.split(":")[0]
    assert uid.isdigit()
    assert int(uid) >= 1000  # numeric, so Kubernetes runAsNonRoot can verify it
    assert any(f"--uid {uid}" in r for r in runtime.all("RUN"))


def test_entrypoint_is_the_declared_console_script(stages: list[Stage]) -> None:
    runtime = stages[-1]
    (entrypoint,) = runtime.all("ENTRYPOINT")
    command = json.loads(entrypoint)
    assert command == ["newsingest"]
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["newsingest"] == "services.cli:main"


def test_healthcheck_asks_an_endpoint_the_services_serve(stages: list[Stage]) -> None:
    (check,) = stages[-1].all("HEALTHCHECK")
    path = re.search(r"http://127\.0\.0\.1:(\d+)(/\w+)", check)
    assert path is not None
    assert path.group(2) in (REPO / "services" / "runtime" / "health.py").read_text()
    assert f"NEWSINGEST_STAGE__HTTP_PORT={path.group(1)}" in " ".join(stages[-1].all("ENV"))


def test_copied_sources_exist_and_pass_dockerignore(stages: list[Stage]) -> None:
    patterns = _dockerignore()
    build = stages[0]
    copied = [c.split()[:-1] for c in build.all("COPY") if not c.startswith("--")]
    sources = [s for group in copied for s in group]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), source
        assert not _ignored(source, patterns), source
    # What the wheel build reads: pyproject's readme, the package and the schemas it force-includes.
    project = tomllib.loads((REPO / "pyproject.toml").read_text())
    needed = [project["project"]["readme"], *project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]]
    needed += list(project["tool"]["hatch"]["build"]["targets"]["wheel"]["force-include"])
    for path in needed:
        assert path in sources, path
    for data_file in ("services/tag/data/places.tsv", "services/runtime/kafka.py", "schemas/article.schema.json"):
        assert not _ignored(data_file, patterns), data_file


def test_dockerignore_keeps_local_state_out() -> None:
    patterns = _dockerignore()
    for path in (".venv", ".git", "tests/conftest.py", "var/kafka", "services/__pycache__/x.pyc"):
        assert _ignored(path, patterns), path
