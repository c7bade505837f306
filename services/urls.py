"""URL canonicalization: one article, one id, however feeds link it.

The canonical form is the key of ``news.raw`` (through :func:`article_id`), so two feeds
that link one article with different tracking parameters, fragments, ports or letter case
make the crawler fetch it once; dedupe stores and compares URLs in the same form.  Also
the host keys of politeness and the SSRF guard's cache.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["article_id", "canonical_url", "host_key", "origin_prefix", "short_hash"]

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that name a campaign, a click or a session, never the document.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs", "ga_", "at_", "itm_")
_TRACKING_NAMES = frozenset(
    {
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mkt_tok",
        "ref",
        "ref_src",
        "ref_url",
        "share",
        "amp",
        "outputtype",
        "cmpid",
        "ocid",
        "ito",
        "spm",
        "_ga",
        "_gl",
        "s_cid",
        "icid",
        "ncid",
        "sr_share",
        "phpsessid",
        "jsessionid",
        "sessionid",
    }
)
_PATH_SAFE = "/:@!$&'()*+,;=-._~"
# ASCII that a path may not hold as is (what quote() would encode), for the readable form.
_UNSAFE_ASCII = re.compile("[^A-Za-z0-9" + re.escape(_PATH_SAFE) + "\u0080-\U0010ffff]")


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in _TRACKING_NAMES or low.startswith(_TRACKING_PREFIXES)


@functools.lru_cache(maxsize=16384)  # feeds repeat their entries on every poll
def canonical_url(url: str, *, readable: bool = False) -> str:
    """A stable form of ``url`` so that trivially different links compare equal.

    Lower-cases scheme and host (IDN hosts become punycode), drops the fragment, default
    ports, ``;jsessionid=`` path parameters and tracking query parameters, sorts the
    remaining query and normalises percent-encoding.  Path case is kept: servers may
    treat ``/A`` and ``/a`` as different pages.

    ``readable=True`` leaves non-ASCII path characters decoded (the IRI form: an Arabic
    path is a third as long, which is what dedupe keeps in memory and in its changelog);
    the form with everything percent-encoded is the one article ids hash.

    >>> canonical_url("HTTPS://Example.com:443/a/b?utm_source=x&id=2#top")
    'https://example.com/a/b?id=2'
    >>> canonical_url("http://x.sa/%D8%B3%D9%88%D8%B1%D9%8A%D8%A7", readable=True)
    'http://x.sa/سوريا'
    """
    raw = url.strip()
    try:
        parts = urlsplit(raw)
        port = parts.port
    except ValueError:
        return raw
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".").lower()
    if host and not host.isascii():
        with contextlib.suppress(UnicodeError):  # not valid IDNA: keep the host as written
            host = host.encode("idna").decode("ascii")
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    netloc = host if port is None or _DEFAULT_PORTS.get(scheme) == port else f"{host}:{port}"
    path = parts.path
    if ";" in path:
        head, _, params = path.partition(";")
        if params.lower().startswith(("jsessionid=", "phpsessid=", "sid=")):
            path = head
    # Decode then re-encode so "%D8%A7" and "ا" give one form; reserved characters stay.
    path = unquote(path)
    path = (_UNSAFE_ASCII.sub(lambda m: quote(m.group()), path) if readable else quote(path, safe=_PATH_SAFE)) or "/"
    pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    query = urlencode(sorted(pairs), doseq=False)
    return urlunsplit((scheme, netloc, path, query, ""))


@functools.lru_cache(maxsize=16384)
def article_id(url: str) -> str:
    """blake2b-128 hex of :func:`canonical_url`: the ``id`` and Kafka key of ``news.raw``."""
    return hashlib.blake2b(canonical_url(url).encode("utf-8"), digest_size=16).hexdigest()


def short_hash(data: str | bytes) -> str:
    """blake2b-64 hex, for compact per-feed state (entry keys, body hashes)."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def origin_prefix(url: str) -> str:
    """``url`` cut after its authority (``scheme://netloc``), found by plain string search.

    urlsplit derives scheme, host, port and userinfo from this prefix alone, so results
    that depend only on those can be cached by it (page URLs are all different, their
    prefixes are few).  URLs that urlsplit would clean first (leading blanks, tabs or
    newlines inside) are returned whole, which is always correct, just not cached well.
    """
    if not url[:1].isalpha() or "\t" in url or "\n" in url or "\r" in url:
        return url
    start = url.find("://")
    if start < 0:
        return url
    end = len(url)
    for sep in "/?#":
        k = url.find(sep, start + 3)
        if 0 <= k < end:
            end = k
    return url[:end]


def host_key(url: str) -> str:
    """``scheme://host:port`` of a URL: the unit of politeness and robots.txt."""
    return _host_key(origin_prefix(url))


@functools.lru_cache(maxsize=16384)
def _host_key(url: str) -> str:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        port = _DEFAULT_PORTS.get(scheme, 0)
    return f"{scheme}://{(parts.hostname or '').lower()}:{port}"
