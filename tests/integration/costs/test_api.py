"""``/api/monitoring/costs`` and ``/api/monitoring/budgets`` over HTTP."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from orchestrate.auth.models import Role
from orchestrate.core.runtime import Runtime
from orchestrate.costs import service
from tests.integration.costs.ledger_rows import seed_ledger
from tests.support import bearer

Tokens = dict[Role, str]


@pytest.fixture
async def seeded(runtime: Runtime) -> Runtime:
    await seed_ledger(runtime)
    return runtime


@pytest.mark.usefixtures("seeded")
class TestTheReport:
    async def test_a_viewer_reads_the_costs_by_agent_type_dearest_first(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.get(
            "/api/monitoring/costs",
            params={"by": "agent-type"},
            headers=bearer(tokens[Role.VIEWER]),
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["by"] == "agent-type"
        assert body["since"] is None
        assert body["items"][0] == {
            "key": "story-developer",
            "calls": 3,
            "input_tokens": 3000,
            "output_tokens": 300,
            "cache_read_tokens": 30,
            "cache_write_tokens": 3,
            "cost_usd": "1.750000",
        }
        assert [item["key"] for item in body["items"]] == ["story-developer", "reviewer"]
        assert body["total"]["cost_usd"] == "1.850000"
        assert body["total"]["key"] is None

    async def test_by_day_since_a_date_lists_the_days_in_order(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.get(
            "/api/monitoring/costs",
            params={"since": "2026-12-01"},
            headers=bearer(tokens[Role.VIEWER]),
        )

        assert response.status_code == 200, response.text
        body = response.json()
        assert body["since"] == "2026-12-01T00:00:00Z"
        assert [(i["key"], i["calls"], i["cost_usd"]) for i in body["items"]] == [
            ("2026-12-01", 2, "1.500000"),
            ("2026-12-02", 1, "0.250000"),
        ]

    async def test_calls_without_a_pipeline_share_a_null_key(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        response = await api.get(
            "/api/monitoring/costs",
            params={"by": "pipeline"},
            headers=bearer(tokens[Role.VIEWER]),
        )

        body = response.json()
        assert [(i["key"], i["calls"]) for i in body["items"]] == [("release", 2), (None, 2)]

    @pytest.mark.parametrize(
        "params", [{"by": "colour"}, {"since": "last tuesday"}, {"since": "x" * 65}]
    )
    async def test_a_bad_grouping_or_date_is_a_422_problem(
        self, api: httpx.AsyncClient, tokens: Tokens, params: dict[str, str]
    ) -> None:
        response = await api.get(
            "/api/monitoring/costs", params=params, headers=bearer(tokens[Role.VIEWER])
        )

        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")

    async def test_no_token_no_report(self, api: httpx.AsyncClient) -> None:
        assert (await api.get("/api/monitoring/costs")).status_code == 401


class TestBudgets:
    async def test_an_admin_creates_then_changes_a_budget_and_everyone_reads_it(
        self, seeded: Runtime, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        admin = bearer(tokens[Role.ADMIN])
        body = {
            "limit_usd": "5",
            "period": "monthly",
            "scope": "pipeline",
            "scope_value": "release",
        }

        created = await api.post("/api/monitoring/budgets", json=body, headers=admin)
        changed = await api.post(
            "/api/monitoring/budgets",
            json={**body, "limit_usd": "1", "warn_at": "0.5"},
            headers=admin,
        )
        listed = await api.get("/api/monitoring/budgets", headers=bearer(tokens[Role.VIEWER]))

        assert created.status_code == 201, created.text
        assert changed.status_code == 200, changed.text
        assert changed.json()["id"] == created.json()["id"]
        (budget,) = listed.json()["items"]
        assert budget["scope"] == "pipeline"
        assert budget["scope_value"] == "release"
        assert budget["limit_usd"] == "1.000000"
        assert budget["warn_at"] == "0.5000"
        assert budget["period_end"] > budget["period_start"]
        assert budget["status"] in {"ok", "warning", "exhausted"}

    async def test_only_admins_change_budgets(self, api: httpx.AsyncClient, tokens: Tokens) -> None:
        body = {"limit_usd": "5"}
        for role in (Role.VIEWER, Role.OPERATOR):
            response = await api.post(
                "/api/monitoring/budgets", json=body, headers=bearer(tokens[role])
            )
            assert response.status_code == 403, role
        assert (
            await api.get("/api/monitoring/budgets", headers=bearer(tokens[Role.ADMIN]))
        ).json()["items"] == []

    @pytest.mark.parametrize(
        "body",
        [
            {"limit_usd": "0"},
            {"limit_usd": "-1"},
            {"limit_usd": "5", "warn_at": "2"},
            {"limit_usd": "5", "scope": "agent-type"},
            {"limit_usd": "5", "scope_value": "reviewer"},
            {"limit_usd": "5", "period": "weekly"},
            {"limit_usd": "5", "colour": "red"},
        ],
    )
    async def test_a_budget_that_means_nothing_is_a_422_and_nothing_is_stored(
        self, api: httpx.AsyncClient, tokens: Tokens, body: dict[str, str]
    ) -> None:
        admin = bearer(tokens[Role.ADMIN])
        response = await api.post("/api/monitoring/budgets", json=body, headers=admin)

        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        assert (await api.get("/api/monitoring/budgets", headers=admin)).json()["items"] == []

    async def test_deleting_a_budget_and_one_that_is_not_there(
        self, api: httpx.AsyncClient, tokens: Tokens
    ) -> None:
        admin = bearer(tokens[Role.ADMIN])
        created = await api.post("/api/monitoring/budgets", json={"limit_usd": "5"}, headers=admin)
        budget_id = created.json()["id"]

        assert (
            await api.delete(f"/api/monitoring/budgets/{budget_id}", headers=admin)
        ).status_code == 204
        again = await api.delete(f"/api/monitoring/budgets/{budget_id}", headers=admin)
        assert again.status_code == 404
        assert again.headers["content-type"].startswith("application/problem+json")

    async def test_starting_an_agent_under_a_spent_budget_is_a_409_naming_it(
        self,
        runtime: Runtime,
        api: httpx.AsyncClient,
        tokens: Tokens,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("OPENAI_API_KEY", "test-key")
        async with runtime.uow() as uow:  # $2 spent by story-developers just now
            await service.record_call_cost(uow, entry("story-developer", "2"))
            await uow.commit()
        await api.post(
            "/api/monitoring/budgets",
            json={"limit_usd": "1", "scope": "agent-type", "scope_value": "story-developer"},
            headers=bearer(tokens[Role.ADMIN]),
        )

        response = await api.post(
            "/api/agents",
            json={"type": "story-developer", "task": "fix it", "provider": "openai", "model": "m"},
            headers=bearer(tokens[Role.OPERATOR]),
        )

        assert response.status_code == 409, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        detail = response.json()["detail"]
        assert "The monthly budget of agent type 'story-developer' is spent" in detail
        assert "$2.000000 of $1.000000" in detail
        listed = await api.get("/api/agents", headers=bearer(tokens[Role.ADMIN]))
        assert listed.json()["items"] == [], "nothing was created"


def entry(agent_type: str, dollars: str) -> service.CostEntry:
    return service.CostEntry(
        model="m",
        provider="openai",
        agent_id="agent_x",
        agent_type=agent_type,
        input_tokens=1,
        output_tokens=1,
        cache_read_tokens=0,
        cache_write_tokens=0,
        cost_usd=Decimal(dollars),
    )
