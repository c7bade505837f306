"""Canonical URLs and the SSRF address policy (pure)."""

from __future__ import annotations

import ipaddress
import re

import pytest

from services.crawler.errors import BadUrl, BlockedAddress
from services.crawler.guard import AddressPolicy
from services.urls import article_id, canonical_url, host_key


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("HTTPS://Example.COM:443/news/1?utm_source=rss&utm_medium=x#comments", "https://example.com/news/1"),
        ("http://example.com:80/a?b=2&a=1", "http://example.com/a?a=1&b=2"),
        ("http://example.com/a?fbclid=abc&id=7", "http://example.com/a?id=7"),
        ("http://example.com", "http://example.com/"),
        ("http://example.com/%D8%B3%D9%88%D8%B1%D9%8A%D8%A7", "http://example.com/\u0633\u0648\u0631\u064a\u0627"),
        ("http://example.com/a;jsessionid=ABC123", "http://example.com/a"),
        ("http://EXAMPLE.com./x", "http://example.com/x"),
    ],
)
def test_equivalent_links_share_one_id(a: str, b: str) -> None:
    assert canonical_url(a) == canonical_url(b)
    assert article_id(a) == article_id(b)


def test_different_articles_differ() -> None:
    assert article_id("http://example.com/a?id=1") != article_id("http://example.com/a?id=2")
    assert article_id("http://example.com/A") != article_id("http://example.com/a")  # paths keep case
    assert canonical_url("http://example.com:8080/x") == "http://example.com:8080/x"


def test_article_id_is_blake2b_128_hex() -> None:
    import hashlib

    url = "https://sana.sy/en/?p=1"
    assert article_id(url) == hashlib.blake2b(canonical_url(url).encode(), digest_size=16).hexdigest()
    assert len(article_id(url)) == 32


def test_host_key() -> None:
    assert host_key("https://A.example/x") == "https://a.example:443"
    assert host_key("http://a.example:8080/x") == "http://a.example:8080"


@pytest.mark.parametrize(
    "addr",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.100.100.200",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "fe80::1",
        "fc00::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",  # 6to4 wrapping 127.0.0.1
        "ff02::1",
    ],
)
def test_internal_addresses_refused(addr: str) -> None:
    policy = AddressPolicy()
    assert policy.why_blocked(ipaddress.ip_address(addr)) is not None
    with pytest.raises(BlockedAddress):
        policy.check_address("h", addr)


@pytest.mark.parametrize("addr", ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111"])
def test_public_addresses_allowed(addr: str) -> None:
    assert AddressPolicy().why_blocked(ipaddress.ip_address(addr)) is None


def test_allow_list_is_explicit() -> None:
    policy = AddressPolicy(allow_networks=["127.0.0.0/8"], allow_hosts=["*.corp.test"])
    assert policy.why_blocked(ipaddress.ip_address("127.0.0.1")) is None
    assert policy.why_blocked(ipaddress.ip_address("10.0.0.1")) is not None
    assert policy.host_allowed("feeds.corp.test")
    assert not policy.host_allowed("corp.test.evil")


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://x/",
        "ftp://x/",
        "http:///nohost",
        "http://user:pw@example.com/",
        "http://x:99999/",
    ],
)
def test_bad_urls_refused(url: str) -> None:
    with pytest.raises(BadUrl):
        AddressPolicy().check_url(url)


def test_literal_ip_checked_before_connecting() -> None:
    with pytest.raises(BlockedAddress):
        AddressPolicy().check_url("http://169.254.169.254/latest/meta-data/")
    AddressPolicy().check_url("http://example.com/")  # names are checked when resolved


@pytest.mark.parametrize(
    "url",
    [
        "http://a.test:8080/x?y=1#z",
        "HTTPS://User:pw@Ex.com:8443?q",
        "http://x.test#frag",
        "http://[::1]:80/a",
        "  http://x.test/leading-blank",
        "http://x.test/tab\there",
        "mailto:someone@x.test",
    ],
)
def test_host_key_from_the_origin_prefix_equals_the_full_parse(url: str) -> None:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower(), 0)
    assert host_key(url) == f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"


def test_url_checks_remembered_per_origin_keep_their_verdicts() -> None:
    policy = AddressPolicy()
    policy.check_url("http://news.test/a/1")
    policy.check_url("http://news.test/a/2")  # passed origin: no new parse, same verdict
    for _ in range(2):  # refused origins are never remembered as passed
        with pytest.raises(BlockedAddress):
            policy.check_url("http://10.0.0.1/a")
    with pytest.raises(BadUrl, match=re.escape("credentials in URL refused: 'http://u:p@news.test/secret'")):
        policy.check_url("http://u:p@news.test/secret")  # the message names the whole URL
    with pytest.raises(BadUrl):
        policy.check_url("ftp://news.test/a")
