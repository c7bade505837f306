"""CI check: every message schema stays backward compatible with its released version.

The newest folder under ``schemas/released/`` is the baseline consumers coded against;
``schemas/*.schema.json`` may only add optional properties to it (see ``compat.py``).
The checker itself is tested on deliberate breaking and non-breaking edits, so a green
run means something.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from services.runtime.topics import TOPICS
from tests.contracts.compat import breaking_changes, compare_folders

REPO = Path(__file__).resolve().parents[2]
SCHEMAS = REPO / "schemas"
RELEASED = SCHEMAS / "released"


def newest_release() -> Path:
    """``schemas/released/vN`` with the highest N."""
    folders = [p for p in RELEASED.iterdir() if p.is_dir() and p.name[1:].isdigit() and p.name.startswith("v")]
    assert folders, f"no released schema folder under {RELEASED}"
    return max(folders, key=lambda p: int(p.name[1:]))


def _article() -> dict[str, Any]:
    return json.loads((SCHEMAS / "article.schema.json").read_text())


def test_current_schemas_are_backward_compatible_with_the_newest_release() -> None:
    report = compare_folders(newest_release(), SCHEMAS)
    assert report, "the released folder holds no schema"
    assert {name: problems for name, problems in report.items() if problems} == {}


def test_every_schema_is_valid_json_schema_2020_12() -> None:
    paths = sorted(SCHEMAS.glob("*.schema.json")) + sorted(RELEASED.glob("*/*.schema.json"))
    for path in paths:
        schema = json.loads(path.read_text())
        assert schema.get("$schema") == "https://json-schema.org/draft/2020-12/schema", path.name
        jsonschema.Draft202012Validator.check_schema(schema)


def test_every_topic_with_a_schema_has_its_file_and_every_file_a_topic() -> None:
    declared = {spec.schema for spec in TOPICS.values() if spec.schema}
    files = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")}
    assert declared == files


def test_every_schema_pins_its_version_field() -> None:
    """Messages carry ``schema_version``; version 1 schemas pin it with ``const``."""
    for path in SCHEMAS.glob("*.schema.json"):
        schema = json.loads(path.read_text())
        assert "schema_version" in schema["required"], path.name
        assert schema["properties"]["schema_version"] == {"const": 1}, path.name


ALLOWED = {
    "new optional property": lambda s: s["properties"].__setitem__("summary", {"type": "string"}),
    "new optional nested property": lambda s: s["properties"]["tags"]["properties"]["syria"]["properties"].__setitem__(
        "confidence", {"type": "number"}
    ),
    "edited description": lambda s: s["properties"]["text"].__setitem__("description", "the article body"),
    "union order": lambda s: s["properties"]["title"].__setitem__("type", ["null", "string"]),
}

BREAKING = {
    "removed property": (lambda s: s["properties"].pop("image"), "$.properties.image: removed"),
    "new required property": (
        lambda s: (s["properties"].__setitem__("summary", {"type": "string"}), s["required"].append("summary")),
        "$.required: required changed (added ['summary']",
    ),
    "property no longer required": (lambda s: s["required"].remove("published"), "no longer required ['published']"),
    "type changed": (
        lambda s: s["properties"]["revision"].__setitem__("type", "string"),
        "$.properties.revision.type: changed",
    ),
    "nullable dropped": (
        lambda s: s["properties"]["title"].__setitem__("type", "string"),
        "$.properties.title.type: changed",
    ),
    "enum widened": (
        lambda s: s["properties"]["tags"]["properties"]["syria"]["properties"]["grade"].__setitem__(
            "enum", [0, 1, 2, 3]
        ),
        "$.properties.tags.properties.syria.properties.grade.enum",
    ),
    "nested item property removed": (
        lambda s: s["properties"]["tags"]["properties"]["places"]["items"]["properties"].pop("wikidata"),
        "$.properties.tags.properties.places.items.properties.wikidata: removed",
    ),
    "pattern added": (
        lambda s: s["properties"]["url"].__setitem__("pattern", "^https://"),
        "$.properties.url.pattern: keyword added",
    ),
    "closed to new fields": (
        lambda s: s.__setitem__("additionalProperties", False),
        "$.additionalProperties: keyword added",
    ),
}


@pytest.mark.parametrize("edit", ALLOWED.values(), ids=ALLOWED.keys())
def test_checker_accepts_additive_edits(edit: Any) -> None:
    new = _article()
    edit(new)
    assert new != _article()
    assert breaking_changes(_article(), new) == []


@pytest.mark.parametrize(("edit", "expected"), BREAKING.values(), ids=BREAKING.keys())
def test_checker_rejects_breaking_edits(edit: Any, expected: str) -> None:
    new = copy.deepcopy(_article())
    edit(new)
    problems = breaking_changes(_article(), new)
    assert any(expected in p for p in problems), problems


def test_a_removed_schema_file_is_breaking(tmp_path: Path) -> None:
    (tmp_path / "released").mkdir()
    (tmp_path / "current").mkdir()
    (tmp_path / "released" / "article.schema.json").write_text((SCHEMAS / "article.schema.json").read_text())
    assert compare_folders(tmp_path / "released", tmp_path / "current") == {
        "article.schema.json": ["schema file removed"]
    }
