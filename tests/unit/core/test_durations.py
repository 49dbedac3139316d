"""Retention periods as people write them, and what is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest

from orchestrate.core.durations import normalise_period, parse_period


@pytest.mark.parametrize(
    ("text", "period"),
    [
        ("30d", timedelta(days=30)),
        ("12h", timedelta(hours=12)),
        ("90m", timedelta(minutes=90)),
        ("2w", timedelta(weeks=2)),
        (" 14D ", timedelta(days=14)),
        ("off", None),
        ("OFF", None),
    ],
)
def test_periods_read_as_written(text: str, period: timedelta | None) -> None:
    assert parse_period(text) == period


def test_a_period_is_stored_in_one_spelling() -> None:
    assert normalise_period(" 30D ") == "30d"


@pytest.mark.parametrize("text", ["30", "3x", "1.5d", "-1d", "", "d", "30 days", "1d12h"])
def test_anything_else_is_refused_with_examples(text: str) -> None:
    with pytest.raises(ValueError, match=r"e\.g\. 30d, 12h"):
        parse_period(text)


def test_zero_is_refused_and_off_suggested() -> None:
    with pytest.raises(ValueError, match="write off to keep everything"):
        parse_period("0d")


def test_off_is_refused_where_a_duration_is_required() -> None:
    with pytest.raises(ValueError, match="not a duration here"):
        parse_period("off", allow_off=False)


def test_absurdly_long_periods_are_refused() -> None:
    with pytest.raises(ValueError, match="100 years"):
        parse_period("999999w")
