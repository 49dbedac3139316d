"""``/metrics`` end to end in one process: real pipelines and webhook deliveries write
events, the metrics consumer folds them into the database, a scrape renders them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from sqlalchemy import update

from orchestrate.agents import service as agents
from orchestrate.agents.loop import ProviderFactory
from orchestrate.agents.models import AgentRun
from orchestrate.auth.service import Actor
from orchestrate.core.events import run_consumers
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.llm.provider import Provider
from orchestrate.monitoring import service
from orchestrate.schedules import service as schedules
from orchestrate.schedules.cron import MisfirePolicy
from orchestrate.schedules.tables import ScheduleRow
from orchestrate.testing.scripted import ScriptedProvider, finish, tool_call
from tests.conftest import app_on
from tests.integration.agents.conftest import repo
from tests.integration.agents.test_scheduling import run_worker as run_agents
from tests.integration.agents.test_scheduling import start_many
from tests.integration.pipelines.conftest import chain_yaml
from tests.integration.pipelines.engine.conftest import Pipelines
from tests.integration.triggers.test_deliveries import push, work
from tests.integration.triggers.test_receiver import SECRET, deliver

__all__ = ["repo"]  # the agents' test repository fixture


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=db_url, github_webhook_secret=SECRET)


def parse(text: str) -> list[Sample]:
    """Every sample of an exposition, through Prometheus' own text parser."""
    return [sample for family in text_string_to_metric_families(text) for sample in family.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float:
    found = [s.value for s in samples if s.name == name and s.labels == labels]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def total(samples: list[Sample], name: str, **labels: str) -> float:
    """The sum over every sample of ``name`` whose labels include ``labels``."""
    return sum(s.value for s in samples if s.name == name and labels.items() <= s.labels.items())


async def scrape(api: httpx.AsyncClient) -> list[Sample]:
    response = await api.get("/metrics")
    assert response.status_code == 200
    return parse(response.text)


async def fold_until(
    runtime: Runtime, api: httpx.AsyncClient, ended_runs: int, agent_runs: int = 0
) -> list[Sample]:
    """Run the metrics consumer as a worker does until the scrape shows ``ended_runs``
    pipeline runs and ``agent_runs`` agent runs."""
    stop = asyncio.Event()
    task = asyncio.create_task(
        run_consumers(runtime, [service.metrics_consumer(runtime)], "test-worker", stop)
    )
    deadline = time.monotonic() + 30
    try:
        while True:
            samples = await scrape(api)
            if (
                total(samples, "orchestrate_pipeline_runs_total") >= ended_runs
                and total(samples, "orchestrate_agent_runs_total") >= agent_runs
            ):
                return samples
            assert time.monotonic() < deadline, "the metrics consumer did not catch up"
            await asyncio.sleep(0.1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)


@pytest.fixture
async def produced(runtime: Runtime, api: httpx.AsyncClient) -> list[Sample]:
    """Two runs of a three-step chain (one fails at 'test') and two push deliveries,
    folded and scraped."""
    pipelines = Pipelines(runtime, Actor.system("test"))
    await pipelines.register(chain_yaml("green"))
    await pipelines.register(chain_yaml("red", fail_at="test"))
    assert (await pipelines.run("green")).status.value == "success"
    assert (await pipelines.run("red")).status.value == "failure"
    for number in (1, 2):
        assert (await deliver(api, push(number))).status_code == 202
    await work(runtime)
    return await fold_until(runtime, api, ended_runs=2)


async def test_pipeline_runs_and_steps_are_counted_by_status_with_durations(
    produced: list[Sample],
) -> None:
    samples = produced

    assert (
        value(samples, "orchestrate_pipeline_runs_total", pipeline="green", status="success") == 1
    )
    assert value(samples, "orchestrate_pipeline_runs_total", pipeline="red", status="failure") == 1
    assert value(samples, "orchestrate_pipeline_runs_queued_total", pipeline="green") == 1
    assert value(samples, "orchestrate_pipeline_steps_total", status="success") == 4
    assert value(samples, "orchestrate_pipeline_steps_total", status="failure") == 1
    started = total(samples, "orchestrate_pipeline_step_duration_seconds_count")
    assert started == 5  # the step after the failure never started
    green = {"pipeline": "green", "status": "success"}
    duration = "orchestrate_pipeline_run_duration_seconds"
    assert value(samples, f"{duration}_bucket", **green, le="+Inf") == 1
    assert value(samples, f"{duration}_count", **green) == 1
    assert value(samples, f"{duration}_sum", **green) > 0


async def test_webhook_deliveries_are_counted_by_event_and_outcome(
    produced: list[Sample],
) -> None:
    samples = produced

    assert value(samples, "orchestrate_webhook_deliveries_received_total", event="push") == 2
    processed = {"event": "push", "outcome": "processed"}
    assert value(samples, "orchestrate_webhook_deliveries_total", **processed) == 2


@pytest.fixture
async def second_serve(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Another app on its own runtime and the same database: a second ``serve``."""
    runtime = Runtime.open(settings)
    transport = httpx.ASGITransport(app=app_on(runtime))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://second") as client:
            yield client
    finally:
        await runtime.close()


async def test_every_serve_renders_the_same_database_held_totals(
    produced: list[Sample], second_serve: httpx.AsyncClient
) -> None:
    def business(samples: list[Sample]) -> set[tuple[str, tuple[tuple[str, str], ...], float]]:
        return {
            (s.name, tuple(sorted(s.labels.items())), s.value)
            for s in samples
            if s.name.startswith(("orchestrate_pipeline_", "orchestrate_webhook_"))
        }

    again = await scrape(second_serve)

    assert business(again) == business(produced)
    assert business(again)


def finishing_as(status: str) -> ProviderFactory:
    """Agents whose model lists the files, then finishes with ``status``."""

    def provider(run: AgentRun) -> Provider:
        del run
        return ScriptedProvider([tool_call("list_files", {"path": "."}), finish(status)])

    return provider


async def test_agent_runs_are_counted_by_type_and_final_state_with_their_turns(
    runtime: Runtime, api: httpx.AsyncClient, repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")  # start_agent checks the provider's
    [completed] = await start_many(runtime, repo, 1)
    await run_agents(runtime, finishing_as("completed"))
    [failed] = await start_many(runtime, repo, 1)
    await run_agents(runtime, finishing_as("failed"))
    runs = [await agents.get_agent(runtime.uow(read_only=True), i) for i in (completed, failed)]
    assert [run.state.value for run in runs] == ["completed", "failed"]

    samples = await fold_until(runtime, api, ended_runs=0, agent_runs=2)

    developer = {"agent_type": "story-developer"}
    done = {**developer, "state": "completed"}
    assert value(samples, "orchestrate_agent_runs_total", **done) == 1
    assert value(samples, "orchestrate_agent_runs_total", **developer, state="failed") == 1
    assert value(samples, "orchestrate_agent_turns_count", **done) == 1
    assert value(samples, "orchestrate_agent_turns_sum", **done) == runs[0].turns
    assert runs[0].turns >= 2
    assert value(samples, "orchestrate_agent_run_duration_seconds_count", **done) == 1


async def test_a_schedule_fired_late_is_observed_with_its_lateness(
    runtime: Runtime, api: httpx.AsyncClient, admin: Actor
) -> None:
    pipelines = Pipelines(runtime, admin)
    await pipelines.register(chain_yaml("nightly"))
    request = schedules.NewSchedule(
        name="every-minute",
        cron="* * * * *",
        pipeline="nightly",
        misfire_policy=MisfirePolicy.ALL,
    )
    await schedules.create_schedule(runtime.uow(), runtime.settings, request, admin)
    minute = datetime.now(UTC).replace(second=0, microsecond=0)
    async with runtime.uow() as uow:  # as after three minutes of downtime
        await uow.session.execute(
            update(ScheduleRow).values(next_fire_at=minute - timedelta(minutes=3))
        )
        await uow.commit()
    await schedules.start_schedule_firing(runtime)
    await work(runtime)

    samples = await fold_until(runtime, api, ended_runs=1)

    # "all": the three missed minutes, 3, 2 and 1 minute (and some seconds) late, and
    # this minute's, less than a minute late (and the next's, had the clock reached it)
    lateness = "orchestrate_schedule_fire_lateness_seconds"
    fires = value(samples, f"{lateness}_count")
    assert fires in (4, 5)
    assert value(samples, f"{lateness}_bucket", le="+Inf") == fires
    assert value(samples, f"{lateness}_bucket", le="300.0") == fires
    assert value(samples, f"{lateness}_bucket", le="60.0") == 1
    assert value(samples, f"{lateness}_sum") > 3 * 60 + 2 * 60 + 60
