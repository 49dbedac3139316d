"""The security pages' filter values and report formats.

Filter values arrive in the query string: each is parsed here into the service's own
type, and a value that is not one of them is a ``ValidationFailed`` naming the allowed
ones (a 422 page, never a 500).
"""

from __future__ import annotations

from typing import TypeVar

from orchestrate.core.errors import ValidationFailed
from orchestrate.security import service as security

T = TypeVar("T")

PAGE_SIZE = 50
SCAN_STATUSES = security.SCAN_STATUSES
GATES = ("passed", "failed")
FINDING_STATES = ("new", "baselined")
SEVERITIES = ("critical", "high", "medium", "low", "info")
"""Most severe first, the order every count and select shows them in."""
CATEGORIES = ("secret", "sast", "dependency", "license")


def one_of(value: str | None, allowed: tuple[str, ...], what: str) -> str | None:
    """``value`` if it is one of ``allowed``; None when empty."""
    if not value:
        return None
    if value not in allowed:
        raise ValidationFailed(f"Unknown {what} {value!r}; one of {', '.join(allowed)}")
    return value


def category_of(value: str | None) -> str | None:
    """A category's name, checked (the service's parser also takes the CLI's aliases)."""
    return one_of(value, CATEGORIES, "category")


def only(chosen: frozenset[T]) -> T | None:
    """The one member of ``chosen`` (a parsed filter of one value), or None."""
    return next(iter(chosen)) if len(chosen) == 1 else None


def report_format(value: str) -> security.OutputFormat:
    try:
        return security.OutputFormat(value)
    except ValueError:
        allowed = ", ".join(f.value for f in security.OutputFormat)
        raise ValidationFailed(f"Unknown report format {value!r}; one of {allowed}") from None
