"""Creating a change set: members that cannot be part of one are refused saying why; an
existing pull request can be a member; the work of an unfinished set is not taken twice
(SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.auth.models import Role
from orchestrate.auth.service import Actor
from orchestrate.changesets import service as changesets
from orchestrate.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.delivery import service as delivery
from orchestrate.repositories import service as repositories
from orchestrate.testing import FakeGitHub
from tests.integration.changesets.conftest import (
    APP,
    LIB,
    SYSTEM,
    Repositories,
    agents_in_both,
    approve,
    create,
    poll,
    run_jobs,
    status_of,
)
from tests.integration.delivery.conftest import make_project, run_agent


async def test_a_change_set_needs_two_members(
    runtime: Runtime, projects: Repositories, on_github: FakeGitHub
) -> None:
    lib, _ = await agents_in_both(runtime, projects)

    with pytest.raises(ValidationFailed, match="at least two repositories"):
        await create(runtime, lib)


async def test_two_members_in_one_repository_are_refused(
    runtime: Runtime, projects: Repositories, on_github: FakeGitHub
) -> None:
    first = await run_agent(runtime, projects.lib)
    second = await run_agent(runtime, projects.lib)

    with pytest.raises(ValidationFailed, match=f"both change {LIB}: a change set has one member"):
        await create(runtime, first, second)


async def test_an_agent_outside_the_registered_repositories_is_refused(
    runtime: Runtime, projects: Repositories, on_github: FakeGitHub, tmp_path: Path
) -> None:
    elsewhere = make_project(tmp_path / "elsewhere")
    lib = await run_agent(runtime, projects.lib)
    stray = await run_agent(runtime, elsewhere)

    with pytest.raises(Conflict, match="no registered repository; register it first"):
        await create(runtime, lib, stray)


async def test_an_unknown_agent_is_not_found(
    runtime: Runtime, projects: Repositories, on_github: FakeGitHub
) -> None:
    lib = await run_agent(runtime, projects.lib)

    with pytest.raises(NotFound):
        await changesets.create_change_set(
            runtime.uow(),
            runtime.settings,
            changesets.NewChangeSet(title="T", agent_ids=(lib.id, "agent_nope")),
            SYSTEM,
        )


async def test_repositories_that_depend_on_each_other_are_refused(
    runtime: Runtime, projects: Repositories, on_github: FakeGitHub
) -> None:
    await repositories.declare_dependency(runtime.uow(), runtime.settings, LIB, APP, SYSTEM)
    lib, app = await agents_in_both(runtime, projects)

    with pytest.raises(ValidationFailed, match="depend on each other"):
        await create(runtime, lib, app)


async def test_a_viewer_may_not_create_one(
    runtime: Runtime, projects: Repositories, on_github: FakeGitHub
) -> None:
    lib, app = await agents_in_both(runtime, projects)
    viewer = Actor(name="test:viewer", role=Role.VIEWER, source="test")

    with pytest.raises(PermissionDenied):
        await changesets.create_change_set(
            runtime.uow(),
            runtime.settings,
            changesets.NewChangeSet(title="T", agent_ids=(lib.id, app.id)),
            viewer,
        )
    assert (await changesets.list_change_sets(runtime.uow(read_only=True))).items == []


async def test_the_work_of_an_unfinished_set_joins_no_other_until_it_is_cancelled(
    runtime: Runtime, projects: Repositories, on_github: FakeGitHub
) -> None:
    lib, app = await agents_in_both(runtime, projects)
    first = await create(runtime, lib, app)

    with pytest.raises(Conflict, match=f"already part of change set {first.id}"):
        await create(runtime, lib, app)
    await changesets.cancel_change_set(runtime.uow(), first.id, SYSTEM)
    second = await create(runtime, lib, app)

    with pytest.raises(Conflict, match="cancelled already"):
        await changesets.cancel_change_set(runtime.uow(), first.id, SYSTEM)
    listed = await changesets.list_change_sets(runtime.uow(read_only=True))
    assert [c.id for c in listed.items] == [second.id, first.id]


async def test_a_pull_request_opened_already_can_be_a_member(
    runtime: Runtime, projects: Repositories, on_github: FakeGitHub
) -> None:
    lib, app = await agents_in_both(runtime, projects)
    app_pull = await delivery.open_for_agent(runtime.uow(), runtime.settings, app.id, SYSTEM)

    created = await changesets.create_change_set(
        runtime.uow(),
        runtime.settings,
        changesets.NewChangeSet(title="Rename", agent_ids=(lib.id,), pull_requests=(f"{APP}#1",)),
        SYSTEM,
    )
    await run_jobs(runtime)
    approve(on_github, LIB, 1)
    approve(on_github, APP, 1)
    await poll(runtime)

    assert [(m.repository, m.pull_request) for m in created.members] == [
        (LIB, None),
        (APP, f"{APP}#1"),
    ]
    assert created.members[1].agent_id == app_pull.pull_request.agent_id == app.id
    assert (await status_of(runtime, created.id)).state is changesets.ChangeSetState.MERGED
    assert len(on_github.pull_requests(APP)) == 1


async def test_a_pull_request_that_is_not_open_cannot_join(
    runtime: Runtime, projects: Repositories, on_github: FakeGitHub
) -> None:
    lib, app = await agents_in_both(runtime, projects)
    await delivery.open_for_agent(runtime.uow(), runtime.settings, app.id, SYSTEM)
    approve(on_github, APP, 1)
    await delivery.merge_pull_request(runtime.uow(), runtime.settings, APP, 1, SYSTEM)

    with pytest.raises(Conflict, match=f"Pull request {APP}#1 is merged"):
        await changesets.create_change_set(
            runtime.uow(),
            runtime.settings,
            changesets.NewChangeSet(title="T", agent_ids=(lib.id,), pull_requests=(f"{APP}#1",)),
            SYSTEM,
        )
