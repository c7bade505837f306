"""The project's first tagging case: the seed article (issue 6, item 5), read in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.tag.handler import TAGGER_VERSION, get_tagger


@pytest.fixture(scope="module")
def seed(shared_dir: Path) -> tuple[str, dict[str, Any]]:
    text = (shared_dir / "seed" / "article-ar.txt").read_text(encoding="utf-8")
    return text, get_tagger().tag(None, text, "ar")


def test_seed_is_primarily_about_syria(seed: tuple[str, dict[str, Any]]) -> None:
    _, tags = seed
    assert tags["syria"] == {"relevant": True, "grade": 2, "score": tags["syria"]["score"]}
    assert tags["syria"]["score"] > 0.5
    assert tags["tagger_version"] == TAGGER_VERSION


def test_seed_syrian_places_are_syria_and_raqqa(seed: tuple[str, dict[str, Any]]) -> None:
    _, tags = seed
    syrian = {p["name"] for p in tags["places"] if p["syrian"]}
    assert syrian == {"Syria", "Raqqa"}
    raqqa = next(p for p in tags["places"] if p["name"] == "Raqqa")
    assert raqqa["governorate"] == "Raqqa"
    assert raqqa["country"] == "SY"
    assert raqqa["type"] == "city"


def test_seed_mosul_and_manila_are_foreign_places(seed: tuple[str, dict[str, Any]]) -> None:
    _, tags = seed
    foreign = {p["name"]: p for p in tags["places"] if not p["syrian"]}
    assert foreign["Mosul"]["country"] == "IQ"
    assert foreign["Manila"]["country"] == "PH"


def test_seed_actors(seed: tuple[str, dict[str, Any]]) -> None:
    _, tags = seed
    actors = {a["name"] for a in tags["actors"]}
    expected = {
        "Islamic State",
        "Syrian Democratic Forces",
        "US-led coalition",
        "Russia",
        "United States",
        "Syrian government",
        "Brett McGurk",
        "Rex Tillerson",
        "Sergey Lavrov",
    }
    assert expected <= actors
    people = {a["name"] for a in tags["actors"] if a["type"] == "person"}
    assert people == {"Brett McGurk", "Rex Tillerson", "Sergey Lavrov"}


def test_seed_topic_de_escalation(seed: tuple[str, dict[str, Any]]) -> None:
    _, tags = seed
    assert "de-escalation-zones" in {t["name"] for t in tags["topics"]}


def test_seed_evidence_points_into_the_original(seed: tuple[str, dict[str, Any]]) -> None:
    text, tags = seed
    n = 0
    for group in ("places", "actors", "topics"):
        for item in tags[group]:
            assert item["count"] >= len(item["evidence"]) >= 1
            for ev in item["evidence"]:
                assert ev["field"] == "text"
                assert text[ev["start"] : ev["end"]] == ev["text"]
                n += 1
    assert n > 30
    # «للنظام السوري»: the evidence is the name without its clitic, as written (with shadda forms kept).
    gov = next(a for a in tags["actors"] if a["name"] == "Syrian government")
    assert gov["evidence"][0]["text"] == "للنظام السوري"
