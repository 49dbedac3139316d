"""Budget periods, spending in a period, the lines a call crosses, and what a budget may be."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.costs.models import (
    Budget,
    BudgetCrossing,
    BudgetExhausted,
    BudgetPeriod,
    BudgetScope,
    BudgetSpec,
    WorkScope,
    to_dollars,
    to_micros,
)

NOW = datetime(2026, 12, 7, 15, 30, tzinfo=UTC)


def budget(
    *,
    period: BudgetPeriod = BudgetPeriod.DAILY,
    limit: int = 1_000_000,
    spent: int = 0,
    start: datetime | None = None,
    scope: BudgetScope = BudgetScope.GLOBAL,
    value: str = "",
) -> Budget:
    return Budget(
        id="bud_1",
        scope=scope,
        scope_value=value,
        period=period,
        limit_micros=limit,
        warn_at=Decimal("0.8"),
        spent_micros=spent,
        period_start=start or period.start_of(NOW),
        created_at=NOW,
        updated_at=NOW,
    )


class TestPeriods:
    def test_a_day_runs_from_midnight_utc(self) -> None:
        start = BudgetPeriod.DAILY.start_of(NOW)
        assert start == datetime(2026, 12, 7, tzinfo=UTC)
        assert BudgetPeriod.DAILY.end_of(start) == datetime(2026, 12, 8, tzinfo=UTC)

    def test_a_month_runs_from_the_first_and_ends_at_the_next_first(self) -> None:
        start = BudgetPeriod.MONTHLY.start_of(NOW)
        assert start == datetime(2026, 12, 1, tzinfo=UTC)
        assert BudgetPeriod.MONTHLY.end_of(start) == datetime(2027, 1, 1, tzinfo=UTC)
        february = BudgetPeriod.MONTHLY.start_of(datetime(2028, 2, 29, 23, tzinfo=UTC))
        assert BudgetPeriod.MONTHLY.end_of(february) == datetime(2028, 3, 1, tzinfo=UTC)

    def test_a_moment_with_an_offset_falls_in_its_utc_day(self) -> None:
        from datetime import timedelta, timezone

        late = datetime(2026, 12, 7, 23, 30, tzinfo=timezone(timedelta(hours=-5)))
        assert BudgetPeriod.DAILY.start_of(late) == datetime(2026, 12, 8, tzinfo=UTC)


class TestSpending:
    def test_what_was_spent_counts_only_in_its_own_period(self) -> None:
        yesterday = datetime(2026, 12, 6, tzinfo=UTC)
        assert budget(spent=900_000).spent_at(NOW) == 900_000
        assert budget(spent=900_000, start=yesterday).spent_at(NOW) == 0
        assert not budget(spent=2_000_000, start=yesterday).exhausted_at(NOW)

    def test_a_budget_is_exhausted_at_its_limit_not_before(self) -> None:
        assert not budget(spent=999_999).exhausted_at(NOW)
        assert budget(spent=1_000_000).exhausted_at(NOW)

    def test_a_call_crosses_the_warning_once_and_the_limit_once(self) -> None:
        b = budget(spent=850_000)
        assert BudgetCrossing(b, 700_000, 850_000).warned
        assert not BudgetCrossing(b, 800_000, 850_000).warned, "already at the threshold"
        assert BudgetCrossing(b, 900_000, 1_100_000).exhausted
        assert not BudgetCrossing(b, 1_000_000, 1_100_000).exhausted

    def test_dollars_and_micro_dollars_convert_exactly(self) -> None:
        assert to_micros(Decimal("12.345678")) == 12_345_678
        assert to_micros(Decimal("0.0000005")) == 0  # half to even
        assert to_dollars(1_500_000) == Decimal("1.500000")


class TestScopes:
    def test_work_is_covered_by_the_global_budget_its_type_and_its_pipeline(self) -> None:
        work = WorkScope("story-developer", "release")
        assert work.covers(BudgetScope.GLOBAL, "")
        assert work.covers(BudgetScope.AGENT_TYPE, "story-developer")
        assert not work.covers(BudgetScope.AGENT_TYPE, "reviewer")
        assert work.covers(BudgetScope.PIPELINE, "release")
        assert not WorkScope("story-developer").covers(BudgetScope.PIPELINE, "release")

    def test_the_refusal_names_the_budget_what_it_spent_and_when_it_frees(self) -> None:
        spent = budget(
            spent=1_200_000, scope=BudgetScope.AGENT_TYPE, value="reviewer", limit=1_000_000
        )
        message = str(BudgetExhausted(spent, NOW))
        assert message.startswith("The daily budget of agent type 'reviewer' is spent")
        assert "$1.200000 of $1.000000 until 2026-12-08 00:00 UTC" in message
        assert "orchestrate cost budget set" in message


class TestSpecs:
    @pytest.mark.parametrize(
        "spec",
        [
            BudgetSpec(Decimal(0)),
            BudgetSpec(Decimal(-5)),
            BudgetSpec(Decimal(10), warn_at=Decimal(0)),
            BudgetSpec(Decimal(10), warn_at=Decimal("1.5")),
            BudgetSpec(Decimal(10), scope=BudgetScope.AGENT_TYPE),
            BudgetSpec(Decimal(10), scope=BudgetScope.GLOBAL, scope_value="reviewer"),
            BudgetSpec(Decimal(10), scope=BudgetScope.PIPELINE, scope_value="x" * 201),
        ],
    )
    def test_a_budget_that_cannot_mean_anything_is_refused(self, spec: BudgetSpec) -> None:
        with pytest.raises(ValidationFailed):
            spec.checked()

    def test_the_scope_name_is_trimmed(self) -> None:
        spec = BudgetSpec(Decimal(10), scope=BudgetScope.PIPELINE, scope_value=" release ")
        assert spec.checked().scope_value == "release"
