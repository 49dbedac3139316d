"""Prefixed, time-ordered identifiers such as ``story_01JD3X…``.

A ULID sorts by creation time, so ids double as a stable tie-breaker when ordering
newest first; the prefix tells a human (and a log search) what kind of thing it names.
"""

from __future__ import annotations

import re
from datetime import datetime

from ulid import ULID

_PREFIX = re.compile(r"^[a-z][a-z0-9]*$")


def new_id(prefix: str, at: datetime | None = None) -> str:
    """A new id ``<prefix>_<ULID>``; ``at`` pins the time part (from the injected clock)."""
    if not _PREFIX.match(prefix):
        raise ValueError(f"id prefix must be lowercase letters and digits, got {prefix!r}")
    ulid = ULID.from_datetime(at) if at is not None else ULID()
    return f"{prefix}_{str(ulid).lower()}"


def has_prefix(value: str, prefix: str) -> bool:
    """True when ``value`` looks like an id made by ``new_id(prefix)``."""
    return value.startswith(f"{prefix}_") and len(value) == len(prefix) + 27
