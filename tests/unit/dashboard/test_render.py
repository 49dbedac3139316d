"""How the dashboard writes times, durations, money and states for people."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from markupsafe import Markup

from orchestrate.dashboard.render import (
    duration,
    is_web_address,
    money,
    query,
    relative,
    state_badge,
    time_tag,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (NOW - timedelta(seconds=10), "just now"),
        (NOW - timedelta(minutes=3), "3 min ago"),
        (NOW - timedelta(hours=2, minutes=10), "2 h ago"),
        (NOW - timedelta(days=3), "3 d ago"),
        (NOW + timedelta(minutes=5), "in 5 min"),
        (NOW + timedelta(seconds=5), "in a few seconds"),
        (None, "never"),
    ],
)
def test_times_read_relative_to_now(moment: datetime | None, text: str) -> None:
    assert relative(moment, NOW) == text


def test_a_time_tag_carries_the_exact_utc_time_for_hover_and_scripts() -> None:
    tag = time_tag(datetime(2026, 12, 6, 13, 0, tzinfo=UTC))

    assert isinstance(tag, Markup)
    assert 'datetime="2026-12-06T13:00:00+00:00"' in tag
    assert 'title="2026-12-06 13:00:00 UTC"' in tag
    assert time_tag(None) == Markup('<span class="muted">—</span>')


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0.085, "85 ms"),
        (4.24, "4.2 s"),
        (timedelta(minutes=2, seconds=5), "2 min 05 s"),
        (timedelta(hours=1, minutes=2), "1 h 02 min"),
        (None, "—"),
    ],
)
def test_durations_are_written_in_the_largest_useful_unit(
    value: timedelta | float | None, text: str
) -> None:
    assert duration(value) == text


def test_money_keeps_cents_and_shows_fractions_of_a_cent() -> None:
    assert money(1234.5) == "$1,234.50"
    assert money(0) == "$0.00"
    assert money(0.0042) == "$0.0042"
    assert money(None) == "—"


def test_a_state_badge_escapes_what_it_shows_and_tones_it_by_meaning() -> None:
    assert 'class="badge badge-bad"' in state_badge("failed")
    assert 'class="badge badge-good"' in state_badge("completed")
    assert ">waiting for approval<" in state_badge("waiting_for_approval")
    hostile = state_badge("<script>x</script>")
    assert "<script>" not in hostile
    assert "badge-neutral" in hostile


def test_query_keeps_the_page_s_filters_and_drops_emptied_ones() -> None:
    params = {"state": "running", "cursor": "abc"}

    assert query(params, cursor=None) == "?state=running"
    assert query(params, cursor="next") == "?state=running&cursor=next"
    assert query({}, cursor=None) == "?"


@pytest.mark.parametrize(
    ("value", "linked"),
    [
        ("https://github.com/o/r/pull/1", True),
        ("HTTP://gitlab.example/o/r/-/merge_requests/2", True),
        ("javascript:alert(1)", False),
        ("JaVaScRiPt:alert(1)", False),
        ("data:text/html,<script>x</script>", False),
        ("//evil.example/", False),
        ("", False),
        (None, False),
    ],
)
def test_only_web_addresses_become_links(value: str | None, linked: bool) -> None:
    assert is_web_address(value) is linked
