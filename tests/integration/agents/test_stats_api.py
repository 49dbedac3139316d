"""``GET /api/monitoring/agents``: the analytics over HTTP, for any role that can read."""

from __future__ import annotations

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from tests.integration.agents.stats_rows import seed_runs
from tests.support import bearer

Tokens = dict[Role, str]
PATH = "/api/monitoring/agents"


@pytest.fixture
async def seeded(runtime: Runtime) -> Runtime:
    await seed_runs(runtime)
    return runtime


async def test_a_viewer_reads_the_figures_per_type_and_model(
    seeded: Runtime, api: httpx.AsyncClient, tokens: Tokens
) -> None:
    response = await api.get(
        PATH, params={"type": "developer"}, headers=bearer(tokens[Role.VIEWER])
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["since"], body["type"], body["model"]) == (None, "developer", None)
    assert [(item["type"], item["model"]) for item in body["items"]] == [
        ("developer", "m-large"),
        ("developer", "m-small"),
    ]
    assert body["items"][0] == {
        "type": "developer",
        "model": "m-large",
        "runs": 4,
        "completed": 2,
        "failed": 1,
        "cancelled": 1,
        "active": 1,
        "success_rate": 0.5,
        "median_turns": 3.0,
        "p90_turns": pytest.approx(5.4),
        "median_duration_seconds": 20.0,
        "p90_duration_seconds": 36.0,
        "input_tokens": 600,
        "output_tokens": 60,
        "total_cost_usd": "0.600001",
        "mean_cost_usd": "0.150000",
    }
    total = body["total"]
    assert (total["runs"], total["completed"], total["success_rate"]) == (5, 3, 0.6)
    assert total["total_cost_usd"] == "0.610001"
    assert "type" not in total


async def test_since_and_model_are_applied_and_echoed_in_utc(
    seeded: Runtime, api: httpx.AsyncClient, tokens: Tokens
) -> None:
    response = await api.get(
        PATH,
        params={"since": "2026-11-01T01:00:00+01:00", "model": "m-small"},
        headers=bearer(tokens[Role.VIEWER]),
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["since"] == "2026-11-01T00:00:00Z"
    assert [item["type"] for item in body["items"]] == ["developer", "reviewer"]
    reviewer = body["items"][1]
    assert (reviewer["runs"], reviewer["active"], reviewer["success_rate"]) == (0, 2, None)
    assert reviewer["mean_cost_usd"] is None


async def test_a_bad_since_is_a_problem_not_a_crash(api: httpx.AsyncClient, tokens: Tokens) -> None:
    response = await api.get(
        PATH, params={"since": "last week"}, headers=bearer(tokens[Role.VIEWER])
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert "'last week'" in problem["detail"]
    assert problem["since"] == "last week"


async def test_an_overlong_type_is_refused_by_validation(
    api: httpx.AsyncClient, tokens: Tokens
) -> None:
    response = await api.get(PATH, params={"type": "x" * 101}, headers=bearer(tokens[Role.VIEWER]))

    assert response.status_code == 422
    assert response.json()["type"] == "urn:orchestrate:problem:invalid-request"


async def test_without_a_token_it_is_401(api: httpx.AsyncClient) -> None:
    response = await api.get(PATH)

    assert response.status_code == 401
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_nul_character_in_a_filter_is_no_server_error(
    api: httpx.AsyncClient, tokens: Tokens
) -> None:
    response = await api.get(PATH, params={"type": "dev\x00"}, headers=bearer(tokens[Role.VIEWER]))

    # SQLite compares it (nothing matches); PostgreSQL refuses the value: the client's 422.
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        assert response.json()["items"] == []
