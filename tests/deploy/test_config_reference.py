"""docs/configuration.md is generated from the settings classes and agrees with them.

Beyond "the file is up to date", every documented variable is set in the environment
and parsed, so a name that the settings would ignore (wrong prefix, wrong nesting) fails.
"""

from __future__ import annotations

import typing
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import BaseModel, SecretStr

from services.crawler.config import CrawlerSettings
from services.runtime.config import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


def test_the_reference_is_up_to_date(configref: ModuleType) -> None:
    assert DOC.read_text() == configref.render(), (
        "docs/configuration.md is stale: run .venv/bin/python docs/gen_config_reference.py"
    )


def test_every_setting_has_a_meaning(configref: ModuleType) -> None:
    assert [r.env for r in configref.rows() if not r.meaning.strip()] == []
    assert [e for e in configref.extra_env_vars() if not configref.OTHER_VARIABLES.get(e)] == []


def test_supplementary_meanings_are_not_stale(configref: ModuleType) -> None:
    """A meaning kept beside the code only while the field itself has no description."""
    undocumented = {r.env for r in configref.rows() if r.meaning == configref.EXTRA_MEANINGS.get(r.env)}
    assert set(configref.EXTRA_MEANINGS) == undocumented
    assert set(configref.OTHER_VARIABLES) == configref.extra_env_vars()


def test_the_document_lists_every_variable_once(configref: ModuleType) -> None:
    text = DOC.read_text()
    for row in configref.rows():
        assert text.count(f"| `{row.env}` |") == 1, row.env


def _sample(annotation: Any, default: Any) -> tuple[str, Any]:
    """An env value different from the default, and what the setting should then hold."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        choice = next(a for a in args if a != default)
        return str(choice), choice
    if args and type(None) in args:  # Optional[X]
        inner = [a for a in args if a is not type(None)]
        return _sample(inner[0] if len(inner) == 1 else typing.Union[tuple(inner)], default)  # noqa: UP007
    if annotation is bool:
        return str(not default).lower(), not default
    if annotation is int:
        return str((default or 0) + 3), (default or 0) + 3
    if annotation is float:
        return str((default or 0.0) + 0.5), (default or 0.0) + 0.5
    if annotation is str:
        return "doc-test-value", "doc-test-value"
    if annotation is Path:
        return "/etc/newsingest/doc-test.pem", Path("/etc/newsingest/doc-test.pem")
    if annotation is SecretStr:
        return "doc-test-secret", "doc-test-secret"
    if origin is tuple:
        return '["10.1.0.0/16"]', ("10.1.0.0/16",)
    if origin is dict:
        return '{"news.example": "192.0.2.7"}', {"news.example": "192.0.2.7"}
    raise AssertionError(f"no sample for {annotation!r}")


def _fields(model: type[BaseModel], prefix: str, path: tuple[str, ...]) -> list[tuple[str, tuple[str, ...], Any, Any]]:
    out = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _fields(ann, f"{prefix}{name.upper()}__", (*path, name))
        else:
            default = None if field.default_factory is not None else field.default
            out.append((f"{prefix}{name.upper()}", (*path, name), ann, default))
    return out


CASES = [(Settings, *f) for f in _fields(Settings, "NEWSINGEST_", ())] + [
    (CrawlerSettings, *f) for f in _fields(CrawlerSettings, "NEWSINGEST_CRAWLER_", ())
]


@pytest.mark.parametrize("case", CASES, ids=[c[1] for c in CASES])
def test_each_documented_variable_reaches_its_setting(
    configref: ModuleType, monkeypatch: pytest.MonkeyPatch, case: tuple[Any, ...]
) -> None:
    cls, env, path, annotation, default = case
    assert env in {r.env for r in configref.rows()}
    raw, expected = _sample(annotation, default)
    monkeypatch.setenv(env, raw)
    value: Any = cls()
    for part in path:
        value = getattr(value, part)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    assert value == expected
