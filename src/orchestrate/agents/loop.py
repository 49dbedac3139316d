"""The agent loop: build messages → call the model → run its tools → persist → repeat.

Every message, provider call and tool result is committed before the next provider
call, so a run killed at any moment resumes from the stored transcript: tool calls
with a recorded result are not run again, the others are. The loop ends when the agent
calls ``finish``, when it must wait (approval, a human answer, a pause), or when a
limit is crossed. Pause and cancel requests are polled every half second and cancel
whatever is in flight (a provider call or a tool's process) at once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from functools import cached_property, partial
from pathlib import Path

import structlog

from orchestrate.agents import _store as store
from orchestrate.agents.context import ContextDoesNotFit, ContextFitter
from orchestrate.agents.control import ControlWatcher, Interrupted
from orchestrate.agents.limits import Spent, breached_limit
from orchestrate.agents.models import (
    AgentDefinition,
    AgentRun,
    AgentState,
    ControlRequest,
    FinishStatus,
    ToolCallRecord,
    ToolCallStatus,
)
from orchestrate.agents.prompting import build_request, first_message
from orchestrate.agents.stuck import ToolAction, find_loop, was_warned
from orchestrate.agents.tables import AgentRow
from orchestrate.agents.tools.base import Tool, ToolContext, ToolInputError, ToolOutput
from orchestrate.core.errors import ConfigurationError
from orchestrate.core.masking import process_masker
from orchestrate.core.runtime import Runtime
from orchestrate.core.sandbox import SandboxPolicy
from orchestrate.core.uow import UnitOfWork
from orchestrate.llm.service import (
    CallRecord,
    CompletionResponse,
    ContextWindowExceeded,
    Message,
    Provider,
    ProviderError,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
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
ChildRunner = Callable[[AgentRun, str, str, Decimal | None, str], Awaitable[str]]
"""Runs a sub-agent: parent, type, task, budget and the id of the spawn_agent call."""


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
    spawn_child: ChildRunner | None = None
    sandbox: SandboxPolicy = field(default_factory=SandboxPolicy)


class AgentLoop:
    def __init__(self, runtime: Runtime, run: AgentRun, provider: Provider, env: LoopEnvironment):
        self.runtime = runtime
        self.run_id = run.id
        self.run = run
        self.provider = provider
        self.env = env
        self._control = ControlWatcher(runtime, run.id)
        self._started = time.monotonic()
        self._active_base = run.active_seconds
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
        async with self.runtime.uow(read_only=True) as uow:
            self._messages = await store.load_transcript(uow, self.run_id)
            self._calls = await store.tool_calls(uow, self.run_id)
            self.run = store.to_run(await store.agent_row(uow, self.run_id))

    async def _step(self) -> None:
        self._control.check()
        if self.run.state is not AgentState.RUNNING:
            raise _Stop
        messages, calls = self._messages, self._calls
        if not messages:
            await self._append(0, await first_message(self.runtime, self.run, self.env))
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
        async with self.runtime.uow() as uow:
            await self._store_outputs(uow, outputs)
            await store.append_message(uow, self.run_id, seq, message)
            await uow.commit()
        self._remember_outputs(outputs)
        self._messages.append(message)

    async def _nudge(self, seq: int) -> None:
        self._nudges += 1
        if self._nudges > MAX_NUDGES:
            await self._fail(f"the agent stopped {MAX_NUDGES} times without calling finish")
        await self._append(seq, Message(role=Role.USER, content=[TextBlock(text=NUDGE)]))

    # --- the model --------------------------------------------------------------------

    async def _call_model(self, messages: list[Message]) -> None:
        reason = breached_limit(self.run.limits, self._spent())
        if reason:
            await self._fail(reason)
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
        async with self.runtime.uow() as uow:
            run = await store.record_call(uow, self.run_id, call, self._active_seconds())
            await store.append_message(uow, self.run_id, len(messages), response.message)
            await store.add_tool_calls(uow, self.run_id, run.turns, response.message.tool_uses)
            await uow.commit()
            self.run = run
        self._messages.append(response.message)
        for use in response.message.tool_uses:
            self._calls[use.id] = ToolCallRecord(
                tool_use_id=use.id,
                turn=self.run.turns,
                name=use.name,
                arguments=dict(use.input),
                status=ToolCallStatus.PENDING,
                output=None,
                is_error=False,
                decided_by=None,
            )
        if response.message.tool_uses:
            self._nudges = 0

    async def _complete(self, messages: list[Message], window: int) -> CompletionResponse:
        """Call the model with the transcript fitted to its window (see ``context``).

        The fitter keeps every request within the window by its estimate; should the
        provider still refuse one as too long, it is retried with a smaller budget.
        """
        tools = [tool.spec for tool in self.env.tools.values()]
        pressure = 1.0
        while True:
            try:
                request = build_request(
                    self.run, self.env.definition, messages, tools, window, self._fitter, pressure
                )
            except ContextDoesNotFit as error:
                await self._fail(
                    f"the conversation no longer fits the context window of {self.run.model}: "
                    f"{error}"
                )
            if self._fitter.cut_moved:
                log.info(
                    "agent_context_elided",
                    agent_id=self.run_id,
                    messages_left_out=self._fitter.last_elided,
                    estimated_tokens=self._fitter.last_tokens,
                )
            try:
                return await self._control.interruptible(self.provider.complete(request))
            except ContextWindowExceeded:
                if pressure <= 0.25:
                    await self._fail(
                        f"the conversation no longer fits the context window of {self.run.model}"
                    )
                pressure /= 2

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
        for use in message.tool_uses:
            record = calls.get(use.id)
            if record is not None and record.status is ToolCallStatus.DONE:
                results.append(_result(use, record.output or "", record.is_error))
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
        elif use.name in self.env.approval_tools and use.name != "finish":
            status = record.status if record else ToolCallStatus.PENDING
            if status in (ToolCallStatus.PENDING, ToolCallStatus.AWAITING_APPROVAL):
                await self._wait_for_approval(use)
            if status is ToolCallStatus.DENIED:
                who = record.decided_by if record else None
                output = ToolOutput(
                    f"A human denied this {use.name} call{f' ({who})' if who else ''}. "
                    "Do not retry it as is; choose another way or finish blocked.",
                    is_error=True,
                )
            else:
                output = await self._execute(tool, use)
        else:
            output = await self._execute(tool, use)
        return output

    async def _execute(self, tool: Tool, use: ToolUseBlock) -> ToolOutput:
        context = ToolContext(
            agent_id=self.run_id,
            workspace=self.env.workspace,
            env=self.env.env,
            bash_timeout=self.runtime.settings.bash_timeout_seconds,
            output_limit=self.runtime.settings.tool_output_limit,
            spawn=partial(self._spawn, use.id) if self.env.spawn_child else None,
            sandbox=self.env.sandbox,
            network=self.env.definition.network,
        )
        try:
            return await self._control.interruptible(tool.run(context, dict(use.input)))
        except ToolInputError as error:
            return ToolOutput(str(error), is_error=True)
        except (Interrupted, asyncio.CancelledError):
            raise
        except Exception as error:
            log.warning("agent_tool_crashed", agent_id=self.run_id, tool=use.name, exc_info=True)
            return ToolOutput(
                f"The tool failed unexpectedly: {type(error).__name__}: {error}", True
            )

    async def _spawn(
        self, call_id: str, agent_type: str, task: str, max_cost: Decimal | None
    ) -> str:
        assert self.env.spawn_child is not None
        return await self.env.spawn_child(self.run, agent_type, task, max_cost, call_id)

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
        status = FinishStatus(str(use.input.get("status")))
        summary = process_masker().mask(str(use.input.get("summary", "")).strip())
        targets = {
            FinishStatus.COMPLETED: AgentState.COMPLETED,
            FinishStatus.BLOCKED: AgentState.FAILED,
            FinishStatus.NEEDS_INPUT: AgentState.WAITING_FOR_INPUT,
        }
        async with self.runtime.uow() as uow:
            row = await store.agent_row(uow, self.run_id, for_update=True)
            await store.set_tool_call(
                uow, self.run_id, use.id, status=ToolCallStatus.DONE, output=output.content
            )
            row.finish_status = status.value
            row.summary = summary
            reason = None
            if status is FinishStatus.BLOCKED:
                reason = f"the agent reported it is blocked: {summary}"
            store.transition(uow, row, targets[status], reason=reason)
            await self._touch(uow, row)
            await uow.commit()
        raise _Stop

    async def _fail(self, reason: str) -> None:
        async with self.runtime.uow() as uow:
            row = await store.agent_row(uow, self.run_id, for_update=True)
            if not AgentState(row.state).is_terminal:
                store.transition(uow, row, AgentState.FAILED, reason=reason)
                await self._touch(uow, row)
                await uow.commit()
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

    # --- plumbing -----------------------------------------------------------------------

    def _spent(self) -> Spent:
        return Spent(
            turns=self.run.turns,
            tokens=self.run.total_tokens,
            cost_usd=self.run.cost_usd,
            active=timedelta(seconds=self._active_seconds()),
        )

    def _active_seconds(self) -> float:
        return self._active_base + (time.monotonic() - self._started)

    async def _touch(self, uow: UnitOfWork, row: AgentRow) -> None:
        """Record the time spent so far with whatever else this transaction writes."""
        row.active_seconds = self._active_seconds()
        row.updated_at = uow.now()


def _result(use: ToolUseBlock, content: str, is_error: bool) -> ToolResultBlock:
    return ToolResultBlock(tool_use_id=use.id, content=content, is_error=is_error)
