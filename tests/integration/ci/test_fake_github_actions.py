"""The fake GitHub's Actions routes, as plain HTTP: what a client that is not githubkit sees."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from orchestrate.testing import FakeGitHub

REPO = "octo/app"


@pytest.fixture
def fake() -> Iterator[FakeGitHub]:
    with FakeGitHub() as github:
        github.add_repository(REPO)
        github.add_workflow(REPO, "ci.yml", name="CI", jobs=[("build", "success", "ok\n")])
        yield github


def _client(fake: FakeGitHub) -> httpx.Client:
    return httpx.Client(
        base_url=f"{fake.api_url}/repos/{REPO}",
        headers={"authorization": f"token {fake.token}"},
    )


def test_dispatch_answers_204_and_queues_a_run(fake: FakeGitHub) -> None:
    with _client(fake) as client:
        response = client.post("/actions/workflows/ci.yml/dispatches", json={"ref": "main"})
        runs = client.get("/actions/runs").json()

    assert response.status_code == 204
    assert response.content == b""
    assert runs["total_count"] == 1
    assert runs["workflow_runs"][0]["event"] == "workflow_dispatch"
    assert runs["workflow_runs"][0]["status"] == "queued"


def test_a_run_moves_queued_in_progress_completed(fake: FakeGitHub) -> None:
    run_id = fake.add_workflow_run(REPO, "ci.yml")

    with _client(fake) as client:
        seen = [client.get(f"/actions/runs/{run_id}").json()["status"]]
        fake.advance_run(REPO, run_id, "in_progress")
        seen.append(client.get(f"/actions/runs/{run_id}").json()["status"])
        fake.advance_run(REPO, run_id, "completed", "cancelled")
        run = client.get(f"/actions/runs/{run_id}").json()

    assert [*seen, run["status"]] == ["queued", "in_progress", "completed"]
    assert run["conclusion"] == "cancelled"


def test_a_run_still_running_cannot_be_rerun(fake: FakeGitHub) -> None:
    run_id = fake.add_workflow_run(REPO, "ci.yml", status="in_progress")

    with _client(fake) as client:
        response = client.post(f"/actions/runs/{run_id}/rerun")

    assert response.status_code == 403


def test_earlier_attempts_keep_how_they_ended(fake: FakeGitHub) -> None:
    run_id = fake.add_workflow_run(REPO, "ci.yml", status="completed", conclusion="failure")

    with _client(fake) as client:
        assert client.post(f"/actions/runs/{run_id}/rerun").status_code == 201
        fake.advance_run(REPO, run_id, "completed")
        first = client.get(f"/actions/runs/{run_id}/attempts/1").json()
        latest = client.get(f"/actions/runs/{run_id}").json()
        all_jobs = client.get(f"/actions/runs/{run_id}/jobs", params={"filter": "all"}).json()

    assert (first["run_attempt"], first["conclusion"]) == (1, "failure")
    assert (latest["run_attempt"], latest["conclusion"]) == (2, "success")
    assert [job["run_attempt"] for job in all_jobs["jobs"]] == [1, 2]


def test_cancel_answers_202_then_409_once_the_run_has_completed(fake: FakeGitHub) -> None:
    run_id = fake.add_workflow_run(REPO, "ci.yml", status="in_progress")

    with _client(fake) as client:
        first = client.post(f"/actions/runs/{run_id}/cancel")
        again = client.post(f"/actions/runs/{run_id}/cancel")
        unknown = client.post("/actions/runs/424242/cancel")
        run = client.get(f"/actions/runs/{run_id}").json()
        jobs = client.get(f"/actions/runs/{run_id}/jobs").json()["jobs"]

    assert (first.status_code, first.json()) == (202, {})
    assert again.status_code == 409
    assert again.json()["message"] == "Cannot cancel a workflow run that is completed."
    assert unknown.status_code == 404
    assert (run["status"], run["conclusion"]) == ("completed", "cancelled")
    assert [(job["status"], job["conclusion"]) for job in jobs] == [("completed", "cancelled")]
