"""Opaque cursors for keyset pagination of every list the API returns.

A cursor encodes the sort key of the last item a client saw; the next page continues
strictly after it, so concurrent inserts never shift or repeat items the way
``OFFSET`` does. Lists ordered by time are newest first (``TimeCursor``, ``IdCursor``);
lists of named things are by name (``KeyCursor``), in SQL (``by_key``) or, for the
few lists computed in Python (agent types, pending approvals), in memory
(``page_in_memory``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from sqlalchemy import Select, and_, or_

from orchestrate.core.clock import ensure_utc
from orchestrate.core.errors import ValidationFailed

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# Cursors come back from clients; an id outside a signed 64-bit column must be refused
# here, or the database driver fails on it.
_MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None


@dataclass(frozen=True)
class TimeCursor:
    """Position after an item sorted by (created_at, id) descending."""

    created_at: datetime
    id: str

    def encode(self) -> str:
        return _encode({"t": self.created_at.isoformat(), "i": self.id})

    @classmethod
    def decode(cls, cursor: str) -> TimeCursor:
        data = _decode(cursor)
        try:
            moment = datetime.fromisoformat(str(data["t"]))
            position = cls(created_at=ensure_utc(moment), id=str(data["i"]))
        except (KeyError, TypeError, ValueError, OverflowError):
            raise _invalid(cursor) from None
        if "\x00" in position.id:  # PostgreSQL cannot compare text with a NUL in it
            raise _invalid(cursor)
        return position


@dataclass(frozen=True)
class IdCursor:
    """Position after an item of a table with a monotonic integer id, newest first."""

    id: int

    def encode(self) -> str:
        return _encode({"n": self.id})

    @classmethod
    def decode(cls, cursor: str) -> IdCursor:
        data = _decode(cursor)
        value = data.get("n")
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= _MAX_ID:
            raise _invalid(cursor)
        return cls(id=value)


@dataclass(frozen=True)
class KeyCursor:
    """Position after an item of a list sorted by a unique text key (a name), A to Z."""

    key: str

    def encode(self) -> str:
        return _encode({"k": self.key})

    @classmethod
    def decode(cls, cursor: str) -> KeyCursor:
        value = _decode(cursor).get("k")
        # PostgreSQL cannot compare text with a NUL in it: refuse it here, not as a 500.
        if not isinstance(value, str) or "\x00" in value:
            raise _invalid(cursor)
        return cls(key=value)


def check_page_size(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise ValidationFailed(
            f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}", field="limit"
        )
    return limit


def _encode(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> dict[str, object]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        raise _invalid(cursor) from None
    if not isinstance(data, dict):
        raise _invalid(cursor)
    return data


def _invalid(cursor: str) -> ValidationFailed:
    return ValidationFailed(
        f"Invalid cursor {cursor[:40]!r}: pass back the next_cursor of a previous page",
        field="cursor",
    )


class _Timestamped(Protocol):
    created_at: datetime
    id: str


_Row = TypeVar("_Row", bound=_Timestamped)


def newest_first(
    query: Select[Any], table: Any, limit: int, cursor: str | None, *, time_column: Any = None
) -> Select[Any]:
    """``query`` ordered newest first by (created_at, id), after ``cursor``, one row extra.

    ``table`` is a mapped class with ``created_at`` and ``id`` columns (or another time
    column given as ``time_column``); the extra row tells ``page_of`` whether another
    page exists.
    """
    moment = table.created_at if time_column is None else time_column
    query = query.order_by(moment.desc(), table.id.desc()).limit(limit + 1)
    if cursor:
        after = TimeCursor.decode(cursor)
        query = query.where(
            or_(
                moment < after.created_at,
                and_(moment == after.created_at, table.id < after.id),
            )
        )
    return query


def page_of(rows: list[_Row], limit: int) -> tuple[list[_Row], str | None]:
    """The first ``limit`` rows of a ``newest_first`` result and the cursor of the next page."""
    page = rows[:limit]
    more = len(rows) > limit and bool(page)
    next_cursor = TimeCursor(page[-1].created_at, page[-1].id).encode() if more else None
    return page, next_cursor


def by_key(query: Select[Any], column: Any, limit: int, cursor: str | None) -> Select[Any]:
    """``query`` ordered by the unique ``column`` A to Z, after ``cursor``, one row extra."""
    query = query.order_by(column).limit(limit + 1)
    if cursor:
        query = query.where(column > KeyCursor.decode(cursor).key)
    return query


def page_by_key(items: Sequence[T], key: Callable[[T], str], limit: int) -> Page[T]:
    """The first ``limit`` items of a ``by_key`` result and the cursor of the next page."""
    page = list(items[:limit])
    more = len(items) > limit and bool(page)
    return Page(page, KeyCursor(key(page[-1])).encode() if more else None)


def page_in_memory(
    items: Sequence[T], key: Callable[[T], str], limit: int, cursor: str | None
) -> Page[T]:
    """One page of a list computed in Python, sorted by ``key`` (unique per item)."""
    ordered = sorted(items, key=key)
    if cursor:
        after = KeyCursor.decode(cursor).key
        ordered = [item for item in ordered if key(item) > after]
    return page_by_key(ordered[: limit + 1], key, limit)
