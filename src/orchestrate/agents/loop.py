"""The agent loop: build messages → call the model → run its tools → persist → repeat.

Every message, provider call and tool result is committed before the next provider
call, so a run killed at any moment resumes from the stored transcript: tool calls
with a recorded result are not run again, the others are. The loop ends when the agent
calls ``finish``, when it must wait (approval, a human answer, a pause, its
sub-agents), or when a limit is crossed. Pause and cancel requests are polled every half
second and cancel whatever is in flight (a provider call or a tool's process) at once.

``spawn_agent`` calls do not run here: each starts a child run with a job of its own
(``tree.py``) and the loop ends as ``waiting_for_children``; the last child to end
queues this run again, which then finds every call's result recorded. Limits bound the
whole tree: before each model call the run's tree totals and those of every ancestor
are checked against their limits, a call that could cost more than the dollars left is
not made, and a tool is stopped when the active time left runs out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from pathlib import Path

import structlog

from orchestrate.agents import _store as store
from orchestrate.agents import spans, tree
from orchestrate.agents.context import ContextDoesNotFit, ContextFitter
from orchestrate.agents.control import ControlWatcher, Interrupted
from orchestrate.agents.limits import Spent, breached_limit
from orchestrate.agents.models import (
    AgentDefinition,
    AgentRun,
    AgentState,
    ControlRequest,
    FinishStatus,
    SpawnRequest,
    ToolCallRecord,
    ToolCallStatus,
    TreeTotals,
)
from orchestrate.agents.prompting import build_request, first_message
from orchestrate.agents.stuck import ToolAction, find_loop, was_warned
from orchestrate.agents.tables import AgentRow
from orchestrate.agents.tools.base import (
    Tool,
    ToolContext,
    ToolInputError,
    ToolOutput,
    parse_arguments,
)
from orchestrate.agents.tools.control import SpawnAgentInput, dollars
from orchestrate.core.errors import ConfigurationError, OrchestrateError
from orchestrate.core.masking import process_masker
from orchestrate.core.runtime import Runtime
from orchestrate.core.sandbox import SandboxPolicy
from orchestrate.core.uow import UnitOfWork
from orchestrate.costs import service as costs
from orchestrate.llm.service import (
    CallRecord,
    CompletionRequest,
    CompletionResponse,
    ContextWindowExceeded,
    Message,
    Provider,
    ProviderError,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    Usage,
    context_window,
    cost_of,
    estimator_for,
)

log = structlog.get_logger(__name__)

MAX_NUDGES = 3
NUDGE = (
    "You ended your turn without calling a tool. Continue the task, or call the finish "
    "tool with a status (completed, blocked or needs_input) and a summary."
)

ProviderFactory = Callable[[AgentRun], Provider]
ChildStarter = Callable[
    [AgentRun, Sequence[SpawnRequest]], Awaitable[list[AgentRun | OrchestrateError]]
]
"""Create and queue the children of a parent's ``spawn_agent`` calls, each once; for a
call that cannot run, the error its model reads instead."""
ChildAdder = Callable[
    [UnitOfWork, AgentRun, Sequence[SpawnRequest], TreeTotals],
    Awaitable[list[AgentRun | OrchestrateError]],
]
"""``ChildStarter`` in the caller's entered transaction, given what that transaction adds
to the tree totals of the parent and its ancestors without having written it yet."""
SPAWN = "spawn_agent"
RESERVATION_POLL_SECONDS = 0.05
RESERVATION_WAIT_SECONDS = 600.0
"""How long a model call waits for room in a dollar budget that calls in flight elsewhere
in the tree have reserved, before the run fails as out of budget."""


class _Stop(Exception):
    """The run left the running state (finished, failed or waiting); the loop returns."""


@dataclass
class LoopEnvironment:
    """What a loop needs beyond the database: its definition, tools and workspace."""

    definition: AgentDefinition
    tools: dict[str, Tool]
    workspace: Path
    env: dict[str, str]
    approval_tools: frozenset[str]
    spawn_child: ChildStarter | None = None
    add_children: ChildAdder | None = None
    sandbox: SandboxPolicy = field(default_factory=SandboxPolicy)


@dataclass(frozen=True)
class SavedLoop:
    """What a loop resumes from: the stored transcript and tool calls, the run's
    ancestors and their budgets, and dollars a call in flight reserved when the last
    job of the run died."""

    messages: list[Message]
    calls: dict[str, ToolCallRecord]
    ancestors: list[str]
    budgets: list[store.Budget]
    leaked: Decimal
    spending: list[costs.Budget] = field(default_factory=list)
    """The spending budgets covering the run's work, read in the same transaction."""


async def load_saved(
    uow: UnitOfWork,
    row: store.RunRecord,
    *,
    new: bool = False,
    lineage: list[store.Budget] | None = None,
) -> SavedLoop:
    """Read a run's ``SavedLoop`` in the caller's entered transaction. A ``new`` run (one
    that was ``created`` until now, in the transaction that starts it) has no transcript
    yet: its first message, the task, is stored here instead (``start_transcripts``).
    ``lineage``: the parent's ``lineage_budgets``, when the caller read them already."""
    if lineage is not None:
        budgets = lineage
    else:
        budgets = await store.lineage_budgets(uow, row.parent_id) if row.parent_id else []
    if new:
        return (await start_transcripts(uow, [row], {row.id: budgets}))[row.id]
    messages = await store.load_transcript(uow, row.id)
    calls = await store.tool_calls(uow, row.id)
    work = costs.WorkScope(row.type, row.pipeline)
    return SavedLoop(
        spending=await costs.covering_budgets(uow, work),
        messages=messages,
        calls=calls,
        ancestors=[budget.agent_id for budget in budgets],
        budgets=budgets,
        leaked=Decimal(row.reserved_usd or 0),
    )


async def start_transcripts(
    uow: UnitOfWork,
    rows: Sequence[store.RunRecord],
    lineages: Mapping[str, list[store.Budget]],
) -> dict[str, SavedLoop]:
    """``load_saved(new=True)`` of runs started in the caller's transaction, by id: their
    first messages stored in one statement, the spending budgets read once per kind of
    work. ``lineages``: each run's parent's ``lineage_budgets``."""
    firsts = {
        row.id: await first_message(uow.sibling(read_only=True), store.to_run(row)) for row in rows
    }
    await store.append_messages(uow, [(row.id, 0, firsts[row.id]) for row in rows])
    spending: dict[costs.WorkScope, list[costs.Budget]] = {}
    saved: dict[str, SavedLoop] = {}
    for row in rows:
        work = costs.WorkScope(row.type, row.pipeline)
        if work not in spending:
            spending[work] = await costs.covering_budgets(uow, work)
        budgets = lineages[row.id]
        saved[row.id] = SavedLoop(
            spending=spending[work],
            messages=[firsts[row.id]],
            calls={},
            ancestors=[budget.agent_id for budget in budgets],
            budgets=budgets,
            leaked=Decimal(row.reserved_usd or 0),
        )
    return saved


class AgentLoop:
    def __init__(
        self,
        runtime: Runtime,
        run: AgentRun,
        provider: Provider,
        env: LoopEnvironment,
        saved: SavedLoop | None = None,
    ):
        """``saved``: the run's stored state, when the caller read it with ``run`` (else
        the loop reads it first). ``run`` is kept current: after ``drive`` it is the
        state the loop left the run in."""
        self.runtime = runtime
        self._saved = saved
        self.run_id = run.id
        self.run = run
        self.provider = provider
        self.env = env
        self._control = ControlWatcher(runtime, run.id)
        self._started = time.monotonic()
        self._active_base = run.active_seconds
        self._tree_counted = run.active_seconds
        """Own active seconds already added to the tree totals of this run and its ancestors."""
        self._ancestors: list[str] = []
        self._ancestor_budgets: list[store.Budget] = []
        self._budgets_read = False
        """The budgets were read by the transaction just before the next model call."""
        self._spending: list[costs.Budget] = []
        """The spending budgets covering this run's work (``costs``), as last read."""
        self._spending_read = False
        self._loaded_reads_fresh = False
        """The budgets read on loading are still those of this moment: no tool ran and
        no model was called since."""
        self._reserved = Decimal(0)
        """Dollars reserved on this run and its ancestors for the model call in flight."""
        self._prepared: _Prepared | None = None
        """The next call's request, built when the message it follows was stored."""
        self._nudges = 0
        self._messages: list[Message] = []
        self._calls: dict[str, ToolCallRecord] = {}

    async def drive(self) -> None:
        """Run until the agent finishes, waits, fails or is interrupted."""
        self._control.start()
        try:
            await self._load()
            while True:
                await self._step()
        except _Stop:
            return
        except Interrupted as interruption:
            await self._interrupted(interruption.request)
        except (ProviderError, ConfigurationError) as error:
            try:
                await self._fail(f"provider error: {error}")
            except _Stop:
                return
        finally:
            await self._control.stop()

    # --- one step -------------------------------------------------------------------

    async def _load(self) -> None:
        """Read the run's transcript once; afterwards the loop keeps it in step itself.

        While a run is ``running`` only its loop writes its messages and tool results
        (operators only set the control flag), so the copy in memory stays true.
        """
        saved, self._saved = self._saved, None
        if saved is None:
            async with self.runtime.uow(read_only=True) as uow:
                row = await store.agent_row(uow, self.run_id)
                self.run = store.to_run(row)
                saved = await load_saved(uow, row)
        self._messages, self._calls = saved.messages, saved.calls
        self._ancestors, leaked = saved.ancestors, saved.leaked
        self._ancestor_budgets, self._budgets_read = saved.budgets, bool(saved.ancestors)
        self._spending, self._spending_read = saved.spending, True
        self._loaded_reads_fresh = True
        self._tree_counted = self.run.active_seconds
        if leaked:  # a call was in flight when the last job of this run died
            async with self.runtime.uow() as uow:
                await store.release_dollars(uow, self._lineage(), leaked)
                await uow.commit()

    async def _step(self) -> None:
        self._control.check()
        if self.run.state is not AgentState.RUNNING:
            raise _Stop
        messages, calls = self._messages, self._calls
        if not messages:
            first = await first_message(self.runtime.uow(read_only=True), self.run)
            await self._append(0, first)
            return
        last = messages[-1]
        if last.role is Role.ASSISTANT and last.tool_uses:
            await self._run_tools(last, calls, len(messages))
        elif last.role is Role.ASSISTANT:
            await self._nudge(len(messages))
        else:
            await self._call_model(messages)

    async def _append(
        self,
        seq: int,
        message: Message,
        outputs: Sequence[tuple[ToolUseBlock, ToolOutput]] = (),
    ) -> None:
        """Store a user message, with the results of tools not yet recorded, in one commit."""
        # What the model call that follows checks (``_check_ancestors``, ``_check_spending``)
        # is read here, unless this job read it on loading and no tool has run since (a
        # parent carrying on with its children's results).
        fresh = self._loaded_reads_fresh and not outputs
        # The model call this message leads to is built now, so that what it could cost
        # is reserved in this transaction, not in one of its own (``_check_affordable``).
        prepared = self._prepare([*self._messages, message])
        reserved = Decimal(0)
        async with self.runtime.uow() as uow:
            await self._store_outputs(uow, outputs)
            await store.append_message(uow, self.run_id, seq, message)
            if self._ancestors and not (fresh and self._budgets_read):
                self._ancestor_budgets = await store.budgets(uow, self._ancestors)
                self._budgets_read = True
            if not (fresh and self._spending_read):
                self._spending = await costs.covering_budgets(uow, self._work)
                self._spending_read = True
            if prepared is not None and self._may_reserve(prepared.worst):
                short = await store.reserve_dollars(uow, self._lineage(), prepared.worst)
                reserved = prepared.worst if short is None else Decimal(0)
            await uow.commit()
        self._reserved += reserved
        self._prepared = prepared
        self._remember_outputs(outputs)
        self._messages.append(message)

    async def _nudge(self, seq: int) -> None:
        self._nudges += 1
        if self._nudges > MAX_NUDGES:
            await self._fail(f"the agent stopped {MAX_NUDGES} times without calling finish")
        await self._append(seq, Message(role=Role.USER, content=[TextBlock(text=NUDGE)]))

    # --- the model --------------------------------------------------------------------

    async def _call_model(self, messages: list[Message]) -> None:
        self._loaded_reads_fresh = False
        reason = breached_limit(self.run.limits, self._spent())
        if reason:
            await self._fail(reason)
        await self._check_ancestors()
        await self._check_spending()
        settings = self.runtime.settings
        window = context_window(self.run.model, settings.pricing)
        started = time.monotonic()
        response = await self._complete(messages, window)
        duration_ms = int((time.monotonic() - started) * 1000)
        cost = cost_of(
            response.model or self.run.model,
            response.usage,
            settings.pricing,
            fallback=self.run.model,
        )
        call = CallRecord(
            model=response.model or self.run.model,
            usage=response.usage,
            cost_usd=cost,
            duration_ms=duration_ms,
        )
        closing = await self._closing_finish(response.message)
        spawning = None if closing is not None else self._only_spawns(response.message)
        awaited: list[str] = []
        async with self.runtime.uow() as uow:
            if closing is not None:  # the run ends with this call: its row locked first
                row = await store.agent_row(uow, self.run_id, for_update=True)
                with store.writes_held(uow):  # and written once
                    await self._record(uow, call, response.message, row, closing)
                    run = await self._end_run(uow, row, closing[0], active=self._tree_counted)
            elif spawning is not None:  # the run waits for the children this call starts
                row = await store.agent_row(uow, self.run_id, for_update=True)
                with store.writes_held(uow):
                    awaited = await self._record_spawning(
                        uow, call, response.message, row, spawning
                    )
                    run = store.to_run(row)
            else:
                run = await self._record(uow, call, response.message)
            await uow.commit()
            self.run = run
        self._messages.append(response.message)
        for use in response.message.tool_uses:
            waits = use.id in awaited
            self._calls[use.id] = ToolCallRecord(
                tool_use_id=use.id,
                turn=self.run.turns,
                name=use.name,
                arguments=dict(use.input),
                status=ToolCallStatus.AWAITING_CHILD if waits else ToolCallStatus.PENDING,
                output=None,
                is_error=False,
                decided_by=None,
            )
        if closing is not None:
            self._remember_outputs([closing])
            raise _Stop
        if spawning is not None:
            self._remember_outputs(spawning.failed)
        if awaited:
            log.info("agent_waiting_for_children", agent_id=self.run_id)
            raise _Stop
        if response.message.tool_uses:
            self._nudges = 0

    async def _complete(self, messages: list[Message], window: int) -> CompletionResponse:
        """Call the model with the transcript fitted to its window (see ``context``).

        The fitter keeps every request within the window by its estimate; should the
        provider still refuse one as too long, it is retried with a smaller budget.
        """
        pressure = 1.0
        prepared, self._prepared = self._prepared, None
        while True:
            try:
                if prepared is not None and prepared.length == len(messages) and pressure == 1.0:
                    request, elided = prepared.request, prepared.elided
                else:
                    request, elided = self._request(messages, window, pressure)
            except ContextDoesNotFit as error:
                await self._fail(
                    f"the conversation no longer fits the context window of {self.run.model}: "
                    f"{error}"
                )
            if elided:
                log.info(
                    "agent_context_elided",
                    agent_id=self.run_id,
                    messages_left_out=self._fitter.last_elided,
                    estimated_tokens=self._fitter.last_tokens,
                )
            await self._check_affordable(request)
            try:
                with spans.model_call(self.provider.name, request) as span:
                    response = await self._control.interruptible(self.provider.complete(request))
                    spans.model_replied(span, response)
                    return response
            except ContextWindowExceeded:
                if pressure <= 0.25:
                    await self._fail(
                        f"the conversation no longer fits the context window of {self.run.model}"
                    )
                pressure /= 2

    def _request(
        self, messages: list[Message], window: int, pressure: float = 1.0
    ) -> tuple[CompletionRequest, bool]:
        """The request for ``messages``, fitted to ``window``, and whether fitting it left
        out more of the conversation than the last request did."""
        tools = [tool.spec for tool in self.env.tools.values()]
        request = build_request(
            self.run, self.env.definition, messages, tools, window, self._fitter, pressure
        )
        return request, self._fitter.cut_moved

    def _prepare(self, messages: list[Message]) -> _Prepared | None:
        """The next call's request, built ahead with what it could cost at most (its
        input as estimated plus ``max_tokens`` of output); None when it does not fit
        (``_complete`` then says why) or the run has no dollar limit to reserve on."""
        if not self._has_dollar_limit():
            return None
        window = context_window(self.run.model, self.runtime.settings.pricing)
        try:
            request, elided = self._request(messages, window)
        except ContextDoesNotFit:
            return None
        return _Prepared(len(messages), request, elided, self._worst_cost(request))

    def _worst_cost(self, request: CompletionRequest) -> Decimal:
        return cost_of(
            self.run.model,
            Usage(input_tokens=self._fitter.last_tokens, output_tokens=request.max_tokens),
            self.runtime.settings.pricing,
        )

    def _may_reserve(self, worst: Decimal) -> bool:
        return not self._reserved and worst > 0 and self._has_dollar_limit()

    async def _record(
        self,
        uow: UnitOfWork,
        call: CallRecord,
        reply: Message,
        row: AgentRow | None = None,
        closing: tuple[ToolUseBlock, ToolOutput] | None = None,
        spawned: _Spawned | None = None,
    ) -> AgentRun:
        """Store a model call, its reply and the reply's tool calls — on ``row`` when the
        caller locked it, with the ``closing`` finish call done already, and with the
        ``spawn_agent`` calls as ``spawned`` left them."""
        active = self._active_seconds()
        delta, released = active - self._tree_counted, self._reserved
        if row is None:
            run = await store.record_call(
                uow,
                self.run_id,
                call,
                active,
                ancestors=self._ancestors,
                active_delta=delta,
                released=released,
            )
        else:
            await store.record_call_on(
                uow,
                row,
                call,
                active,
                ancestors=self._ancestors,
                active_delta=delta,
                released=released,
            )
            run = store.to_run(row)
        self._tree_counted = active
        self._reserved = Decimal(0)
        await costs.record_call_cost(uow, self._cost_entry(call), self._spending)
        await store.append_message(uow, self.run_id, len(self._messages), reply)
        done = {closing[0].id: closing[1].content} if closing else None
        await store.add_tool_calls(
            uow,
            self.run_id,
            run.turns,
            reply.tool_uses,
            done=done,
            failed={use.id: output.content for use, output in spawned.failed} if spawned else None,
            awaiting=spawned.awaited if spawned else (),
        )
        return run

    async def _closing_finish(self, reply: Message) -> tuple[ToolUseBlock, ToolOutput] | None:
        """The reply's ``finish`` call and its output, when that call is all the reply
        asks for and it is well formed: the call is then recorded and the run ended in
        one transaction (a run's last turn is one commit, not two). Anything else — an
        operator's request that came in meanwhile, a malformed ``finish`` the model must
        correct, other calls beside it — takes the usual way through ``_run_tools``.
        """
        uses = reply.tool_uses
        if len(uses) != 1 or uses[0].name != "finish" or self._control.request is not None:
            return None
        output = await self._decide_and_run(uses[0], None)
        return None if output.is_error else (uses[0], output)

    @cached_property
    def _fitter(self) -> ContextFitter:
        """Fits this run's requests; remembers message sizes for the whole loop."""
        return ContextFitter(estimator_for(self.run.provider))

    # --- tools ------------------------------------------------------------------------

    async def _run_tools(
        self, message: Message, calls: dict[str, ToolCallRecord], seq: int
    ) -> None:
        """Run the tool calls of the last assistant message that have no result yet.

        A recorded result is reused, never re-run; that includes a ``finish`` that asked
        for input, whose stored output the service replaced with the human's answer.
        """
        results: list[ToolResultBlock] = []
        unrecorded: list[tuple[ToolUseBlock, ToolOutput]] = []
        children: list[ToolUseBlock] = []
        spawned = await self._start_children(message.tool_uses, calls)
        for use in message.tool_uses:
            record = calls.get(use.id)
            if record is not None and record.status is ToolCallStatus.DONE:
                results.append(_result(use, record.output or "", record.is_error))
                continue
            if use.id in spawned:
                failed = spawned[use.id]
                if failed is None:
                    children.append(use)
                    continue
                output = failed
                unrecorded.append((use, output))
                results.append(_result(use, output.content, output.is_error))
                continue
            # Earlier results are stored before the next tool runs, so an interruption
            # never repeats them; the last one is stored with the message that carries it.
            await self._record_outputs(unrecorded)
            unrecorded = []
            output = await self._decide_and_run(use, record)
            if use.name == "finish" and not output.is_error:
                await self._finish(use, output)
            if use.name != "finish":
                unrecorded.append((use, output))
            results.append(_result(use, output.content, output.is_error))
        if children:
            await self._record_outputs(unrecorded)
            await self._wait_for_children()
            return
        await self._append(seq, Message(role=Role.USER, content=list(results)), unrecorded)
        await self._check_stuck()

    async def _decide_and_run(self, use: ToolUseBlock, record: ToolCallRecord | None) -> ToolOutput:
        tool = self.env.tools.get(use.name)
        if tool is None:
            output = ToolOutput(
                f"Tool '{use.name}' is not available to agent type '{self.run.type}'. "
                f"Available tools: {', '.join(sorted(self.env.tools))}.",
                is_error=True,
            )
            spans.tool_refused(use, output)
        elif use.name in self.env.approval_tools and use.name != "finish":
            status = record.status if record else ToolCallStatus.PENDING
            if status in (ToolCallStatus.PENDING, ToolCallStatus.AWAITING_APPROVAL):
                await self._wait_for_approval(use)
            if status is ToolCallStatus.DENIED:
                who = record.decided_by if record else None
                why = f" Their reason: {record.output}" if record and record.output else ""
                output = ToolOutput(
                    f"A human denied this {use.name} call{f' ({who})' if who else ''}.{why} "
                    "Do not retry it as is; choose another way or finish blocked.",
                    is_error=True,
                )
                spans.tool_refused(use, output)
            else:
                output = await self._execute(tool, use)
        else:
            output = await self._execute(tool, use)
        return output

    async def _execute(self, tool: Tool, use: ToolUseBlock) -> ToolOutput:
        self._loaded_reads_fresh = False
        context = ToolContext(
            agent_id=self.run_id,
            workspace=self.env.workspace,
            env=self.env.env,
            bash_timeout=self.runtime.settings.bash_timeout_seconds,
            output_limit=self.runtime.settings.tool_output_limit,
            sandbox=self.env.sandbox,
            network=self.env.definition.network,
        )
        left = self._seconds_left()
        deadline = asyncio.timeout(None if left is None else max(left, 0.0))
        try:
            with spans.tool_call(use) as span:
                async with deadline:
                    output = await self._control.interruptible(tool.run(context, dict(use.input)))
                spans.tool_returned(span, output)
                return output
        except TimeoutError as error:
            if deadline.expired():
                await self._out_of_time(use)
            return _crashed(self.run_id, use, error)
        except ToolInputError as error:
            return ToolOutput(str(error), is_error=True)
        except (Interrupted, asyncio.CancelledError):
            raise
        except Exception as error:
            return _crashed(self.run_id, use, error)

    # --- sub-agents ---------------------------------------------------------------------

    def _has_spawned(self) -> bool:
        """Whether this run ever called ``spawn_agent`` (its only way to have children).

        ``_calls`` holds every tool call of the run, read on resume and kept since, and a
        call is stored before its child is created.
        """
        return any(call.name == SPAWN for call in self._calls.values())

    def _spawns_children(self) -> bool:
        return self.env.spawn_child is not None and SPAWN in self.env.tools

    def _only_spawns(self, reply: Message) -> _SpawnPlan | None:
        """The plan of a reply whose calls all start sub-agents (when nothing else is
        asked for and no operator's request came in meanwhile): the call is then
        recorded, its children created and the run left waiting for them in one
        transaction (``_record_spawning``), not three."""
        uses = reply.tool_uses
        if (
            not uses
            or self.env.add_children is None
            or not self._spawns_children()
            or self._control.request is not None
            or any(use.name != SPAWN for use in uses)
        ):
            return None
        return self._spawn_plan(uses, {})

    def _spawn_plan(
        self, uses: Sequence[ToolUseBlock], calls: dict[str, ToolCallRecord]
    ) -> _SpawnPlan:
        """The children to start for the reply's ``spawn_agent`` calls without a result
        (and not waiting for their child already), and the calls whose input is invalid."""
        plan = _SpawnPlan()
        for use in uses:
            record = calls.get(use.id)
            if use.name != SPAWN or (record is not None and record.status is ToolCallStatus.DONE):
                continue
            if record is not None and record.status is ToolCallStatus.AWAITING_CHILD:
                plan.waiting.append(use.id)
                continue
            try:
                asked = parse_arguments(SpawnAgentInput, dict(use.input))
            except ToolInputError as error:
                plan.failed.append((use, ToolOutput(str(error), is_error=True)))
                continue
            plan.requests.append(
                SpawnRequest(use.id, asked.type, asked.task, dollars(asked.max_cost_usd))
            )
        return plan

    async def _record_spawning(
        self, uow: UnitOfWork, call: CallRecord, reply: Message, row: AgentRow, plan: _SpawnPlan
    ) -> list[str]:
        """Record a reply that only starts sub-agents on ``row`` (locked, its changes held)
        with its children created, and the run waiting for them: the ids of the calls
        now waiting. None waits when no child could start: the loop goes on and gives
        the model the errors.

        The children are made first: their insert flushes the session, which must not
        write the run's row before its last change (see ``store.record_call_on``).
        """
        started = time.time_ns()
        assert self.env.add_children is not None
        children = await self.env.add_children(uow, self.run, plan.requests, self._pending(call))
        spans.spawned(plan.requests, children, started)
        uses = {use.id: use for use in reply.tool_uses}
        spawned = _Spawned(awaited=[], failed=list(plan.failed))
        for request, child in zip(plan.requests, children, strict=True):
            if isinstance(child, OrchestrateError):
                spawned.failed.append((uses[request.call_id], _spawn_error(child)))
            else:
                spawned.awaited.append(request.call_id)
        plan.failed[:] = spawned.failed
        await self._record(uow, call, reply, row, spawned=spawned)
        if spawned.awaited:
            store.transition(uow, row, AgentState.WAITING_FOR_CHILDREN)
            await self._touch(uow, row, active=self._tree_counted)
        return spawned.awaited

    def _pending(self, call: CallRecord) -> TreeTotals:
        """What recording ``call`` now adds to the tree totals of this run and its
        ancestors (``_record``), for limits reckoned before it is written."""
        usage = call.usage
        return TreeTotals(
            turns=1,
            tokens=usage.input_tokens
            + usage.output_tokens
            + usage.cache_read_tokens
            + usage.cache_write_tokens,
            cost_usd=call.cost_usd,
            active_seconds=max(self._active_seconds() - self._tree_counted, 0.0),
        )

    async def _start_children(
        self, uses: Sequence[ToolUseBlock], calls: dict[str, ToolCallRecord]
    ) -> dict[str, ToolOutput | None]:
        """Start the children of the reply's ``spawn_agent`` calls without a result, all in
        one transaction (each once: a child is keyed by its call). By call id: None when
        the call now waits for its child, else the error the model reads."""
        if not self._spawns_children():
            return {}
        plan = self._spawn_plan(uses, calls)
        outcome: dict[str, ToolOutput | None] = dict.fromkeys(plan.waiting)
        outcome |= {use.id: output for use, output in plan.failed}
        if not plan.requests:
            return outcome
        assert self.env.spawn_child is not None
        started = time.time_ns()
        children = await self.env.spawn_child(self.run, plan.requests)
        spans.spawned(plan.requests, children, started)
        for request, child in zip(plan.requests, children, strict=True):
            if isinstance(child, OrchestrateError):
                outcome[request.call_id] = _spawn_error(child)
                continue
            outcome[request.call_id] = None
            if request.call_id in self._calls:
                self._calls[request.call_id] = replace(
                    self._calls[request.call_id], status=ToolCallStatus.AWAITING_CHILD
                )
        return outcome

    async def _wait_for_children(self) -> None:
        """End this job and wait, without a worker, for the children of this turn.

        Locks the run as ``tree.child_finished`` does, so a child that ended meanwhile
        is seen: when none is awaited any more the loop carries on at once.
        """
        async with self.runtime.uow() as uow:
            row = await store.agent_row(uow, self.run_id, for_update=True)
            if not await store.children_awaited(uow, self.run_id):
                self._calls = await store.tool_calls(uow, self.run_id)
                return
            store.transition(uow, row, AgentState.WAITING_FOR_CHILDREN)
            await self._touch(uow, row)
            await uow.commit()
            self.run = store.to_run(row)
        log.info("agent_waiting_for_children", agent_id=self.run_id)
        raise _Stop

    async def _record_outputs(self, outputs: Sequence[tuple[ToolUseBlock, ToolOutput]]) -> None:
        if not outputs:
            return
        async with self.runtime.uow() as uow:
            await self._store_outputs(uow, outputs)
            await uow.commit()
        self._remember_outputs(outputs)

    async def _store_outputs(
        self, uow: UnitOfWork, outputs: Sequence[tuple[ToolUseBlock, ToolOutput]]
    ) -> None:
        for use, output in outputs:
            await store.set_tool_call(
                uow,
                self.run_id,
                use.id,
                status=ToolCallStatus.DONE,
                output=output.content,
                is_error=output.is_error,
            )

    def _remember_outputs(self, outputs: Sequence[tuple[ToolUseBlock, ToolOutput]]) -> None:
        for use, output in outputs:
            record = self._calls.get(use.id)
            if record is not None:
                self._calls[use.id] = replace(
                    record,
                    status=ToolCallStatus.DONE,
                    output=output.content,
                    is_error=output.is_error,
                )

    async def _wait_for_approval(self, use: ToolUseBlock) -> None:
        async with self.runtime.uow() as uow:
            row = await store.agent_row(uow, self.run_id, for_update=True)
            await store.set_tool_call(
                uow, self.run_id, use.id, status=ToolCallStatus.AWAITING_APPROVAL
            )
            store.transition(uow, row, AgentState.WAITING_FOR_APPROVAL)
            await self._touch(uow, row)
            await uow.commit()
            self.run = store.to_run(row)
        log.info("agent_waiting_for_approval", agent_id=self.run_id, tool=use.name)
        raise _Stop

    async def _check_stuck(self) -> None:
        """Warn the model once when its last replies repeat a cycle; fail it after that.

        The warning is a user message in the transcript, so a resumed run knows it was
        given and the next repeat fails the run instead of warning again.
        """
        history = [
            ToolAction(c.turn, c.name, c.arguments, c.output or "", c.is_error)
            for c in self._calls.values()
            if c.status is ToolCallStatus.DONE and c.name != "finish"
        ]
        loop = find_loop(history, self.run.limits.stuck_repeats)
        if loop is None:
            return
        texts = [
            block.text
            for message in self._messages
            if message.role is Role.USER
            for block in message.content
            if isinstance(block, TextBlock)
        ]
        if was_warned(texts):
            await self._fail(loop.failure_reason())
        log.info("agent_loop_warned", agent_id=self.run_id, loop=loop.describe())
        warning = Message(role=Role.USER, content=[TextBlock(text=loop.warning())])
        await self._append(len(self._messages), warning)

    # --- endings ------------------------------------------------------------------------

    async def _finish(self, use: ToolUseBlock, output: ToolOutput) -> None:
        async with self.runtime.uow() as uow:
            row = await store.agent_row(uow, self.run_id, for_update=True)
            await store.set_tool_call(
                uow, self.run_id, use.id, status=ToolCallStatus.DONE, output=output.content
            )
            run = await self._end_run(uow, row, use)
            await uow.commit()
            self.run = run
        raise _Stop

    async def _end_run(
        self, uow: UnitOfWork, row: AgentRow, use: ToolUseBlock, *, active: float | None = None
    ) -> AgentRun:
        """Move the run (``row``, locked) to the state its successful ``finish`` call,
        recorded by the caller, asks for.

        ``active``: the run's active seconds as this transaction already counted them
        (with the model call it records), so the tree totals are not updated twice.
        """
        status = FinishStatus(str(use.input.get("status")))
        summary = process_masker().mask(str(use.input.get("summary", "")).strip())
        targets = {
            FinishStatus.COMPLETED: AgentState.COMPLETED,
            FinishStatus.BLOCKED: AgentState.FAILED,
            FinishStatus.NEEDS_INPUT: AgentState.WAITING_FOR_INPUT,
        }
        row.finish_status = status.value
        row.summary = summary
        reason = None
        if status is FinishStatus.BLOCKED:
            reason = f"the agent reported it is blocked: {summary}"
        store.transition(
            uow, row, targets[status], reason=reason, may_have_children=self._has_spawned()
        )
        await self._touch(uow, row, active)
        return store.to_run(row)

    async def _fail(self, reason: str) -> None:
        async with self.runtime.uow() as uow:
            row = await store.agent_row(uow, self.run_id, for_update=True)
            if not AgentState(row.state).is_terminal:
                store.transition(uow, row, AgentState.FAILED, reason=reason)
                await self._touch(uow, row)
                await uow.commit()
            elif self._reserved:  # ended meanwhile: still give the ancestors their dollars back
                await store.release_dollars(uow, self._lineage(), self._reserved)
                self._reserved = Decimal(0)
                await uow.commit()
            self.run = store.to_run(row)
        log.warning("agent_failed", agent_id=self.run_id, reason=reason)
        raise _Stop

    async def _interrupted(self, request: ControlRequest) -> None:
        target = AgentState.PAUSED if request is ControlRequest.PAUSE else AgentState.CANCELLED
        async with self.runtime.uow() as uow:
            row = await store.agent_row(uow, self.run_id, for_update=True)
            row.control = None
            if not AgentState(row.state).is_terminal:
                store.transition(uow, row, target)
            await self._touch(uow, row)
            await uow.commit()
            self.run = store.to_run(row)

    # --- plumbing -----------------------------------------------------------------------

    async def _check_ancestors(self) -> None:
        """Fail before a model call when any ancestor's tree has used up a limit."""
        if not self._ancestors:
            return
        if not self._budgets_read:
            async with self.runtime.uow(read_only=True) as uow:
                self._ancestor_budgets = await store.budgets(uow, self._ancestors)
        self._budgets_read = False
        reason = tree.tree_breach(self._ancestor_budgets, self._unrecorded_active())
        if reason:
            await self._fail(reason)

    async def _check_spending(self) -> None:
        """Fail before a model call while a spending budget covering the run's work is
        spent (read by the transaction just before, else now): a running agent stops at
        its next turn once a budget runs out, whoever spent it."""
        if not self._spending_read:
            async with self.runtime.uow(read_only=True) as uow:
                self._spending = await costs.covering_budgets(uow, self._work)
        self._spending_read = False
        spent = costs.exhausted_budget(self._spending, self.runtime.clock.now())
        if spent is not None:
            await self._fail(str(costs.BudgetExhausted(spent, self.runtime.clock.now())))

    @property
    def _work(self) -> costs.WorkScope:
        return costs.WorkScope(self.run.type, self.run.pipeline)

    def _cost_entry(self, call: CallRecord) -> costs.CostEntry:
        usage = call.usage
        return costs.CostEntry(
            model=call.model,
            provider=self.run.provider,
            agent_id=self.run_id,
            agent_type=self.run.type,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            cost_usd=call.cost_usd,
            story_id=self.run.story_id,
            pipeline=self.run.pipeline,
            pipeline_run_id=self.run.pipeline_run_id,
        )

    async def _check_affordable(self, request: CompletionRequest) -> None:
        """Reserve what the call could cost at most — its input (estimated) plus
        ``max_tokens`` of output, at the model's prices — on this run and its ancestors;
        a call that does not fit in a dollar budget beside the calls in flight in the
        tree is not made. The reservation is given back when the call is recorded."""
        if self._reserved or not self._has_dollar_limit():
            return
        worst = self._worst_cost(request)
        if worst <= 0:
            return
        waited, pause = 0.0, RESERVATION_POLL_SECONDS
        while True:
            async with self.runtime.uow() as uow:
                short = await store.reserve_dollars(uow, self._lineage(), worst)
                await uow.commit()
            if short is None:
                self._reserved = worst
                return
            # Siblings' calls in flight hold reservations they mostly give back: when the
            # budget has room for this call once they settle, wait for them (the tree's
            # calls then take turns at the edge of its budget) rather than fail.
            fits_later = short.reserved > 0 and worst <= short.left + short.reserved
            if not fits_later or waited >= RESERVATION_WAIT_SECONDS:
                break
            await self._control.interruptible(asyncio.sleep(pause))
            waited += pause
            pause = min(pause * 2, 1.0)
        owner = "" if short.agent_id == self.run_id else f" of ancestor {short.agent_id}"
        in_flight = (
            f", ${short.reserved:.4f} of it reserved by calls in flight" if short.reserved else ""
        )
        await self._fail(
            f"cost budget exhausted: the next model call could cost up to ${worst:.4f} "
            f"but only ${max(short.left, Decimal(0)):.4f} is left of the ${short.limit:.2f}"
            f" budget{owner}{in_flight}"
        )

    def _has_dollar_limit(self) -> bool:
        own = store.Budget(self.run_id, self.run.limits, self.run.tree)
        return tree.dollars_left([own, *self._ancestor_budgets]) is not None

    def _lineage(self) -> list[str]:
        return [self.run_id, *self._ancestors]

    async def _out_of_time(self, use: ToolUseBlock) -> None:
        """A tool ran into the active-time limit of this run or an ancestor: fail the run."""
        reason = breached_limit(self.run.limits, self._spent()) or tree.tree_breach(
            self._ancestor_budgets, self._unrecorded_active()
        )
        await self._fail(
            (reason or "time limit reached")
            + f" (the {use.name} tool was still running and has been stopped)"
        )

    def _seconds_left(self) -> float | None:
        """Active time this run may still spend, by its own and its ancestors' limits."""
        own = store.Budget(self.run_id, self.run.limits, self.run.tree)
        left = tree.seconds_left([own, *self._ancestor_budgets])
        return None if left is None else left - self._unrecorded_active()

    def _spent(self) -> Spent:
        """What this run and its descendants spent (the tree totals) and its time so far."""
        return tree.spent_of(
            store.Budget(self.run_id, self.run.limits, self.run.tree), self._unrecorded_active()
        )

    def _active_seconds(self) -> float:
        return self._active_base + (time.monotonic() - self._started)

    def _unrecorded_active(self) -> float:
        """Active seconds of this run not yet added to its tree totals."""
        return max(self._active_seconds() - self._tree_counted, 0.0)

    async def _touch(self, uow: UnitOfWork, row: AgentRow, active: float | None = None) -> None:
        """Record the time spent so far (``active``, else now) with whatever else this
        transaction writes, and count it toward the tree totals of this run and its
        ancestors."""
        active = self._active_seconds() if active is None else active
        row.active_seconds = active
        row.updated_at = uow.now()
        if self._reserved:  # the call it was for did not happen or was not recorded
            await store.release_dollars(uow, self._lineage(), self._reserved)
            self._reserved = Decimal(0)
        delta = active - self._tree_counted
        if delta > 0:
            row.tree_active_seconds = (row.tree_active_seconds or 0.0) + delta
            await store.add_tree_active(uow, self._ancestors, delta)
            self._tree_counted = active


@dataclass(frozen=True)
class _Prepared:
    """A model call's request built ahead (``AgentLoop._prepare``): for a transcript of
    ``length`` messages, whether fitting it elided more, and its worst cost."""

    length: int
    request: CompletionRequest
    elided: bool
    worst: Decimal


@dataclass
class _SpawnPlan:
    """A reply's ``spawn_agent`` calls sorted: children to start, calls already waiting
    for theirs, calls whose input is invalid (with the error the model reads)."""

    requests: list[SpawnRequest] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)
    failed: list[tuple[ToolUseBlock, ToolOutput]] = field(default_factory=list)


@dataclass
class _Spawned:
    """How a reply's ``spawn_agent`` calls are recorded: waiting for their child, or
    done with an error."""

    awaited: list[str]
    failed: list[tuple[ToolUseBlock, ToolOutput]]


def _spawn_error(error: OrchestrateError) -> ToolOutput:
    """An unknown type or an exhausted budget is something the model can act on."""
    return ToolOutput(f"The sub-agent could not run: {error.message}", is_error=True)


def _crashed(agent_id: str, use: ToolUseBlock, error: Exception) -> ToolOutput:
    log.warning("agent_tool_crashed", agent_id=agent_id, tool=use.name, exc_info=True)
    return ToolOutput(f"The tool failed unexpectedly: {type(error).__name__}: {error}", True)


def _result(use: ToolUseBlock, content: str, is_error: bool) -> ToolResultBlock:
    return ToolResultBlock(tool_use_id=use.id, content=content, is_error=is_error)
