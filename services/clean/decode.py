"""Turning raw page bytes into text, following the WHATWG encoding-sniffing order.

Order: byte-order mark, then the HTTP ``charset``, then a ``<meta>``/XML-declaration
prescan of the first bytes, then detection.  Real servers lie, so a declared encoding
is checked before it is trusted:

- a declared UTF-8 that is not valid UTF-8 falls through to the next source;
- a declared legacy encoding on bytes that are valid UTF-8 with multi-byte sequences
  is overridden (such bytes are practically never a legacy encoding);
- a declared Latin-1/windows-1252 on bytes with long runs of high bytes (whole words of
  Arabic, Cyrillic, ... in a single-byte code page) is re-detected;
- a declared encoding that cannot decode the bytes falls through.

Detection uses charset-normalizer, which separates windows-1256, ISO-8859-6 and cp720
correctly on the chardet Arabic samples.
"""

from __future__ import annotations

import codecs
import re

import charset_normalizer

from services.clean.errors import DecodeError

__all__ = ["decode_html", "lookup_encoding"]

# WHATWG Encoding Standard labels -> (canonical name, Python codec).  cp720 and UTF-32
# are not in the standard but do occur on Arabic pages and in the test samples.
_ENCODINGS: dict[str, tuple[str, tuple[str, ...]]] = {
    "utf-8": ("utf-8", ("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "utf8", "x-unicode20utf8")),
    "ibm866": ("cp866", ("866", "cp866", "csibm866")),
    "iso-8859-2": (
        "iso8859_2",
        ("csisolatin2", "iso-ir-101", "iso8859-2", "iso88592", "iso_8859-2", "iso_8859-2:1987", "l2", "latin2"),
    ),
    "iso-8859-3": (
        "iso8859_3",
        ("csisolatin3", "iso-ir-109", "iso8859-3", "iso88593", "iso_8859-3", "iso_8859-3:1988", "l3", "latin3"),
    ),
    "iso-8859-4": (
        "iso8859_4",
        ("csisolatin4", "iso-ir-110", "iso8859-4", "iso88594", "iso_8859-4", "iso_8859-4:1988", "l4", "latin4"),
    ),
    "iso-8859-5": (
        "iso8859_5",
        ("csisolatincyrillic", "cyrillic", "iso-ir-144", "iso8859-5", "iso88595", "iso_8859-5", "iso_8859-5:1988"),
    ),
    "iso-8859-6": (
        "iso8859_6",
        (
            "arabic",
            "asmo-708",
            "csiso88596e",
            "csiso88596i",
            "csisolatinarabic",
            "ecma-114",
            "iso-8859-6-e",
            "iso-8859-6-i",
            "iso-ir-127",
            "iso8859-6",
            "iso88596",
            "iso_8859-6",
            "iso_8859-6:1987",
        ),
    ),
    "iso-8859-7": (
        "iso8859_7",
        (
            "csisolatingreek",
            "ecma-118",
            "elot_928",
            "greek",
            "greek8",
            "iso-ir-126",
            "iso8859-7",
            "iso88597",
            "iso_8859-7",
            "iso_8859-7:1987",
            "sun_eu_greek",
        ),
    ),
    "iso-8859-8": (
        "iso8859_8",
        (
            "csiso88598e",
            "csisolatinhebrew",
            "hebrew",
            "iso-8859-8-e",
            "iso-ir-138",
            "iso8859-8",
            "iso88598",
            "iso_8859-8",
            "iso_8859-8:1988",
            "visual",
            "csiso88598i",
            "iso-8859-8-i",
            "logical",
        ),
    ),
    "iso-8859-10": ("iso8859_10", ("csisolatin6", "iso-ir-157", "iso8859-10", "iso885910", "l6", "latin6")),
    "iso-8859-13": ("iso8859_13", ("iso8859-13", "iso885913")),
    "iso-8859-14": ("iso8859_14", ("iso8859-14", "iso885914")),
    "iso-8859-15": ("iso8859_15", ("csisolatin9", "iso8859-15", "iso885915", "iso_8859-15", "l9")),
    "iso-8859-16": ("iso8859_16", ()),
    "koi8-r": ("koi8_r", ("cskoi8r", "koi", "koi8", "koi8_r")),
    "koi8-u": ("koi8_u", ("koi8-ru",)),
    "macintosh": ("mac_roman", ("csmacintosh", "mac", "x-mac-roman")),
    "windows-874": ("cp874", ("dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620")),
    "windows-1250": ("cp1250", ("cp1250", "x-cp1250")),
    "windows-1251": ("cp1251", ("cp1251", "x-cp1251")),
    "windows-1252": (
        "cp1252",
        (
            "ansi_x3.4-1968",
            "ascii",
            "cp1252",
            "cp819",
            "csisolatin1",
            "ibm819",
            "iso-8859-1",
            "iso-ir-100",
            "iso8859-1",
            "iso88591",
            "iso_8859-1",
            "iso_8859-1:1987",
            "l1",
            "latin1",
            "us-ascii",
            "x-cp1252",
            "x-user-defined",
        ),
    ),
    "windows-1253": ("cp1253", ("cp1253", "x-cp1253")),
    "windows-1254": (
        "cp1254",
        (
            "cp1254",
            "csisolatin5",
            "iso-8859-9",
            "iso-ir-148",
            "iso8859-9",
            "iso88599",
            "iso_8859-9",
            "iso_8859-9:1989",
            "l5",
            "latin5",
            "x-cp1254",
        ),
    ),
    "windows-1255": ("cp1255", ("cp1255", "x-cp1255")),
    "windows-1256": ("cp1256", ("cp1256", "x-cp1256")),
    "windows-1257": ("cp1257", ("cp1257", "x-cp1257")),
    "windows-1258": ("cp1258", ("cp1258", "x-cp1258")),
    "x-mac-cyrillic": ("mac_cyrillic", ("x-mac-ukrainian",)),
    "gbk": (
        "gb18030",
        ("chinese", "csgb2312", "csiso58gb231280", "gb2312", "gb_2312", "gb_2312-80", "iso-ir-58", "x-gbk"),
    ),
    "gb18030": ("gb18030", ()),
    "big5": ("big5hkscs", ("big5-hkscs", "cn-big5", "csbig5", "x-x-big5")),
    "euc-jp": ("euc_jp", ("cseucpkdfmtjapanese", "x-euc-jp")),
    "iso-2022-jp": ("iso2022_jp", ("csiso2022jp",)),
    "shift_jis": (
        "cp932",
        ("csshiftjis", "ms932", "ms_kanji", "shift-jis", "sjis", "windows-31j", "x-sjis"),
    ),
    "euc-kr": (
        "cp949",
        (
            "cseuckr",
            "csksc56011987",
            "iso-ir-149",
            "korean",
            "ks_c_5601-1987",
            "ks_c_5601-1989",
            "ksc5601",
            "ksc_5601",
            "windows-949",
        ),
    ),
    "utf-16be": ("utf-16-be", ("unicodefffe",)),
    "utf-16le": ("utf-16-le", ("csunicode", "iso-10646-ucs-2", "ucs-2", "unicode", "unicodefeff", "utf-16")),
    # Outside the WHATWG standard.
    "cp720": ("cp720", ("ibm720", "dos-720", "x-ibm720")),
    "utf-32be": ("utf-32-be", ()),
    "utf-32le": ("utf-32-le", ("utf-32",)),
}

_LABELS: dict[str, str] = {}
for _name, (_python_codec, _aliases) in _ENCODINGS.items():
    _LABELS[_name] = _name
    for _alias in _aliases:
        _LABELS[_alias] = _name

# Python codec names that charset-normalizer reports -> canonical names.
_CODEC_TO_NAME: dict[str, str] = {codecs.lookup(c).name: n for n, (c, _) in _ENCODINGS.items()}
_CODEC_TO_NAME.update(
    {
        codecs.lookup("latin_1").name: "windows-1252",
        codecs.lookup("ascii").name: "windows-1252",
        codecs.lookup("utf_16").name: "utf-16le",
        codecs.lookup("utf_32").name: "utf-32le",
        codecs.lookup("gb2312").name: "gbk",
        codecs.lookup("gbk").name: "gbk",
        codecs.lookup("big5").name: "big5",
        codecs.lookup("shift_jis").name: "shift_jis",
        codecs.lookup("euc_kr").name: "euc-kr",
    }
)

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32le"),  # before UTF-16LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32be"),
    (codecs.BOM_UTF16_LE, "utf-16le"),
    (codecs.BOM_UTF16_BE, "utf-16be"),
)

_PRESCAN_BYTES = 4096
_META_RE = re.compile(rb"<meta\s[^>]*>", re.IGNORECASE)
_COMMENT_RE = re.compile(rb"<!--.*?(?:-->|$)", re.DOTALL)
_CHARSET_ATTR_RE = re.compile(rb"""charset\s*=\s*["']?\s*([^\s"'/>;]+)""", re.IGNORECASE)
_XML_DECL_RE = re.compile(rb"""^<\?xml[^>]*encoding\s*=\s*["']([^"']+)["']""")
_HIGH_RUN_RE = re.compile(rb"[\x80-\xff]{4,}")
_DETECT_BYTES = 200_000
_UTF8_SEQ_RE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]{1,3}")
_MIN_UTF8_SEQS = 20
_UTF8_RATIO = 10


def lookup_encoding(label: str | None) -> str | None:
    """Map an encoding label to its WHATWG canonical name, or ``None`` if unknown.

    >>> lookup_encoding(" Latin1 "), lookup_encoding("CP1256"), lookup_encoding("bogus")
    ('windows-1252', 'windows-1256', None)
    """
    if not label:
        return None
    return _LABELS.get(label.strip().strip("\"'").lower())


def _codec(name: str) -> str:
    return _ENCODINGS[name][0]


def _bom(body: bytes) -> tuple[str, int] | None:
    for bom, name in _BOMS:
        if body.startswith(bom):
            return name, len(bom)
    return None


def _meta_charset(body: bytes) -> str | None:
    """The encoding declared in a ``<meta>`` tag or XML declaration near the top."""
    head = body[:_PRESCAN_BYTES]
    xml = _XML_DECL_RE.match(head)
    if xml:
        name = lookup_encoding(xml.group(1).decode("ascii", "replace"))
        if name:
            return name
    head = _COMMENT_RE.sub(b"", head)
    for tag in _META_RE.finditer(head):
        found = _CHARSET_ATTR_RE.search(tag.group(0))
        if not found:
            continue
        name = lookup_encoding(found.group(1).decode("ascii", "replace"))
        if name is None:
            continue
        # WHATWG: a meta tag cannot truly declare UTF-16 (it would not be readable as ASCII).
        if name in ("utf-16le", "utf-16be", "utf-32le", "utf-32be"):
            return "utf-8"
        return name
    return None


def _is_utf8(body: bytes) -> bool:
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def _mostly_utf8(body: bytes) -> bool:
    """Valid UTF-8 but for a few stray bytes (a pasted Latin-1 character, a cut sequence).

    Such a page declared as UTF-8 is UTF-8: a byte-level detector otherwise picks some
    8-bit code page and garbles every accented letter of the page.
    """
    valid = len(_UTF8_SEQ_RE.findall(body))
    invalid = body.decode("utf-8", errors="replace").count("\ufffd")
    return valid >= _MIN_UTF8_SEQS and invalid * _UTF8_RATIO <= valid


def _has_multibyte(body: bytes) -> bool:
    return not body.isascii()


def _plausible(body: bytes, name: str) -> bool:
    """Whether a declared encoding survives the checks for lying declarations."""
    if name.startswith(("utf-16", "utf-32")):
        return _wide_unicode(body) == name
    if _control_heavy(body[:8192]):
        return False  # UTF-16/32 bytes under an 8-bit label
    if name == "utf-8":
        return _is_utf8(body) or _mostly_utf8(body)
    if _has_multibyte(body) and _is_utf8(body):
        return False
    if name == "windows-1252" and len(_HIGH_RUN_RE.findall(body, 0, _DETECT_BYTES)) >= 8:
        # Whole words of high bytes: another script in a single-byte code page.
        return False
    try:
        codecs.decode(body, _codec(name))
    except UnicodeDecodeError:
        return False
    return True


def _control_heavy(sample: bytes) -> bool:
    return sum(sample.count(bytes([b])) for b in range(9)) >= len(sample) // 8 > 0


def _wide_unicode(body: bytes) -> str | None:
    """UTF-16/32 without a byte-order mark, recognised by its control bytes.

    Text in any single- or multi-byte legacy encoding practically never holds bytes
    0x00-0x08; UTF-16/32 text is full of them.  Of the candidate byte orders, the
    right one packs the characters into few 256-code-point blocks (ASCII plus the
    script's block); the wrong one scatters them.
    """
    sample = body[:8192]
    if not _control_heavy(sample):
        return None
    best, best_score = None, 0.0
    for name in ("utf-32le", "utf-32be", "utf-16le", "utf-16be"):
        width = 4 if name.startswith("utf-32") else 2
        chunk = sample[: len(sample) - len(sample) % width]
        try:
            text = chunk.decode(_codec(name))
        except UnicodeDecodeError:
            continue
        if not text:
            continue
        blocks: dict[int, int] = {}
        for ch in text:
            blocks[ord(ch) >> 8] = blocks.get(ord(ch) >> 8, 0) + 1
        top = sorted(blocks.values(), reverse=True)[:2]
        score = sum(top) / len(text) - text.count("\x00") / len(text)
        if score > best_score:
            best, best_score = name, score
    return best


def _detect(body: bytes) -> str:
    wide = _wide_unicode(body)
    if wide is not None:
        return wide
    if not _has_multibyte(body):
        return "windows-1252"
    if _is_utf8(body):
        return "utf-8"
    sample = body[:_DETECT_BYTES]
    best = charset_normalizer.from_bytes(sample).best()
    if best is None:
        return "windows-1252"
    return _CODEC_TO_NAME.get(codecs.lookup(best.encoding).name, "windows-1252")


def decode_html(body: bytes, http_charset: str | None = None) -> tuple[str, str]:
    """Decode page bytes; return ``(text, encoding name used)``.

    >>> decode_html("<p>سلام</p>".encode("cp1256"), "utf-8")[1]
    'windows-1256'
    """
    bom = _bom(body)
    if bom is not None:
        name, skip = bom
        return body[skip:].decode(_codec(name), errors="replace"), name

    http, meta = lookup_encoding(http_charset), _meta_charset(body)
    # A Latin-1 header is usually the server's default, not the author's choice, so an
    # explicit different <meta> declaration is tried first.
    declared = [meta, http] if http == "windows-1252" and meta is not None else [http, meta]
    for label in declared:
        if label is not None and _plausible(body, label):
            return body.decode(_codec(label), errors="replace"), label

    detected = _detect(body)
    try:
        return body.decode(_codec(detected), errors="replace"), detected
    except LookupError as exc:  # pragma: no cover - every table codec exists in CPython
        raise DecodeError(f"no codec for {detected}") from exc
