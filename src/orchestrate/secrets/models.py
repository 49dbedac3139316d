"""Secrets: the rules for their names and values, and what may be shown about them.

Names follow GitHub Actions: letters, digits and underscores, not starting with a digit,
case-insensitive and stored upper-case (``api_token`` and ``API_TOKEN`` are one
secret), so ``${{ secrets.api_token }}`` finds what ``secret set API_TOKEN`` stored.
A value is never part of a domain object: only the store's ciphertext and the caller
that asked for it ever hold it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from orchestrate.core.errors import ValidationFailed

NAME_MAX_LENGTH: Final = 100
VALUE_MAX_BYTES: Final = 64 * 1024
"""GitHub allows 48 KB per secret; a little more room, still small enough for a row."""

_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")


@dataclass(frozen=True)
class SecretInfo:
    """What may be shown about a secret: its name and dates, never its value."""

    name: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class SecretWrite:
    """The outcome of ``set_secret``: the secret, and whether it was new."""

    secret: SecretInfo
    is_new: bool


@dataclass(frozen=True)
class KeyRotation:
    """The outcome of ``rotate_key``.

    ``retired_key_ids``: keys no secret needs any more; with ``ORCHESTRATE_SECRET_KEY``
    the user removes them from the variable, with the key file they are already gone.
    """

    key_id: str
    re_encrypted: int
    retired_key_ids: tuple[str, ...]


def normalise_name(name: str) -> str:
    """``name`` upper-cased, or ``ValidationFailed`` saying what a name may contain."""
    candidate = name.strip().upper()
    if not candidate or len(candidate) > NAME_MAX_LENGTH or not _NAME.fullmatch(candidate):
        raise ValidationFailed(
            f"Invalid secret name {name!r}: use letters, digits and underscores, not "
            f"starting with a digit, at most {NAME_MAX_LENGTH} characters (e.g. DEPLOY_TOKEN)",
            field="name",
            name=name,
        )
    return candidate


def check_value(value: str) -> str:
    """``value`` unchanged, or ``ValidationFailed`` when it is empty or too large."""
    if not value:
        raise ValidationFailed("A secret's value must not be empty", field="value")
    if len(value.encode()) > VALUE_MAX_BYTES:
        raise ValidationFailed(
            f"A secret's value must be at most {VALUE_MAX_BYTES // 1024} KiB",
            field="value",
            limit=VALUE_MAX_BYTES,
        )
    return value
