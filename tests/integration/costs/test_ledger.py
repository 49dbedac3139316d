"""The cost ledger and budgets with real agents on the real job runner, both databases.

Every model call of the scripted model costs ``CALL`` (8,000 output tokens at $2 a
million = $0.016), so what the ledger and the budgets hold can be counted exactly.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from orchestrate.agents import service as agents
from orchestrate.agents.models import AgentState
from orchestrate.auth.service import Actor
from orchestrate.core.events import EventFilter, read_events
from orchestrate.core.runtime import Runtime
from orchestrate.costs import service
from orchestrate.costs.models import BudgetPeriod, BudgetScope, BudgetSpec
from orchestrate.llm.models import ToolResultBlock, Usage
from orchestrate.testing.scripted import (
    ScriptedProvider,
    Step,
    finish,
    tool_call,
    tool_calls,
    tool_use,
)
from tests.integration.agents.tree_support import TreeWorker, add_tree_types, start_root

PRICE = Decimal(2)  # USD per million output tokens
USAGE = Usage(input_tokens=100, output_tokens=8000, cache_read_tokens=50)
CALL = Decimal("0.016")


@pytest.fixture
def priced(runtime: Runtime, repo: Path) -> Runtime:
    runtime.settings = runtime.settings.model_copy(
        update={"pricing": {"scripted-model": {"input": 0, "output": PRICE}}}
    )
    add_tree_types(repo)
    return runtime


def spawn(agent_type: str, task: str) -> dict[str, object]:
    return {"type": agent_type, "task": task}


def bash_calls(count: int) -> list[Step]:
    return [tool_call("bash", {"command": f"echo {n}"}, usage=USAGE) for n in range(count)]


async def budget(
    runtime: Runtime,
    limit: str,
    *,
    period: BudgetPeriod = BudgetPeriod.MONTHLY,
    scope: BudgetScope = BudgetScope.GLOBAL,
    scope_value: str = "",
    warn_at: Decimal = Decimal("0.8"),
) -> service.Budget:
    spec = BudgetSpec(Decimal(limit), period, scope, scope_value, warn_at)
    return (await service.set_budget(runtime.uow(), spec, Actor.local_cli())).budget


async def events(runtime: Runtime, pattern: str) -> list[dict[str, object]]:
    async with runtime.uow(read_only=True) as uow:
        found = await read_events(uow.session, only=EventFilter(types=(pattern,)), limit=1000)
    return [dict(event.payload) for event in found]


class TestTheLedger:
    async def test_each_model_call_of_a_tree_is_one_entry_under_its_own_agent_type(
        self, priced: Runtime, repo: Path
    ) -> None:
        scripts: dict[str, list[Step]] = {
            "lead": [
                tool_calls(tool_use("spawn_agent", spawn("worker", "leaf")), usage=USAGE),
                finish("completed", "done", usage=USAGE),
            ],
            "leaf": [*bash_calls(2), finish("completed", "leaf done", usage=USAGE)],
        }
        worker = TreeWorker(priced, scripts)
        root = await start_root(priced, repo, "lead")

        await worker.run_until_idle()

        by_type = await service.cost_report(
            priced.uow(read_only=True), service.CostGrouping.AGENT_TYPE
        )
        lines = {line.key: line for line in by_type.lines}
        assert set(lines) == {"delegator", "worker"}
        assert (lines["delegator"].calls, lines["delegator"].cost_usd) == (2, 2 * CALL)
        assert (lines["worker"].calls, lines["worker"].cost_usd) == (3, 3 * CALL)
        assert [line.key for line in by_type.lines] == ["worker", "delegator"], "dearest first"
        assert by_type.total.calls == 5
        assert by_type.total.input_tokens == 500
        assert by_type.total.output_tokens == 40_000
        assert by_type.total.cache_read_tokens == 250
        assert by_type.total.cost_usd == 5 * CALL
        root_run = await agents.get_agent(priced.uow(read_only=True), root.id)
        assert root_run.tree.cost_usd == by_type.total.cost_usd, "the ledger agrees with the runs"

        by_model = await service.cost_report(priced.uow(read_only=True), service.CostGrouping.MODEL)
        assert [(line.key, line.calls) for line in by_model.lines] == [("scripted-model", 5)]
        by_day = await service.cost_report(priced.uow(read_only=True), service.CostGrouping.DAY)
        assert [line.key for line in by_day.lines] == [f"{priced.clock.now():%Y-%m-%d}"]
        by_story = await service.cost_report(priced.uow(read_only=True), service.CostGrouping.STORY)
        assert [(line.key, line.calls) for line in by_story.lines] == [(None, 5)]

    async def test_since_leaves_out_older_calls(self, priced: Runtime, repo: Path) -> None:
        worker = TreeWorker(priced, {"solo": [finish("completed", "done", usage=USAGE)]})
        await start_root(priced, repo, "solo", agent_type="worker")
        await worker.run_until_idle()

        later = priced.clock.now().replace(year=priced.clock.now().year + 1)
        report = await service.cost_report(priced.uow(read_only=True), since=later)

        assert report.lines == ()
        assert report.total.calls == 0

    async def test_entries_outlive_the_agent_run(self, priced: Runtime, repo: Path) -> None:
        worker = TreeWorker(priced, {"solo": [finish("completed", "done", usage=USAGE)]})
        run = await start_root(priced, repo, "solo", agent_type="worker")
        await worker.run_until_idle()

        await agents.delete_agent(priced.uow(), run.id, Actor.local_cli())

        report = await service.cost_report(priced.uow(read_only=True))
        assert report.total.cost_usd == CALL


class TestBudgets:
    async def test_a_budget_set_mid_period_counts_what_was_spent_so_far(
        self, priced: Runtime, repo: Path
    ) -> None:
        worker = TreeWorker(
            priced, {"solo": [*bash_calls(2), finish("completed", "d", usage=USAGE)]}
        )
        await start_root(priced, repo, "solo", agent_type="worker")
        await worker.run_until_idle()

        monthly = await budget(priced, "1", scope=BudgetScope.AGENT_TYPE, scope_value="worker")
        daily = await budget(priced, "1", period=BudgetPeriod.DAILY)
        other = await budget(priced, "1", scope=BudgetScope.AGENT_TYPE, scope_value="delegator")

        assert monthly.spent_micros == daily.spent_micros == 48_000  # 3 calls of $0.016
        assert other.spent_micros == 0

    async def test_setting_the_same_scope_and_period_again_changes_the_limit(
        self, priced: Runtime
    ) -> None:
        first = await service.set_budget(priced.uow(), BudgetSpec(Decimal(5)), Actor.local_cli())
        second = await service.set_budget(
            priced.uow(), BudgetSpec(Decimal(9), warn_at=Decimal("0.5")), Actor.local_cli()
        )

        assert (first.is_new, second.is_new) == (True, False)
        assert second.budget.id == first.budget.id
        (only,) = await service.list_budgets(priced.uow(read_only=True))
        assert (only.limit_usd, only.warn_at) == (Decimal(9), Decimal("0.5"))

    async def test_a_spent_budget_stops_its_agent_at_the_next_turn_and_refuses_new_work(
        self, priced: Runtime, repo: Path
    ) -> None:
        limit = Decimal("0.05")  # 3 calls reach $0.048, the 4th $0.064
        spent = await budget(priced, str(limit), scope=BudgetScope.AGENT_TYPE, scope_value="worker")
        worker = TreeWorker(priced, {"greedy": bash_calls(50)})
        run = await start_root(priced, repo, "greedy", agent_type="worker")

        await worker.run_until_idle()

        stopped = await agents.get_agent(priced.uow(read_only=True), run.id)
        assert stopped.state is AgentState.FAILED
        assert stopped.turns == 4, "the call that crossed the limit was the last"
        assert stopped.failure_reason is not None
        assert "The monthly budget of agent type 'worker' is spent" in stopped.failure_reason
        (after,) = await service.list_budgets(priced.uow(read_only=True))
        assert after.spent_micros == 64_000
        with pytest.raises(service.BudgetExhausted, match=r"is spent: \$0.064000 of \$0.050000"):
            await start_root(priced, repo, "greedy", agent_type="worker")
        # Another type is not under this budget.
        other = await start_root(priced, repo, "lead", agent_type="delegator")
        assert other.state is AgentState.CREATED
        assert spent.id == after.id

    async def test_the_warning_and_the_limit_are_each_announced_once(
        self, priced: Runtime, repo: Path
    ) -> None:
        spent = await budget(priced, "0.05", warn_at=Decimal("0.5"))
        worker = TreeWorker(priced, {"greedy": bash_calls(50)})
        await start_root(priced, repo, "greedy", agent_type="worker")

        await worker.run_until_idle()

        warnings = await events(priced, "cost.budget_warning")
        limits = await events(priced, "cost.budget_exhausted")
        assert len(warnings) == 1
        assert warnings[0]["spent_usd"] == "0.032000", "the second call passed $0.025"
        assert warnings[0]["scope"] == "global"
        assert len(limits) == 1
        assert limits[0]["spent_usd"] == "0.064000"
        assert limits[0]["limit_usd"] == "0.050000"
        assert spent.id

    async def test_agents_sharing_a_budget_all_stop_once_one_of_them_spends_it(
        self, priced: Runtime, repo: Path
    ) -> None:
        limit = Decimal("0.1")
        await budget(priced, str(limit))
        worker = TreeWorker(
            priced,
            {"a": bash_calls(50), "b": bash_calls(50), "c": bash_calls(50)},
        )
        runs = [await start_root(priced, repo, task, agent_type="worker") for task in "abc"]

        await worker.run_until_idle()

        ended = [await agents.get_agent(priced.uow(read_only=True), r.id) for r in runs]
        assert all(run.state is AgentState.FAILED for run in ended)
        assert all("budget" in (run.failure_reason or "") for run in ended)
        total = sum((run.cost_usd for run in ended), Decimal(0))
        assert total <= limit + 3 * CALL, "at most one call in flight per agent past the limit"

    async def test_a_sub_agent_under_a_spent_budget_is_refused_to_its_parent(
        self, priced: Runtime, repo: Path
    ) -> None:
        await budget(priced, "0.01", scope=BudgetScope.AGENT_TYPE, scope_value="worker")
        first = TreeWorker(priced, {"spender": [finish("completed", "done", usage=USAGE)]})
        await start_root(priced, repo, "spender", agent_type="worker")
        await first.run_until_idle()
        scripts = {
            "lead": [
                tool_calls(tool_use("spawn_agent", spawn("worker", "leaf")), usage=USAGE),
                finish("completed", "could not delegate", usage=USAGE),
            ],
        }
        worker = TreeWorker(priced, scripts)
        root = await start_root(priced, repo, "lead")

        await worker.run_until_idle()

        lead = await agents.get_agent(priced.uow(read_only=True), root.id)
        assert lead.state is AgentState.COMPLETED
        assert lead.children == ()
        provider = worker.providers[root.id]
        assert isinstance(provider, ScriptedProvider)
        (result,) = [
            block
            for message in provider.requests[-1].messages
            for block in message.content
            if isinstance(block, ToolResultBlock)
        ]
        assert result.is_error
        assert "The monthly budget of agent type 'worker' is spent" in str(result.content)
