"""Backward compatibility of a JSON Schema with its released version.

"Compatible" is the rule the project promises consumers (see ``schemas/released/README.md``):
a new version may only add optional properties and change annotations (descriptions,
titles, examples).  Everything a consumer may have coded against stays as it was:

- every released property is still there, with the same type, enum, const, format,
  pattern and bounds (compared keyword by keyword, recursing into nested objects,
  array items and ``$defs``);
- the ``required`` list is the same (a new required property would reject old
  messages; a property no longer required breaks readers that rely on it);
- new properties are optional.

    >>> breaking_changes({"type": "object", "properties": {"a": {"type": "string"}}},
    ...                  {"type": "object", "properties": {}})
    ['$.properties.a: removed']
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["ANNOTATIONS", "breaking_changes", "compare_folders"]

# Keywords that document but never constrain: free to change.
ANNOTATIONS = frozenset({"title", "description", "examples", "$comment", "default", "deprecated", "$id", "$schema"})
# Keywords holding sub-schemas by name, compared name by name.
_NAMED = ("properties", "$defs", "patternProperties")
# Keywords holding one sub-schema.
_SINGLE = ("items", "additionalProperties", "not", "contains", "propertyNames")
# Keywords holding a list of sub-schemas, compared position by position.
_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def breaking_changes(old: Any, new: Any, where: str = "$") -> list[str]:
    """Every change from ``old`` to ``new`` that a consumer of ``old`` could notice; empty if compatible."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return [] if old == new else [f"{where}: changed from {old!r} to {new!r}"]
    problems: list[str] = []
    for key in sorted(set(old) | set(new)):
        if key in ANNOTATIONS:
            continue
        here = f"{where}.{key}"
        if key not in new:
            problems.append(f"{here}: keyword removed")
            continue
        if key not in old:
            if key == "properties":
                problems += _new_properties_optional(new, {}, where)
            else:
                problems.append(f"{here}: keyword added ({new[key]!r})")
            continue
        a, b = old[key], new[key]
        if key in _NAMED and isinstance(a, dict) and isinstance(b, dict):
            for name in sorted(a):
                if name not in b:
                    problems.append(f"{here}.{name}: removed")
                else:
                    problems += breaking_changes(a[name], b[name], f"{here}.{name}")
            if key == "properties":
                problems += _new_properties_optional(new, a, where)
        elif key == "required":
            if sorted(a) != sorted(b):
                added, dropped = sorted(set(b) - set(a)), sorted(set(a) - set(b))
                problems.append(f"{here}: required changed (added {added}, no longer required {dropped})")
        elif key in _SINGLE:
            problems += breaking_changes(a, b, here)
        elif key in _LISTS and isinstance(a, list) and isinstance(b, list):
            if len(a) != len(b):
                problems.append(f"{here}: {len(a)} alternatives became {len(b)}")
            else:
                for i, (x, y) in enumerate(zip(a, b, strict=True)):
                    problems += breaking_changes(x, y, f"{here}[{i}]")
        elif _normal(a) != _normal(b):
            problems.append(f"{here}: changed from {a!r} to {b!r}")
    return problems


def _new_properties_optional(new: dict[str, Any], old_props: dict[str, Any], where: str) -> list[str]:
    required = set(new.get("required", ()))
    return [
        f"{where}.properties.{name}: new property is required"
        for name in sorted(set(new.get("properties", {})) - set(old_props))
        if name in required
    ]


def _normal(value: Any) -> Any:
    # ["string", "null"] and ["null", "string"] say the same.
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return sorted(value)
    return value


def compare_folders(released: Path, current: Path) -> dict[str, list[str]]:
    """Breaking changes per schema file of ``released`` against ``current`` (a missing file is one)."""
    report: dict[str, list[str]] = {}
    for old_path in sorted(released.glob("*.schema.json")):
        new_path = current / old_path.name
        if not new_path.exists():
            report[old_path.name] = ["schema file removed"]
            continue
        report[old_path.name] = breaking_changes(json.loads(old_path.read_text()), json.loads(new_path.read_text()))
    return report
