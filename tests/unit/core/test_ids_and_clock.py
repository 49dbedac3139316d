"""Prefixed time-ordered ids and the injectable clock."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest

from orchestrate.core.clock import FrozenClock, SystemClock, ensure_utc
from orchestrate.core.ids import has_prefix, new_id

ULID_BODY = re.compile(r"^[0-9a-hjkmnp-tv-z]{26}$")  # Crockford base32, lower case


class TestIds:
    def test_an_id_is_its_prefix_an_underscore_and_a_lowercase_ulid(self) -> None:
        value = new_id("story")

        prefix, body = value.split("_", 1)
        assert prefix == "story"
        assert ULID_BODY.match(body)

    def test_ids_are_never_reused(self) -> None:
        ids = {new_id("job") for _ in range(5000)}

        assert len(ids) == 5000

    def test_ids_made_later_sort_later(self) -> None:
        start = datetime(2026, 1, 1, tzinfo=UTC)
        made = [new_id("run", start + timedelta(milliseconds=n * 3)) for n in range(50)]

        assert sorted(made) == made

    def test_the_time_part_follows_the_injected_clock(self) -> None:
        early = new_id("run", datetime(2020, 1, 1, tzinfo=UTC))
        late = new_id("run", datetime(2030, 1, 1, tzinfo=UTC))

        assert early[:14] < late[:14]

    @pytest.mark.parametrize("prefix", ["", "Story", "story-x", "1st", "a b", "story_"])
    def test_a_prefix_must_be_lowercase_letters_and_digits(self, prefix: str) -> None:
        with pytest.raises(ValueError, match="prefix"):
            new_id(prefix)

    def test_has_prefix_recognises_its_own_ids(self) -> None:
        assert has_prefix(new_id("tok"), "tok")

    @pytest.mark.parametrize("value", ["tok_123", "job_" + "0" * 26, "tok" + "0" * 27, ""])
    def test_has_prefix_rejects_other_values(self, value: str) -> None:
        assert not has_prefix(value, "tok")


class TestClocks:
    def test_the_system_clock_tells_aware_utc_time(self) -> None:
        before = datetime.now(UTC)
        now = SystemClock().now()

        assert now.utcoffset() == timedelta(0)
        assert before <= now <= datetime.now(UTC)

    def test_a_frozen_clock_stands_still_until_advanced(self) -> None:
        clock = FrozenClock(datetime(2026, 5, 1, tzinfo=UTC))

        assert clock.now() == clock.now() == datetime(2026, 5, 1, tzinfo=UTC)
        assert clock.advance(timedelta(minutes=5)) == datetime(2026, 5, 1, 0, 5, tzinfo=UTC)
        assert clock.now() == datetime(2026, 5, 1, 0, 5, tzinfo=UTC)

    def test_a_frozen_clock_can_be_set_to_any_aware_time(self) -> None:
        clock = FrozenClock()

        clock.set(datetime(2027, 1, 1, 9, tzinfo=timezone(timedelta(hours=9))))

        assert clock.now() == datetime(2027, 1, 1, 0, tzinfo=UTC)
        assert clock.now().tzinfo is UTC

    def test_a_frozen_clock_starts_in_utc_even_from_another_zone(self) -> None:
        clock = FrozenClock(datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1))))

        assert clock.now() == datetime(2026, 1, 1, tzinfo=UTC)
        assert clock.now().tzinfo is UTC

    def test_a_frozen_clock_refuses_naive_times(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            FrozenClock(datetime(2026, 1, 1))
        with pytest.raises(ValueError, match="timezone-aware"):
            FrozenClock().set(datetime(2026, 1, 1))

    def test_ensure_utc_reads_naive_times_as_utc(self) -> None:
        assert ensure_utc(datetime(2026, 1, 1, 12)) == datetime(2026, 1, 1, 12, tzinfo=UTC)

    def test_ensure_utc_converts_other_zones(self) -> None:
        moment = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=-5)))

        assert ensure_utc(moment) == datetime(2026, 1, 1, 17, tzinfo=UTC)
        assert ensure_utc(moment).tzinfo is UTC
