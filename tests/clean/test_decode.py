"""Decoding per the WHATWG order, on the chardet Arabic samples and on lying pages."""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.clean.decode import decode_html, lookup_encoding
from tests.support.pages import seed_article_html, shared_dir

ARCHIVE = shared_dir() / "data" / "chardet-arabic-encoding-samples" / "chardet-arabic-tests.tar.xz"
# Folder name -> Python codec of the true encoding.  One Chromium page filed under
# iso-8859-6 upstream is windows-1256 (its own <title> says so, and only windows-1256
# decodes it without unassigned bytes); its file name is the ground truth there.
CODECS = {
    "windows-1256": "cp1256", "iso-8859-6": "iso8859_6", "cp720": "cp720", "utf-8": "utf-8",
    "utf-16": "utf-16", "utf-16le": "utf-16-le", "utf-16be": "utf-16-be",
    "utf-32": "utf-32", "utf-32le": "utf-32-le", "utf-32be": "utf-32-be",
}  # fmt: skip


def _samples() -> Iterator[tuple[str, bytes]]:
    with tarfile.open(ARCHIVE, "r:xz") as tar:
        for member in tar:
            fh = tar.extractfile(member) if member.isfile() else None
            if fh is not None:
                yield member.name, fh.read()


SAMPLES = sorted(_samples())


def _truth(name: str) -> str:
    folder = Path(name).parent.name.removesuffix("-arabic")
    return "windows-1256" if "windows-1256" in Path(name).name else folder


def test_all_samples_present() -> None:
    assert len(SAMPLES) >= 30
    assert {_truth(n) for n, _ in SAMPLES} >= {"windows-1256", "iso-8859-6", "cp720", "utf-8", "utf-16le"}


@pytest.mark.parametrize(("name", "data"), SAMPLES, ids=[n.split("/", 1)[1] for n, _ in SAMPLES])
def test_chardet_arabic_sample_decodes_to_the_true_text(name: str, data: bytes) -> None:
    expected = data.decode(CODECS[_truth(name)])
    text, _encoding = decode_html(data)
    assert text == expected.lstrip("\ufeff")


@pytest.mark.parametrize(("name", "data"), SAMPLES, ids=[n.split("/", 1)[1] for n, _ in SAMPLES])
def test_chardet_sample_with_a_lying_utf8_header(name: str, data: bytes) -> None:
    expected = data.decode(CODECS[_truth(name)]).lstrip("\ufeff")
    assert decode_html(data, "utf-8")[0] == expected


@pytest.mark.parametrize("encoding", ["utf-8", "windows-1256", "iso-8859-6"])
def test_meta_charset_is_used(encoding: str) -> None:
    page = seed_article_html("legacy", encoding)
    text, used = decode_html(page)
    assert used == encoding
    assert "عواصم" in text


def test_header_charset_beats_meta_when_both_are_plausible() -> None:
    page = b'<html><head><meta charset="windows-1256"></head><body>' + "نص عربي قصير".encode("iso8859_6") + b"</body>"
    assert decode_html(page, "ISO-8859-6")[1] == "iso-8859-6"


def test_latin1_server_default_loses_to_the_page_declaration() -> None:
    page = seed_article_html("portal", "windows-1256")
    text, used = decode_html(page, "iso-8859-1")
    assert used == "windows-1256"
    assert "عواصم-وكالات-" in text


def test_legacy_header_on_utf8_bytes_is_overridden() -> None:
    page = seed_article_html("portal", "utf-8").replace(b'charset="utf-8"', b'charset="windows-1256"')
    text, used = decode_html(page, "windows-1256")
    assert used == "utf-8"
    assert "عواصم-وكالات-" in text


def test_undeclared_arabic_page_is_detected() -> None:
    page = seed_article_html("blog", "windows-1256").replace(b'<meta charset="windows-1256">', b"")
    text, used = decode_html(page)
    assert used == "windows-1256"
    assert "عواصم-وكالات-" in text


def test_bom_wins_over_everything() -> None:
    page = "\ufeff<html><meta charset='windows-1256'><p>مرحبا</p>".encode("utf-8")
    assert decode_html(page, "iso-8859-6") == ("<html><meta charset='windows-1256'><p>مرحبا</p>", "utf-8")


@pytest.mark.parametrize(
    ("label", "name"),
    [("latin1", "windows-1252"), ("US-ASCII", "windows-1252"), ("ISO-8859-6", "iso-8859-6"),
     ("x-cp1256", "windows-1256"), ("unicode-1-1-utf-8", "utf-8"), ("ks_c_5601-1987", "euc-kr"),
     ("gb2312", "gbk"), ("nonsense", None), (None, None)],
)  # fmt: skip
def test_whatwg_labels(label: str | None, name: str | None) -> None:
    assert lookup_encoding(label) == name


def test_declared_utf8_with_a_few_stray_bytes_stays_utf8() -> None:
    words = "Grüße aus Köln, schön und süß. " * 5
    body = f'<html><head><meta charset="utf-8"></head><body><p>{words}</p>'.encode() + b"<p>caf\xe9</p></body></html>"
    text, name = decode_html(body)
    assert name == "utf-8"
    assert "Grüße aus Köln" in text


def test_declared_utf8_that_is_latin1_is_detected() -> None:
    body = '<html><head><meta charset="utf-8"></head><body><p>Grüße aus Köln, schön.</p></body></html>'
    text, name = decode_html(body.encode("latin-1"))
    assert name != "utf-8"
    assert "Grüße aus Köln" in text
