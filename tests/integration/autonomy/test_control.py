"""Stuck stories are blocked with their reason; runs pause, resume and stop; the CLI and
the API show and steer them; bad requests get clear errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.autonomy import service as autonomy
from orchestrate.core.errors import Conflict, ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.stories import service as stories
from orchestrate.stories.models import StoryChanges, StoryStatus
from orchestrate.testing import FakeGitHub
from orchestrate.testing.scripted import ScriptedProvider, finish
from tests.integration.autonomy.conftest import (
    DEFAULT_AGENTS,
    SYSTEM,
    Worker,
    new_epic,
    run_view,
)
from tests.integration.cli.support import Cli, make_cli
from tests.integration.delivery.conftest import Project
from tests.support import bearer

LAZY = {
    **DEFAULT_AGENTS,
    "story-developer": lambda run: ScriptedProvider([finish("completed", "Nothing to do.")]),
}


async def test_a_developer_without_result_blocks_its_story_and_its_dependents_after_the_attempts(
    runtime: Runtime, project: Project, on_github: FakeGitHub
) -> None:
    epic_id, (first, second) = await new_epic(runtime, "Addition", "Subtraction")
    worker = Worker(runtime, LAZY)
    await autonomy.start_epic_run(runtime.uow(), runtime.settings, epic_id, SYSTEM, max_attempts=2)

    async def ended() -> bool:
        return not (await run_view(runtime, epic_id)).run.status.is_active

    await worker.until(ended)
    view = await run_view(runtime, epic_id)
    assert view.run.status is autonomy.EpicRunStatus.COMPLETED_WITH_BLOCKED
    blocked = view.run.progress_of(first)
    assert blocked is not None
    assert blocked.attempts == 2
    assert blocked.blocked_reason is not None
    assert "ended without a result 2 times" in blocked.blocked_reason
    assert "without committing anything" in blocked.blocked_reason
    story = await stories.get_story(runtime.uow(read_only=True), first)
    assert story.status is StoryStatus.BLOCKED
    assert story.blocked_reason == blocked.blocked_reason
    dependent = view.run.progress_of(second)
    assert dependent is not None
    assert dependent.blocked_reason is not None
    assert "which is blocked" in dependent.blocked_reason


async def test_a_paused_run_starts_nothing_a_second_run_is_refused_and_stop_ends_it(
    runtime: Runtime, project: Project, on_github: FakeGitHub
) -> None:
    epic_id, (first, _second) = await new_epic(runtime, "Addition", "Subtraction")
    worker = Worker(runtime, DEFAULT_AGENTS)
    await autonomy.start_epic_run(runtime.uow(), runtime.settings, epic_id, SYSTEM)
    paused = await autonomy.pause_epic_run(runtime.uow(), epic_id, SYSTEM)
    assert paused.run.status is autonomy.EpicRunStatus.PAUSED

    await worker.run_jobs()
    view = await run_view(runtime, epic_id)
    progress = view.run.progress_of(first)
    assert progress is not None
    assert progress.phase is autonomy.StoryPhase.PENDING
    assert progress.developer_agent_id is None
    with pytest.raises(Conflict, match="already has an active run"):
        await autonomy.start_epic_run(runtime.uow(), runtime.settings, epic_id, SYSTEM)

    resumed = await autonomy.resume_epic_run(runtime.uow(), epic_id, SYSTEM)
    assert resumed.run.status is autonomy.EpicRunStatus.RUNNING
    stopped = await autonomy.stop_epic_run(runtime.uow(), epic_id, SYSTEM)
    assert stopped.run.status is autonomy.EpicRunStatus.STOPPED
    assert stopped.run.finished_at is not None
    with pytest.raises(Conflict, match="no active run"):
        await autonomy.pause_epic_run(runtime.uow(), epic_id, SYSTEM)
    again = await autonomy.start_epic_run(runtime.uow(), runtime.settings, epic_id, SYSTEM)
    assert again.run.id != stopped.run.id


async def test_dependencies_are_checked_when_set(runtime: Runtime) -> None:
    _epic_id, (first, second) = await new_epic(runtime, "Addition", "Subtraction")
    with pytest.raises(ValidationFailed, match="cycle"):
        await stories.update_story(runtime.uow(), first, StoryChanges(depends_on=(second,)), SYSTEM)
    with pytest.raises(ValidationFailed, match="Unknown story"):
        await stories.update_story(runtime.uow(), first, StoryChanges(depends_on=("9.9",)), SYSTEM)
    with pytest.raises(ValidationFailed, match="itself"):
        await stories.update_story(runtime.uow(), first, StoryChanges(depends_on=(first,)), SYSTEM)
    _other, _ = await new_epic(runtime, "Elsewhere")
    (elsewhere,) = _
    with pytest.raises(ValidationFailed, match="own epic"):
        await stories.update_story(
            runtime.uow(), first, StoryChanges(depends_on=(elsewhere,)), SYSTEM
        )


async def test_a_run_without_a_registered_repository_is_refused(runtime: Runtime) -> None:
    epic_id, _ = await new_epic(runtime, "Addition")
    with pytest.raises(ValidationFailed, match="No repository is registered"):
        await autonomy.start_epic_run(runtime.uow(), runtime.settings, epic_id, SYSTEM)


@pytest.fixture
def cli(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Cli]:
    yield from make_cli(db_url, tmp_path, monkeypatch)


async def test_the_cli_starts_shows_pauses_and_stops_a_run(
    cli: Cli, runtime: Runtime, project: Project, on_github: FakeGitHub
) -> None:
    epic_id, (first, _second) = await new_epic(runtime, "Addition", "Subtraction")

    started = await asyncio.to_thread(cli, "epic", "run", epic_id, "--stuck-minutes", "5")
    again = await asyncio.to_thread(cli, "epic", "run", epic_id)
    paused = await asyncio.to_thread(cli, "epic", "pause", epic_id)
    shown = await asyncio.to_thread(cli, "epic", "status", epic_id, "--json")
    table = await asyncio.to_thread(cli, "epic", "status", epic_id)
    stopped = await asyncio.to_thread(cli, "epic", "stop", epic_id)
    followed = await asyncio.to_thread(cli, "epic", "status", epic_id, "--follow")
    bad = await asyncio.to_thread(cli, "epic", "run", epic_id, "--stuck-minutes", "0")
    never = await asyncio.to_thread(cli, "epic", "status", "no-such-epic")

    assert started.exit_code == 0, started.output
    assert started.stdout.splitlines()[0].startswith("erun_")
    assert again.exit_code == 1
    assert "already has an active run" in again.output
    assert paused.exit_code == 0, paused.output
    body = json.loads(shown.stdout)
    assert body["status"] == "paused"
    assert body["stuck_minutes"] == 5
    assert next(s["story_id"] for s in body["stories"]) == first
    assert "pending" in table.stdout
    assert stopped.exit_code == 0
    assert "stopped" in stopped.output
    assert followed.exit_code == 0
    assert "The run ended: stopped" in followed.output
    assert bad.exit_code == 2
    assert "--stuck-minutes" in bad.output
    assert never.exit_code != 0
    assert "Traceback" not in never.output


async def test_the_api_starts_shows_and_steers_a_run(
    api: httpx.AsyncClient,
    tokens: dict[Role, str],
    runtime: Runtime,
    project: Project,
    on_github: FakeGitHub,
) -> None:
    epic_id, _ = await new_epic(runtime, "Addition", "Subtraction")
    operator = bearer(tokens[Role.OPERATOR])
    viewer = bearer(tokens[Role.VIEWER])

    started = await api.post(
        f"/api/epics/{epic_id}/run", json={"max_attempts": 2}, headers=operator
    )
    again = await api.post(f"/api/epics/{epic_id}/run", json={}, headers=operator)
    refused = await api.post(f"/api/epics/{epic_id}/run/pause", headers=viewer)
    paused = await api.post(f"/api/epics/{epic_id}/run/pause", headers=operator)
    shown = await api.get(f"/api/epics/{epic_id}/run", headers=viewer)
    resumed = await api.post(f"/api/epics/{epic_id}/run/resume", headers=operator)
    stopped = await api.post(f"/api/epics/{epic_id}/run/stop", headers=operator)
    invalid = await api.post(
        f"/api/epics/{epic_id}/run", json={"max_attempts": 0}, headers=operator
    )
    missing = await api.get("/api/epics/nope/run", headers=viewer)

    assert started.status_code == 201, started.text
    assert started.json()["max_attempts"] == 2
    assert again.status_code == 409
    assert again.headers["content-type"].startswith("application/problem+json")
    assert refused.status_code == 403
    assert paused.json()["status"] == "paused"
    assert shown.status_code == 200
    assert len(shown.json()["stories"]) == 2
    assert resumed.json()["status"] == "running"
    assert stopped.json()["status"] == "stopped"
    assert invalid.status_code == 422
    assert missing.status_code == 404
