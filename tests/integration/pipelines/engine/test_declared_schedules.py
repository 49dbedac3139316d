"""`on: schedule:` in a pipeline file becomes schedules, kept in step with the file.

Pipelines only announce their changes; schedules follows them once the process's
wiring calls ``follow_pipelines`` (every entry point does), as the fixture does here.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orchestrate.pipelines import service
from orchestrate.schedules import service as schedules
from orchestrate.schedules.cron import CronError
from tests.integration.pipelines.engine.conftest import Pipelines

NIGHTLY = """
name: nightly
on:
  schedule:
    - cron: "0 3 * * *"
      timezone: Europe/Berlin
    - cron: "@weekly"
steps:
  - id: a
    run: "true"
"""


@pytest.fixture(autouse=True)
def following() -> Iterator[None]:
    schedules.follow_pipelines()
    yield
    service.pipeline_changed.unsubscribe(schedules.sync_on_pipeline_changed)


async def declared(pipelines: Pipelines) -> list[tuple[str, str, str]]:
    listed = await schedules.list_schedules(pipelines.runtime.uow(read_only=True))
    return [(s.name, s.cron, s.timezone) for s in listed]


async def test_registering_updating_and_deleting_a_pipeline_keeps_its_schedules_in_step(
    pipelines: Pipelines,
) -> None:
    await pipelines.register(NIGHTLY)
    assert await declared(pipelines) == [
        ("pipeline:nightly:0", "0 3 * * *", "Europe/Berlin"),
        ("pipeline:nightly:1", "@weekly", "UTC"),
    ]
    await pipelines.register(NIGHTLY.replace('    - cron: "@weekly"\n', ""))
    assert await declared(pipelines) == [("pipeline:nightly:0", "0 3 * * *", "Europe/Berlin")]
    await service.delete_pipeline(pipelines.runtime.uow(), "nightly", pipelines.actor)
    assert await declared(pipelines) == []


async def test_an_invalid_cron_registers_nothing(pipelines: Pipelines) -> None:
    with pytest.raises(CronError, match="minute 61"):
        await pipelines.register(NIGHTLY.replace("0 3 * * *", "61 3 * * *"))
    assert await service.list_pipelines(pipelines.runtime.uow(read_only=True)) == []
    assert await declared(pipelines) == []


async def test_a_pipeline_registers_without_schedules_when_nothing_follows_it(
    pipelines: Pipelines,
) -> None:
    service.pipeline_changed.unsubscribe(schedules.sync_on_pipeline_changed)
    await pipelines.register(NIGHTLY)
    assert [p.name for p in await service.list_pipelines(pipelines.runtime.uow())] == ["nightly"]
    assert await declared(pipelines) == []
