"""Agent performance analytics over stored runs, on SQLite and PostgreSQL.

The runs are those of ``stats_rows`` (its docstring tabulates them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from orchestrate.agents import service
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.runtime import Runtime
from tests.integration.agents.stats_rows import seed_runs

MILLISECOND = timedelta(milliseconds=1)


@pytest.fixture
async def seeded(runtime: Runtime) -> Runtime:
    await seed_runs(runtime)
    return runtime


def groups_of(
    report: service.AgentStatsReport,
) -> dict[tuple[str | None, str | None], service.AgentStats]:
    return {(group.type, group.model): group for group in report.groups}


class TestPerTypeAndModel:
    async def test_there_is_one_row_per_type_and_model_in_order(self, seeded: Runtime) -> None:
        report = await service.agent_stats(seeded.uow(read_only=True))

        assert [(group.type, group.model) for group in report.groups] == [
            ("developer", "m-large"),
            ("developer", "m-small"),
            ("old-type", "m-small"),
            ("reviewer", "m-small"),
        ]

    async def test_finished_runs_are_counted_by_outcome_and_active_ones_apart(
        self, seeded: Runtime
    ) -> None:
        report = await service.agent_stats(seeded.uow(read_only=True))

        large = groups_of(report)["developer", "m-large"]
        assert (large.runs, large.completed, large.failed, large.cancelled) == (4, 2, 1, 1)
        assert large.active == 1
        assert large.success_rate == 0.5

    async def test_turns_have_the_median_of_an_even_count_and_an_interpolated_p90(
        self, seeded: Runtime
    ) -> None:
        report = await service.agent_stats(seeded.uow(read_only=True))

        large = groups_of(report)["developer", "m-large"]  # turns 0, 2, 4, 6
        assert large.median_turns == 3
        assert large.p90_turns == pytest.approx(5.4)

    async def test_durations_leave_out_the_run_that_never_started(self, seeded: Runtime) -> None:
        report = await service.agent_stats(seeded.uow(read_only=True))

        large = groups_of(report)["developer", "m-large"]  # 10 s, 20 s, 40 s
        assert large.median_duration == timedelta(seconds=20)
        assert large.p90_duration == pytest.approx(timedelta(seconds=36), abs=MILLISECOND)

    async def test_tokens_and_cost_are_those_of_finished_runs_as_exact_decimals(
        self, seeded: Runtime
    ) -> None:
        report = await service.agent_stats(seeded.uow(read_only=True))

        large = groups_of(report)["developer", "m-large"]
        assert (large.input_tokens, large.output_tokens) == (600, 60)
        assert large.total_cost_usd == Decimal("0.600001")
        assert str(large.total_cost_usd) == "0.600001"
        assert large.mean_cost_usd == Decimal("0.150000")

    async def test_a_single_run_is_its_own_median_and_p90(self, seeded: Runtime) -> None:
        report = await service.agent_stats(seeded.uow(read_only=True))

        small = groups_of(report)["developer", "m-small"]
        assert (small.runs, small.success_rate) == (1, 1.0)
        assert (small.median_turns, small.p90_turns) == (1, 1)
        assert small.median_duration == small.p90_duration == timedelta(seconds=5)
        assert small.mean_cost_usd == small.total_cost_usd == Decimal("0.010000")

    async def test_a_type_with_no_finished_run_shows_its_active_runs_and_no_rates(
        self, seeded: Runtime
    ) -> None:
        report = await service.agent_stats(seeded.uow(read_only=True))

        reviewer = groups_of(report)["reviewer", "m-small"]
        assert (reviewer.runs, reviewer.active) == (0, 2)
        assert reviewer.success_rate is None
        assert reviewer.median_turns is None
        assert reviewer.p90_turns is None
        assert reviewer.median_duration is None
        assert reviewer.p90_duration is None
        assert (reviewer.input_tokens, reviewer.output_tokens) == (0, 0)
        assert reviewer.total_cost_usd == Decimal("0")
        assert reviewer.mean_cost_usd is None


class TestTotal:
    async def test_the_total_pools_every_finished_run(self, seeded: Runtime) -> None:
        total = (await service.agent_stats(seeded.uow(read_only=True))).total

        assert (total.type, total.model) == (None, None)
        assert (total.runs, total.completed, total.failed, total.cancelled) == (6, 4, 1, 1)
        assert total.active == 3
        assert total.success_rate == pytest.approx(4 / 6)
        assert total.median_turns == 3  # 0 1 2 4 6 7
        assert total.p90_turns == pytest.approx(6.5)
        assert total.median_duration == timedelta(seconds=20)  # 5 10 20 40 60
        assert total.p90_duration == pytest.approx(timedelta(seconds=52), abs=MILLISECOND)
        assert (total.input_tokens, total.output_tokens) == (680, 68)
        assert total.total_cost_usd == Decimal("2.610001")
        assert total.mean_cost_usd == Decimal("0.435000")

    async def test_no_runs_at_all_is_an_empty_report(self, runtime: Runtime) -> None:
        report = await service.agent_stats(runtime.uow(read_only=True))

        assert report.groups == ()
        assert report.total.runs == 0
        assert report.total.success_rate is None
        assert report.total.mean_cost_usd is None


class TestFilters:
    async def test_since_keeps_runs_created_from_that_day_on(self, seeded: Runtime) -> None:
        report = await service.agent_stats(seeded.uow(read_only=True), since="2026-11-01")

        assert report.filter.since == datetime(2026, 11, 1, tzinfo=UTC)
        assert ("old-type", "m-small") not in groups_of(report)
        total = report.total
        assert (total.runs, total.completed, total.success_rate) == (5, 3, 0.6)
        assert total.median_turns == 2  # 0 1 2 4 6
        assert total.p90_turns == pytest.approx(5.2)
        assert total.median_duration == timedelta(seconds=15)  # 5 10 20 40
        assert total.p90_duration == pytest.approx(timedelta(seconds=34), abs=MILLISECOND)
        assert total.total_cost_usd == Decimal("0.610001")
        assert total.mean_cost_usd == Decimal("0.122000")

    async def test_since_with_an_offset_is_read_in_utc(self, seeded: Runtime) -> None:
        report = await service.agent_stats(
            seeded.uow(read_only=True), since="2026-12-01T13:00:00+01:00"
        )

        assert report.filter.since == datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
        assert report.total.runs == 5  # created at 12:00 UTC exactly: included

    async def test_type_keeps_that_type_on_every_model(self, seeded: Runtime) -> None:
        report = await service.agent_stats(seeded.uow(read_only=True), agent_type="developer")

        assert list(groups_of(report)) == [("developer", "m-large"), ("developer", "m-small")]
        assert report.total.runs == 5

    async def test_model_keeps_that_model_of_every_type(self, seeded: Runtime) -> None:
        report = await service.agent_stats(seeded.uow(read_only=True), model="m-small")

        assert list(groups_of(report)) == [
            ("developer", "m-small"),
            ("old-type", "m-small"),
            ("reviewer", "m-small"),
        ]
        assert (report.total.runs, report.total.active) == (2, 2)

    async def test_type_and_model_together_narrow_to_one_row(self, seeded: Runtime) -> None:
        report = await service.agent_stats(
            seeded.uow(read_only=True), agent_type="reviewer", model="m-small"
        )

        assert list(groups_of(report)) == [("reviewer", "m-small")]
        assert (report.total.runs, report.total.active) == (0, 2)

    async def test_an_unknown_type_is_an_empty_report_not_an_error(self, seeded: Runtime) -> None:
        report = await service.agent_stats(seeded.uow(read_only=True), agent_type="nobody")

        assert report.groups == ()
        assert report.total.runs == 0

    async def test_a_since_that_is_no_date_is_refused(self, seeded: Runtime) -> None:
        with pytest.raises(ValidationFailed, match="yesterday"):
            await service.agent_stats(seeded.uow(read_only=True), since="yesterday")
