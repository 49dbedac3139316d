"""Alert rules, routes and silences as people write them, and alerts as they are stored.

Everything here is pure: parsing and validating the YAML's shapes, label matchers,
durations in Prometheus' notation (``90s``, ``5m``, ``1h30m``) and conditions
(``"> 0"``). The metric names a rule may use are ``catalogue.METRICS``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$"
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
MAX_LABELS = 30
MAX_LABEL_VALUE = 1000

_DURATION = re.compile(r"(\d+)(ms|s|m|h|d|w)")
_UNITS = {
    "ms": timedelta(milliseconds=1),
    "s": timedelta(seconds=1),
    "m": timedelta(minutes=1),
    "h": timedelta(hours=1),
    "d": timedelta(days=1),
    "w": timedelta(weeks=1),
}
_LONGEST = timedelta(days=366)


def parse_duration(text: object) -> timedelta:
    """A duration as Prometheus writes it: ``0s``, ``30s``, ``5m``, ``1h30m``, ``2d``."""
    if isinstance(text, timedelta):
        return text
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"{text!r} is not a duration such as 30s, 5m or 1h30m")
    cleaned = text.strip()
    total, position = timedelta(0), 0
    for match in _DURATION.finditer(cleaned):
        if match.start() != position:
            break
        total += int(match.group(1)) * _UNITS[match.group(2)]
        position = match.end()
    if position != len(cleaned) or position == 0:
        raise ValueError(f"{text!r} is not a duration such as 30s, 5m or 1h30m")
    if total > _LONGEST:
        raise ValueError(f"{text!r}: a duration is at most a year")
    return total


def format_duration(delta: timedelta) -> str:
    """The shortest Prometheus spelling of ``delta`` (``1h30m``, ``0s``)."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]

_COMPARISONS = {
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}
_CONDITION = re.compile(r"^\s*(>=|<=|==|!=|>|<)\s*(-?\d+(?:\.\d+)?)\s*$")


@dataclass(frozen=True)
class Condition:
    """``> 0``, ``>= 0.25``: how a metric's value is compared with a threshold."""

    operator: str
    threshold: float

    @classmethod
    def parse(cls, text: str) -> Condition:
        match = _CONDITION.match(text)
        if match is None:
            raise ValueError(
                f"condition {text!r} is not a comparison with a number, such as '> 0' or '>= 0.5'"
            )
        return cls(match.group(1), float(match.group(2)))

    def holds(self, value: float) -> bool:
        return bool(_COMPARISONS[self.operator](value, self.threshold))

    def __str__(self) -> str:
        return f"{self.operator} {self.threshold:g}"


_MATCHER = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class Matcher:
    """A label matcher as Alertmanager writes them: ``team=platform``, ``severity!=info``,
    ``alertname=~"pipeline-.*"`` (regular expressions match the whole value)."""

    name: str
    operator: str
    value: str

    @classmethod
    def parse(cls, text: str) -> Matcher:
        match = _MATCHER.match(text)
        if match is None:
            raise ValueError(f"matcher {text!r} is not label=value, label!=value, =~ or !~")
        name, operator, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        if operator in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as error:
                raise ValueError(f"matcher {text!r}: bad regular expression: {error}") from None
        return cls(name, operator, value)

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.operator == "=":
            return actual == self.value
        if self.operator == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.operator == "=~" else not found

    def __str__(self) -> str:
        return f"{self.name}{self.operator}{self.value}"


def matches_all(matchers: tuple[Matcher, ...], labels: Mapping[str, str]) -> bool:
    return all(matcher.matches(labels) for matcher in matchers)


def _matchers(value: object) -> tuple[Matcher, ...]:
    """Matchers from a mapping (``{team: platform}``, equality) or a list of strings."""
    if value is None:
        return ()
    if isinstance(value, Mapping):
        return tuple(Matcher(str(k), "=", str(v)) for k, v in value.items())
    if isinstance(value, list):
        return tuple(Matcher.parse(str(item)) for item in value)
    raise ValueError("matchers are a mapping {label: value} or a list of 'label=value' strings")


Matchers = Annotated[tuple[Matcher, ...], BeforeValidator(_matchers)]


def _labels(value: dict[str, str]) -> dict[str, str]:
    if len(value) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels or annotations")
    for name, text in value.items():
        if not LABEL_NAME.match(name):
            raise ValueError(f"label name {name!r}: letters, digits and _, not first a digit")
        if len(text) > MAX_LABEL_VALUE:
            raise ValueError(f"label {name!r} is longer than {MAX_LABEL_VALUE} characters")
    return value


class Severity(StrEnum):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class RuleSpec(_Strict):
    """One alert rule of an alerts file."""

    name: str = Field(pattern=NAME_PATTERN)
    metric: str
    window: Duration = timedelta(minutes=5)
    by: tuple[str, ...] = ()
    """Labels of the metric to split by: one alert per value (``by: [pipeline]``)."""
    condition: str
    for_: Duration = Field(timedelta(0), alias="for")
    keep_firing_for: Duration = timedelta(0)
    severity: Severity = Severity.WARNING
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    notify: tuple[str, ...] = ()
    """Channels: shorthand for a route matching this rule's alerts."""
    group_wait: Duration = timedelta(seconds=30)
    group_interval: Duration = timedelta(minutes=5)
    repeat_interval: Duration = timedelta(hours=4)

    @field_validator("condition")
    @classmethod
    def _condition(cls, value: str) -> str:
        Condition.parse(value)
        return value

    @field_validator("labels", "annotations")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        return _labels(value)

    @property
    def parsed_condition(self) -> Condition:
        return Condition.parse(self.condition)


class RouteSpec(_Strict):
    """Where alerts whose labels match go, and how they are grouped into notifications."""

    matchers: Matchers = Field(default=(), alias="match")
    channels: tuple[str, ...] = Field(min_length=1)
    group_by: tuple[str, ...] = ("alertname",)
    group_wait: Duration = timedelta(seconds=30)
    group_interval: Duration = timedelta(minutes=5)
    repeat_interval: Duration = timedelta(hours=4)
    continue_: bool = Field(False, alias="continue")
    """Keep looking at the routes after this one (Alertmanager's ``continue``)."""


class InhibitRuleSpec(_Strict):
    """While an alert matching ``source_match`` fires, alerts matching ``target_match``
    that agree with it on every label of ``equal`` are not notified."""

    source_matchers: Matchers = Field(alias="source_match")
    target_matchers: Matchers = Field(alias="target_match")
    equal: tuple[str, ...] = ()


class AlertsFile(_Strict):
    """A whole alerts file: ``rules``, and optionally ``routes`` and ``inhibit_rules``."""

    rules: tuple[RuleSpec, ...] = ()
    routes: tuple[RouteSpec, ...] = ()
    inhibit_rules: tuple[InhibitRuleSpec, ...] = ()


class AlertState(StrEnum):
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class Alert:
    """One alert instance: a rule and the label values of the series that is active."""

    id: str
    rule: str
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    state: AlertState
    value: float
    active_at: datetime
    last_active_at: datetime
    fired_at: datetime | None = None
    resolved_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    suppressed_by: str | None = None
    """A silence's id, or ``inhibited``, while notifications about it are held back."""


def fingerprint(rule: str, labels: Mapping[str, str]) -> str:
    """A stable id of a rule's series: the same labels always give the same alert."""
    text = json.dumps([rule, sorted(labels.items())], separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    comment: str
    created_by: str
    created_at: datetime

    def active_at(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at

    def state_at(self, now: datetime) -> Literal["pending", "active", "expired"]:
        if now < self.starts_at:
            return "pending"
        return "active" if now < self.ends_at else "expired"
