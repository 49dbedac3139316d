"""``forges.service.merge_pull_request``: the registered repository's policy decides, and
what changed on the forge is audited and in the event log (both databases)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor
from orchestrate.core.errors import NotFound
from orchestrate.core.events import Event, EventFilter, read_events
from orchestrate.core.runtime import Runtime
from orchestrate.forges import service as forges
from orchestrate.forges.client import NewPullRequest
from orchestrate.forges.github.client import GitHubClient
from orchestrate.repositories import service as repositories
from orchestrate.testing import Failure, FakeGitHub
from tests.integration.forges.conftest import REPO
from tests.integration.repositories.git_repositories import work_tree


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub(token="ghp_from_test") as github:
        github.add_repository(REPO)
        yield github


@pytest.fixture
async def client(runtime: Runtime, fake: FakeGitHub) -> AsyncIterator[GitHubClient]:
    runtime.settings = runtime.settings.model_copy(
        update={"github_api_url": fake.api_url, "github_token": SecretStr("ghp_from_test")}
    )
    async with await forges.github_client(runtime.uow(), runtime.settings) as github:
        yield github


async def register(runtime: Runtime, admin: Actor, tmp_path: Path, **policy: object) -> None:
    new = repositories.NewRepository(source=str(work_tree(tmp_path / "app")), name=REPO)
    await repositories.add_repository(runtime.uow(), runtime.settings, new, admin)
    change = repositories.MergePolicyChange(**policy)  # type: ignore[arg-type]
    await repositories.change_merge_policy(runtime.uow(), runtime.settings, REPO, change, admin)


async def open_pull_request(fake: FakeGitHub, client: GitHubClient) -> int:
    fake.push_branch(REPO, "feature")
    opened = await client.open_pull_request(NewPullRequest(REPO, "feature", "main", "Add", ""))
    return opened.number


async def merge_events(runtime: Runtime) -> list[Event]:
    only = EventFilter(types=(
        "forge.pull_request_merged",
        "forge.pull_request_merge_refused",
        "forge.pull_request_branch_updated",
    ))  # fmt: skip
    async with runtime.uow(read_only=True) as uow:
        return list(await read_events(uow.session, only=only))


async def test_a_merge_under_the_stored_policy_is_audited_and_announced(
    runtime: Runtime, admin: Actor, fake: FakeGitHub, client: GitHubClient, tmp_path: Path
) -> None:
    await register(runtime, admin, tmp_path, required_approvals=0)
    number = await open_pull_request(fake, client)

    outcome = await forges.merge_pull_request(
        runtime.uow(), runtime.settings, client, REPO, number, actor=admin
    )

    assert outcome.status is forges.MergeStatus.MERGED
    [event] = await merge_events(runtime)
    assert (event.type, event.subject) == ("forge.pull_request_merged", f"{REPO}#{number}")
    assert event.payload | {"head_sha": None} == {
        "repository": REPO, "number": number, "head_sha": None, "method": "squash",
        "sha": outcome.sha, "actor": admin.name,
    }  # fmt: skip
    audit = await auth.list_audit(runtime.uow(read_only=True), action="forge.pull_request_merged")
    assert [record.subject for record in audit.items] == [f"{REPO}#{number}"]


async def test_waiting_changes_nothing_and_records_nothing(
    runtime: Runtime, admin: Actor, fake: FakeGitHub, client: GitHubClient, tmp_path: Path
) -> None:
    await register(runtime, admin, tmp_path, required_approvals=2)
    number = await open_pull_request(fake, client)

    outcome = await forges.merge_pull_request(
        runtime.uow(), runtime.settings, client, REPO, number, actor=admin
    )

    assert outcome.status is forges.MergeStatus.WAITING
    assert outcome.summary == f"{REPO}#{number} is waiting: 0 approval(s) of 2 required."
    assert await merge_events(runtime) == []


async def test_the_shepherd_merges_only_where_auto_merge_is_on(
    runtime: Runtime, admin: Actor, fake: FakeGitHub, client: GitHubClient, tmp_path: Path
) -> None:
    await register(runtime, admin, tmp_path, required_approvals=0)
    number = await open_pull_request(fake, client)

    outcome = await forges.merge_pull_request(
        runtime.uow(), runtime.settings, client, REPO, number, actor=admin, automatic=True
    )

    assert outcome.status is forges.MergeStatus.WAITING
    assert [r.kind for r in outcome.reasons] == [forges.ReasonKind.AUTO_MERGE_OFF]


async def test_a_refusal_is_recorded_with_the_forges_reason(
    runtime: Runtime, admin: Actor, fake: FakeGitHub, client: GitHubClient, tmp_path: Path
) -> None:
    await register(runtime, admin, tmp_path, required_approvals=0)
    number = await open_pull_request(fake, client)
    protected = 'Required status check "ci" is expected.'
    fake.fail_next(Failure(405, protected, method="PUT", path_contains="/merge"))

    outcome = await forges.merge_pull_request(
        runtime.uow(), runtime.settings, client, REPO, number, actor=admin
    )

    assert outcome.status is forges.MergeStatus.REFUSED
    assert outcome.refused_reason is not None
    assert protected in outcome.refused_reason
    [event] = await merge_events(runtime)
    assert event.type == "forge.pull_request_merge_refused"
    assert protected in event.payload["reason"]


async def test_an_unregistered_repository_is_not_found(
    runtime: Runtime, admin: Actor, client: GitHubClient
) -> None:
    with pytest.raises(NotFound, match="repo list"):
        await forges.merge_pull_request(
            runtime.uow(), runtime.settings, client, "octo/other", 1, actor=admin
        )
