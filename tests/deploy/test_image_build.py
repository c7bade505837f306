"""What ``pip install .`` inside the image installs, built from the Docker build context.

The build context is what ``.dockerignore`` lets through; the wheel is built from exactly
that (as the Dockerfile's build stage does), then imported from the unpacked wheel with
the working directory at ``/`` — nothing from the repository checkout — to show the
services find their code and data files there.  Building the wheel fetches the build
backend (hatchling) from PyPI, like ``docker build`` would.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.deploy.conftest import REPO
from tests.deploy.test_dockerfile import _dockerignore, _ignored

pytestmark = pytest.mark.slow

_SKIP = {".git", ".venv", ".mypy_cache", ".ruff_cache", ".pytest_cache", "var", "node_modules"}


def _build_context(target: Path) -> list[str]:
    patterns = _dockerignore()
    copied = []
    for root, dirs, files in os.walk(REPO):
        rel_root = Path(root).relative_to(REPO)
        dirs[:] = [d for d in dirs if d not in _SKIP]
        for name in files:
            rel = str(rel_root / name) if str(rel_root) != "." else name
            if not _ignored(rel, patterns):
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / rel, target / rel)
                copied.append(rel)
    return copied


def test_wheel_from_the_build_context_runs_the_services(tmp_path: Path) -> None:
    context = tmp_path / "context"
    copied = _build_context(context)
    assert "pyproject.toml" in copied
    assert not any(p.startswith(("tests/", ".git/", "bench/")) for p in copied)

    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", str(context), "-w", str(tmp_path / "wheel")],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = (tmp_path / "wheel").glob("newsingest-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in ("services/cli.py", "services/tag/data/places.tsv", "services/_schemas/article.schema.json"):
        assert needed in names, needed

    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "import sys\n"
        "import services, services.cli, services.clean.handler, services.dedupe.handler, services.crawler.service\n"
        "from services.tag.handler import TagHandler\n"
        "assert services.__file__.startswith(sys.argv[1]), services.__file__\n"
        "out = TagHandler().handle({'schema_version': 1, 'id': '0' * 32, 'url': 'https://n.example/a',\n"
        "    'canonical_url': 'https://n.example/a', 'source': 'n.example', 'title': 'Aleppo',\n"
        "    'text': 'Water returned to eastern Aleppo on Monday, Syrian officials said.', 'language': 'en',\n"
        "    'published': None, 'authors': [], 'fetched_at': '2026-11-26T00:00:00Z',\n"
        "    'cleaned_at': '2026-11-26T00:00:00Z', 'revision': 0})\n"
        "print(sorted({o.topic for o in out}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    ran = subprocess.run(
        [sys.executable, "-c", probe, str(site)],
        env=env,
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert ran.stdout.strip() == "['news.articles', 'news.syria']"
    helped = subprocess.run(
        [sys.executable, "-m", "services.cli", "serve", "--help"],
        env=env, cwd="/", capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert helped.returncode == 0, helped.stderr[-2000:]
    assert "crawler,clean,dedupe,tag" in helped.stdout
