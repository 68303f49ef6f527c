"""SMS text length: the GSM 03.38 alphabet, septets and segments (pure Python, no Django).

Patient text messages are kept within two GSM-7 segments: `to_gsm7` rewrites text into the
GSM 03.38 default alphabet, `segments` counts the parts a carrier bills, `fit` checks a budget.

Own code, not a library: the PyPI candidates (November 2026) were py-smsify, last released in
July 2022, and sms-counter, a 0.0.x counter that pulls in pydantic and converts nothing; the
GSM 03.38 table is a fixed standard (3GPP TS 23.038), written out below as two strings.

`to_gsm7` rules, applied in this order:

1. Unicode NFC, so that a letter followed by a combining accent (e + U+0301) is the one
   composed character (é) and kept when GSM-7 has it.
2. Degrees: "40°C" / "40 °C" / "40℃" become "40C" (likewise F); any other ° becomes
   " degrees" ("45°" -> "45 degrees").
3. Characters of the alphabet (basic set and extension table) are kept as they are.
4. Typographic characters become their plain equivalents (`_REPLACEMENTS`): ’ ‘ ` ´ -> ',
   “ ” „ « » -> ", – — ‒ ― − (and other hyphens) -> -, … -> ..., • · ‣ -> -, × -> x,
   ÷ -> /, ± -> +/-, ≤ ≥ ≠ -> <= >= !=, → ← -> -> <-, © ® -> (c) (R), µ -> mc ("µg" ->
   "mcg", the form recommended in medicine), and letters without a Unicode decomposition:
   ł -> l, đ ð -> d, þ -> th, œ -> oe, ı -> i, ħ -> h, ...
5. Whitespace: every Unicode space separator (no-break, thin, ideographic, ...) and tab
   become a space; line and paragraph separators, NEL and vertical tab become a line feed.
6. Otherwise the compatibility decomposition (NFKD) without its combining marks, when all
   of it is in the alphabet or has a replacement: ő -> o, ç -> c (GSM-7 has only Ç),
   ½ -> 1/2, ™ -> TM, ﬁ -> fi, full-width Ａ -> A.
7. Anything else: invisible and pictorial characters (emoji and their modifiers, variation
   selectors and joiners, combining marks, control and format characters, other symbols)
   are removed, since they carry no words; letters, digits and punctuation that GSM-7
   cannot write (Cyrillic, CJK, ...) become "?", one per character, so the loss shows.

Text already in the alphabet is returned unchanged, which makes `to_gsm7` idempotent.

Counting: GSM-7 text is one segment up to 160 septets, else parts of 153 septets (the rest
is the concatenation header), an extension character (2 septets: escape + code) never split
across two parts. Any other text goes as UCS-2: one segment up to 70 UTF-16 code units,
else parts of 67, a surrogate pair (an emoji, 2 units) never split. Empty text is 0
segments (Twilio refuses an empty body rather than sending one segment).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "GSM7_MULTIPART_SEPTETS",
    "GSM7_SEGMENT_SEPTETS",
    "UCS2_MULTIPART_UNITS",
    "UCS2_SEGMENT_UNITS",
    "fit",
    "is_gsm7",
    "segments",
    "septets",
    "to_gsm7",
]

GSM7_SEGMENT_SEPTETS = 160
GSM7_MULTIPART_SEPTETS = 153
UCS2_SEGMENT_UNITS = 70
UCS2_MULTIPART_UNITS = 67

# The basic character set in code order 0x00-0x7F (3GPP TS 23.038 section 6.2.1), without
# 0x1B, the escape to the extension table: 127 characters, one septet each. 0x10-0x1A are
# Greek capitals (U+0394 Δ, U+03A6 Φ, U+0393 Γ, U+039B Λ, U+03A9 Ω, U+03A0 Π, U+03A8 Ψ,
# U+03A3 Σ, U+0398 Θ, U+039E Ξ); 0x09 is the capital Ç (U+00C7).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table (section 6.2.1.1): escape + code, two septets each.
GSM7_EXTENSION = "\f^{}\\[~]|€"

_BASIC = frozenset(GSM7_BASIC)
_EXTENSION = frozenset(GSM7_EXTENSION)
_ALPHABET = _BASIC | _EXTENSION

_REPLACEMENTS: dict[str, str] = {
    # Quotes, apostrophes, primes.
    "\u2018": "'",  # ‘
    "\u2019": "'",  # ’
    "\u201a": "'",  # ‚
    "\u201b": "'",  # ‛
    "\u2032": "'",  # ′
    "\u2035": "'",  # ‵
    "\u2039": "'",  # ‹
    "\u203a": "'",  # ›
    "\u02b9": "'",  # ʹ
    "\u02bb": "'",  # ʻ
    "\u02bc": "'",  # ʼ
    "`": "'",
    "\u00b4": "'",  # ´
    "\u201c": '"',  # “
    "\u201d": '"',  # ”
    "\u201e": '"',  # „
    "\u201f": '"',  # ‟
    "\u2033": '"',  # ″
    "\u2036": '"',  # ‶
    "\u00ab": '"',  # «
    "\u00bb": '"',  # »
    # Hyphens and dashes.
    "\u2010": "-",  # hyphen
    "\u2011": "-",  # non-breaking hyphen
    "\u2012": "-",  # figure dash
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2015": "-",  # ― horizontal bar
    "\u2212": "-",  # − minus sign
    "\u2043": "-",  # ⁃ hyphen bullet
    # Ellipsis, bullets, dots.
    "\u2026": "...",  # …
    "\u2025": "..",  # ‥
    "\u2022": "-",  # •
    "\u2023": "-",  # ‣
    "\u25e6": "-",  # ◦
    "\u2219": "-",  # ∙
    "\u00b7": "-",  # ·
    # Mathematical signs and arrows.
    "\u00d7": "x",  # ×
    "\u00f7": "/",  # ÷
    "\u2044": "/",  # ⁄ fraction slash (from the NFKD of ½)
    "\u2215": "/",  # ∕
    "\u2236": ":",  # ∶
    "\u00b1": "+/-",  # ±
    "\u2264": "<=",  # ≤
    "\u2265": ">=",  # ≥
    "\u2260": "!=",  # ≠
    "\u2248": "~",  # ≈
    "\u2192": "->",  # →
    "\u2190": "<-",  # ←
    "\u21d2": "=>",  # ⇒
    "\u00a6": "|",  # ¦
    # Temperature signs (the ° itself is handled before, with its context).
    "\u2103": "C",  # ℃
    "\u2109": "F",  # ℉
    # Other signs.
    "\u00a9": "(c)",  # ©
    "\u00ae": "(R)",  # ®
    "\u00a2": "c",  # ¢
    # Micro, as in doses: "µg" -> "mcg", the form ISMP recommends over "µg" and "ug".
    "\u00b5": "mc",  # µ micro sign
    "\u03bc": "mc",  # μ Greek small mu (the NFKD of µ)
    # Letters with no Unicode decomposition to a base letter.
    "\u0142": "l",  # ł
    "\u0141": "L",  # Ł
    "\u0111": "d",  # đ
    "\u0110": "D",  # Đ
    "\u00f0": "d",  # ð
    "\u00d0": "D",  # Ð
    "\u00fe": "th",  # þ
    "\u00de": "Th",  # Þ
    "\u0153": "oe",  # œ
    "\u0152": "OE",  # Œ
    "\u0131": "i",  # ı
    "\u0127": "h",  # ħ
    "\u0126": "H",  # Ħ
    "\u0167": "t",  # ŧ
    "\u0166": "T",  # Ŧ
    "\u014b": "n",  # ŋ
    "\u014a": "N",  # Ŋ
    "\u0138": "k",  # ĸ
    # Line breaks and whitespace that are control characters.
    "\t": " ",
    "\v": "\n",
    "\u0085": "\n",  # next line
}

# The ° and its unit: "40°C", "40° C" -> "40C"; any other ° -> " degrees".
_DEGREE_UNIT = re.compile(r"[°˚]\s?([CF])(?![A-Za-z])")
_DEGREE = re.compile(r" ?[°˚]")

# Categories dropped without trace: marks, control/format/private/unassigned, surrogates,
# and symbols that are not letters or punctuation (emoji, dingbats, modifier symbols).
_DROPPED_CATEGORIES = frozenset({"Mn", "Mc", "Me", "Cc", "Cf", "Cs", "Co", "Cn", "So", "Sk"})


def is_gsm7(text: str) -> bool:
    """Whether every character of `text` is in the GSM 03.38 basic set or extension table."""
    return all(char in _ALPHABET for char in text)


def _plain(char: str) -> str | None:
    """The GSM-7 form of one character, or None when there is none."""
    if char in _ALPHABET:
        return char
    replacement = _REPLACEMENTS.get(char)
    if replacement is not None:
        return replacement
    category = unicodedata.category(char)
    if category == "Zs":
        return " "
    if category in ("Zl", "Zp"):
        return "\n"
    return None


def _convert(char: str) -> str:
    plain = _plain(char)
    if plain is not None:
        return plain
    decomposed = unicodedata.normalize("NFKD", char)
    if decomposed != char:
        parts = [_plain(part) for part in decomposed if unicodedata.category(part)[0] != "M"]
        if parts and all(part is not None for part in parts):
            return "".join(part for part in parts if part is not None)
    if unicodedata.category(char) in _DROPPED_CATEGORIES:
        return ""
    return "?"


def to_gsm7(text: str) -> str:
    """`text` written in the GSM 03.38 alphabet, by the rules in this module's docstring."""
    if is_gsm7(text):
        return text
    text = unicodedata.normalize("NFC", text)
    text = _DEGREE_UNIT.sub(r"\1", text)
    text = _DEGREE.sub(" degrees", text)
    return "".join(_convert(char) for char in text)


def _septet_widths(text: str) -> list[int]:
    return [2 if char in _EXTENSION else 1 for char in text]


def _utf16_widths(text: str) -> list[int]:
    return [2 if ord(char) > 0xFFFF else 1 for char in text]


def septets(text: str) -> int:
    """The length of GSM-7 `text` in septets: 2 for each extension-table character.

    Raises ValueError when `text` is not GSM-7 (see `is_gsm7`; convert with `to_gsm7`).
    """
    if not is_gsm7(text):
        raise ValueError("text is not GSM-7; it would be sent as UCS-2")
    return sum(_septet_widths(text))


def _count(widths: list[int], single: int, part: int) -> int:
    if not widths:
        return 0
    if sum(widths) <= single:
        return 1
    # Walk the characters, as carriers split them: one that does not fit whole in the
    # current part starts the next one.
    count, used = 1, 0
    for width in widths:
        if used + width > part:
            count, used = count + 1, 0
        used += width
    return count


def segments(text: str) -> int:
    """How many SMS segments `text` is sent as: GSM-7 if it can be, else UCS-2; 0 if empty."""
    if is_gsm7(text):
        return _count(_septet_widths(text), GSM7_SEGMENT_SEPTETS, GSM7_MULTIPART_SEPTETS)
    return _count(_utf16_widths(text), UCS2_SEGMENT_UNITS, UCS2_MULTIPART_UNITS)


def fit(text: str, *, max_segments: int) -> bool:
    """Whether `text`, sent as it is (convert with `to_gsm7` first), takes at most
    `max_segments` segments. Empty text fits (0 segments)."""
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    return segments(text) <= max_segments
