"""Cron schedules: when a schedule fires, in its own time zone, and what to fire after downtime.

Pure: no database, no clock, no I/O. The scheduler asks two questions and stores the answers:
``CronSchedule.next_after`` (for ``schedule list`` and the firing loop) and ``due_fire_times``
(which fire times to start now, given the last one fired and the misfire policy).

Field matching is cronsim's (it follows Debian/Vixie cron). We validate the syntax ourselves
first, to reject what is not standard five-field cron and to name the field that is wrong.
Time zones are ours: cronsim only ever sees local wall-clock times without a zone, and this
module maps them to instants with the DST rules below (see docs/schedules.md).

- A schedule whose hour field covers every hour (``*``, as in ``0 * * * *`` or
  ``*/15 * * * *``) is an *interval* schedule: it fires at every real instant whose local
  time matches. During spring-forward the skipped wall times simply do not occur; during
  fall-back the repeated hour fires twice, once per real hour.
- Any other schedule is a *wall-clock* schedule: each matching local time fires once. A time
  skipped by spring-forward fires at the first instant after the gap (02:30 → 03:00); a
  time repeated by fall-back fires at its first occurrence only.
"""

from __future__ import annotations

import difflib
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from cronsim import CronSim, CronSimError

from orchestrate.core.errors import ValidationFailed

__all__ = [
    "MISFIRE_GRACE",
    "TEMPLATES",
    "CronError",
    "CronSchedule",
    "MisfirePolicy",
    "due_fire_times",
    "parse_schedule",
]

MACROS: dict[str, str] = {
    "@hourly": "0 * * * *",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@weekly": "0 0 * * 0",
    "@monthly": "0 0 1 * *",
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
}

TEMPLATES: dict[str, tuple[str, str]] = {
    "hourly": ("0 * * * *", "Every hour, on the hour"),
    "daily": ("0 9 * * *", "Every day at 09:00"),
    "weekly": ("0 9 * * 1", "Every Monday at 09:00"),
    # 03:00 rather than 02:00: in US and EU zones 02:00 is skipped or repeated on DST days,
    # while 03:00 happens exactly once every day.
    "nightly-security": ("0 3 * * *", "Every night at 03:00: vulnerability and secret scans"),
    "dependency-check": ("0 6 * * 1", "Every Monday at 06:00: outdated or vulnerable dependencies"),
}

# A fire time this close behind "now" is on time, not missed: the scheduler polls, so it
# always sees a fire time a little after it has passed.
MISFIRE_GRACE = timedelta(seconds=60)

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_WEEKDAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_FIELD_LIST = "minute hour day-of-month month day-of-week"


@dataclass(frozen=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # names[i] stands for low + i

    def value(self, raw: str) -> int:
        upper = raw.upper()
        if upper in self.names:
            return self.low + self.names.index(upper)
        if not raw:
            raise ValueError(f"the {self.name} field is missing a number")
        if not raw.isdigit():
            quartz = [mark for mark in ("L", "W", "#", "?") if mark in upper]
            if quartz:
                raise ValueError(
                    f"{raw!r} in the {self.name} field is a Quartz extension ({quartz[0]!r}), "
                    "not standard cron; list the days explicitly instead"
                )
            hint = f" or a name such as {self.names[0]}" if self.names else ""
            raise ValueError(f"{self.name} {raw!r} is not a number{hint}")
        number = int(raw)
        if not self.low <= number <= self.high:
            raise ValueError(f"{self.name} {number} is out of range {self.low}-{self.high}")
        return number


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, _MONTHS),
    # 7 is Sunday too, as in every cron
    _Field("day-of-week", 0, 7, _WEEKDAYS),
)


class CronError(ValidationFailed):
    """A cron expression or time zone that cannot be used as a schedule."""

    title = "Invalid cron expression"


def _invalid(expression: str, problem: str) -> CronError:
    return CronError(f"Invalid cron expression {expression!r}: {problem}", expression=expression)


def _check_term(term: str, spec: _Field) -> None:
    """Raise ValueError naming the problem if one comma-separated term is not standard cron."""
    if not term:
        raise ValueError(f"the {spec.name} field has an empty item in its list")
    base, has_step, step = term.partition("/")
    if has_step and not (step.isdigit() and int(step) >= 1):
        raise ValueError(f"step {step!r} in the {spec.name} field must be a whole number >= 1")
    if base == "*":
        return
    start, is_range, end = base.partition("-")
    first = spec.value(start)
    if is_range and first > spec.value(end):
        raise ValueError(
            f"range {base!r} in the {spec.name} field runs backwards; "
            "write it as two items, e.g. FRI-SAT,SUN-MON"
        )


def _expand(expression: str) -> str:
    """The five-field form of an expression or macro; raises CronError for anything else."""
    text = " ".join(expression.split())
    if not text:
        raise _invalid(expression, f"it is empty; write five fields ({_FIELD_LIST}) or @daily")
    if text.startswith("@"):
        macro = MACROS.get(text.lower())
        if macro is None:
            raise _invalid(expression, f"unknown macro; use one of {', '.join(MACROS)}")
        return macro
    fields = text.split(" ")
    if len(fields) != len(_FIELDS):
        hint = " (a seconds field is not supported)" if len(fields) == 6 else ""
        raise _invalid(
            expression, f"it has {len(fields)} fields, expected five ({_FIELD_LIST}){hint}"
        )
    for raw, spec in zip(fields, _FIELDS, strict=True):
        for term in raw.split(","):
            try:
                _check_term(term, spec)
            except ValueError as problem:
                raise _invalid(expression, str(problem)) from None
    return text.upper()


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    close = difflib.get_close_matches(name, sorted(available_timezones()), n=1)
    hint = f"did you mean {close[0]!r}?" if close else "use an IANA name such as 'Europe/Berlin'"
    raise CronError(f"Unknown time zone {name!r}: {hint}", timezone=name)


_WallKind = Literal["normal", "repeated", "skipped"]


def _wall_kind(wall: datetime, zone: ZoneInfo) -> _WallKind:
    """Whether a local wall-clock time happens once, twice (fall-back) or never (spring-forward)."""
    first = wall.replace(tzinfo=zone, fold=0)
    if first.utcoffset() == wall.replace(tzinfo=zone, fold=1).utcoffset():
        return "normal"
    round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    return "repeated" if round_trip == wall else "skipped"


def _instant(wall: datetime, zone: ZoneInfo, fold: int = 0) -> datetime:
    return wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The first real instant after the spring-forward gap that swallowed ``wall``."""
    # Gaps start and end on whole minutes in every zone in use; the longest (Samoa, 2011) was
    # a day, so this walk is bounded.
    moment = wall.replace(second=0, microsecond=0)
    while _wall_kind(moment, zone) == "skipped":
        moment += timedelta(minutes=1)
    return _instant(moment, zone)


def _as_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"cron schedules need a timezone-aware datetime, got {moment!r}")
    return moment.astimezone(UTC)


@dataclass(frozen=True)
class CronSchedule:
    """A validated cron expression evaluated in one IANA time zone.

    Build with ``parse_schedule``; constructing directly validates too. Every method takes
    and returns aware datetimes in UTC; the zone only decides which local times match.
    """

    expression: str
    timezone: str = "UTC"
    _fields: str = field(init=False, repr=False, compare=False)
    _zone: ZoneInfo = field(init=False, repr=False, compare=False)
    _is_interval: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        fields = _expand(self.expression)
        try:
            CronSim(fields, datetime(2000, 1, 1))
        except CronSimError:
            # our syntax check passed, so this is a date that never exists, like 31 February
            _, _, days, months, _ = fields.split(" ")
            raise _invalid(
                self.expression, f"day-of-month {days} never occurs in month {months}"
            ) from None
        object.__setattr__(self, "_fields", fields)
        object.__setattr__(self, "_zone", _zone(self.timezone))
        hours = fields.split(" ")[1]
        object.__setattr__(self, "_is_interval", hours in ("*", "*/1", "0-23"))

    def describe(self) -> str:
        """The schedule in words, e.g. 'At 09:00 on Monday', for listings."""
        text = CronSim(self._fields, datetime(2000, 1, 1)).explain()
        return text if self.timezone == "UTC" else f"{text} ({self.timezone})"

    def next_after(self, moment: datetime) -> datetime:
        """The first fire time strictly after ``moment``."""
        moment = _as_utc(moment)
        local = moment.astimezone(self._zone)
        if self._is_interval:
            return self._next_interval(moment, local)
        return self._next_wall_clock(moment, local.replace(tzinfo=None))

    def fire_times(self, start: datetime, end: datetime, limit: int) -> list[datetime]:
        """Fire times in ``(start, end]``, oldest first, at most ``limit`` of them."""
        times: list[datetime] = []
        moment, end = _as_utc(start), _as_utc(end)
        while len(times) < limit:
            moment = self.next_after(moment)
            if moment > end:
                break
            times.append(moment)
        return times

    def next_n(self, moment: datetime, n: int) -> list[datetime]:
        """The next ``n`` fire times after ``moment``, e.g. for ``schedule show``."""
        times: list[datetime] = []
        for _ in range(n):
            moment = self.next_after(moment)
            times.append(moment)
        return times

    def _walls(self, after: datetime) -> CronSim:
        """Matching local wall-clock times strictly after the (naive, local) ``after``."""
        return CronSim(self._fields, after)

    def _never(self) -> CronError:
        return _invalid(self.expression, "it does not fire in the next 50 years")

    def _next_wall_clock(self, moment: datetime, wall: datetime) -> datetime:
        for candidate in self._walls(wall):
            if _wall_kind(candidate, self._zone) == "skipped":
                instant = _gap_end(candidate, self._zone)
            else:
                instant = _instant(candidate, self._zone, fold=0)
            # after fall-back, wall times later than `wall` in the repeated hour may already
            # have fired in their first occurrence: those come out <= moment and are passed
            if instant > moment:
                return instant
        raise self._never()

    def _next_interval(self, moment: datetime, local: datetime) -> datetime:
        wall = local.replace(tzinfo=None)
        start = wall
        if local.fold == 0 and _wall_kind(wall, self._zone) == "repeated":
            # In the first pass through a repeated hour, the second occurrences of wall times
            # already passed are still ahead of us. No fall-back in use exceeds 3 hours.
            start = wall - timedelta(hours=3)
        best: datetime | None = None
        for candidate in self._walls(start):
            kind = _wall_kind(candidate, self._zone)
            if kind == "skipped":
                continue
            folds = (0, 1) if kind == "repeated" else (0,)
            for fold in folds:
                instant = _instant(candidate, self._zone, fold)
                if instant > moment and (best is None or instant < best):
                    best = instant
            # Instants of once-only wall times increase with the wall time and come after
            # every second occurrence before them: nothing later can beat this one.
            if kind == "normal" and _instant(candidate, self._zone) > moment:
                assert best is not None
                return best
        if best is not None:
            return best
        raise self._never()


def parse_schedule(expression: str, timezone: str = "UTC") -> CronSchedule:
    """Validate a cron expression (or macro) and an IANA time zone; raises CronError."""
    return CronSchedule(expression, timezone)


class MisfirePolicy(StrEnum):
    """What to fire when the scheduler finds fire times it missed (it was down or late)."""

    SKIP = "skip"  # fire only a time that is on time (within MISFIRE_GRACE); drop missed ones
    LATEST = "latest"  # fire the most recent missed time once; the default
    ALL = "all"  # fire every missed time, oldest first, at most `cap` (the most recent ones)


def _latest_fire_times(
    schedule: CronSchedule, after: datetime, now: datetime, count: int
) -> list[datetime]:
    """The last ``count`` fire times in ``(after, now]``, oldest first.

    Searches back from ``now`` in a doubling window so that a long outage of a frequent
    schedule does not walk every missed minute.
    """
    span = timedelta(minutes=1)
    while True:
        window_start = max(after, now - span)
        recent: deque[datetime] = deque(maxlen=count)
        moment = window_start
        while (moment := schedule.next_after(moment)) <= now:
            recent.append(moment)
        if len(recent) == count or window_start == after:
            return list(recent)
        span *= 2


def due_fire_times(
    schedule: CronSchedule,
    *,
    last_fired: datetime | None,
    created: datetime,
    now: datetime,
    policy: MisfirePolicy,
    cap: int = 10,
    grace: timedelta = MISFIRE_GRACE,
) -> list[datetime]:
    """The fire times to start now, oldest first, given the last one fired.

    Candidates are the fire times in ``(last_fired or created, now]``; a new schedule does
    not fire for times before it existed. The caller records the newest returned time as
    ``last_fired`` (in the same transaction as the runs it starts).
    """
    if cap < 1:
        raise ValueError(f"the misfire cap must be at least 1, got {cap}")
    after, now = _as_utc(last_fired if last_fired is not None else created), _as_utc(now)
    if now <= after:
        return []
    if policy is MisfirePolicy.ALL:
        return _latest_fire_times(schedule, after, now, cap)
    latest = _latest_fire_times(schedule, after, now, 1)
    if policy is MisfirePolicy.SKIP and latest and now - latest[0] > grace:
        return []
    return latest
