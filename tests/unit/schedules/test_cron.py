"""Cron schedules: parsing, fire times, DST in the schedule's zone, and misfire policies."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.schedules.cron import (
    TEMPLATES,
    CronError,
    CronSchedule,
    MisfirePolicy,
    due_fire_times,
    parse_schedule,
)

NEW_YEAR = datetime(2026, 1, 1, tzinfo=UTC)  # a Thursday


def at(text: str) -> datetime:
    """An aware UTC datetime from '2026-01-01 10:00' (seconds optional)."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local(moment: datetime, zone: str) -> str:
    """A fire time as the schedule's zone shows it, offset included: DST is visible."""
    return moment.astimezone(ZoneInfo(zone)).isoformat(timespec="minutes")


def utc_text(moments: list[datetime]) -> list[str]:
    return [moment.strftime("%Y-%m-%d %H:%M") for moment in moments]


class TestParsing:
    @pytest.mark.parametrize(
        ("expression", "expected"),
        [
            ("*/15 * * * *", ["2026-01-01 00:15", "2026-01-01 00:30", "2026-01-01 00:45"]),
            ("1-30/5 * * * *", ["2026-01-01 00:01", "2026-01-01 00:06", "2026-01-01 00:11"]),
            ("5/20 * * * *", ["2026-01-01 00:05", "2026-01-01 00:25", "2026-01-01 00:45"]),
            ("5,10,50 * * * *", ["2026-01-01 00:05", "2026-01-01 00:10", "2026-01-01 00:50"]),
            ("0 9-17/4 * * *", ["2026-01-01 09:00", "2026-01-01 13:00", "2026-01-01 17:00"]),
            ("0 0 1 * *", ["2026-02-01 00:00", "2026-03-01 00:00", "2026-04-01 00:00"]),
            ("0 0 1 jan,Jul *", ["2026-07-01 00:00", "2027-01-01 00:00", "2027-07-01 00:00"]),
            ("0 0 1 1-3 *", ["2026-02-01 00:00", "2026-03-01 00:00", "2027-01-01 00:00"]),
            ("0 12 * * mon-fri", ["2026-01-01 12:00", "2026-01-02 12:00", "2026-01-05 12:00"]),
            ("0 12 * * SAT,sun", ["2026-01-03 12:00", "2026-01-04 12:00", "2026-01-10 12:00"]),
            ("0 0 * * 7", ["2026-01-04 00:00", "2026-01-11 00:00", "2026-01-18 00:00"]),
            ("0 0 * * 0", ["2026-01-04 00:00", "2026-01-11 00:00", "2026-01-18 00:00"]),
            ("0 0 29 2 *", ["2028-02-29 00:00", "2032-02-29 00:00", "2036-02-29 00:00"]),
            ("  0   9 * *   * ", ["2026-01-01 09:00", "2026-01-02 09:00", "2026-01-03 09:00"]),
        ],
    )
    def test_each_field_feature_selects_the_expected_times(
        self, expression: str, expected: list[str]
    ) -> None:
        schedule = parse_schedule(expression)

        assert utc_text(schedule.next_n(NEW_YEAR, 3)) == expected

    def test_restricted_day_of_month_and_day_of_week_match_either_one(self) -> None:
        # the 13th, or any Friday (Vixie cron)
        schedule = parse_schedule("0 0 13 * FRI")

        assert utc_text(schedule.next_n(NEW_YEAR, 3)) == [
            "2026-01-02 00:00",
            "2026-01-09 00:00",
            "2026-01-13 00:00",
        ]

    def test_a_day_field_starting_with_a_star_makes_both_day_fields_required(self) -> None:
        # Vixie and Debian cron: "*/10" counts as unrestricted, so this is AND
        schedule = parse_schedule("0 0 */10 * MON")

        # the first 1st, 11th, 21st or 31st of 2026 that is a Monday
        assert utc_text([schedule.next_after(NEW_YEAR)]) == ["2026-05-11 00:00"]

    @pytest.mark.parametrize(
        ("macro", "equivalent"),
        [
            ("@hourly", "0 * * * *"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@weekly", "0 0 * * 0"),
            ("@monthly", "0 0 1 * *"),
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
            ("@DAILY", "0 0 * * *"),
        ],
    )
    def test_macros_fire_like_their_five_field_form(self, macro: str, equivalent: str) -> None:
        assert parse_schedule(macro).next_n(NEW_YEAR, 3) == parse_schedule(equivalent).next_n(
            NEW_YEAR, 3
        )

    def test_month_and_weekday_names_mean_their_numbers_in_any_case(self) -> None:
        by_name = parse_schedule("0 0 * Jan-MAR mon,wEd")
        by_number = parse_schedule("0 0 * 1-3 1,3")

        assert by_name.next_n(NEW_YEAR, 10) == by_number.next_n(NEW_YEAR, 10)

    @pytest.mark.parametrize(
        ("expression", "problem"),
        [
            ("61 * * * *", "minute 61 is out of range 0-59"),
            ("0 24 * * *", "hour 24 is out of range 0-23"),
            ("0 0 0 * *", "day-of-month 0 is out of range 1-31"),
            ("0 0 * 13 *", "month 13 is out of range 1-12"),
            ("0 0 * * 8", "day-of-week 8 is out of range 0-7"),
            ("0 0 31 2 *", "day-of-month 31 never occurs in month 2"),
            ("* * * * * *", "it has 6 fields, expected five"),
            ("* * * *", "it has 4 fields, expected five"),
            ("", "it is empty"),
            ("@reboot", "unknown macro; use one of @hourly"),
            ("*/0 * * * *", "step '0' in the minute field must be a whole number >= 1"),
            ("*/ * * * *", "step '' in the minute field"),
            ("0 0 * * fri-mon", "range 'fri-mon' in the day-of-week field runs backwards"),
            ("0 0 * JAN-FOO *", "month 'FOO' is not a number or a name such as JAN"),
            ("0 0 * * MON-XYZ", "day-of-week 'XYZ' is not a number or a name such as SUN"),
            ("0 0 1 * JAN", "day-of-week 'JAN' is not a number"),
            ("x * * * *", "minute 'x' is not a number"),
            ("-5 * * * *", "the minute field is missing a number"),
            ("1,,2 * * * *", "the minute field has an empty item in its list"),
            ("0 0 L * *", "'L' in the day-of-month field is a Quartz extension"),
            ("0 0 LW * *", "'LW' in the day-of-month field is a Quartz extension"),
            ("0 0 15W * *", "'15W' in the day-of-month field is a Quartz extension"),
            ("0 0 * * 5L", "'5L' in the day-of-week field is a Quartz extension"),
            ("0 0 * * MON#2", "'MON#2' in the day-of-week field is a Quartz extension ('#')"),
            ("0 0 ? * MON", "'?' in the day-of-month field is a Quartz extension"),
        ],
    )
    def test_an_invalid_expression_is_rejected_naming_the_expression_and_the_problem(
        self, expression: str, problem: str
    ) -> None:
        with pytest.raises(CronError) as raised:
            parse_schedule(expression)

        assert str(raised.value).startswith(f"Invalid cron expression {expression!r}: ")
        assert problem in str(raised.value)

    def test_a_cron_error_is_a_validation_failure_carrying_the_expression(self) -> None:
        with pytest.raises(ValidationFailed) as raised:
            parse_schedule("61 * * * *")

        assert raised.value.context == {"expression": "61 * * * *"}

    @pytest.mark.parametrize(
        ("timezone", "hint"),
        [
            ("Europe/Berln", "did you mean 'Europe/Berlin'?"),
            ("Mars/Olympus_Mons", "use an IANA name"),
            ("", "use an IANA name"),
            ("../../etc/passwd", "use an IANA name"),
        ],
    )
    def test_an_unknown_time_zone_is_rejected_by_name(self, timezone: str, hint: str) -> None:
        with pytest.raises(CronError) as raised:
            parse_schedule("0 9 * * *", timezone)

        assert str(raised.value).startswith(f"Unknown time zone {timezone!r}")
        assert hint in str(raised.value)

    def test_a_schedule_is_an_immutable_value(self) -> None:
        schedule = parse_schedule("0 9 * * 1", "Europe/Berlin")

        assert schedule == CronSchedule("0 9 * * 1", "Europe/Berlin")
        assert schedule != parse_schedule("0 9 * * 1")
        with pytest.raises(dataclasses.FrozenInstanceError):
            schedule.expression = "0 10 * * 1"  # type: ignore[misc]

    def test_constructing_a_schedule_directly_validates_it_too(self) -> None:
        with pytest.raises(CronError):
            CronSchedule("61 * * * *")

    def test_a_schedule_describes_itself_in_words(self) -> None:
        assert parse_schedule("0 9 * * 1").describe() == "At 09:00 on Monday"
        assert parse_schedule("0 9 * * 1", "Europe/Berlin").describe() == (
            "At 09:00 on Monday (Europe/Berlin)"
        )


class TestFireTimes:
    def test_next_after_is_strictly_after_a_moment_that_is_itself_a_fire_time(self) -> None:
        schedule = parse_schedule("0 * * * *")

        assert schedule.next_after(at("2026-01-01 10:00")) == at("2026-01-01 11:00")

    def test_next_after_skips_the_rest_of_a_started_minute(self) -> None:
        schedule = parse_schedule("* * * * *")
        moment = at("2026-01-01 10:00:30").replace(microsecond=5)

        assert schedule.next_after(moment) == at("2026-01-01 10:01")

    def test_next_after_answers_in_utc_whatever_zone_the_moment_is_given_in(self) -> None:
        schedule = parse_schedule("0 9 * * *", "Europe/Berlin")
        moment = datetime(2026, 1, 1, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))  # 01:00 UTC

        fire = schedule.next_after(moment)

        assert fire == at("2026-01-01 08:00")
        assert fire.tzinfo is UTC

    def test_a_naive_moment_is_refused(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            parse_schedule("* * * * *").next_after(datetime(2026, 1, 1))

    @pytest.mark.parametrize(
        ("moment", "expected_utc"),
        [
            ("2026-01-15 00:00", "2026-01-15 08:00"),  # CET, UTC+1
            ("2026-07-15 00:00", "2026-07-15 07:00"),  # CEST, UTC+2
        ],
    )
    def test_fields_are_matched_in_the_schedules_time_zone(
        self, moment: str, expected_utc: str
    ) -> None:
        schedule = parse_schedule("0 9 * * *", "Europe/Berlin")

        assert schedule.next_after(at(moment)) == at(expected_utc)

    def test_fire_times_excludes_the_start_and_includes_the_end(self) -> None:
        schedule = parse_schedule("0 * * * *")

        times = schedule.fire_times(at("2026-01-01 10:00"), at("2026-01-01 13:00"), limit=10)

        assert utc_text(times) == ["2026-01-01 11:00", "2026-01-01 12:00", "2026-01-01 13:00"]

    def test_fire_times_stops_at_the_limit_keeping_the_oldest(self) -> None:
        schedule = parse_schedule("*/15 * * * *")

        times = schedule.fire_times(NEW_YEAR, NEW_YEAR + timedelta(days=1), limit=2)

        assert utc_text(times) == ["2026-01-01 00:15", "2026-01-01 00:30"]

    @pytest.mark.parametrize(
        ("start", "end", "limit"),
        [
            ("2026-01-01 10:00", "2026-01-01 10:59", 10),  # nothing in between
            ("2026-01-01 12:00", "2026-01-01 10:00", 10),  # end before start
            ("2026-01-01 10:00", "2026-01-01 13:00", 0),  # no room
        ],
    )
    def test_fire_times_can_be_empty(self, start: str, end: str, limit: int) -> None:
        assert parse_schedule("0 * * * *").fire_times(at(start), at(end), limit) == []

    def test_next_n_lists_consecutive_fire_times(self) -> None:
        schedule = parse_schedule("0 9 * * 1")

        assert utc_text(schedule.next_n(NEW_YEAR, 3)) == [
            "2026-01-05 09:00",
            "2026-01-12 09:00",
            "2026-01-19 09:00",
        ]


class TestDaylightSavingTime:
    """2026: US springs forward 8 March and falls back 1 November; the EU 29 March, 25 October."""

    @pytest.mark.parametrize(
        ("expression", "zone", "start", "expected"),
        [
            pytest.param(
                "30 2 * * *",
                "America/New_York",
                "2026-03-07T12:00-05:00",
                ["2026-03-08T03:00-04:00", "2026-03-09T02:30-04:00"],
                id="US spring: skipped 02:30 fires at 03:00, the end of the gap",
            ),
            pytest.param(
                "30 2 * * *",
                "Europe/Berlin",
                "2026-03-28T12:00+01:00",
                ["2026-03-29T03:00+02:00", "2026-03-30T02:30+02:00"],
                id="EU spring: skipped 02:30 fires at 03:00, the end of the gap",
            ),
            pytest.param(
                "0,30 2 * * *",
                "Europe/Berlin",
                "2026-03-28T12:00+01:00",
                ["2026-03-29T03:00+02:00", "2026-03-30T02:00+02:00"],
                id="EU spring: two skipped times fire once at the end of the gap",
            ),
            pytest.param(
                "*/15 2 * * *",
                "Europe/Berlin",
                "2026-03-28T12:00+01:00",
                ["2026-03-29T03:00+02:00", "2026-03-30T02:00+02:00"],
                id="EU spring: a fixed hour that is skipped entirely still fires once",
            ),
            pytest.param(
                "*/15 2 * * *",
                "Europe/Berlin",
                "2026-10-24T12:00+02:00",
                [
                    "2026-10-25T02:00+02:00",
                    "2026-10-25T02:15+02:00",
                    "2026-10-25T02:30+02:00",
                    "2026-10-25T02:45+02:00",
                    "2026-10-26T02:00+01:00",
                ],
                id="EU fall: a fixed hour that is repeated runs its minutes once",
            ),
            pytest.param(
                "30 1 * * *",
                "America/New_York",
                "2026-10-31T12:00-04:00",
                ["2026-11-01T01:30-04:00", "2026-11-02T01:30-05:00"],
                id="US fall: repeated 01:30 fires once, at its first occurrence",
            ),
            pytest.param(
                "30 2 * * *",
                "Europe/Berlin",
                "2026-10-24T12:00+02:00",
                ["2026-10-25T02:30+02:00", "2026-10-26T02:30+01:00"],
                id="EU fall: repeated 02:30 fires once, at its first occurrence",
            ),
            pytest.param(
                "30 2 * * *",
                "America/New_York",
                "2026-10-31T12:00-04:00",
                ["2026-11-01T02:30-05:00", "2026-11-02T02:30-05:00"],
                id="US fall: 02:30 is not repeated in New York and fires normally",
            ),
            pytest.param(
                "*/30 1 * * *",
                "America/New_York",
                "2026-10-31T12:00-04:00",
                ["2026-11-01T01:00-04:00", "2026-11-01T01:30-04:00", "2026-11-02T01:00-05:00"],
                id="US fall: a fixed repeated hour runs its minutes once",
            ),
            pytest.param(
                "0 * * * *",
                "America/New_York",
                "2026-03-08T00:30-05:00",
                ["2026-03-08T01:00-05:00", "2026-03-08T03:00-04:00", "2026-03-08T04:00-04:00"],
                id="US spring: hourly fires every real hour, the skipped 02:00 does not exist",
            ),
            pytest.param(
                "0 * * * *",
                "Europe/Berlin",
                "2026-03-29T01:30+01:00",
                ["2026-03-29T03:00+02:00", "2026-03-29T04:00+02:00"],
                id="EU spring: hourly fires every real hour, the skipped 02:00 does not exist",
            ),
            pytest.param(
                "0 * * * *",
                "America/New_York",
                "2026-11-01T00:30-04:00",
                ["2026-11-01T01:00-04:00", "2026-11-01T01:00-05:00", "2026-11-01T02:00-05:00"],
                id="US fall: hourly fires every real hour, so 01:00 twice",
            ),
            pytest.param(
                "0 * * * *",
                "Europe/Berlin",
                "2026-10-25T01:30+02:00",
                ["2026-10-25T02:00+02:00", "2026-10-25T02:00+01:00", "2026-10-25T03:00+01:00"],
                id="EU fall: hourly fires every real hour, so 02:00 twice",
            ),
            pytest.param(
                "*/15 * * * *",
                "America/New_York",
                "2026-03-08T01:30-05:00",
                ["2026-03-08T01:45-05:00", "2026-03-08T03:00-04:00", "2026-03-08T03:15-04:00"],
                id="US spring: every 15 minutes stays 15 real minutes apart",
            ),
            pytest.param(
                "*/15 * * * *",
                "America/New_York",
                "2026-11-01T01:30-04:00",
                [
                    "2026-11-01T01:45-04:00",
                    "2026-11-01T01:00-05:00",
                    "2026-11-01T01:15-05:00",
                    "2026-11-01T01:30-05:00",
                    "2026-11-01T01:45-05:00",
                    "2026-11-01T02:00-05:00",
                ],
                id="US fall: every 15 minutes runs through both passes of the repeated hour",
            ),
            pytest.param(
                "*/15 * * * *",
                "Europe/Berlin",
                "2026-10-25T02:40+01:00",
                ["2026-10-25T02:45+01:00", "2026-10-25T03:00+01:00"],
                id="EU fall: from inside the second pass, only what is still ahead",
            ),
            pytest.param(
                "45 1 * * *",
                "America/New_York",
                "2026-11-01T01:30-05:00",
                ["2026-11-02T01:45-05:00"],
                id="US fall: from the second pass, a time that fired in the first is not repeated",
            ),
            pytest.param(
                "0 9 * * *",
                "Europe/Berlin",
                "2026-03-28T00:00+01:00",
                ["2026-03-28T09:00+01:00", "2026-03-29T09:00+02:00"],
                id="EU spring: 09:00 stays 09:00 local as the UTC offset changes",
            ),
        ],
    )
    def test_fire_times_around_a_transition(
        self, expression: str, zone: str, start: str, expected: list[str]
    ) -> None:
        schedule = parse_schedule(expression, zone)

        times = schedule.next_n(datetime.fromisoformat(start), len(expected))

        assert [local(moment, zone) for moment in times] == expected

    @pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin"])
    def test_a_daily_time_in_the_dst_hours_fires_exactly_once_each_day_of_the_year(
        self, zone: str
    ) -> None:
        schedule = parse_schedule("30 2 * * *", zone)

        times = schedule.fire_times(at("2025-12-31 12:00"), at("2026-12-31 12:00"), limit=1000)

        local_dates = [moment.astimezone(ZoneInfo(zone)).date() for moment in times]
        assert len(times) == 365
        assert len(set(local_dates)) == 365

    @pytest.mark.parametrize("zone", ["America/New_York", "Europe/Berlin"])
    @pytest.mark.parametrize("month", [3, 10, 11])
    def test_hourly_fires_exactly_one_real_hour_apart_through_a_transition_month(
        self, zone: str, month: int
    ) -> None:
        schedule = parse_schedule("0 * * * *", zone)
        start = datetime(2026, month, 1, tzinfo=UTC)

        times = schedule.fire_times(start, start + timedelta(days=31), limit=1000)

        gaps = {later - earlier for earlier, later in pairwise(times)}
        assert gaps == {timedelta(hours=1)}


class TestMisfirePolicies:
    HOURLY = parse_schedule("0 * * * *")

    def due(
        self, policy: MisfirePolicy, *, last_fired: str | None, now: str, cap: int = 10
    ) -> list[str]:
        """Due times of an hourly UTC schedule created 2026-01-01 10:20."""
        times = due_fire_times(
            self.HOURLY,
            last_fired=at(last_fired) if last_fired else None,
            created=at("2026-01-01 10:20"),
            now=at(now),
            policy=policy,
            cap=cap,
        )
        return utc_text(times)

    @pytest.mark.parametrize(
        ("policy", "last_fired", "now", "expected"),
        [
            # nothing due yet
            (MisfirePolicy.SKIP, "2026-01-01 11:00", "2026-01-01 11:30", []),
            (MisfirePolicy.LATEST, "2026-01-01 11:00", "2026-01-01 11:30", []),
            (MisfirePolicy.ALL, "2026-01-01 11:00", "2026-01-01 11:30", []),
            # one time due and the scheduler is on time: every policy fires it
            (MisfirePolicy.SKIP, "2026-01-01 11:00", "2026-01-01 12:00:20", ["2026-01-01 12:00"]),
            (MisfirePolicy.LATEST, "2026-01-01 11:00", "2026-01-01 12:00:20", ["2026-01-01 12:00"]),
            (MisfirePolicy.ALL, "2026-01-01 11:00", "2026-01-01 12:00:20", ["2026-01-01 12:00"]),
            # down from 11:30 to 15:30: four missed times
            (MisfirePolicy.SKIP, "2026-01-01 11:00", "2026-01-01 15:30", []),
            (MisfirePolicy.LATEST, "2026-01-01 11:00", "2026-01-01 15:30", ["2026-01-01 15:00"]),
            (
                MisfirePolicy.ALL,
                "2026-01-01 11:00",
                "2026-01-01 15:30",
                ["2026-01-01 12:00", "2026-01-01 13:00", "2026-01-01 14:00", "2026-01-01 15:00"],
            ),
            # skip still fires a missed time that is within the grace of now
            (MisfirePolicy.SKIP, "2026-01-01 11:00", "2026-01-01 15:01:00", ["2026-01-01 15:00"]),
            (MisfirePolicy.SKIP, "2026-01-01 11:00", "2026-01-01 15:01:01", []),
            # never fired: counted from creation (10:20), so 10:00 is not owed
            (MisfirePolicy.LATEST, None, "2026-01-01 12:30", ["2026-01-01 12:00"]),
            (MisfirePolicy.ALL, None, "2026-01-01 12:30", ["2026-01-01 11:00", "2026-01-01 12:00"]),
            # a clock that went backwards owes nothing
            (MisfirePolicy.ALL, "2026-01-01 15:00", "2026-01-01 14:00", []),
        ],
    )
    def test_which_fire_times_are_due(
        self, policy: MisfirePolicy, last_fired: str | None, now: str, expected: list[str]
    ) -> None:
        assert self.due(policy, last_fired=last_fired, now=now) == expected

    def test_all_fires_at_most_cap_times_keeping_the_most_recent(self) -> None:
        due = self.due(MisfirePolicy.ALL, last_fired="2026-01-01 11:00", now="2026-01-03 00:30")

        assert due == [f"2026-01-02 {hour}:00" for hour in range(15, 24)] + ["2026-01-03 00:00"]

    def test_the_cap_is_adjustable(self) -> None:
        due = self.due(
            MisfirePolicy.ALL, last_fired="2026-01-01 11:00", now="2026-01-03 00:30", cap=2
        )

        assert due == ["2026-01-02 23:00", "2026-01-03 00:00"]

    def test_a_cap_below_one_is_refused(self) -> None:
        with pytest.raises(ValueError, match="cap"):
            self.due(MisfirePolicy.ALL, last_fired=None, now="2026-01-01 12:30", cap=0)

    def test_a_year_long_outage_of_an_every_minute_schedule_yields_only_the_cap(self) -> None:
        due = due_fire_times(
            parse_schedule("* * * * *"),
            last_fired=at("2025-01-01 00:00"),
            created=at("2025-01-01 00:00"),
            now=at("2026-01-01 00:00:30"),
            policy=MisfirePolicy.ALL,
        )

        assert utc_text(due) == [f"2025-12-31 23:{minute}" for minute in range(51, 60)] + [
            "2026-01-01 00:00"
        ]

    def test_the_skip_grace_is_adjustable(self) -> None:
        due = due_fire_times(
            self.HOURLY,
            last_fired=at("2026-01-01 11:00"),
            created=NEW_YEAR,
            now=at("2026-01-01 12:04"),
            policy=MisfirePolicy.SKIP,
            grace=timedelta(minutes=5),
        )

        assert utc_text(due) == ["2026-01-01 12:00"]

    def test_latest_is_counted_in_the_schedules_zone(self) -> None:
        due = due_fire_times(
            parse_schedule("0 9 * * *", "America/New_York"),
            last_fired=None,
            created=at("2026-01-01 00:00"),
            now=at("2026-01-05 20:00"),
            policy=MisfirePolicy.LATEST,
        )

        assert utc_text(due) == ["2026-01-05 14:00"]


class TestTemplates:
    def test_the_templates_are_the_documented_ones(self) -> None:
        assert set(TEMPLATES) == {
            "hourly",
            "daily",
            "weekly",
            "nightly-security",
            "dependency-check",
        }

    @pytest.mark.parametrize("name", sorted(TEMPLATES))
    def test_every_template_parses_and_is_described(self, name: str) -> None:
        expression, description = TEMPLATES[name]

        schedule = parse_schedule(expression, "Europe/Berlin")

        assert schedule.next_after(NEW_YEAR) > NEW_YEAR
        assert description
