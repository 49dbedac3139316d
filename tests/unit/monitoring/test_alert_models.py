"""Durations, conditions and label matchers as alert files write them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrate.monitoring.alerts.models import (
    Condition,
    Matcher,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0s", timedelta(0)),
        ("30s", timedelta(seconds=30)),
        ("5m", timedelta(minutes=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("2d", timedelta(days=2)),
        ("1w", timedelta(weeks=1)),
        ("500ms", timedelta(milliseconds=500)),
    ],
)
def test_durations_read_as_prometheus_writes_them(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "m5", "5 m", "1h 30m", "-5m", "2y", "400d", "soon"])
def test_anything_else_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_durations_print_their_shortest_spelling() -> None:
    assert format_duration(timedelta(hours=1, minutes=30)) == "1h30m"
    assert format_duration(timedelta(0)) == "0s"
    assert format_duration(timedelta(days=1, seconds=5)) == "1d5s"


@pytest.mark.parametrize(
    ("text", "value", "holds"),
    [
        ("> 0", 1, True),
        ("> 0", 0, False),
        (">= 0.5", 0.5, True),
        ("< 10", 10, False),
        ("<= 10", 10, True),
        ("== 0", 0, True),
        ("!= 0", 0, False),
        ("  >  -1.5 ", -1, True),
    ],
)
def test_conditions_compare_with_their_threshold(text: str, value: float, holds: bool) -> None:
    assert Condition.parse(text).holds(value) is holds


@pytest.mark.parametrize("text", ["0", "> x", "=> 1", "> 1 or < 0", ""])
def test_a_condition_is_one_comparison_with_a_number(text: str) -> None:
    with pytest.raises(ValueError, match="condition"):
        Condition.parse(text)


@pytest.mark.parametrize(
    ("text", "labels", "matches"),
    [
        ("team=platform", {"team": "platform"}, True),
        ("team=platform", {"team": "web"}, False),
        ("team!=platform", {}, True),
        ('alertname=~"pipeline-.*"', {"alertname": "pipeline-failures"}, True),
        ("alertname=~pipeline", {"alertname": "pipeline-failures"}, False),
        ("severity!~info|warning", {"severity": "critical"}, True),
        ("missing=", {}, True),
    ],
)
def test_matchers_match_whole_values(text: str, labels: dict[str, str], matches: bool) -> None:
    assert Matcher.parse(text).matches(labels) is matches


@pytest.mark.parametrize("text", ["team", "=x", "team=~(", "1team=x"])
def test_a_bad_matcher_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="matcher"):
        Matcher.parse(text)
