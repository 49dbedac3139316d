"""The pure parts of agent analytics: reading ``since`` and the percentiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrate.agents.stats import percentile
from orchestrate.core.durations import parse_since
from orchestrate.core.errors import ValidationFailed

NOW = datetime(2026, 12, 6, 18, 30, tzinfo=UTC)


class TestSince:
    def test_a_date_is_its_midnight_in_utc(self) -> None:
        assert parse_since("2026-12-01", NOW) == datetime(2026, 12, 1, tzinfo=UTC)

    def test_a_time_without_offset_is_utc(self) -> None:
        assert parse_since("2026-12-01T09:30", NOW) == datetime(2026, 12, 1, 9, 30, tzinfo=UTC)

    def test_a_time_with_an_offset_or_z_is_converted_to_utc(self) -> None:
        expected = datetime(2026, 12, 1, 8, 30, tzinfo=UTC)
        assert parse_since("2026-12-01T09:30:00+01:00", NOW) == expected
        assert parse_since("2026-12-01T08:30:00Z", NOW) == expected

    def test_a_period_counts_back_from_now(self) -> None:
        assert parse_since("30d", NOW) == NOW - timedelta(days=30)
        assert parse_since(" 12H ", NOW) == NOW - timedelta(hours=12)

    def test_nothing_or_blank_means_all_time(self) -> None:
        assert parse_since(None, NOW) is None
        assert parse_since("  ", NOW) is None

    @pytest.mark.parametrize(
        "text", ["yesterday", "2026-13-01", "0d", "2026-12-01T25:00", "0001-01-01T00:00+01:00"]
    )
    def test_anything_else_is_refused_with_the_forms_it_takes(self, text: str) -> None:
        with pytest.raises(ValidationFailed) as raised:
            parse_since(text, NOW)

        assert repr(text) in raised.value.message
        assert "2026-12-01" in raised.value.message
        assert "30d" in raised.value.message


class TestPercentile:
    def test_the_median_of_an_even_count_is_between_the_middle_two(self) -> None:
        assert percentile([6, 0, 4, 2], 0.5) == 3

    def test_p90_interpolates_between_the_closest_ranks(self) -> None:
        assert percentile([0, 2, 4, 6], 0.9) == pytest.approx(5.4)
        assert percentile([10, 20, 30, 40, 50, 60, 70, 80, 90, 100], 0.9) == pytest.approx(91)

    def test_one_value_is_every_percentile(self) -> None:
        assert percentile([7], 0.5) == percentile([7], 0.9) == 7

    def test_no_values_have_no_percentile(self) -> None:
        assert percentile([], 0.5) is None
