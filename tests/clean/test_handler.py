"""CleanHandler on RawPage messages, and the CLI's extract_record."""

from __future__ import annotations

import base64
import json
import pickle
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from services.clean.errors import DecodeError, EmptyText, ExtractionTooLarge, NotAnArticle
from services.clean.extract import extract_page
from services.clean.handler import CleanHandler, extract_record
from services.errors import RejectedInput
from services.runtime.handler import Handler
from tests.support.pages import SEED_TITLE, seed_article_html

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
ID = "0123456789abcdef0123456789abcdef"


def _schema(name: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{name}.schema.json").read_text("utf-8"))


def raw_page(body: bytes, **overrides: Any) -> dict[str, Any]:
    page = {
        "schema_version": 1,
        "id": ID,
        "url": "https://www.alwatan-alyawm.example/news/2017/08/06/123456?utm=rss",
        "final_url": "https://www.alwatan-alyawm.example/news/2017/08/06/123456",
        "status": 200,
        "headers": {"content-type": "text/html"},
        "charset": None,
        "content_type": "text/html",
        "fetched_at": "2017-08-06T10:00:00Z",
        "body_b64": base64.b64encode(body).decode("ascii"),
        "feed": {"id": "feed-1", "url": "https://www.alwatan-alyawm.example/rss"},
    }
    page.update(overrides)
    jsonschema.validate(page, _schema("raw_page"))
    return page


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1256"])
def test_handler_emits_a_valid_clean_article(encoding: str) -> None:
    handler = CleanHandler()
    assert isinstance(handler, Handler)
    (out,) = handler.handle(raw_page(seed_article_html("portal", encoding), charset=encoding))
    assert out.topic == "news.clean"
    assert out.key == ID.encode()
    assert out.value is not None
    jsonschema.validate(out.value, _schema("clean_article"))
    assert out.value["title"] == SEED_TITLE()
    assert out.value["text"].startswith("عواصم-وكالات-")
    assert out.value["source"] == "alwatan-alyawm.example"
    assert out.value["feed_id"] == "feed-1"
    assert out.value["language"] == "ar"
    assert out.value["encoding"] == encoding
    assert out.value["text_chars"] == len(out.value["text"])
    assert out.value["has_date"] is True
    assert out.value["cleaned_at"].endswith("Z")
    assert "trafilatura" in out.value["extractor"]


def test_handler_and_extractor_survive_pickling() -> None:
    handler = pickle.loads(pickle.dumps(CleanHandler(max_bytes=1234)))
    assert handler.max_bytes == 1234
    assert pickle.loads(pickle.dumps(extract_page)) is extract_page


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"status": 404}, NotAnArticle),
        ({"status": 301}, NotAnArticle),
        ({"content_type": "application/pdf", "headers": {"content-type": "application/pdf"}}, NotAnArticle),
        ({"body_b64": "not base64 !!"}, DecodeError),
        ({"body_b64": ""}, DecodeError),
        ({"body_b64": base64.b64encode(b"%PDF-1.7 binary").decode()}, NotAnArticle),
    ],
)
def test_handler_rejects_bad_input(overrides: dict[str, Any], error: type[RejectedInput]) -> None:
    with pytest.raises(error) as info:
        CleanHandler().handle(raw_page(seed_article_html(), **overrides))
    assert info.value.to_dead_letter
    assert info.value.reason


def test_page_without_main_text_is_rejected() -> None:
    body = b"<html><head><title>Empty</title></head><body><script>app()</script><div> </div></body></html>"
    with pytest.raises(EmptyText):
        CleanHandler().handle(raw_page(body))


def test_oversize_page_is_rejected_before_parsing() -> None:
    body = seed_article_html()
    with pytest.raises(ExtractionTooLarge, match="cap"):
        CleanHandler(max_bytes=len(body) - 1).handle(raw_page(body))


def test_extract_record_from_path_and_from_html(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_bytes(seed_article_html("legacy", "windows-1256"))
    from_path = extract_record({"id": "a", "url": "https://x.example/a", "path": str(page)})
    from_html = extract_record({"id": "b", "url": "https://x.example/a", "html": seed_article_html().decode()})
    assert set(from_path) == {"id", "title", "text", "language", "published", "authors"}
    assert from_path["id"] == "a"
    assert from_path["title"] == from_html["title"] == SEED_TITLE()
    assert from_path["text"] == from_html["text"]


def test_extract_record_errors_are_typed(tmp_path: Path) -> None:
    with pytest.raises(DecodeError):
        extract_record({"id": "a", "url": "u", "path": str(tmp_path / "missing.html")})
    with pytest.raises(DecodeError):
        extract_record({"id": "a", "url": "u"})


def test_a_page_with_only_a_menu_is_empty_text() -> None:
    from services.clean.errors import EmptyText
    from services.clean.handler import extract_record

    page = (
        '<!doctype html><html><head><meta charset="utf-8"><title>Gallery</title></head><body>'
        '<nav><a href="/">Home</a> <a href="/gallery">Gallery</a></nav><div class="gallery"></div></body></html>'
    )
    with pytest.raises(EmptyText):
        extract_record({"id": "g", "url": "http://example.org/gallery", "html": page})


def test_a_short_flash_is_kept() -> None:
    from services.clean.handler import extract_record

    page = (
        '<html><head><meta charset="utf-8"></head><body><nav><a href="/">Home</a></nav>'
        "<article><p>Breaking: the border crossing reopened this morning after a week.</p></article></body></html>"
    )
    out = extract_record({"id": "f", "url": "http://example.org/flash", "html": page})
    assert out["text"].startswith("Breaking: the border crossing reopened this morning after a week.")
