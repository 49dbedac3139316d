"""``orchestrate agent …``: start agents, follow them, steer them, clean up after them."""

from __future__ import annotations

import asyncio
import json
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from orchestrate.agents import service
from orchestrate.agents.execution import run_agent_here
from orchestrate.agents.models import AgentState
from orchestrate.agents.rendering import agent_forest, describe_message, progress_line
from orchestrate.agents.schemas import (
    AgentOut,
    AgentStatsOut,
    AgentStatsTotalOut,
    AgentTypeOut,
    MessageOut,
)
from orchestrate.agents.stuck import MIN_REPEATS
from orchestrate.auth.service import Actor
from orchestrate.cli.output import (
    print_fields,
    print_forest,
    print_json,
    print_table,
    say,
    stdout,
)
from orchestrate.cli.runtime import cli_settings, run_with_runtime
from orchestrate.core.runtime import Runtime
from orchestrate.core.sandbox import SandboxPolicy, require_sandbox, sandbox_warning

agent_app = typer.Typer(help="Run and steer AI agents.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_WAITING = {AgentState.CREATED, AgentState.RUNNING}


@agent_app.command("types")
def types(
    repo: Annotated[Path | None, typer.Option(help="Also read this repository's agents.")] = None,
    json_output: JsonOption = False,
) -> None:
    """List agent types with the file each comes from."""
    settings = cli_settings()
    definitions = [AgentTypeOut.of(d) for d in service.agent_types(settings, repo or _git_top())]
    if json_output:
        print_json(definitions)
        return
    print_table(
        ["type", "description", "tools", "source"],
        ((d.name, d.description, ", ".join(d.tools), d.source) for d in definitions),
    )


@agent_app.command("start")
def start(
    agent_type: Annotated[str, typer.Argument(metavar="TYPE", help="e.g. story-developer")],
    task: Annotated[str, typer.Option("--task", help="What the agent should do.")],
    story: Annotated[str | None, typer.Option(help="Story id or key to work on.")] = None,
    repo: Annotated[
        Path | None, typer.Option(help="Git repository (default: the one you are in).")
    ] = None,
    base: Annotated[str, typer.Option(help="Ref the agent's branch starts from.")] = "HEAD",
    provider: Annotated[str | None, typer.Option(help="anthropic, openai or replay:FILE")] = None,
    model: Annotated[str | None, typer.Option(help="Model name.")] = None,
    max_cost: Annotated[float | None, typer.Option("--max-cost", help="USD budget.")] = None,
    max_turns: Annotated[int | None, typer.Option(min=1)] = None,
    stuck_repeats: Annotated[
        int | None,
        typer.Option(
            "--stuck-repeats",
            min=MIN_REPEATS,
            help="Repeats of the same tool calls that count as a loop (default: the type's, 4).",
        ),
    ] = None,
    record: Annotated[
        Path | None,
        typer.Option(
            help="Record the session to this file; sub-agents record next to it (docs/replay.md)."
        ),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Run it here and follow it.")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Start on the story even while another agent works on it."),
    ] = False,
) -> None:
    """Start an agent; prints its id (with --wait: its progress, exit 0 only if completed).

    One agent works on a story at a time: a second start on it is refused with the
    active agent's id unless --force; a done story is refused.
    """
    request = service.StartAgent(
        type=agent_type,
        task=task,
        story=story,
        repo=repo if repo is not None else _git_top(),
        base_ref=base,
        provider=provider,
        model=model,
        max_turns=max_turns,
        max_cost_usd=Decimal(str(max_cost)) if max_cost is not None else None,
        stuck_repeats=stuck_repeats,
        record=record,
        force=force,
    )

    async def work(runtime: Runtime) -> AgentOut:
        policy = SandboxPolicy.from_settings(runtime.settings)
        require_sandbox(policy)  # one clear line, exit 2, before anything is stored
        if (warning := sandbox_warning(policy)) is not None:
            say(f"Warning: {warning}")
        run = await service.start_agent(runtime.uow(), runtime.settings, request, Actor.local_cli())
        if not wait:
            return AgentOut.of(run)
        say(f"Agent {run.id} ({run.type}) started; following it (Ctrl+C stops following).")
        return AgentOut.of(await _run_and_follow(runtime, run.id))

    agent = run_with_runtime(work)
    print(agent.id, flush=True)
    if wait:
        _report_end(agent)
        raise typer.Exit(0 if agent.state is AgentState.COMPLETED else 1)


@agent_app.command("list")
def list_agents(
    state: Annotated[AgentState | None, typer.Option(help="Only agents in this state.")] = None,
    agent_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    as_tree: Annotated[
        bool, typer.Option("--tree", help="Draw each listed agent with its sub-agents below.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """List agent runs, newest first (--tree: as trees of sub-agents)."""

    async def work(runtime: Runtime) -> tuple[list[service.AgentRun], list[service.AgentRun]]:
        page = await service.list_agents(
            runtime.uow(read_only=True), state=state, agent_type=agent_type, limit=limit
        )
        below: list[service.AgentRun] = []
        if as_tree:
            below = await service.descendants(
                runtime.uow(read_only=True), [a.id for a in page.items]
            )
        return page.items, below

    listed, below = run_with_runtime(work)
    agents = [AgentOut.of(a) for a in listed]
    if json_output:
        print_json(agents + [AgentOut.of(a) for a in below] if as_tree else agents)
        return
    if as_tree:
        print_forest(agent_forest(agents, [AgentOut.of(a) for a in below]))
        return
    print_table(
        ["id", "type", "state", "turns", "tokens", "cost $", "branch", "task"],
        (
            (a.id, a.type, a.state, a.turns, a.total_tokens, a.cost_usd, a.branch, a.task[:60])
            for a in agents
        ),
    )


@agent_app.command("stats")
def stats(
    since: Annotated[
        str | None,
        typer.Option(
            help="Only runs created since: a date (2026-12-01, midnight UTC), a date and time "
            "(UTC unless it has an offset) or a period back from now (30d, 12h, 2w). "
            "Default: all runs kept."
        ),
    ] = None,
    agent_type: Annotated[str | None, typer.Option("--type", help="Only this type.")] = None,
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Runs, success rate, turns, duration, tokens and cost per agent type and model.

    Runs counts finished runs (completed, failed, cancelled); success is completed / runs.
    """
    report = AgentStatsOut.of(
        run_with_runtime(
            lambda rt: service.agent_stats(
                rt.uow(read_only=True), since=since, agent_type=agent_type, model=model
            )
        )
    )
    if json_output:
        print_json(report)
        return
    window = f"since {report.since:%Y-%m-%d %H:%M} UTC" if report.since else "all time"
    rows = [(g.type, g.model, *_stats_cells(g)) for g in report.items]
    if rows:
        rows.append(("all", "", *_stats_cells(report.total)))
    title = f"Agent runs, {window} (turns, time: median / p90)"
    print_table(_STATS_COLUMNS, rows, title=title)


_STATS_COLUMNS = [
    *("type", "model", "runs", "success", "failed", "cancel", "active"),
    *("turns", "time", "tokens in / out", "cost $", "mean $"),
]


def _stats_cells(figures: AgentStatsTotalOut) -> tuple[object, ...]:
    """One row's figures; runs and success imply "completed" (the JSON has it)."""
    rate = figures.success_rate
    return (
        figures.runs,
        None if rate is None else f"{rate:.0%}",
        figures.failed,
        figures.cancelled,
        figures.active,
        _pair(_number(figures.median_turns), _number(figures.p90_turns)),
        _pair(_duration(figures.median_duration_seconds), _duration(figures.p90_duration_seconds)),
        f"{figures.input_tokens:,} / {figures.output_tokens:,}",
        f"{figures.total_cost_usd:.4f}",
        None if figures.mean_cost_usd is None else f"{figures.mean_cost_usd:.4f}",
    )


def _pair(median: str | None, p90: str | None) -> str | None:
    return None if median is None else f"{median} / {p90}"


def _number(value: float | None) -> str | None:
    return None if value is None else f"{value:g}" if value == int(value) else f"{value:.1f}"


def _duration(seconds: float | None) -> str | None:
    """``42s``, ``3m 05s``, ``2h 07m``: as precise as a glance at a table needs."""
    if seconds is None:
        return None
    whole = round(seconds)
    if whole < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@agent_app.command("show")
def show(agent_id: str, json_output: JsonOption = False) -> None:
    """Show one agent: state, type, story, branch, turns, tokens, cost and summary."""
    agent = AgentOut.of(
        run_with_runtime(lambda rt: service.get_agent(rt.uow(read_only=True), agent_id))
    )
    if json_output:
        print_json(agent)
        return
    fields = agent.model_dump()
    fields.pop("limits")
    fields["children"] = [f"{c.id} ({c.type}, {c.state.value})" for c in agent.children]
    tree = agent.tree
    fields["tree"] = (
        f"{tree.turns} turns, {tree.tokens:,} tokens, ${tree.cost_usd:.4f}, "
        f"{tree.active_seconds:.1f} s (with all sub-agents)"
    )
    print_fields(list(fields.items()), title=f"Agent {agent.id}")


@agent_app.command("logs")
def logs(
    agent_id: str,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep printing new messages.")
    ] = False,
    json_output: JsonOption = False,
) -> None:
    """Print the transcript: the task, the model's words, every tool call and result."""

    async def work(runtime: Runtime) -> None:
        after = -1
        while True:
            page = await service.transcript(runtime.uow(read_only=True), agent_id, after_seq=after)
            for seq, created_at, message in page:
                if json_output:
                    out = MessageOut.of(seq, created_at, message).model_dump(mode="json")
                    stdout.print(json.dumps(out), soft_wrap=True, highlight=False, markup=False)
                else:
                    describe_message(stdout, seq, message)
                after = seq
            if not follow:
                return
            agent = await service.get_agent(runtime.uow(read_only=True), agent_id)
            if agent.state not in _WAITING and not page:
                say(f"Agent {agent_id} is {agent.state.value}.")
                return
            await asyncio.sleep(0.5)

    run_with_runtime(work)


def _steer(name: str, doc: str) -> None:
    def command(agent_id: str) -> None:
        action = getattr(service, name)
        agent = run_with_runtime(lambda rt: action(rt.uow(), agent_id, Actor.local_cli()))
        say(
            f"Agent {agent.id}: {agent.state.value}"
            + (f" ({agent.control.value} requested)" if agent.control else "")
        )

    command.__doc__ = doc
    agent_app.command(name)(command)


_steer("pause", "Pause an agent (a running one stops within seconds).")
_steer("cancel", "Cancel an agent (a running one stops within seconds).")
_steer("approve", "Approve the tool call an agent is waiting on.")


@agent_app.command("deny")
def deny(
    agent_id: str,
    reason: Annotated[
        str | None, typer.Option(help="Why; the agent reads it with the denial.")
    ] = None,
) -> None:
    """Deny the tool call an agent is waiting on; it is told and carries on."""
    agent = run_with_runtime(
        lambda rt: service.deny(rt.uow(), agent_id, Actor.local_cli(), reason=reason)
    )
    say(f"Agent {agent.id}: {agent.state.value}")


@agent_app.command("resume")
def resume(
    agent_id: str,
    message: Annotated[str | None, typer.Option(help="Answer to the agent's question.")] = None,
) -> None:
    """Resume a paused agent, or answer one waiting for input."""
    agent = run_with_runtime(
        lambda rt: service.resume(rt.uow(), agent_id, Actor.local_cli(), message=message)
    )
    say(f"Agent {agent.id}: {agent.state.value}")


@agent_app.command("cleanup")
def cleanup(json_output: JsonOption = False) -> None:
    """Remove the worktrees of finished agents (their branches stay)."""
    removed = run_with_runtime(lambda rt: service.cleanup_workspaces(rt.uow(), Actor.local_cli()))
    if json_output:
        print_json([{"id": agent_id, "workspace": path} for agent_id, path in removed])
        return
    say(f"Removed {len(removed)} worktree(s).")
    for agent_id, path in removed:
        say(f"  {agent_id}: {path}")


async def _run_and_follow(runtime: Runtime, agent_id: str) -> service.AgentRun:
    """Run the agent's job in this process unless a worker already has it, printing progress."""
    runner = asyncio.create_task(run_agent_here(runtime, agent_id))
    seen = -1
    while True:
        page = await service.transcript(runtime.uow(read_only=True), agent_id, after_seq=seen)
        for seq, _, message in page:
            line = progress_line(message)
            if line:
                say(line)
            seen = seq
        agent = await service.get_agent(runtime.uow(read_only=True), agent_id)
        if runner.done():
            await runner  # re-raises if running the job here failed
            if agent.state not in _WAITING:
                return agent
        await asyncio.sleep(0.3)


def _report_end(agent: AgentOut) -> None:
    say(
        f"Agent {agent.id} {agent.state.value}: {agent.turns} turns, "
        f"{agent.total_tokens:,} tokens, ${agent.cost_usd:.4f}"
        + (f", branch {agent.branch}" if agent.branch else "")
    )
    if agent.summary:
        say(agent.summary)
    if agent.failure_reason:
        say(f"Reason: {agent.failure_reason}")


def _git_top() -> Path | None:
    """The repository the user is in, if any (the default for --repo)."""
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],  # noqa: S607 - git from PATH
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    top = result.stdout.strip()
    return Path(top) if result.returncode == 0 and top else None
