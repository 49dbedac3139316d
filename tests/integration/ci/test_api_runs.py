"""``/api/ci``: runs in pages, a run, its logs, triggering, re-running, cancelling, problems."""

from __future__ import annotations

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.testing import FakeJob
from tests.integration.ci.conftest import PROJECT, REPO, SLUG, Platforms
from tests.integration.web.test_problems import assert_problem
from tests.support import bearer

Tokens = dict[Role, str]


@pytest.mark.usefixtures("stored_tokens")
class TestWithTokens:
    async def test_runs_come_in_pages_a_cursor_walks(
        self, api: httpx.AsyncClient, tokens: Tokens, platforms: Platforms
    ) -> None:
        ids = [platforms.github.add_workflow_run(REPO, "ci.yml") for _ in range(3)]
        viewer = bearer(tokens[Role.VIEWER])

        first = await api.get("/api/ci/runs", params={"limit": 2}, headers=viewer)
        cursor = first.json()["next_cursor"]
        second = await api.get(
            "/api/ci/runs", params={"limit": 2, "cursor": cursor}, headers=viewer
        )

        assert first.status_code == second.status_code == 200
        assert set(first.json()) == {"items", "next_cursor"}
        walked = [run["id"] for page in (first, second) for run in page.json()["items"]]
        assert walked == [str(i) for i in reversed(ids)]
        assert second.json()["next_cursor"] is None

    async def test_runs_filter_by_status_and_branch_on_gitlab(
        self, api: httpx.AsyncClient, tokens: Tokens, platforms: Platforms
    ) -> None:
        sha = platforms.gitlab.branch_sha(PROJECT, "main")
        assert sha is not None
        platforms.gitlab.add_pipeline(PROJECT, sha, [FakeJob("build")], ref="main")
        platforms.gitlab.add_pipeline(PROJECT, sha, [FakeJob("build", "running")], ref="main")

        response = await api.get(
            "/api/ci/runs",
            params={"provider": "gitlab", "repo": PROJECT, "status": "completed", "branch": "main"},
            headers=bearer(tokens[Role.VIEWER]),
        )

        assert response.status_code == 200, response.text
        found = response.json()["items"]
        assert [(run["provider"], run["conclusion"]) for run in found] == [("gitlab", "success")]

    async def test_a_run_with_its_jobs_and_a_jobs_log_as_text(
        self, api: httpx.AsyncClient, tokens: Tokens, platforms: Platforms
    ) -> None:
        run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="completed")
        viewer = bearer(tokens[Role.VIEWER])

        shown = await api.get(f"/api/ci/runs/{run_id}", headers=viewer)
        log = await api.get(f"/api/ci/runs/{run_id}/logs", params={"job": "test"}, headers=viewer)

        assert shown.status_code == 200, shown.text
        assert shown.json()["run"]["conclusion"] == "failure"
        assert [job["name"] for job in shown.json()["jobs"]] == ["lint", "test"]
        assert log.status_code == 200
        assert log.headers["content-type"].startswith("text/plain")
        assert log.text == "FAILED test_y\n"

    async def test_an_operator_triggers_and_gets_the_run(
        self, api: httpx.AsyncClient, tokens: Tokens, platforms: Platforms
    ) -> None:
        document = {"workflow": "ci.yml", "ref": "main", "inputs": {"suite": "smoke"}}

        response = await api.post(
            "/api/ci/trigger", json=document, headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 201, response.text
        created = platforms.github.workflow_runs(REPO)[-1]
        assert response.json()["id"] == str(created.id)
        assert created.inputs == {"suite": "smoke"}

    async def test_triggering_on_circleci(
        self, api: httpx.AsyncClient, tokens: Tokens, platforms: Platforms
    ) -> None:
        document = {"provider": "circleci", "repo": SLUG, "ref": "main"}

        response = await api.post(
            "/api/ci/trigger", json=document, headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 201, response.text
        assert response.json()["workflow"] == "build"

    async def test_rerunning_the_failed_jobs_counts_the_attempt_up(
        self, api: httpx.AsyncClient, tokens: Tokens, platforms: Platforms
    ) -> None:
        run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="completed")

        response = await api.post(
            f"/api/ci/runs/{run_id}/rerun",
            json={"failed_only": True},
            headers=bearer(tokens[Role.OPERATOR]),
        )

        assert response.status_code == 200, response.text
        assert response.json()["attempt"] == 2

    async def test_a_viewer_may_not_trigger(self, api: httpx.AsyncClient, tokens: Tokens) -> None:
        response = await api.post(
            "/api/ci/trigger",
            json={"workflow": "ci.yml", "ref": "main"},
            headers=bearer(tokens[Role.VIEWER]),
        )

        assert_problem(response, 403)

    async def test_an_unknown_provider_is_a_422(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.get(
            "/api/ci/runs", params={"provider": "jenkins"}, headers=bearer(tokens[Role.VIEWER])
        )

        assert "jenkins" in assert_problem(response, 422)["detail"]

    async def test_bad_input_is_a_422(self, api: httpx.AsyncClient, tokens: Tokens) -> None:
        operator = bearer(tokens[Role.OPERATOR])

        no_ref = await api.post("/api/ci/trigger", json={"workflow": "ci.yml"}, headers=operator)
        bad_status = await api.get("/api/ci/runs", params={"status": "sideways"}, headers=operator)
        bad_cursor = await api.get(
            "/api/ci/runs", params={"cursor": "not-a-cursor"}, headers=operator
        )
        bad_id = await api.get("/api/ci/runs/abc/logs", headers=operator)

        for response in (no_ref, bad_status, bad_cursor, bad_id):
            assert_problem(response, 422)

    async def test_an_unknown_run_is_a_404(self, api: httpx.AsyncClient, tokens: Tokens) -> None:
        response = await api.get("/api/ci/runs/999999", headers=bearer(tokens[Role.VIEWER]))

        assert_problem(response, 404)

    async def test_a_failing_platform_is_a_502_naming_it(
        self, api: httpx.AsyncClient, tokens: Tokens, platforms: Platforms
    ) -> None:
        platforms.circleci.fail_next(500)

        response = await api.post(
            "/api/ci/trigger",
            json={"provider": "circleci", "repo": SLUG, "ref": "main"},
            headers=bearer(tokens[Role.OPERATOR]),
        )

        problem = assert_problem(response, 502)
        assert problem["provider"] == "circleci"
        assert problem["status"] == 502


async def test_a_missing_token_is_a_422_naming_the_secret(
    api: httpx.AsyncClient, tokens: Tokens
) -> None:
    response = await api.get("/api/ci/runs", headers=bearer(tokens[Role.VIEWER]))

    problem = assert_problem(response, 422)
    assert "orchestrate secret set GITHUB_TOKEN" in problem["detail"]


@pytest.mark.usefixtures("stored_tokens")
async def test_rerunning_one_job_by_name(
    api: httpx.AsyncClient, tokens: Tokens, platforms: Platforms
) -> None:
    run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="completed")

    response = await api.post(
        f"/api/ci/runs/{run_id}/rerun",
        json={"job": "test"},
        headers=bearer(tokens[Role.OPERATOR]),
    )
    unknown = await api.post(
        f"/api/ci/runs/{run_id}/rerun",
        json={"job": "deploy"},
        headers=bearer(tokens[Role.OPERATOR]),
    )

    assert response.status_code == 200, response.text
    assert response.json()["attempt"] == 2
    latest = [j for j in platforms.github.workflow_run(REPO, run_id).jobs if j.run_attempt == 2]
    assert {job.name: job.status for job in latest} == {"lint": "completed", "test": "queued"}
    assert "its jobs: lint" in assert_problem(unknown, 404)["detail"]


@pytest.mark.usefixtures("stored_tokens")
class TestCancel:
    async def test_an_operator_cancels_a_running_run(
        self, api: httpx.AsyncClient, tokens: Tokens, platforms: Platforms
    ) -> None:
        run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="in_progress")

        response = await api.post(
            f"/api/ci/runs/{run_id}/cancel", headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["conclusion"]) == (
            "completed",
            "cancelled",
        )
        assert platforms.github.workflow_run(REPO, run_id).conclusion == "cancelled"

    async def test_the_body_names_the_platform(
        self, api: httpx.AsyncClient, tokens: Tokens, platforms: Platforms
    ) -> None:
        workflow = platforms.circleci.workflows_of(platforms.circleci.add_pipeline(SLUG))[0]

        response = await api.post(
            f"/api/ci/runs/{workflow}/cancel",
            json={"provider": "circleci", "repo": SLUG},
            headers=bearer(tokens[Role.OPERATOR]),
        )

        assert response.status_code == 200, response.text
        assert (response.json()["provider"], response.json()["conclusion"]) == (
            "circleci",
            "cancelled",
        )

    async def test_a_run_that_ended_comes_back_as_it_ended(
        self, api: httpx.AsyncClient, tokens: Tokens, platforms: Platforms
    ) -> None:
        run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="completed")

        response = await api.post(
            f"/api/ci/runs/{run_id}/cancel", json={}, headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 200, response.text
        assert response.json()["conclusion"] == "failure"

    async def test_a_viewer_may_not_cancel(
        self, api: httpx.AsyncClient, tokens: Tokens, platforms: Platforms
    ) -> None:
        run_id = platforms.github.add_workflow_run(REPO, "ci.yml", status="in_progress")

        response = await api.post(
            f"/api/ci/runs/{run_id}/cancel", headers=bearer(tokens[Role.VIEWER])
        )

        assert_problem(response, 403)
        assert platforms.github.workflow_run(REPO, run_id).status == "in_progress"

    async def test_problems_an_unknown_run_a_bad_id_an_unknown_field(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        operator = bearer(tokens[Role.OPERATOR])

        unknown = await api.post("/api/ci/runs/424242/cancel", headers=operator)
        bad_id = await api.post("/api/ci/runs/abc/cancel", headers=operator)
        bad_body = await api.post(
            "/api/ci/runs/1/cancel", json={"failed_only": True}, headers=operator
        )

        assert_problem(unknown, 404)
        assert_problem(bad_id, 422)
        assert_problem(bad_body, 422)
