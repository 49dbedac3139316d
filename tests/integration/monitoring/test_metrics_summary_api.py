"""GET /api/monitoring/metrics: the dashboard's summary over data written through the
real services (cost ledger, budgets, the event log, the queue, alert rules); both
databases, with a clock the test moves."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest

from orchestrate.agents.events import AgentCompleted, AgentFailed
from orchestrate.auth.models import Role
from orchestrate.auth.service import Actor
from orchestrate.core.clock import FrozenClock
from orchestrate.core.events import record_event
from orchestrate.core.runtime import Runtime
from orchestrate.costs import service as costs
from orchestrate.monitoring.alerts import service as alerts
from orchestrate.pipelines.events import RunFailed, RunSucceeded
from tests.conftest import app_on
from tests.integration.monitoring.jobs import dead_job, queued_job
from tests.support import bearer, issue_token

NOW = datetime(2026, 12, 7, 9, 30, tzinfo=UTC)
RULES = """\
rules:
  - name: pipeline-failures
    metric: pipeline_runs_failed
    window: 1h
    condition: "> 0"
    for: 0s
    severity: critical
"""


@pytest.fixture
async def rt(frozen_runtime: Runtime, clock: FrozenClock) -> Runtime:
    clock.set(NOW)
    return frozen_runtime


@pytest.fixture
async def client(rt: Runtime) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app_on(rt), client=("203.0.113.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://orchestrate.test") as c:
        yield c


async def spend(rt: Runtime, dollars: str) -> None:
    entry = costs.CostEntry(
        model="m",
        provider="openai",
        agent_id="agent_x",
        agent_type="reviewer",
        input_tokens=1,
        output_tokens=1,
        cache_read_tokens=0,
        cache_write_tokens=0,
        cost_usd=Decimal(dollars),
    )
    async with rt.uow() as uow:
        budgets = await costs.covering_budgets(uow, costs.WorkScope(agent_type="reviewer"))
        await costs.record_call_cost(uow, entry, budgets)
        await uow.commit()


async def runs_end(rt: Runtime, *, failed: int, succeeded: int, agents_failed: int) -> None:
    async with rt.uow() as uow:
        for n in range(failed):
            record_event(uow, RunFailed(subject=f"run_f{n}", pipeline="ci", from_="running"))
        for n in range(succeeded):
            record_event(uow, RunSucceeded(subject=f"run_s{n}", pipeline="ci", from_="running"))
        for n in range(agents_failed):
            record_event(
                uow, AgentFailed(subject=f"agt_f{n}", from_="running", to="failed", type="dev")
            )
        record_event(
            uow, AgentCompleted(subject="agt_ok", from_="running", to="completed", type="dev")
        )
        await uow.commit()


async def summary(client: httpx.AsyncClient, rt: Runtime) -> dict[str, Any]:
    token = await issue_token(rt, "summary-viewer", Role.VIEWER)
    response = await client.get("/api/monitoring/metrics", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_an_empty_platform_has_zeroes_in_every_series(
    rt: Runtime, client: httpx.AsyncClient
) -> None:
    body = await summary(client, rt)

    assert Decimal(body["cost_today_usd"]) == Decimal(body["cost_month_usd"]) == 0
    days = [d["day"] for d in body["cost_by_day"]]
    assert (days[0], days[-1], len(days)) == ("2026-11-24", "2026-12-07", 14)
    assert len(body["pipeline_runs"]) == len(body["agent_runs"]) == 24
    assert body["pipeline_runs"][-1]["hour"] == "2026-12-07T09:00:00Z"
    assert body["pipeline_runs"][0]["hour"] == "2026-12-06T10:00:00Z"
    assert {r["ended"] for r in body["pipeline_runs"]} == {0}
    assert body["queue"] == []
    assert body["alerts"] == {"firing": 0, "pending": 0, "silences_active": 0}
    assert body["budgets"] == []


async def test_costs_are_summed_today_this_month_and_by_day(
    rt: Runtime, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    clock.set(datetime(2026, 11, 30, 12, tzinfo=UTC))  # last month: by day, not this month
    await spend(rt, "4.00")
    clock.set(datetime(2026, 12, 2, 12, tzinfo=UTC))
    await spend(rt, "1.50")
    clock.set(NOW)
    await spend(rt, "0.25")
    await spend(rt, "0.50")

    body = await summary(client, rt)

    assert Decimal(body["cost_today_usd"]) == Decimal("0.75")
    assert Decimal(body["cost_month_usd"]) == Decimal("2.25")
    by_day = {d["day"]: Decimal(d["cost_usd"]) for d in body["cost_by_day"]}
    assert by_day["2026-11-30"] == Decimal("4")
    assert by_day["2026-12-02"] == Decimal("1.5")
    assert by_day["2026-12-01"] == 0


async def test_failure_rates_are_bucketed_by_hour(
    rt: Runtime, clock: FrozenClock, client: httpx.AsyncClient
) -> None:
    clock.set(NOW - timedelta(hours=2))
    await runs_end(rt, failed=1, succeeded=3, agents_failed=0)
    clock.set(NOW)
    await runs_end(rt, failed=2, succeeded=0, agents_failed=1)
    clock.set(NOW - timedelta(hours=30))  # outside the 24 hours
    await runs_end(rt, failed=5, succeeded=0, agents_failed=5)
    clock.set(NOW)

    body = await summary(client, rt)

    pipeline = {r["hour"]: r for r in body["pipeline_runs"]}
    assert pipeline["2026-12-07T07:00:00Z"] == {
        "hour": "2026-12-07T07:00:00Z",
        "ended": 4,
        "failed": 1,
        "failure_rate": 0.25,
    }
    assert pipeline["2026-12-07T09:00:00Z"]["failure_rate"] == 1.0
    assert sum(r["ended"] for r in body["pipeline_runs"]) == 6
    agents = {r["hour"]: r for r in body["agent_runs"]}
    assert agents["2026-12-07T09:00:00Z"]["ended"] == 2
    assert agents["2026-12-07T09:00:00Z"]["failure_rate"] == 0.5


async def test_queue_alerts_silences_and_budgets_are_summarised(
    rt: Runtime, client: httpx.AsyncClient, admin: Actor
) -> None:
    await queued_job(rt, kind="test.waiting")
    await queued_job(rt, kind="test.waiting", n=1)
    await dead_job(rt, kind="test.broken")
    await costs.set_budget(
        rt.uow(), costs.BudgetSpec(limit_usd=Decimal("1"), period=costs.BudgetPeriod.DAILY), admin
    )
    await spend(rt, "0.90")
    await alerts.apply_rules(rt.uow(), "alerts.yml", RULES, admin)
    await runs_end(rt, failed=1, succeeded=0, agents_failed=0)
    await alerts.evaluate(rt)
    await alerts.create_silence(rt.uow(), ["team=platform"], timedelta(hours=1), admin)

    body = await summary(client, rt)

    queue = {q["kind"]: q for q in body["queue"]}
    assert queue["test.waiting"]["depth"] == 2
    assert queue["test.waiting"]["oldest_due_age_seconds"] == 0.0
    assert queue["test.broken"]["dead"] == 1
    # the rule's alert, and the built-in one of a budget past its warning threshold
    assert body["alerts"] == {"firing": 2, "pending": 0, "silences_active": 1}
    [budget] = body["budgets"]
    assert budget["status"] == "warning"
    assert Decimal(budget["spent_usd"]) == Decimal("0.9")
    assert budget["period_ends_at"] == "2026-12-08T00:00:00Z"
