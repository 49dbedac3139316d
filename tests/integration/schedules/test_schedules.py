"""Schedules: managing them, and firing them with a clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from orchestrate.auth.service import Actor
from orchestrate.core.clock import FrozenClock
from orchestrate.core.errors import Conflict, NotFound, ValidationFailed
from orchestrate.core.jobs import JobRegistry, JobRunner
from orchestrate.core.jobs.tables import JobRow
from orchestrate.core.runtime import Runtime
from orchestrate.pipelines import service as pipelines
from orchestrate.pipelines.tables import PipelineRow
from orchestrate.schedules import firing, service
from orchestrate.schedules.cron import CronError, MisfirePolicy
from orchestrate.schedules.kinds import START_FIRES
from orchestrate.schedules.tables import ScheduleFireRow, ScheduleRow

# A Monday, thirty seconds before 09:00 UTC.
START = datetime(2026, 1, 5, 8, 59, 30, tzinfo=UTC)
PIPELINE = """\
name: nightly
steps:
  - id: greet
    run: echo hello
"""


def declared(cron: str, timezone: str = "UTC") -> pipelines.DeclaredSchedule:
    """One ``on: schedule:`` entry, as a pipeline's YAML declares it."""
    return pipelines.DeclaredSchedule(cron, timezone)


@pytest.fixture
async def rt(frozen_runtime: Runtime, clock: FrozenClock, admin: Actor) -> Runtime:
    clock.set(START)
    await pipelines.register_pipeline(
        frozen_runtime.uow(), pipelines.PipelineSource(PIPELINE), admin
    )
    return frozen_runtime


async def create(rt: Runtime, admin: Actor, name: str = "every-minute", **fields: Any) -> None:
    """A schedule of the pipeline ``nightly``, every minute unless ``cron`` says otherwise."""
    request = service.NewSchedule(
        name=name, cron=fields.pop("cron", "* * * * *"), pipeline="nightly", **fields
    )
    await service.create_schedule(rt.uow(), rt.settings, request, admin)


async def tick(rt: Runtime) -> None:
    """What a worker does every few seconds: run the schedule-firing job once."""
    registry = JobRegistry()
    service.register_schedule_jobs(registry, rt)
    await service.start_schedule_firing(rt)
    await JobRunner(rt, registry).run(until_idle=True)


async def fires(rt: Runtime, name: str = "every-minute") -> list[service.ScheduleFire]:
    return (await service.list_fires(rt.uow(read_only=True), name)).items


async def finish_runs(rt: Runtime, admin: Actor) -> None:
    page = await pipelines.list_runs(rt.uow(read_only=True))
    for run in page.items:
        if not run.status.is_terminal:
            await pipelines.cancel_run(rt.uow(), run.id, admin)


class TestManaging:
    async def test_create_computes_the_next_fire_time(self, rt: Runtime, admin: Actor) -> None:
        await create(rt, admin, cron="0 9 * * 1-5")
        schedule = await service.get_schedule(rt.uow(read_only=True), "every-minute")
        assert schedule.next_fire_at == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        assert schedule.upcoming[:2] == [
            datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
            datetime(2026, 1, 6, 9, 0, tzinfo=UTC),
        ]
        assert len(schedule.upcoming) == 5

    async def test_template_stands_in_for_cron(self, rt: Runtime, admin: Actor) -> None:
        request = service.NewSchedule(name="scan", template="nightly-security", pipeline="nightly")
        created = await service.create_schedule(rt.uow(), rt.settings, request, admin)
        assert created.cron == "0 3 * * *"

    async def test_invalid_cron_is_refused_with_the_reason(self, rt: Runtime, admin: Actor) -> None:
        with pytest.raises(CronError, match="minute 61 is out of range"):
            await create(rt, admin, cron="61 * * * *")
        assert await service.list_schedules(rt.uow(read_only=True)) == []

    async def test_unknown_time_zone_is_refused(self, rt: Runtime, admin: Actor) -> None:
        with pytest.raises(CronError, match="Unknown time zone"):
            await create(rt, admin, timezone="Europe/Berln")

    async def test_unknown_pipeline_is_refused(self, rt: Runtime, admin: Actor) -> None:
        request = service.NewSchedule(name="x", cron="@daily", pipeline="missing")
        with pytest.raises(NotFound):
            await service.create_schedule(rt.uow(), rt.settings, request, admin)

    async def test_unknown_agent_type_is_refused(self, rt: Runtime, admin: Actor) -> None:
        request = service.NewSchedule(name="x", cron="@daily", agent_type="nope", task="t")
        with pytest.raises(ValidationFailed, match="Unknown agent type"):
            await service.create_schedule(rt.uow(), rt.settings, request, admin)

    async def test_a_taken_name_is_a_conflict(self, rt: Runtime, admin: Actor) -> None:
        await create(rt, admin)
        with pytest.raises(Conflict):
            await create(rt, admin)

    async def test_delete_forgets_the_schedule(self, rt: Runtime, admin: Actor) -> None:
        await create(rt, admin)
        await service.delete_schedule(rt.uow(), "every-minute", admin)
        with pytest.raises(NotFound):
            await service.get_schedule(rt.uow(read_only=True), "every-minute")


class TestFiring:
    async def test_a_due_schedule_starts_one_run_with_the_schedule_as_trigger(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        await create(rt, admin)
        clock.advance(timedelta(seconds=32))
        await tick(rt)
        [fire] = await fires(rt)
        assert fire.outcome is service.FireOutcome.STARTED
        assert fire.fire_time == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
        assert fire.run_id is not None
        run = await pipelines.get_run(rt.uow(read_only=True), fire.run_id)
        assert run.trigger_kind is pipelines.TriggerKind.SCHEDULE
        assert run.trigger["schedule"] == "every-minute"
        assert run.trigger["fire_time"] == "2026-01-05T09:00:00+00:00"

    async def test_a_tick_records_fires_pending_and_queues_their_start(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        await create(rt, admin)
        await create(rt, admin, name="hourly", cron="0 * * * *")
        await create(rt, admin, name="later", cron="30 9 * * *")
        clock.advance(timedelta(seconds=32))
        only_firing = JobRegistry()
        only_firing.register(service.FIRE_SCHEDULES, firing.fire_schedules)
        await service.start_schedule_firing(rt)
        await JobRunner(rt, only_firing).run(until_idle=True)

        pending = [await fires(rt), await fires(rt, "hourly"), await fires(rt, "later")]
        assert [[f.outcome for f in found] for found in pending] == [
            [service.FireOutcome.PENDING],
            [service.FireOutcome.PENDING],
            [],
        ]
        async with rt.uow(read_only=True) as uow:
            starts = list(
                await uow.session.scalars(select(JobRow).where(JobRow.kind == START_FIRES.name))
            )
        [start] = starts  # one job for a few dozen schedules
        assert sorted(START_FIRES.parse(start.payload).schedules) == sorted(
            [pending[0][0].schedule_id, pending[1][0].schedule_id]
        )

        await tick(rt)  # the start jobs run
        started = [await fires(rt), await fires(rt, "hourly")]
        assert [found[0].outcome for found in started] == [service.FireOutcome.STARTED] * 2
        assert all(found[0].run_id for found in started)

    async def test_a_schedule_whose_start_breaks_holds_up_no_other_and_ends_failed(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        broken = PIPELINE.replace("name: nightly", "name: broken")
        await pipelines.register_pipeline(rt.uow(), pipelines.PipelineSource(broken), admin)
        await create(rt, admin, cron="0 9 * * *")  # once a day: the retries see one fire
        request = service.NewSchedule(name="breaks", cron="0 9 * * *", pipeline="broken")
        await service.create_schedule(rt.uow(), rt.settings, request, admin)
        async with rt.uow() as uow:  # a stored spec that no longer loads: starting it raises
            await uow.session.execute(
                update(PipelineRow).where(PipelineRow.name == "broken").values(spec={"x": 1})
            )
            await uow.commit()
        clock.advance(timedelta(seconds=32))

        await tick(rt)
        [good] = await fires(rt)
        [bad] = await fires(rt, "breaks")
        assert good.outcome is service.FireOutcome.STARTED
        assert bad.outcome is service.FireOutcome.PENDING  # its start job will retry
        for _ in range(6):  # through every retry's backoff
            clock.advance(timedelta(minutes=11))
            await tick(rt)
        [bad] = await fires(rt, "breaks")
        assert bad.outcome is service.FireOutcome.FAILED
        assert "ValidationError" in (bad.reason or "")
        assert [f.fire_time for f in await fires(rt, "breaks")] == [bad.fire_time]

    async def test_nothing_fires_before_the_fire_time(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        await create(rt, admin)
        clock.advance(timedelta(seconds=20))
        await tick(rt)
        assert await fires(rt) == []

    async def test_a_fire_time_fires_once_even_when_a_second_worker_retries_it(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        await create(rt, admin)
        clock.advance(timedelta(seconds=32))
        await tick(rt)
        await tick(rt)  # the same time slot: the job's key makes it a no-op
        # A worker that read the schedule before the first fire committed sees it due again.
        async with rt.uow() as uow:
            await uow.session.execute(
                update(ScheduleRow).values(next_fire_at=datetime(2026, 1, 5, 9, 0, tzinfo=UTC))
            )
            await uow.commit()
        clock.advance(timedelta(seconds=10))
        await tick(rt)
        assert len(await fires(rt)) == 1
        assert len((await pipelines.list_runs(rt.uow(read_only=True))).items) == 1

    async def test_each_minute_fires_again(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        await create(rt, admin, overlap_policy=service.OverlapPolicy.ALLOW)
        for _ in range(3):
            clock.advance(timedelta(minutes=1))
            await tick(rt)
        assert len(await fires(rt)) == 3

    async def test_a_schedule_that_cannot_be_read_is_paused_and_the_others_fire(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        await create(rt, admin)
        await create(rt, admin, name="broken")
        async with rt.uow() as uow:  # as if its zone had left the tz database
            await uow.session.execute(
                update(ScheduleRow).where(ScheduleRow.name == "broken").values(timezone="Mars/Base")
            )
            await uow.commit()
        clock.advance(timedelta(seconds=32))
        await tick(rt)
        assert len(await fires(rt)) == 1
        async with rt.uow(read_only=True) as uow:
            broken = await uow.session.scalar(
                select(ScheduleRow).where(ScheduleRow.name == "broken")
            )
            assert broken is not None
            assert broken.is_paused
        listed = await service.list_schedules(rt.uow(read_only=True))
        assert "cannot fire" in listed[0].description


class TestMisfire:
    async def fire_after_downtime(
        self, rt: Runtime, clock: FrozenClock, admin: Actor, policy: MisfirePolicy
    ) -> list[service.ScheduleFire]:
        await create(
            rt,
            admin,
            misfire_policy=policy,
            misfire_cap=3,
            overlap_policy=service.OverlapPolicy.ALLOW,
        )
        clock.advance(timedelta(minutes=10, seconds=15))  # down from 09:00 to 09:09:45
        await tick(rt)
        return await fires(rt)

    async def test_latest_fires_the_most_recent_missed_time_once(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        found = await self.fire_after_downtime(rt, clock, admin, MisfirePolicy.LATEST)
        assert [f.fire_time.minute for f in found] == [9]

    async def test_all_fires_the_missed_times_up_to_the_cap(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        found = await self.fire_after_downtime(rt, clock, admin, MisfirePolicy.ALL)
        assert sorted(f.fire_time.minute for f in found) == [7, 8, 9]

    async def test_skip_drops_missed_times(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        await create(rt, admin, cron="0 9 * * *", misfire_policy=MisfirePolicy.SKIP)
        clock.advance(timedelta(minutes=30))
        await tick(rt)
        assert await fires(rt) == []
        schedule = await service.get_schedule(rt.uow(read_only=True), "every-minute")
        assert schedule.next_fire_at == datetime(2026, 1, 6, 9, 0, tzinfo=UTC)


class TestOverlap:
    async def two_fires(
        self, rt: Runtime, clock: FrozenClock, admin: Actor, policy: service.OverlapPolicy
    ) -> list[service.ScheduleFire]:
        """Fire at 09:00 and 09:01 while the 09:00 run is still going (no steps run here)."""
        await create(rt, admin, overlap_policy=policy)
        for _ in range(2):
            clock.advance(timedelta(minutes=1))
            await tick(rt)
        return await fires(rt)  # newest first

    async def test_skip_records_the_second_fire_as_skipped(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        newest, oldest = await self.two_fires(rt, clock, admin, service.OverlapPolicy.SKIP)
        assert oldest.outcome is service.FireOutcome.STARTED
        assert newest.outcome is service.FireOutcome.SKIPPED
        assert newest.run_id is None
        assert newest.reason

    async def test_allow_starts_both(self, rt: Runtime, clock: FrozenClock, admin: Actor) -> None:
        found = await self.two_fires(rt, clock, admin, service.OverlapPolicy.ALLOW)
        assert {f.outcome for f in found} == {service.FireOutcome.STARTED}
        assert len({f.run_id for f in found}) == 2

    async def test_queue_starts_the_second_once_the_first_ends(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        newest, _ = await self.two_fires(rt, clock, admin, service.OverlapPolicy.QUEUE)
        assert newest.outcome is service.FireOutcome.QUEUED
        await finish_runs(rt, admin)
        clock.advance(timedelta(seconds=5))
        await tick(rt)
        newest, _ = await fires(rt)
        assert newest.outcome is service.FireOutcome.STARTED
        assert newest.run_id is not None

    async def test_cancel_previous_cancels_the_running_one(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        newest, oldest = await self.two_fires(
            rt, clock, admin, service.OverlapPolicy.CANCEL_PREVIOUS
        )
        assert newest.outcome is service.FireOutcome.STARTED
        assert oldest.run_id is not None
        previous = await pipelines.get_run(rt.uow(read_only=True), oldest.run_id)
        assert previous.status is pipelines.RunStatus.CANCELLED


class TestPauseAndTrigger:
    async def test_paused_schedule_does_not_fire_and_resume_does_not_catch_up(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        await create(rt, admin, misfire_policy=MisfirePolicy.ALL)
        await service.set_paused(rt.uow(), "every-minute", admin, is_paused=True)
        clock.advance(timedelta(minutes=5))
        await tick(rt)
        assert await fires(rt) == []
        resumed = await service.set_paused(rt.uow(), "every-minute", admin, is_paused=False)
        assert resumed.next_fire_at == datetime(2026, 1, 5, 9, 5, tzinfo=UTC)
        clock.advance(timedelta(minutes=1))
        await tick(rt)
        assert [f.fire_time.minute for f in await fires(rt)] == [5]

    async def test_trigger_now_records_a_manual_fire(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        await create(rt, admin, cron="@yearly")
        fire = await service.trigger_now(rt.uow(), rt.settings, "every-minute", admin)
        assert fire.is_manual
        assert fire.fire_time == START
        assert fire.run_id is not None

    async def test_last_fires_gives_each_schedule_its_latest_fire_in_one_read(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        await create(rt, admin, "often", cron="* * * * *")
        await create(rt, admin, "never", cron="@yearly")
        clock.advance(timedelta(minutes=2))
        await tick(rt)
        clock.advance(timedelta(seconds=5))
        manual = await service.trigger_now(rt.uow(), rt.settings, "often", admin)
        often = await service.get_schedule(rt.uow(read_only=True), "often")
        never = await service.get_schedule(rt.uow(read_only=True), "never")

        last = await service.last_fires(rt.uow(read_only=True), [often.id, never.id])

        assert list(last) == [often.id]  # one that never fired is absent
        assert last[often.id].id == manual.id
        assert last[often.id].is_manual
        assert await service.last_fires(rt.uow(read_only=True), []) == {}

    async def test_an_agent_schedule_starts_the_agent_with_an_origin_key(
        self, rt: Runtime, clock: FrozenClock, admin: Actor, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        request = service.NewSchedule(
            name="triage", cron="* * * * *", agent_type="story-developer", task="Look around"
        )
        await service.create_schedule(rt.uow(), rt.settings, request, admin)
        clock.advance(timedelta(seconds=40))
        await tick(rt)
        [fire] = await fires(rt, "triage")
        assert fire.outcome is service.FireOutcome.STARTED
        assert fire.agent_id is not None


class TestPipelineYaml:
    async def count(self, rt: Runtime) -> int:
        async with rt.uow(read_only=True) as uow:
            return int(await uow.session.scalar(select(func.count()).select_from(ScheduleRow)) or 0)

    async def sync(self, rt: Runtime, entries: list[pipelines.DeclaredSchedule]) -> None:
        async with rt.uow() as uow:
            await service.sync_pipeline_schedules(uow, "nightly", entries)
            await uow.commit()

    async def test_declared_schedules_are_created_updated_and_removed(self, rt: Runtime) -> None:
        await self.sync(rt, [declared("0 2 * * *"), declared("0 14 * * *", "Europe/Berlin")])
        listed = await service.list_schedules(rt.uow(read_only=True))
        assert [(s.name, s.source) for s in listed] == [
            ("pipeline:nightly:0", "pipeline:nightly"),
            ("pipeline:nightly:1", "pipeline:nightly"),
        ]
        await self.sync(rt, [declared("0 3 * * *")])
        [only] = await service.list_schedules(rt.uow(read_only=True))
        assert only.cron == "0 3 * * *"
        await self.sync(rt, [])
        assert await self.count(rt) == 0

    async def test_declared_schedules_cannot_be_deleted_by_hand(
        self, rt: Runtime, admin: Actor
    ) -> None:
        await self.sync(rt, [declared("0 2 * * *")])
        with pytest.raises(Conflict, match="declared in pipeline 'nightly'"):
            await service.delete_schedule(rt.uow(), "pipeline:nightly:0", admin)

    async def test_declared_schedules_fire_the_pipeline(
        self, rt: Runtime, clock: FrozenClock
    ) -> None:
        await self.sync(rt, [declared("* * * * *")])
        clock.advance(timedelta(seconds=31))
        await tick(rt)
        async with rt.uow(read_only=True) as uow:
            assert await uow.session.scalar(select(func.count()).select_from(ScheduleFireRow)) == 1


class TestDaylightSaving:
    async def test_a_time_skipped_by_spring_forward_fires_at_the_next_valid_time(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        clock.set(datetime(2026, 3, 28, 12, 0, tzinfo=UTC))  # Berlin springs forward 29 March
        await create(rt, admin, cron="30 2 * * *", timezone="Europe/Berlin")
        clock.set(datetime(2026, 3, 29, 1, 0, 5, tzinfo=UTC))  # 03:00:05 CEST
        await tick(rt)
        [fire] = await fires(rt)
        assert fire.fire_time == datetime(2026, 3, 29, 1, 0, tzinfo=UTC)

    async def test_a_time_repeated_by_fall_back_fires_once(
        self, rt: Runtime, clock: FrozenClock, admin: Actor
    ) -> None:
        clock.set(datetime(2026, 10, 24, 12, 0, tzinfo=UTC))  # Berlin falls back 25 October
        await create(rt, admin, cron="30 2 * * *", timezone="Europe/Berlin")
        clock.set(datetime(2026, 10, 25, 0, 30, 5, tzinfo=UTC))  # the first 02:30 (CEST)
        await tick(rt)
        clock.set(datetime(2026, 10, 25, 1, 30, 5, tzinfo=UTC))  # the second 02:30 (CET)
        await tick(rt)
        assert [f.fire_time for f in await fires(rt)] == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]
