"""A change set across two repositories: its pull requests opened dependencies first, then
merged in that order as each merge policy allows; a closed pull request or a refused
merge fails it with nothing after merged; a round repeated after a crash merges nothing
twice (SQLite and PostgreSQL, one fake GitHub backed by two bare remotes)."""

from __future__ import annotations

import pytest

from orchestrate.auth.service import Actor
from orchestrate.changesets import service as changesets
from orchestrate.changesets.merging import advance
from orchestrate.core.events import EventFilter, read_events
from orchestrate.core.jobs import JobStatus, list_jobs
from orchestrate.core.runtime import Runtime
from orchestrate.core.uow import UnitOfWork
from orchestrate.delivery import service as delivery
from orchestrate.repositories import service as repositories
from orchestrate.testing import Failure, FakeGitHub
from tests.integration.agents.conftest import git
from tests.integration.changesets.conftest import (
    APP,
    LIB,
    Repositories,
    agents_in_both,
    approve,
    create,
    poll,
    run_jobs,
    status_of,
)
from tests.integration.delivery.conftest import run_jobs as delivery_jobs

State = changesets.ChangeSetState


async def events(runtime: Runtime, *patterns: str) -> list[tuple[str, str]]:
    async with runtime.uow(read_only=True) as uow:
        found = await read_events(uow.session, only=EventFilter(types=patterns))
    return [(event.type, event.subject) for event in found]


async def opened(runtime: Runtime, projects: Repositories) -> changesets.ChangeSet:
    """A change set of both repositories whose pull requests are open (nothing approved)."""
    lib, app = await agents_in_both(runtime, projects)
    created = await create(runtime, app, lib)
    await run_jobs(runtime)
    return await status_of(runtime, created.id)


async def queued_round(runtime: Runtime) -> int:
    """The round of the merge job waiting in the queue."""
    async with runtime.uow(read_only=True) as uow:
        queued = await list_jobs(
            uow, status=JobStatus.QUEUED, kind=changesets.ADVANCE_CHANGE_SET.name
        )
    [job] = queued.items
    return int(job.payload["round"])


class TestTheShepherd:
    async def test_it_leaves_a_change_set_member_to_the_set_even_when_its_policy_auto_merges(
        self, runtime: Runtime, projects: Repositories, on_github: FakeGitHub
    ) -> None:
        change_set = await opened(runtime, projects)
        auto = repositories.MergePolicyChange(auto_merge=True)
        await repositories.change_merge_policy(
            runtime.uow(), runtime.settings, APP, auto, Actor.system("test")
        )
        approve(on_github, APP, 1)

        await delivery.request_look_by_number(runtime.uow(), APP, 1, Actor.system("test"))
        await delivery_jobs(runtime)

        assert not on_github.pull_request(APP, 1).merged
        looked = await delivery.get_pull_request(runtime.uow(read_only=True), APP, 1)
        assert looked.shepherd.move == "wait"
        assert f"change set {change_set.id} merges it" in (looked.shepherd.reason or "")


class TestInOrder:
    async def test_pull_requests_are_opened_dependencies_first_and_name_their_siblings(
        self, runtime: Runtime, projects: Repositories, on_github: FakeGitHub
    ) -> None:
        lib, app = await agents_in_both(runtime, projects)

        created = await create(runtime, app, lib)  # named dependent first
        await run_jobs(runtime)
        now = await status_of(runtime, created.id)

        assert [m.repository for m in created.members] == [LIB, APP]
        assert [m.depends_on for m in created.members] == [(), (LIB,)]
        assert [m.agent_id for m in created.members] == [lib.id, app.id]
        assert now.state is State.MERGING
        assert [m.pull_request for m in now.members] == [f"{LIB}#1", f"{APP}#1"]
        assert await events(runtime, "pull_request.opened") == [
            ("pull_request.opened", f"{LIB}#1"),
            ("pull_request.opened", f"{APP}#1"),
        ]
        [comment] = on_github.pull_request(APP, 1).comments
        assert created.id in comment.body
        assert f"It merges after {LIB}#1." in comment.body
        assert "merges first" in on_github.pull_request(LIB, 1).comments[0].body

    async def test_a_change_set_across_two_repositories_is_merged_in_order(
        self, runtime: Runtime, projects: Repositories, on_github: FakeGitHub
    ) -> None:
        change_set = await opened(runtime, projects)

        approve(on_github, APP, 1)  # the dependent is approved first: it still waits
        await poll(runtime)
        waiting = await changesets.change_set_status(runtime.uow(read_only=True), change_set.id)

        assert not on_github.pull_request(APP, 1).merged
        assert not on_github.pull_request(LIB, 1).merged
        _, (lib_status, app_status) = waiting
        assert lib_status.waiting_for is not None
        assert "approval" in lib_status.waiting_for
        assert app_status.waiting_for == f"{LIB}#1 to merge first"

        approve(on_github, LIB, 1)
        await poll(runtime)
        done = await status_of(runtime, change_set.id)

        assert done.state is State.MERGED
        assert done.finished_at is not None
        assert [m.state for m in done.members] == [changesets.MemberState.MERGED] * 2
        assert on_github.pull_request(LIB, 1).merged
        assert on_github.pull_request(APP, 1).merged
        assert await events(runtime, "changeset.*") == [
            ("changeset.created", change_set.id),
            ("changeset.pull_requests_opened", change_set.id),
            ("changeset.member_merged", change_set.id),
            ("changeset.member_merged", change_set.id),
            ("changeset.merged", change_set.id),
        ]
        async with runtime.uow(read_only=True) as uow:
            merged = await read_events(
                uow.session, only=EventFilter(types=("forge.pull_request_merged",))
            )
        assert [event.subject for event in merged] == [f"{LIB}#1", f"{APP}#1"]

    async def test_a_round_repeated_after_a_crash_merges_nothing_twice(
        self, runtime: Runtime, projects: Repositories, on_github: FakeGitHub
    ) -> None:
        change_set = await opened(runtime, projects)
        approve(on_github, LIB, 1)
        approve(on_github, APP, 1)
        lib_main = git(projects.lib.remote, "rev-parse", "main").strip()

        async def killed_before_completing(_uow: UnitOfWork) -> None:
            raise RuntimeError("the worker died")

        round_now = await queued_round(runtime)
        # This round merges both, then its worker dies before the job completes.
        with pytest.raises(RuntimeError, match="died"):
            await advance(
                runtime.uow(), runtime.settings, change_set.id, round_now, killed_before_completing
            )
        assert on_github.pull_request(APP, 1).merged
        await poll(runtime)  # the same round's job again, as after its lease expired
        done = await status_of(runtime, change_set.id)

        assert done.state is State.MERGED
        assert git(projects.lib.remote, "rev-list", "--count", f"{lib_main}..main").strip() == "1"
        member_merged = await events(runtime, "changeset.member_merged", "changeset.merged")
        assert [kind for kind, _ in member_merged] == [
            "changeset.member_merged",
            "changeset.member_merged",
            "changeset.merged",
        ]


class TestFailing:
    async def test_a_pull_request_closed_without_merging_fails_the_set_and_nothing_merges(
        self, runtime: Runtime, projects: Repositories, on_github: FakeGitHub
    ) -> None:
        change_set = await opened(runtime, projects)
        on_github.pull_request(APP, 1).state = "closed"
        approve(on_github, LIB, 1)

        await poll(runtime)
        failed = await status_of(runtime, change_set.id)

        assert failed.state is State.FAILED
        assert failed.failure_reason == f"{APP}#1 was closed without being merged"
        assert not on_github.pull_request(LIB, 1).merged
        assert ("changeset.failed", change_set.id) in await events(runtime, "changeset.*")

    async def test_a_merge_the_forge_refuses_fails_the_set_before_its_dependents(
        self, runtime: Runtime, projects: Repositories, on_github: FakeGitHub
    ) -> None:
        change_set = await opened(runtime, projects)
        approve(on_github, LIB, 1)
        approve(on_github, APP, 1)
        protected = 'Required status check "ci" is expected.'
        on_github.fail_next(Failure(405, protected, method="PUT", path_contains="/merge"))

        await poll(runtime)
        failed = await status_of(runtime, change_set.id)

        assert failed.state is State.FAILED
        assert failed.failure_reason is not None
        assert f"the forge refused to merge {LIB}#1" in failed.failure_reason
        assert protected in failed.failure_reason
        assert not on_github.pull_request(LIB, 1).merged
        assert not on_github.pull_request(APP, 1).merged
        async with runtime.uow(read_only=True) as uow:
            queued = await list_jobs(
                uow, status=JobStatus.QUEUED, kind=changesets.ADVANCE_CHANGE_SET.name
            )
        assert queued.items == []  # a failed set polls no more

    async def test_an_agent_with_nothing_to_deliver_fails_the_set(
        self, runtime: Runtime, projects: Repositories, on_github: FakeGitHub
    ) -> None:
        from tests.integration.delivery.conftest import NOTHING_DONE, run_agent

        lib = await run_agent(runtime, projects.lib, script=NOTHING_DONE)
        app = await run_agent(runtime, projects.app)
        created = await create(runtime, app, lib)

        await run_jobs(runtime)
        failed = await status_of(runtime, created.id)

        assert failed.state is State.FAILED
        assert failed.failure_reason is not None
        assert failed.failure_reason.startswith(f"{LIB}: Agent {lib.id} made no commit")
        assert on_github.pull_requests(APP) == []  # nothing after it was opened


class TestCancelling:
    async def test_a_cancelled_set_merges_nothing_more(
        self, runtime: Runtime, projects: Repositories, on_github: FakeGitHub
    ) -> None:
        from orchestrate.changesets.service import cancel_change_set
        from tests.integration.changesets.conftest import SYSTEM

        change_set = await opened(runtime, projects)
        cancelled = await cancel_change_set(runtime.uow(), change_set.id, SYSTEM)
        approve(on_github, LIB, 1)
        approve(on_github, APP, 1)

        await poll(runtime)

        assert cancelled.state is State.CANCELLED
        assert (await status_of(runtime, change_set.id)).state is State.CANCELLED
        assert not on_github.pull_request(LIB, 1).merged
