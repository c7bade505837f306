"""Shared helpers of the deployment tests: the repository paths and the settings catalogue."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"


def load_config_reference() -> ModuleType:
    """``docs/gen_config_reference.py`` as a module (docs/ is not a package)."""
    spec = importlib.util.spec_from_file_location(
        "newsingest_config_reference", REPO / "docs" / "gen_config_reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def configref() -> ModuleType:
    return load_config_reference()


@pytest.fixture(scope="session")
def setting_names(configref: ModuleType) -> set[str]:
    """Every environment variable a newsingest service reads."""
    return {r.env for r in configref.rows()} | configref.extra_env_vars()
