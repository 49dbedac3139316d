"""Retention periods as people write them: ``30d``, ``12h``, ``90m``, ``2w``, or ``off``.

Used by the ``ORCHESTRATE_RETENTION_*`` settings and ``orchestrate db prune
--older-than``. A period is a whole number and one unit; ``off`` means "keep forever".
Zero is refused (it would delete everything the moment it finishes): write ``off`` to
keep, or the shortest period you mean.
"""

from __future__ import annotations

import email.utils
import re
import time
from datetime import UTC, datetime, timedelta

from orchestrate.core.errors import ValidationFailed

OFF = "off"

_UNITS = {
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_PERIOD = re.compile(r"(?P<count>\d{1,6})\s*(?P<unit>[mhdw])")
_LONGEST = timedelta(days=100 * 365)

EXAMPLES = "a whole number and a unit (m, h, d or w), e.g. 30d, 12h, 90m, 2w"


def normalise_period(text: str, *, allow_off: bool = True) -> str:
    """The canonical spelling of a period (``" 30D "`` → ``"30d"``); ValueError if invalid."""
    cleaned = text.strip().lower()
    if cleaned == OFF:
        if not allow_off:
            raise ValueError(f"{text!r} is not a duration here: use {EXAMPLES}")
        return OFF
    match = _PERIOD.fullmatch(cleaned)
    if match is None:
        extra = " or off" if allow_off else ""
        raise ValueError(f"{text!r} is not a duration: use {EXAMPLES}{extra}")
    count = int(match["count"])
    if count == 0:
        hint = " (write off to keep everything)" if allow_off else ""
        raise ValueError(f"{text!r} is zero: a duration must be at least 1m{hint}")
    if count * _UNITS[match["unit"]] > _LONGEST:
        raise ValueError(f"{text!r} is longer than 100 years")
    return f"{count}{match['unit']}"


def parse_period(text: str, *, allow_off: bool = True) -> timedelta | None:
    """The period ``text`` stands for; None for ``off``. ValueError if invalid."""
    canonical = normalise_period(text, allow_off=allow_off)
    if canonical == OFF:
        return None
    return int(canonical[:-1]) * _UNITS[canonical[-1]]


def parse_since(text: str | None, now: datetime) -> datetime | None:
    """``--since`` / ``?since=``: an ISO date (midnight UTC), an ISO date and time (UTC
    unless it carries an offset), or a period back from now (``30d``, ``12h``, ``2w``)."""
    if text is None or not text.strip():
        return None
    cleaned = text.strip()
    try:
        period = parse_period(cleaned, allow_off=False)
    except ValueError:
        pass
    else:
        assert period is not None  # allow_off=False never answers "keep forever"
        return now - period
    try:
        moment = datetime.fromisoformat(cleaned)  # a date alone is its midnight
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):  # OverflowError: an offset past year 1 or 9999
        raise ValidationFailed(
            f"since {text!r} is not a date (2026-12-01), a date and time "
            "(2026-12-01T09:30:00Z) or a period back from now (30d, 12h, 90m, 2w)",
            since=text,
        ) from None


def parse_retry_after(value: str | None) -> float | None:
    """An HTTP ``Retry-After`` in seconds from now: a number, or an HTTP date; None when
    absent or unreadable (the forges and the CI providers wait by it)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
