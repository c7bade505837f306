"""TagHandler routing, rejection and output schema; tag_record for the CLI; relevance grades."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from services.errors import RejectedInput
from services.runtime.handler import Handler
from services.tag.errors import InvalidArticle
from services.tag.handler import TAGGER_VERSION, TagHandler, tag_record

REPO = Path(__file__).resolve().parents[2]


def _article(title: str | None, text: Any) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "id": "0123456789abcdef0123456789abcdef",
        "url": "https://example.org/a",
        "canonical_url": "https://example.org/a",
        "source": "example.org",
        "title": title,
        "text": text,
        "language": "en",
        "published": None,
        "authors": [],
        "fetched_at": "2026-01-01T00:00:00Z",
        "cleaned_at": "2026-01-01T00:00:01Z",
        "revision": 0,
    }


@pytest.fixture(scope="module")
def article_schema() -> dict[str, Any]:
    return json.loads((REPO / "schemas" / "article.schema.json").read_text())


def test_handler_protocol() -> None:
    assert isinstance(TagHandler(), Handler)
    assert TagHandler.stage == "tag"


def test_syria_article_goes_to_both_topics(article_schema: dict[str, Any]) -> None:
    value = _article(
        "Airstrikes hit Idlib as Syrian army advances",
        "Syrian government forces backed by Russian jets pushed into southern Idlib province on Monday.\n"
        "The Syrian Observatory for Human Rights said strikes on Maarat al-Numan killed nine civilians.",
    )
    outs = TagHandler().handle(value)
    assert [o.topic for o in outs] == ["news.articles", "news.syria"]
    assert all(o.key == value["id"].encode() for o in outs)
    art = outs[0].value
    assert art is not None
    assert outs[1].value is art
    assert art["tags"]["syria"]["grade"] == 2
    assert art["tags"]["tagger_version"] == TAGGER_VERSION
    jsonschema.validate(art, article_schema, format_checker=jsonschema.FormatChecker())
    assert {k: art[k] for k in value} == value


def test_unrelated_article_goes_to_articles_only(article_schema: dict[str, Any]) -> None:
    outs = TagHandler().handle(_article("Local bakery wins prize", "The bakery in Leeds won a national award."))
    assert [o.topic for o in outs] == ["news.articles"]
    art = outs[0].value
    assert art is not None
    assert art["tags"]["syria"] == {"relevant": False, "grade": 0, "score": 0.0}
    jsonschema.validate(art, article_schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize(
    "value",
    [
        _article("t", None),
        _article("t", 42),
        _article(17, "text"),
        {**_article("t", "x"), "id": None},
        {"title": "no id or text"},
    ],
)
def test_invalid_input_is_rejected_with_reason(value: dict[str, Any]) -> None:
    with pytest.raises(InvalidArticle) as exc:
        TagHandler().handle(value)
    assert isinstance(exc.value, RejectedInput)
    assert exc.value.to_dead_letter
    assert exc.value.reason


def test_tag_record_for_the_cli() -> None:
    out = tag_record({"id": "x1", "title": None, "text": "Clashes in Deir ez-Zor, Syria, killed 5 SDF fighters."})
    assert out["id"] == "x1"
    assert set(out) == {"id", "syria", "places", "actors", "topics", "tagger_version"}
    assert out["syria"]["grade"] >= 1
    with pytest.raises(InvalidArticle):
        tag_record({"id": "x2", "text": ["not", "a", "string"]})


def test_passing_mention_in_a_country_list_is_grade_0() -> None:
    text = (
        "The ministry said exports of dates rose by 12 percent this year, with new buyers in Iraq, Syria, "
        "Jordan, Lebanon and Egypt. Farmers in the Qassim region expect a record harvest, and prices at the "
        "Riyadh wholesale market have been stable since spring."
    )
    out = tag_record({"id": "l1", "title": "Date exports rise", "text": text})
    assert out["syria"]["grade"] == 0
    assert not out["syria"]["relevant"]
    ar = (
        "قالت الوزارة إن الصادرات ارتفعت إلى العراق وسوريا والأردن ولبنان ومصر بنسبة كبيرة هذا العام، "
        "وإن المزارعين في منطقة القصيم يتوقعون موسما قياسيا."
    )
    assert tag_record({"id": "l2", "title": "ارتفاع الصادرات", "text": ar})["syria"]["grade"] == 0


def test_isis_without_syria_is_grade_0() -> None:
    text = (
        "Iraqi forces retook two districts of Mosul from ISIS on Sunday, the Iraqi army said. "
        "ISIS fighters blew up a bridge over the Tigris as they withdrew towards the old city."
    )
    assert tag_record({"id": "i1", "title": "Iraqi army advances in Mosul", "text": text})["syria"]["grade"] == 0


def test_substantive_passage_is_grade_1() -> None:
    text = (
        "Jordan's parliament debated the budget on Sunday, with ministers defending spending on schools and "
        "water. The finance minister said growth would reach 2.5 percent. Separately, the government said "
        "the Nasib crossing with Syria would reopen to trucks next month after talks with Damascus, and "
        "that 3,000 Syrian refugees had returned from the Zaatari camp. Deputies then turned to pensions, "
        "the electricity tariff and a new law on municipal elections, which passed its first reading."
    )
    assert tag_record({"id": "p1", "title": "Jordan debates budget", "text": text})["syria"]["grade"] == 1
