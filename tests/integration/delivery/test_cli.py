"""``orchestrate pr …`` in process against the test database and the fake GitHub: create,
list, show and merge, with messages and exit codes for what cannot be done."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import Result

from orchestrate.core.runtime import Runtime
from orchestrate.testing import Failure, FakeGitHub
from tests.integration.agents.conftest import AgentRunner
from tests.integration.cli.support import Cli, make_cli
from tests.integration.delivery.conftest import (
    GITHUB_REPO,
    Fixers,
    Project,
    new_story,
    point_at,
    run_agent,
    work,
)


async def invoke(cli: Cli, *args: str) -> Result:
    """The command, off the test's event loop (the CLI runs one of its own)."""
    return await asyncio.to_thread(cli, *args)


LISTED_FIELDS = {"number", "url", "repository", "branch", "state", "story_id", "agent_id"}


@pytest.fixture
def pr(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, github: FakeGitHub
) -> Iterator[Cli]:
    """``orchestrate`` with the fake GitHub configured the way a user would (environment)."""
    for cli in make_cli(db_url, tmp_path, monkeypatch):
        cli.env |= {
            "ORCHESTRATE_GITHUB_API_URL": github.api_url,
            "ORCHESTRATE_GITHUB_TOKEN": github.token,
            "ORCHESTRATE_FORGE_RETRY_BASE_SECONDS": "0.01",
        }
        yield cli


async def test_create_list_show_and_merge(
    pr: Cli, runtime: Runtime, project: Project, on_github: FakeGitHub
) -> None:
    story = await new_story(runtime)
    run = await run_agent(runtime, project, story=story.id)

    created = await invoke(pr, "pr", "create", run.id)
    listed = await invoke(pr, "pr", "list", "--json")
    elsewhere = await invoke(pr, "pr", "list", "--repo", "octo/other", "--json")
    shown = await invoke(pr, "pr", "show", "1", "--repo", GITHUB_REPO, "--json")
    table = await invoke(pr, "pr", "list")

    assert created.exit_code == 0, created.output
    assert f"Opened {GITHUB_REPO}#1 from {run.branch}" in created.output
    [item] = json.loads(listed.output)
    assert set(item) >= LISTED_FIELDS
    assert (item["number"], item["story_id"], item["agent_id"]) == (1, story.id, run.id)
    assert json.loads(elsewhere.output) == []
    assert json.loads(shown.output)["fresh"] is True
    assert GITHUB_REPO in table.output

    on_github.add_review(GITHUB_REPO, 1, user="alice", verdict="APPROVED")
    merged = await invoke(pr, "pr", "merge", "1", "--repo", GITHUB_REPO, "--method", "squash")

    assert merged.exit_code == 0, merged.output
    assert f"Merged {GITHUB_REPO}#1" in merged.output
    assert on_github.pull_request(GITHUB_REPO, 1).merged


async def test_create_again_says_it_is_open_already(
    pr: Cli, runtime: Runtime, project: Project, on_github: FakeGitHub
) -> None:
    run = await run_agent(runtime, project)
    await invoke(pr, "pr", "create", run.id)

    again = await invoke(pr, "pr", "create", run.id)

    assert again.exit_code == 0, again.output
    assert "Already open:" in again.output
    assert len(on_github.pull_requests(GITHUB_REPO)) == 1


async def test_create_explains_what_is_missing(
    pr: Cli, runtime: Runtime, project: Project, github: FakeGitHub
) -> None:
    point_at(runtime, github)
    unregistered = await run_agent(runtime, project)
    not_started = await AgentRunner(runtime, provider=None).start(  # type: ignore[arg-type]
        repo=project.work_tree
    )

    outside = await invoke(pr, "pr", "create", unregistered.id)
    unfinished = await invoke(pr, "pr", "create", not_started.id)
    unknown = await invoke(pr, "pr", "create", "agent_nope")

    assert outside.exit_code == 1
    assert "no registered repository" in outside.output
    assert "orchestrate repo add" in outside.output
    assert unfinished.exit_code == 1
    assert "only a completed agent" in unfinished.output
    assert unknown.exit_code == 1


async def test_a_merge_not_allowed_yet_or_refused_says_why_and_exits_1(
    pr: Cli, runtime: Runtime, project: Project, on_github: FakeGitHub
) -> None:
    run = await run_agent(runtime, project)
    await invoke(pr, "pr", "create", run.id)
    waiting = await invoke(pr, "pr", "merge", "1", "--repo", GITHUB_REPO)
    on_github.add_review(GITHUB_REPO, 1, user="alice", verdict="APPROVED")
    on_github.fail_next(Failure(405, "Protected branch", method="PUT", path_contains="/merge"))

    refused = await invoke(pr, "pr", "merge", "1", "--repo", GITHUB_REPO)
    bad_method = await invoke(pr, "pr", "merge", "1", "--repo", GITHUB_REPO, "--method", "fast")
    missing = await invoke(pr, "pr", "show", "99", "--repo", GITHUB_REPO)

    assert waiting.exit_code == 1
    assert "approval" in waiting.output
    assert refused.exit_code == 1
    assert "The forge refused to merge octo/app#1: Protected branch" in refused.output
    assert not on_github.pull_request(GITHUB_REPO, 1).merged
    assert bad_method.exit_code == 2
    assert missing.exit_code == 1
    assert "opened no pull request #99" in missing.output


async def test_without_forge_credentials_create_names_the_setting_and_exits_2(
    pr: Cli, runtime: Runtime, project: Project, on_github: FakeGitHub
) -> None:
    run = await run_agent(runtime, project)
    pr.env["ORCHESTRATE_GITHUB_TOKEN"] = None

    refused = await invoke(pr, "pr", "create", run.id)

    assert refused.exit_code == 2
    assert "ORCHESTRATE_GITHUB_TOKEN" in refused.output
    assert project.remote_head(run.branch or "") is None  # nothing pushed either


async def test_shepherd_queues_a_look_and_moves_lists_what_it_did(
    pr: Cli, runtime: Runtime, project: Project, on_github: FakeGitHub
) -> None:
    await run_agent(runtime, project)
    await work(runtime, Fixers())  # opens it; the shepherd's first look waits for approval

    asked = await invoke(pr, "pr", "shepherd", "1", "--repo", GITHUB_REPO)
    shown = await invoke(pr, "pr", "show", "1", "--repo", GITHUB_REPO)
    moves = await invoke(pr, "pr", "moves", "1", "--repo", GITHUB_REPO, "--json")
    unknown = await invoke(pr, "pr", "moves", "9", "--repo", GITHUB_REPO)

    assert asked.exit_code == 0, asked.output
    assert f"The shepherd will look at {GITHUB_REPO}#1" in asked.output
    assert "shepherd" in shown.output
    assert "active: wait (0 approval(s) of 1 required" in " ".join(shown.output.split())
    assert moves.exit_code == 0, moves.output
    assert json.loads(moves.output) == []
    assert unknown.exit_code == 1
    assert "no pull request #9" in unknown.output
