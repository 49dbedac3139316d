"""The jobs API: list, show, retry and cancel background jobs."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from tests.integration.monitoring.jobs import dead_job, queued_job
from tests.support import bearer

CLIENT_ADDRESS = "203.0.113.7"


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


class TestListAndShow:
    async def test_jobs_are_listed_newest_first(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        ids = [await queued_job(runtime, n=n) for n in range(3)]

        response = await api.get("/api/jobs", headers=bearer(tokens[Role.VIEWER]))

        assert response.status_code == 200
        page = response.json()
        assert [j["id"] for j in page["items"]] == list(reversed(ids))
        assert page["next_cursor"] is None

    async def test_pages_are_walked_with_next_cursor(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        ids = [await queued_job(runtime, n=n) for n in range(5)]

        seen: list[str] = []
        params: dict[str, str | int] = {"limit": 2}
        while True:
            page = (
                await api.get("/api/jobs", params=params, headers=bearer(tokens[Role.VIEWER]))
            ).json()
            seen += [j["id"] for j in page["items"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]

        assert seen == list(reversed(ids))

    async def test_jobs_can_be_filtered_by_status_and_kind(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        dead = await dead_job(runtime)
        queued = await queued_job(runtime, "test.other")
        viewer = bearer(tokens[Role.VIEWER])

        by_status = await api.get("/api/jobs?status=dead", headers=viewer)
        by_kind = await api.get("/api/jobs?kind=test.other", headers=viewer)

        assert [j["id"] for j in by_status.json()["items"]] == [dead]
        assert [j["id"] for j in by_kind.json()["items"]] == [queued]

    async def test_an_unknown_status_is_a_422_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.get("/api/jobs?status=exploded", headers=bearer(tokens[Role.VIEWER]))

        assert_problem(response, 422)

    async def test_one_job_is_shown_with_payload_attempts_and_last_error(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        job_id = await dead_job(runtime)

        response = await api.get(f"/api/jobs/{job_id}", headers=bearer(tokens[Role.VIEWER]))

        assert response.status_code == 200
        job = response.json()
        assert (job["id"], job["kind"], job["status"]) == (job_id, "test.broken", "dead")
        assert job["attempts"] == 1
        assert "the payload points at nothing" in job["last_error"]
        assert job["finished_at"] is not None

    async def test_an_unknown_job_is_a_404_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.get("/api/jobs/job_nope", headers=bearer(tokens[Role.VIEWER]))

        assert assert_problem(response, 404)["job_id"] == "job_nope"


class TestRetryAndCancel:
    async def test_an_operator_retries_a_dead_job_with_fresh_attempts(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        job_id = await dead_job(runtime)

        response = await api.post(
            f"/api/jobs/{job_id}/retry", headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 200
        assert (response.json()["status"], response.json()["attempts"]) == ("queued", 0)
        shown = await api.get(f"/api/jobs/{job_id}", headers=bearer(tokens[Role.VIEWER]))
        assert shown.json()["status"] == "queued"

    async def test_a_retry_is_audited_with_the_token_and_client_address(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        job_id = await dead_job(runtime)
        await api.post(f"/api/jobs/{job_id}/retry", headers=bearer(tokens[Role.OPERATOR]))

        audit = await api.get(f"/api/audit?subject={job_id}", headers=bearer(tokens[Role.VIEWER]))

        [record] = audit.json()["items"]
        assert (record["actor"], record["action"], record["source"]) == (
            "token:test-operator",
            "job.retry",
            CLIENT_ADDRESS,
        )
        assert record["details"] == {"kind": "test.broken"}

    async def test_a_viewer_cannot_retry_and_the_job_stays_dead(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        job_id = await dead_job(runtime)

        response = await api.post(f"/api/jobs/{job_id}/retry", headers=bearer(tokens[Role.VIEWER]))

        assert_problem(response, 403)
        shown = await api.get(f"/api/jobs/{job_id}", headers=bearer(tokens[Role.VIEWER]))
        assert shown.json()["status"] == "dead"

    async def test_retrying_a_queued_job_is_a_409_problem(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        job_id = await queued_job(runtime)

        response = await api.post(
            f"/api/jobs/{job_id}/retry", headers=bearer(tokens[Role.OPERATOR])
        )

        body = assert_problem(response, 409)
        assert body["status"] == 409
        assert "only dead or cancelled" in body["detail"]

    async def test_retrying_an_unknown_job_is_a_404_problem(
        self, api: httpx.AsyncClient, tokens: dict[Role, str]
    ) -> None:
        response = await api.post("/api/jobs/job_nope/retry", headers=bearer(tokens[Role.ADMIN]))

        assert_problem(response, 404)

    async def test_an_operator_cancels_a_queued_job_and_it_is_audited(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        job_id = await queued_job(runtime)

        response = await api.post(
            f"/api/jobs/{job_id}/cancel", headers=bearer(tokens[Role.OPERATOR])
        )

        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
        audit = await api.get("/api/audit?action=job.cancel", headers=bearer(tokens[Role.ADMIN]))
        assert [r["subject"] for r in audit.json()["items"]] == [job_id]

    async def test_a_cancelled_job_can_be_retried(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        job_id = await queued_job(runtime)
        operator = bearer(tokens[Role.OPERATOR])
        await api.post(f"/api/jobs/{job_id}/cancel", headers=operator)

        response = await api.post(f"/api/jobs/{job_id}/retry", headers=operator)

        assert response.json()["status"] == "queued"

    @pytest.mark.parametrize("role", [Role.OPERATOR, Role.ADMIN])
    async def test_cancelling_a_dead_job_is_a_409_problem(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str], role: Role
    ) -> None:
        job_id = await dead_job(runtime)

        response = await api.post(f"/api/jobs/{job_id}/cancel", headers=bearer(tokens[role]))

        assert "only queued jobs" in assert_problem(response, 409)["detail"]

    async def test_a_viewer_cannot_cancel(
        self, api: httpx.AsyncClient, runtime: Runtime, tokens: dict[Role, str]
    ) -> None:
        job_id = await queued_job(runtime)

        response = await api.post(f"/api/jobs/{job_id}/cancel", headers=bearer(tokens[Role.VIEWER]))

        assert_problem(response, 403)
        shown = await api.get(f"/api/jobs/{job_id}", headers=bearer(tokens[Role.VIEWER]))
        assert shown.json()["status"] == "queued"
