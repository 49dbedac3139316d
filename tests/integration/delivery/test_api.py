"""``/api/pull-requests``: any token reads, operators and admins open and merge, bad input
and refusals are 4xx problems saying why (SQLite and PostgreSQL, the fake GitHub)."""

from __future__ import annotations

import httpx

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from orchestrate.testing import Failure, FakeGitHub
from tests.integration.agents.conftest import AgentRunner
from tests.integration.delivery.conftest import (
    GITHUB_REPO,
    NOTHING_DONE,
    Fixers,
    Project,
    new_story,
    run_agent,
    work,
)
from tests.support import bearer

Tokens = dict[Role, str]
BASE = f"/api/pull-requests/{GITHUB_REPO}"


def assert_problem(response: httpx.Response, status: int, detail: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert detail in response.json()["detail"]


class TestOpening:
    async def test_an_operator_opens_one_and_asking_again_returns_it(
        self,
        api: httpx.AsyncClient,
        tokens: Tokens,
        runtime: Runtime,
        project: Project,
        on_github: FakeGitHub,
    ) -> None:
        story = await new_story(runtime)
        run = await run_agent(runtime, project, story=story.id)
        operator = bearer(tokens[Role.OPERATOR])

        first = await api.post("/api/pull-requests", json={"agent_id": run.id}, headers=operator)
        second = await api.post("/api/pull-requests", json={"agent_id": run.id}, headers=operator)

        assert first.status_code == 201, first.text
        assert second.status_code == 200, second.text
        body = first.json()
        assert (body["repository"], body["branch"], body["state"]) == (
            GITHUB_REPO,
            run.branch,
            "open",
        )
        assert (body["story_id"], body["agent_id"]) == (story.id, run.id)
        assert second.json()["number"] == body["number"]
        assert len(on_github.pull_requests(GITHUB_REPO)) == 1

    async def test_a_viewer_may_not_open_one(
        self,
        api: httpx.AsyncClient,
        tokens: Tokens,
        runtime: Runtime,
        project: Project,
        on_github: FakeGitHub,
    ) -> None:
        run = await run_agent(runtime, project)

        response = await api.post(
            "/api/pull-requests", json={"agent_id": run.id}, headers=bearer(tokens[Role.VIEWER])
        )

        assert response.status_code == 403, response.text
        assert on_github.pull_requests(GITHUB_REPO) == []

    async def test_agents_with_nothing_to_deliver_are_refused_saying_why(
        self,
        api: httpx.AsyncClient,
        tokens: Tokens,
        runtime: Runtime,
        project: Project,
        on_github: FakeGitHub,
    ) -> None:
        operator = bearer(tokens[Role.OPERATOR])
        idle = await run_agent(runtime, project, script=NOTHING_DONE)
        waiting = AgentRunner(runtime, provider=None)  # type: ignore[arg-type]
        not_started = await waiting.start(repo=project.work_tree)

        no_commit = await api.post(
            "/api/pull-requests", json={"agent_id": idle.id}, headers=operator
        )
        unfinished = await api.post(
            "/api/pull-requests", json={"agent_id": not_started.id}, headers=operator
        )
        unknown = await api.post(
            "/api/pull-requests", json={"agent_id": "agent_nope"}, headers=operator
        )
        malformed = await api.post("/api/pull-requests", json={"agent": idle.id}, headers=operator)

        assert_problem(no_commit, 409, "made no commit")
        assert_problem(unfinished, 409, "only a completed agent")
        assert unknown.status_code == 404, unknown.text
        assert malformed.status_code == 422, malformed.text


class TestReading:
    async def test_list_filters_and_pages_and_get_refreshes(
        self,
        api: httpx.AsyncClient,
        tokens: Tokens,
        runtime: Runtime,
        project: Project,
        on_github: FakeGitHub,
    ) -> None:
        operator, viewer = bearer(tokens[Role.OPERATOR]), bearer(tokens[Role.VIEWER])
        for _ in range(2):
            run = await run_agent(runtime, project)
            await api.post("/api/pull-requests", json={"agent_id": run.id}, headers=operator)

        first = await api.get("/api/pull-requests", params={"limit": 1}, headers=viewer)
        rest = await api.get(
            "/api/pull-requests",
            params={"limit": 1, "cursor": first.json()["next_cursor"]},
            headers=viewer,
        )
        elsewhere = await api.get(
            "/api/pull-requests", params={"repository": "octo/other"}, headers=viewer
        )
        shown = await api.get(f"{BASE}/1", headers=viewer)
        missing = await api.get(f"{BASE}/99", headers=viewer)
        bad_state = await api.get("/api/pull-requests", params={"state": "lost"}, headers=viewer)

        assert [p["number"] for p in first.json()["items"]] == [2]
        assert [p["number"] for p in rest.json()["items"]] == [1]
        assert rest.json()["next_cursor"] is None
        assert elsewhere.json()["items"] == []
        assert shown.status_code == 200, shown.text
        assert shown.json()["fresh"] is True
        assert shown.json()["checks"]["total"] == 0
        assert_problem(missing, 404, "opened no pull request #99")
        assert bad_state.status_code == 422


class TestMerging:
    async def test_not_ready_then_refused_with_the_forges_reason_then_merged(
        self,
        api: httpx.AsyncClient,
        tokens: Tokens,
        runtime: Runtime,
        project: Project,
        on_github: FakeGitHub,
    ) -> None:
        operator = bearer(tokens[Role.OPERATOR])
        run = await run_agent(runtime, project)
        await api.post("/api/pull-requests", json={"agent_id": run.id}, headers=operator)

        waiting = await api.post(f"{BASE}/1/merge", json={}, headers=operator)
        on_github.add_review(GITHUB_REPO, 1, user="alice", verdict="APPROVED")
        on_github.fail_next(Failure(405, "Protected branch", method="PUT", path_contains="/merge"))
        refused = await api.post(f"{BASE}/1/merge", json={}, headers=operator)
        bad_method = await api.post(
            f"{BASE}/1/merge", json={"method": "fast-forward"}, headers=operator
        )
        by_viewer = await api.post(f"{BASE}/1/merge", json={}, headers=bearer(tokens[Role.VIEWER]))
        merged = await api.post(f"{BASE}/1/merge", json={"method": "rebase"}, headers=operator)

        assert_problem(waiting, 409, "approval")
        assert_problem(refused, 409, "The forge refused to merge octo/app#1: Protected branch")
        assert bad_method.status_code == 422
        assert by_viewer.status_code == 403
        assert merged.status_code == 200, merged.text
        assert merged.json()["state"] == "merged"
        assert on_github.pull_request(GITHUB_REPO, 1).merged


class TestShepherd:
    async def test_operators_ask_for_a_look_anyone_reads_the_moves(
        self,
        api: httpx.AsyncClient,
        tokens: Tokens,
        runtime: Runtime,
        project: Project,
        on_github: FakeGitHub,
    ) -> None:
        await run_agent(runtime, project)
        await work(runtime, Fixers())

        asked = await api.post(f"{BASE}/1/shepherd", headers=bearer(tokens[Role.OPERATOR]))
        refused = await api.post(f"{BASE}/1/shepherd", headers=bearer(tokens[Role.VIEWER]))
        moves = await api.get(f"{BASE}/1/moves", headers=bearer(tokens[Role.VIEWER]))
        unknown = await api.get(f"{BASE}/9/moves", headers=bearer(tokens[Role.VIEWER]))

        assert asked.status_code == 202, asked.text
        shepherd = asked.json()["shepherd"]
        assert (shepherd["state"], shepherd["move"]) == ("active", "wait")
        assert refused.status_code == 403
        assert moves.status_code == 200, moves.text
        assert moves.json() == []
        assert_problem(unknown, 404, "no pull request #9")
