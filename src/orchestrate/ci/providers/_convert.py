"""Reading platforms' JSON defensively: a field of the wrong type is absent, not a crash."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def items(value: Any) -> list[Mapping[str, Any]]:
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def integer(value: Any, default: int = 0) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return default


def moment(value: Any) -> datetime | None:
    """An ISO 8601 time (``Z`` or an offset) as aware UTC; None when absent or odd."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def numeric_id(value: str, what: str) -> int:
    """A run or job id a platform numbers: digits only, refused before any call."""
    from orchestrate.core.errors import ValidationFailed

    if not value.isdigit() or len(value) > 19:
        raise ValidationFailed(f"A {what} id is a number, not {value[:40]!r}", field="run_id")
    return int(value)
