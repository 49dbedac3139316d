"""Shannon entropy, and the character set a candidate value is drawn from.

Random secrets are dense: a 32-character hex key has close to 4 bits per character,
a base64 key close to 6 (bounded by its length). Words, identifiers and placeholders sit
well below. Thresholds are per charset because hex cannot reach base64's figures.
"""

from __future__ import annotations

import math
from collections import Counter
from enum import StrEnum

_HEX = frozenset(b"0123456789abcdefABCDEF")
_BASE64 = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")


class Charset(StrEnum):
    HEX = "hex"
    BASE64 = "base64"
    OTHER = "other"


def shannon_entropy(value: bytes) -> float:
    """Bits per character of ``value`` (0 for an empty value)."""
    if not value:
        return 0.0
    length = len(value)
    return -sum((count / length) * math.log2(count / length) for count in Counter(value).values())


def charset_of(value: bytes) -> Charset:
    distinct = set(value)
    if distinct <= _HEX:
        return Charset.HEX
    if distinct <= _BASE64:
        return Charset.BASE64
    return Charset.OTHER
