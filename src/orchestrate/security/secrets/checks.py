"""Validators that refuse candidates which cannot be real credentials.

Where an issuer builds a checksum into its tokens, a candidate whose checksum is wrong
was typed by a person (an example, a fixture, a truncated copy) and is dropped: that is
precision bought without losing recall, since every token the issuer hands out passes.
GitHub's tokens since April 2021 (``ghp_ gho_ ghu_ ghs_ ghr_``) and npm's since
September 2021 (``npm_``) end in the CRC32 of their random part, in base62, six
characters. Formats whose checksum is not public (GitHub's fine-grained
``github_pat_``, GitLab's, Slack's) are reported on their shape alone.
"""

from __future__ import annotations

import base64
import binascii
import json
import re

from orchestrate.security.secrets.entropy import shannon_entropy

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_VALUE = {character: index for index, character in enumerate(BASE62)}


def base62(number: int, width: int = 6) -> str:
    """``number`` in base62, left-padded with ``0`` to ``width`` characters."""
    digits = []
    while number:
        number, remainder = divmod(number, 62)
        digits.append(BASE62[remainder])
    return "".join(reversed(digits)).rjust(width, "0")


def crc32_checksum(random_part: str) -> str:
    """The six base62 characters GitHub and npm append to a token's random part."""
    return base62(binascii.crc32(random_part.encode("ascii")))


def has_valid_crc32_suffix(token: bytes) -> bool:
    """``prefix_`` + random part + six-character CRC32 checksum (GitHub, npm)."""
    body = token.split(b"_", 1)[-1].decode("ascii", "replace")
    if len(body) < 7:
        return False
    return crc32_checksum(body[:-6]) == body[-6:]


def _b64url_json(segment: bytes) -> object:
    padded = segment + b"=" * (-len(segment) % 4)
    return json.loads(base64.urlsafe_b64decode(padded))


def is_signed_jwt(token: bytes) -> bool:
    """A JWT whose header decodes to JSON naming an algorithm other than ``none``, with
    a JSON payload and a non-empty signature (an unsigned JWT authenticates nothing)."""
    parts = token.split(b".")
    if len(parts) != 3 or not parts[2]:
        return False
    try:
        header = _b64url_json(parts[0])
        payload = _b64url_json(parts[1])
    except (ValueError, binascii.Error):
        return False
    if not isinstance(header, dict) or not isinstance(payload, dict):
        return False
    algorithm = header.get("alg")
    return isinstance(algorithm, str) and algorithm.lower() != "none"


def is_basic_auth_pair(value: bytes) -> bool:
    """A Docker ``auth`` value: base64 of ``user:password`` with a real password."""
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return False
    user, separator, password = decoded.partition(":")
    return bool(separator and user and len(password) >= 4 and password != user)


_KEY_BODY = re.compile(rb"[A-Za-z0-9+/=]{40,}")


def private_key_body(block: bytes) -> bytes:
    """A PEM block's base64 body, without headers, line breaks or ``\\n`` escapes: what
    identifies the key however it is wrapped, indented or embedded in a JSON string."""
    text = block.replace(b"\\n", b"\n").replace(b"\\r", b"\n")
    lines = [
        line.strip()
        for line in text.split(b"\n")
        if line.strip() and b":" not in line and not line.startswith(b"-----")
    ]
    return b"".join(lines)


def has_private_key_body(block: bytes) -> bool:
    """A block with a real key inside (documentation shows ``...`` or a placeholder)."""
    body = private_key_body(block)
    return bool(_KEY_BODY.search(body)) and shannon_entropy(body) > 4.5
