"""Agents as a tree, run by the real job runner on SQLite and PostgreSQL: each sub-agent
has its own job, started once per ``spawn_agent`` call; the parent waits without a
worker; cancel and pause reach the children; budgets bound the whole tree."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from sqlalchemy import event

from orchestrate.agents import service
from orchestrate.agents.execution import execute_agent, run_agent_here
from orchestrate.agents.models import AgentState
from orchestrate.agents.queueing import run_job_key
from orchestrate.agents.schemas import AgentOut
from orchestrate.auth.service import Actor
from orchestrate.core.jobs import JobStatus, find_job_by_key
from orchestrate.core.runtime import Runtime
from orchestrate.llm.models import ToolResultBlock, Usage
from orchestrate.testing.scripted import (
    ScriptedProvider,
    Step,
    finish,
    tool_call,
    tool_calls,
    tool_use,
)
from tests.integration.agents.conftest import SlowProvider, git
from tests.integration.agents.test_loop import FIX_THE_BUG
from tests.integration.agents.tree_support import (
    TreeWorker,
    add_tree_types,
    agent,
    child_running_tool,
    start_root,
    tree_of,
    wait_until,
)

CASCADE_BOUND = 2.0
"""Seconds within which cancelling or pausing a parent must stop its running child."""


def spawn(agent_type: str, task: str, **extra: object) -> dict[str, object]:
    return {"type": agent_type, "task": task, **extra}


def results_of(provider: object) -> list[ToolResultBlock]:
    assert isinstance(provider, ScriptedProvider)
    last = provider.requests[-1].messages
    return [b for m in last for b in m.content if isinstance(b, ToolResultBlock)]


class TestSubAgentsAreAgentsOfTheirOwn:
    async def test_a_child_runs_in_its_own_job_on_its_own_branch_and_reports_back(
        self, runtime: Runtime, repo: Path
    ) -> None:
        add_tree_types(repo)
        scripts = {
            "lead": [
                tool_call("spawn_agent", spawn("story-developer", "fix", max_cost_usd=100)),
                finish("completed", "delegated the fix"),
            ],
            "fix": FIX_THE_BUG,
        }
        worker = TreeWorker(runtime, scripts)
        root = await start_root(runtime, repo, "lead", max_cost_usd=Decimal("1"), max_turns=30)

        await worker.run_until_idle()

        parent = await agent(runtime, root.id)
        assert parent.state is AgentState.COMPLETED, parent.failure_reason
        (child,) = await tree_of(runtime, root.id)
        assert child.parent_id == root.id
        assert [c.id for c in parent.children] == [child.id]
        assert child.state is AgentState.COMPLETED
        assert child.limits.max_cost_usd == Decimal("1"), "capped at what the parent had left"
        assert child.limits.max_turns == 30 - 1, "capped at the parent's turns left"
        assert child.branch is not None
        assert child.branch != parent.branch
        assert "a + b" in git(repo, "show", f"{child.branch}:calc.py")
        (result,) = results_of(worker.providers[root.id])
        assert "completed" in result.content
        assert "add() now adds" in result.content
        async with runtime.uow(read_only=True) as uow:
            job = await find_job_by_key(uow, run_job_key(child.id, "start"))
        assert job is not None
        assert job.status is JobStatus.SUCCEEDED, "the child had its own job"
        assert parent.tree.turns == parent.turns + child.turns
        shown = AgentOut.of(parent)
        assert shown.children[0].id == child.id
        assert shown.tree.turns == 2 + 7

    async def test_children_of_one_reply_run_at_once_and_the_parent_resumes_when_all_ended(
        self, runtime: Runtime, repo: Path
    ) -> None:
        add_tree_types(repo)
        scripts = {
            "lead": [
                tool_calls(*(tool_use("spawn_agent", spawn("worker", f"w{n}")) for n in range(3))),
                finish("completed", "all three reported"),
            ],
            **{f"w{n}": [finish("completed", f"worker {n} done")] for n in range(3)},
        }
        SlowProvider.peak = 0
        worker = TreeWorker(runtime, scripts, wrap=lambda p: SlowProvider(p, 0.5))
        root = await start_root(runtime, repo, "lead")

        await worker.run_until_idle()

        parent = await agent(runtime, root.id)
        assert parent.state is AgentState.COMPLETED, parent.failure_reason
        children = await tree_of(runtime, root.id)
        assert sorted(c.task for c in children) == ["w0", "w1", "w2"]
        assert SlowProvider.peak >= 2, "the children ran at the same time"
        slow = worker.providers[root.id]
        assert isinstance(slow, SlowProvider)
        results = results_of(slow.inner)
        assert [
            ("worker " + c.task[1:] + " done") in r.content
            for c, r in zip(sorted(children, key=lambda c: c.task), results, strict=True)
        ] == [True, True, True], "each call got its own child's result, in order"

    async def test_calls_of_a_reply_that_cannot_start_their_child_tell_the_model_why(
        self, runtime: Runtime, repo: Path
    ) -> None:
        # A reply that only spawns is recorded with its children, and the parent left
        # waiting, in one transaction: calls that start no child are done with their
        # error there, and the parent waits for the one that did.
        add_tree_types(repo)
        scripts = {
            "lead": [
                tool_calls(
                    tool_use("spawn_agent", spawn("no-such-type", "x")),
                    tool_use("spawn_agent", {"type": "worker"}),
                    tool_use("spawn_agent", spawn("worker", "w")),
                ),
                finish("completed", "one of three reported"),
            ],
            "w": [finish("completed", "worker done")],
        }
        worker = TreeWorker(runtime, scripts)
        root = await start_root(runtime, repo, "lead")

        await worker.run_until_idle()

        parent = await agent(runtime, root.id)
        assert parent.state is AgentState.COMPLETED, parent.failure_reason
        (child,) = await tree_of(runtime, root.id)
        assert child.task == "w"
        results = results_of(worker.providers[root.id])
        assert [r.is_error for r in results] == [True, True, False]
        assert "No agent type 'no-such-type'" in results[0].content
        assert "task" in results[1].content
        assert "worker done" in results[2].content

    async def test_a_reply_whose_calls_start_no_child_goes_on_without_waiting(
        self, runtime: Runtime, repo: Path
    ) -> None:
        add_tree_types(repo)
        scripts = {
            "lead": [
                tool_call("spawn_agent", spawn("no-such-type", "x")),
                finish("completed", "did it myself"),
            ],
        }
        worker = TreeWorker(runtime, scripts)
        root = await start_root(runtime, repo, "lead")

        await worker.run_until_idle()

        parent = await agent(runtime, root.id)
        assert parent.state is AgentState.COMPLETED, parent.failure_reason
        assert await tree_of(runtime, root.id) == []
        (result,) = results_of(worker.providers[root.id])
        assert result.is_error
        assert result.content.startswith("The sub-agent could not run: No agent type")

    async def test_many_sub_agents_ending_at_once_each_report_once_without_a_retry(
        self, runtime: Runtime, repo: Path
    ) -> None:
        # A run records its last call and ends in one transaction that adds to the totals
        # of every ancestor and locks its parent: sixteen grandchildren ending together
        # must queue for those rows, not deadlock (a retried job calls the model again).
        add_tree_types(repo)
        mids, leaves = 4, 4

        def delegating(task: str, children: list[tuple[str, str]]) -> list[Step]:
            uses = (tool_use("spawn_agent", spawn(kind, name)) for kind, name in children)
            return [tool_calls(*uses), finish("completed", f"{task}: all reported")]

        scripts: dict[str, list[Step]] = {
            "lead": delegating("lead", [("delegator", f"m{m}") for m in range(mids)])
        }
        for m in range(mids):
            names = [f"m{m}w{n}" for n in range(leaves)]
            scripts[f"m{m}"] = delegating(f"m{m}", [("worker", name) for name in names])
            scripts.update({name: [finish("completed", f"{name} done")] for name in names})
        worker = TreeWorker(runtime, scripts, wrap=lambda p: SlowProvider(p, 0.3))
        root = await start_root(runtime, repo, "lead")

        await worker.run_until_idle()

        parent = await agent(runtime, root.id)
        assert parent.state is AgentState.COMPLETED, parent.failure_reason
        everyone = await tree_of(runtime, root.id)
        assert len(everyone) == mids * (1 + leaves)
        assert {run.state for run in everyone} == {AgentState.COMPLETED}
        assert parent.tree.turns == 2 + mids * 2 + mids * leaves
        async with runtime.uow(read_only=True) as uow:
            for run in everyone:
                job = await find_job_by_key(uow, run_job_key(run.id, "start"))
                assert job is not None
                assert (job.status, job.attempts) == (JobStatus.SUCCEEDED, 1), run.task

    async def test_a_run_ending_with_its_last_call_locks_its_parent_before_adding_to_it(
        self, runtime: Runtime, repo: Path
    ) -> None:
        # Locking the parent FOR UPDATE after an UPDATE of it in the same transaction is
        # a lock upgrade on PostgreSQL, which deadlocks with a sibling already queued for
        # the row (seen with 60 grandchildren in bench/agent_tree.py). So the first
        # statement of the child's last transaction to touch the parent is the lock.
        # (The child's last call is recorded in that transaction, which ends it.)
        add_tree_types(repo)
        scripts = {
            "lead": [
                tool_call("spawn_agent", spawn("worker", "only")),
                finish("completed", "reported"),
            ],
            "only": [finish("completed", "done")],
        }
        seen: list[tuple[str, str]] = []

        def note(
            _conn: object, _cursor: object, statement: str, parameters: object, *_: object
        ) -> None:
            seen.append((" ".join(statement.split()), repr(parameters)))

        engine = runtime.database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", note)
        try:
            root = await start_root(runtime, repo, "lead")
            await TreeWorker(runtime, scripts).run_until_idle()
        finally:
            event.remove(engine, "before_cursor_execute", note)

        assert (await agent(runtime, root.id)).state is AgentState.COMPLETED
        (child,) = await tree_of(runtime, root.id)
        last_call = max(
            i
            for i, (sql, params) in enumerate(seen)
            if sql.startswith("INSERT INTO agent_calls") and child.id in params
        )
        touching_parent = [
            sql
            for sql, params in seen[last_call:]
            if root.id in params and "agent_calls" not in sql
        ]
        assert touching_parent[0].startswith("SELECT agents.id"), touching_parent[0]
        if runtime.database.dialect == "postgresql":
            assert touching_parent[0].endswith("FOR UPDATE")
        # And the child's own row is written once: a second UPDATE of it would check its
        # foreign key again and share-lock the parent before that lock (PostgreSQL).
        child_updates = [
            sql
            for sql, params in seen[last_call - 1 :]
            if sql.startswith("UPDATE agents") and child.id in params
        ]
        assert len(child_updates) == 1, child_updates

    async def test_cancelling_a_child_stops_it_and_the_parent_learns_it(
        self, runtime: Runtime, repo: Path
    ) -> None:
        add_tree_types(repo)
        scripts = {
            "lead": [
                tool_call("spawn_agent", spawn("worker", "slow")),
                finish("completed", "carried on without it"),
            ],
            "slow": [tool_call("bash", {"command": "sleep 3600"})],
        }
        worker = TreeWorker(runtime, scripts)
        root = await start_root(runtime, repo, "lead")
        worker.start()
        try:
            child = await child_running_tool(runtime, root.id)
            await service.cancel(runtime.uow(), child.id, Actor.local_cli())
            parent = await wait_until(runtime, root.id, lambda r: r.state.is_terminal)
        finally:
            await worker.stop()
        assert parent.state is AgentState.COMPLETED
        assert (await agent(runtime, child.id)).state is AgentState.CANCELLED
        (result,) = results_of(worker.providers[root.id])
        assert f"Sub-agent {child.id} (worker) ended cancelled" in result.content


class TestCascades:
    async def test_cancelling_the_parent_stops_its_running_child_within_two_seconds(
        self, runtime: Runtime, repo: Path
    ) -> None:
        add_tree_types(repo)
        scripts = {
            "lead": [tool_call("spawn_agent", spawn("worker", "slow"))],
            "slow": [tool_call("bash", {"command": "sleep 3600"})],
        }
        worker = TreeWorker(runtime, scripts)
        root = await start_root(runtime, repo, "lead")
        worker.start()
        try:
            child = await child_running_tool(runtime, root.id)
            waiting = await agent(runtime, root.id)
            assert waiting.state is AgentState.WAITING_FOR_CHILDREN
            assert AgentOut.of(waiting).waiting_on == [child.id]

            await service.cancel(runtime.uow(), root.id, Actor.local_cli())
            stopped = await wait_until(
                runtime, child.id, lambda r: r.state.is_terminal, timeout=CASCADE_BOUND
            )
        finally:
            await worker.stop()
        assert stopped.state is AgentState.CANCELLED
        assert (await agent(runtime, root.id)).state is AgentState.CANCELLED

    async def test_pausing_the_parent_pauses_its_child_and_resuming_it_finishes_both(
        self, runtime: Runtime, repo: Path
    ) -> None:
        add_tree_types(repo)
        slow_once = "if [ -f marker ]; then echo second run; else touch marker; sleep 3600; fi"
        scripts = {
            "lead": [
                tool_call("spawn_agent", spawn("worker", "slow once")),
                finish("completed", "resumed and done"),
            ],
            "slow once": [
                tool_call("bash", {"command": slow_once}),
                finish("completed", "ran twice"),
            ],
        }
        worker = TreeWorker(runtime, scripts)
        root = await start_root(runtime, repo, "lead")
        worker.start()
        try:
            child = await child_running_tool(runtime, root.id)
            await service.pause(runtime.uow(), root.id, Actor.local_cli())
            paused = await wait_until(
                runtime,
                child.id,
                lambda r: r.state is AgentState.PAUSED,
                timeout=CASCADE_BOUND,
            )
            assert (await agent(runtime, root.id)).state is AgentState.PAUSED

            await service.resume(runtime.uow(), root.id, Actor.local_cli())
            parent = await wait_until(runtime, root.id, lambda r: r.state.is_terminal)
        finally:
            await worker.stop()
        assert paused.state is AgentState.PAUSED
        assert parent.state is AgentState.COMPLETED, parent.failure_reason
        (only,) = await tree_of(runtime, root.id)
        assert only.id == child.id, "exactly one child for the one spawn_agent call"
        assert only.state is AgentState.COMPLETED
        (result,) = results_of(worker.providers[root.id])
        assert "ran twice" in result.content

    async def test_a_child_whose_parent_ended_before_it_started_is_cancelled(
        self, runtime: Runtime, repo: Path
    ) -> None:
        add_tree_types(repo)
        scripts = {"lead": [tool_call("spawn_agent", spawn("worker", "never"))], "never": []}
        worker = TreeWorker(runtime, scripts)
        root = await start_root(runtime, repo, "lead")
        # Only the parent's job runs: it starts the child and waits; the child's job waits.
        await execute_agent(runtime, root.id, worker.provider)
        (child,) = await tree_of(runtime, root.id)
        assert child.state is AgentState.CREATED
        await service.cancel(runtime.uow(), root.id, Actor.local_cli())

        await worker.run_until_idle()
        assert (await agent(runtime, child.id)).state is AgentState.CANCELLED


class TestWaitingChildren:
    async def test_a_child_waiting_for_approval_keeps_its_parent_waiting_until_approved(
        self, runtime: Runtime, repo: Path
    ) -> None:
        runtime.settings = runtime.settings.model_copy(update={"approval_tools": ["bash"]})
        add_tree_types(repo)
        scripts = {
            "lead": [
                tool_call("spawn_agent", spawn("worker", "careful")),
                finish("completed", "the child's work is in"),
            ],
            "careful": [
                tool_call("bash", {"command": "echo approved > out.txt"}),
                finish("completed", "wrote out.txt after approval"),
            ],
        }
        worker = TreeWorker(runtime, scripts)
        root = await start_root(runtime, repo, "lead")

        await worker.run_until_idle()
        (child,) = await tree_of(runtime, root.id)
        assert child.state is AgentState.WAITING_FOR_APPROVAL
        parent = await agent(runtime, root.id)
        assert parent.state is AgentState.WAITING_FOR_CHILDREN
        assert AgentOut.of(parent).waiting_on == [child.id]

        await service.approve(runtime.uow(), child.id, Actor.local_cli())
        await worker.run_until_idle()

        assert (await agent(runtime, child.id)).state is AgentState.COMPLETED
        parent = await agent(runtime, root.id)
        assert parent.state is AgentState.COMPLETED, parent.failure_reason
        (result,) = results_of(worker.providers[root.id])
        assert "wrote out.txt after approval" in result.content


class TestTreeBudgets:
    async def test_a_tree_of_depth_three_stays_within_the_roots_dollar_budget(
        self, runtime: Runtime, repo: Path
    ) -> None:
        price = Decimal(2)  # USD per million output tokens
        runtime.settings = runtime.settings.model_copy(
            update={"pricing": {"scripted-model": {"input": 0, "output": price}}}
        )
        one_call = Usage(input_tokens=100, output_tokens=8000)  # $0.016
        call_cost = one_call.output_tokens * price / Decimal(1_000_000)
        add_tree_types(repo)
        greedy = [tool_call("bash", {"command": f"echo {n}"}, usage=one_call) for n in range(200)]
        scripts = {
            "root": [
                tool_calls(
                    tool_use("spawn_agent", spawn("delegator", "mid", max_cost_usd=100)),
                    tool_use("spawn_agent", spawn("delegator", "mid", max_cost_usd=100)),
                    usage=one_call,
                ),
                finish("completed", "done", usage=one_call),
            ],
            "mid": [
                tool_calls(
                    tool_use("spawn_agent", spawn("worker", "leaf", max_cost_usd=100)),
                    tool_use("spawn_agent", spawn("worker", "leaf", max_cost_usd=100)),
                    usage=one_call,
                ),
                finish("completed", "done", usage=one_call),
            ],
            "leaf": greedy,
        }
        budget = Decimal("0.5")
        worker = TreeWorker(runtime, scripts)
        root = await start_root(runtime, repo, "root", max_cost_usd=budget)

        await worker.run_until_idle()

        parent = await agent(runtime, root.id)
        everyone = [parent, *await tree_of(runtime, root.id)]
        assert len(everyone) == 1 + 2 + 4
        assert all(run.state.is_terminal for run in everyone)
        spent = sum((run.cost_usd for run in everyone), Decimal(0))
        assert parent.tree.cost_usd == spent, "every descendant counts toward the root"
        assert spent <= budget + call_cost, f"spent {spent} of {budget}"
        leaves = [run for run in everyone if run.type == "worker"]
        assert all(run.limits.max_cost_usd is not None for run in leaves)
        assert all(run.limits.max_cost_usd <= budget for run in leaves if run.limits.max_cost_usd)
        assert any("cost budget" in (run.failure_reason or "") for run in everyone), [
            run.failure_reason for run in everyone
        ]

    async def test_a_model_call_that_could_cost_more_than_is_left_is_not_made(
        self, runtime: Runtime, repo: Path
    ) -> None:
        runtime.settings = runtime.settings.model_copy(
            update={"pricing": {"scripted-model": {"input": 0, "output": Decimal(100)}}}
        )
        add_tree_types(repo)
        # 8192 tokens of output at $100 a million could cost $0.82; $0.5 is all there is.
        worker = TreeWorker(runtime, {"lead": [finish("completed", "never asked")]})
        root = await start_root(runtime, repo, "lead", max_cost_usd=Decimal("0.5"))

        await worker.run_until_idle()

        run = await agent(runtime, root.id)
        assert run.state is AgentState.FAILED
        assert run.failure_reason is not None
        assert run.failure_reason.startswith("cost budget exhausted: the next model call")
        provider = worker.providers[root.id]
        assert isinstance(provider, ScriptedProvider)
        assert provider.requests == []

    async def test_siblings_take_turns_at_the_edge_of_the_budget_instead_of_failing(
        self, runtime: Runtime, repo: Path
    ) -> None:
        runtime.settings = runtime.settings.model_copy(
            update={"pricing": {"scripted-model": {"input": 0, "output": Decimal(2)}}}
        )
        add_tree_types(repo)
        # A call may cost up to 8192 output tokens at $2 a million: $0.0164 reserved while
        # it runs. $0.05 has room for three at once; each really costs $0.0002.
        small = Usage(input_tokens=10, output_tokens=100)
        spawns = [tool_use("spawn_agent", spawn("worker", "w")) for _ in range(4)]
        scripts = {
            "lead": [
                tool_calls(*spawns, usage=small),
                finish("completed", "all four", usage=small),
            ],
            "w": [finish("completed", "did it", usage=small)],
        }
        SlowProvider.peak = 0
        worker = TreeWorker(runtime, scripts, wrap=lambda p: SlowProvider(p, 0.3))
        root = await start_root(runtime, repo, "lead", max_cost_usd=Decimal("0.05"))

        await worker.run_until_idle()

        children = await tree_of(runtime, root.id)
        assert [c.state for c in children] == [AgentState.COMPLETED] * 4, [
            c.failure_reason for c in children
        ]
        assert (await agent(runtime, root.id)).state is AgentState.COMPLETED
        assert SlowProvider.peak == 3, "the fourth call waited for room, none failed"

    async def test_a_child_cannot_start_when_the_parent_has_nothing_left(
        self, runtime: Runtime, repo: Path
    ) -> None:
        add_tree_types(repo)
        scripts = {
            "lead": [
                tool_call("spawn_agent", spawn("worker", "w")),
                finish("completed", "gave up on the child"),
            ],
            "w": [finish("completed", "never")],
        }
        worker = TreeWorker(runtime, scripts)
        root = await start_root(runtime, repo, "lead", max_turns=1)

        await worker.run_until_idle()

        assert await tree_of(runtime, root.id) == []
        run = await agent(runtime, root.id)
        assert run.state is AgentState.FAILED  # its next model call is past the turn limit
        page = await service.transcript(runtime.uow(read_only=True), root.id)
        outputs = [
            b.content for _, _, m in page for b in m.content if isinstance(b, ToolResultBlock)
        ]
        assert outputs
        assert outputs[0].startswith("The sub-agent could not run: no budget left")


class TestWaitingHere:
    async def test_running_a_tree_here_runs_its_sub_agents_jobs_too(
        self, runtime: Runtime, repo: Path
    ) -> None:
        add_tree_types(repo)
        scripts = {
            "lead": [
                tool_call("spawn_agent", spawn("delegator", "middle")),
                finish("completed", "tree done"),
            ],
            "middle": [
                tool_call("spawn_agent", spawn("worker", "leaf")),
                finish("completed", "middle done"),
            ],
            "leaf": [finish("completed", "leaf done")],
        }
        worker = TreeWorker(runtime, scripts)
        root = await start_root(runtime, repo, "lead")

        await run_agent_here(runtime, root.id, worker.provider)  # what `agent start --wait` does

        parent = await agent(runtime, root.id)
        assert parent.state is AgentState.COMPLETED, parent.failure_reason
        below = await tree_of(runtime, root.id)
        assert [(run.task, run.state) for run in below] == [
            ("middle", AgentState.COMPLETED),
            ("leaf", AgentState.COMPLETED),
        ]
        assert parent.tree.turns == 2 + 2 + 1
