"""URL canonicalization for the exact-URL dedupe key.

The crawler computes ``canonical_url`` for Kafka messages; this small helper serves the
offline CLI (whose records carry only ``url``) and is a safety net for messages whose
canonical URL still carries tracking noise.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

__all__ = ["canonicalize_url"]

_UNSAFE_PATH = re.compile(r"[^A-Za-z0-9/:@!$&'()*+,;=\-._~%\u0080-\U0010ffff]")
_DEFAULT_PORTS = {"http": 80, "https": 443}

# Query parameters that identify a campaign or a click, never the document.
_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "hsa_", "_hs")
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
        "ref_src",
        "ref",
        "cmpid",
        "ocid",
        "ito",
        "spm",
        "share",
        "amp",
        "outputtype",
    }
)


def _is_tracking(name: str) -> bool:
    low = name.lower()
    return low in _TRACKING_NAMES or low.startswith(_TRACKING_PREFIXES)


def canonicalize_url(url: str) -> str:
    """Return a stable form of ``url`` so that trivially different links compare equal.

    Lower-cases scheme and host, drops the fragment and default ports, removes tracking
    parameters (``utm_*``, ``fbclid`` ...), sorts the remaining query and normalises
    percent-encoding of the path.  ``www.`` is kept: ``www.x`` and ``x`` may be
    different sites, and the text hash catches the case where they are not.

    >>> canonicalize_url("HTTPS://Example.com:443/a/b?utm_source=x&id=2#top")
    'https://example.com/a/b?id=2'
    """
    raw = url.strip()
    try:
        parts = urlsplit(raw)
    except ValueError:
        return raw
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host
    if port is not None and _DEFAULT_PORTS.get(scheme) != port:
        netloc = f"{host}:{port}"
    # Decode so "%D8%A7" and "ا" give one form (the readable IRI form: shorter in the
    # changelog); re-encode only ASCII characters that are not allowed in a path.
    path = unquote(parts.path) if "%" in parts.path else parts.path
    path = _UNSAFE_PATH.sub(lambda m: quote(m.group()), path) or "/"
    query_pairs = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not _is_tracking(k)]
    query = "&".join(urlencode([(k, v)]) if v else quote(k, safe="") for k, v in sorted(query_pairs))
    return urlunsplit((scheme, netloc, path, query, ""))
