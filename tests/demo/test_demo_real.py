"""Real-pages mode: SaudiNewsNet records in our template and trafilatura-eval pages byte for byte.

Reads ``../shared/data`` in place (``NEWSINGEST_SHARED_DIR`` overrides ``<repo>/../shared``).
"""

from __future__ import annotations

import json
import os
import re
import tarfile
from collections.abc import AsyncIterator
from html import escape
from pathlib import Path, PurePosixPath

import feedparser
import httpx
import pytest

from services.demo.real import SAUDINEWSNET_ARCHIVE, TRAFILATURA_ARCHIVE, sniff_charset
from services.demo.site import RunningSite, feed_urls, serve

REPO = Path(__file__).resolve().parents[2]
DATA = Path(os.environ.get("NEWSINGEST_SHARED_DIR", REPO.parent / "shared")).resolve() / "data"
LIMIT = 6

pytestmark = pytest.mark.skipif(
    not ((DATA / SAUDINEWSNET_ARCHIVE).is_file() and (DATA / TRAFILATURA_ARCHIVE).is_file()),
    reason=f"shared data missing: {DATA} needs {SAUDINEWSNET_ARCHIVE} and {TRAFILATURA_ARCHIVE}",
)


@pytest.fixture
async def site() -> AsyncIterator[RunningSite]:
    async with serve(port=0, real_dir=DATA, real_limit=LIMIT) as running:
        yield running


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as c:
        yield c


def _first_archive_members(count: int) -> dict[str, bytes]:
    with tarfile.open(DATA / TRAFILATURA_ARCHIVE, "r:xz") as tar:
        out: dict[str, bytes] = {}
        for member in tar:
            fh = tar.extractfile(member) if member.isfile() else None
            if fh is not None:
                out[PurePosixPath(member.name).name] = fh.read()
            if len(out) == count:
                return out
    return out


def _first_saudinewsnet_titles(count: int) -> list[str]:
    with tarfile.open(DATA / SAUDINEWSNET_ARCHIVE, "r:xz") as tar:
        member = next(m for m in tar if m.name.endswith(".json"))
        fh = tar.extractfile(member)
        assert fh is not None
        records = json.load(fh)
    titles = [
        " ".join(r["title"].split()) for r in records if r.get("title", "").strip() and r.get("content", "").strip()
    ]
    return titles[:count]


async def test_real_feed_lists_both_sources_and_is_advertised(site: RunningSite, client: httpx.AsyncClient) -> None:
    desc = next(d for d in feed_urls(site.base_url, real=True) if d["id"] == "real")
    assert desc in (await client.get(site.base_url + "/feeds.json")).json()
    parsed = feedparser.parse((await client.get(desc["url"])).content)
    assert not parsed.bozo, parsed.get("bozo_exception")
    links = [e.link for e in parsed.entries]
    assert len(links) == LIMIT
    assert sum("/real/saudinewsnet/" in u for u in links) == LIMIT // 2
    assert sum("/real/trafilatura-eval/" in u for u in links) == LIMIT // 2
    for link in links:
        assert (await client.get(link)).status_code == 200, link


async def test_saudinewsnet_record_is_wrapped_in_a_template(site: RunningSite, client: httpx.AsyncClient) -> None:
    titles = _first_saudinewsnet_titles(LIMIT // 2)
    resp = await client.get(site.base_url + "/real/saudinewsnet/1.html")
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    html = resp.text
    assert f'<h1 class="post-title">{escape(titles[0])}</h1>' in html
    assert 'dir="rtl"' in html
    assert "الصفحات" in html
    assert '"@type": "NewsArticle"' in html
    for href in re.findall(r'href="(/[^"]+)"', html):  # navigation, breadcrumbs, footer
        assert (await client.get(site.base_url + href)).status_code == 200, href
    assert (await client.get(site.base_url + f"/real/saudinewsnet/{LIMIT}.html")).status_code == 404


async def test_trafilatura_pages_are_served_byte_for_byte(site: RunningSite, client: httpx.AsyncClient) -> None:
    members = _first_archive_members(LIMIT // 2)
    assert members
    for name, body in members.items():
        resp = await client.get(f"{site.base_url}/real/trafilatura-eval/{name}", headers={"Accept-Encoding": "gzip"})
        assert resp.status_code == 200
        assert resp.content == body, name
        charset = sniff_charset(body)
        assert resp.headers["content-type"] == (f"text/html; charset={charset}" if charset else "text/html")
        again = await client.get(
            f"{site.base_url}/real/trafilatura-eval/{name}", headers={"If-None-Match": resp.headers["etag"]}
        )
        assert again.status_code == 304
