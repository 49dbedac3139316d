"""``orchestrate pipeline trigger|runs|run-show|logs|cancel|approve|reject|rerun``.

Mounted on the ``pipeline`` sub-app by ``cli.py`` (``COMMANDS``). With ``--wait`` a
command works the job queue in this process until its run ends, so a laptop needs
no running worker; see ``cli_progress.py``.
"""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer

from orchestrate.cli.output import print_fields, print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.identity import Actor
from orchestrate.pipelines.models import PipelineRun, RunStatus
from orchestrate.pipelines.schemas import PipelineRunOut, StepOut

if TYPE_CHECKING:  # the service loads only when a command runs: `pipeline validate` stays quick
    from orchestrate.core.runtime import Runtime

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
WaitOption = Annotated[
    bool, typer.Option("--wait", help="Run it here, print each step, exit 0 only on success.")
]
CommentOption = Annotated[str | None, typer.Option("--comment", "-m", help="Why.")]


def trigger(
    name: str,
    inputs: Annotated[
        list[str] | None, typer.Option("--input", "-i", help="NAME=VALUE; repeat for more.")
    ] = None,
    wait: WaitOption = False,
    json_output: JsonOption = False,
) -> None:
    """Start a run of a pipeline; prints the run id."""
    from orchestrate.pipelines import service

    request = service.TriggerRequest(name, inputs=service.parse_assignments(inputs or []))
    _launch(
        lambda rt: service.trigger_pipeline(rt.uow(), rt.settings, request, Actor.local_cli()),
        wait=wait,
        json_output=json_output,
    )


def rerun(
    run_id: str,
    failed: Annotated[
        bool, typer.Option("--failed", help="Reuse the steps that succeeded; run the rest.")
    ] = False,
    wait: WaitOption = False,
    json_output: JsonOption = False,
) -> None:
    """Run a finished run again with the same inputs; prints the new run's id."""
    from orchestrate.pipelines import service

    _launch(
        lambda rt: service.rerun(
            rt.uow(), rt.settings, run_id, Actor.local_cli(), failed_only=failed
        ),
        wait=wait,
        json_output=json_output,
    )


def _launch(
    start: Callable[[Runtime], Awaitable[PipelineRun]], *, wait: bool, json_output: bool
) -> None:
    from orchestrate.pipelines.cli_progress import report_end, run_here_and_follow

    async def work(runtime: Runtime) -> PipelineRun:
        run = await start(runtime)
        if not json_output:
            print(run.id, flush=True)
        if not wait:
            return run
        say(f"Run {run.id} of {run.pipeline} started; following it (Ctrl+C stops following).")
        return await run_here_and_follow(runtime, run.id)

    run = run_with_runtime(work)
    if json_output:
        print_json(PipelineRunOut.of(run))
    if wait:
        report_end(run)
        raise typer.Exit(0 if run.status is RunStatus.SUCCESS else 1)


def runs(
    name: Annotated[str | None, typer.Argument(help="Only runs of this pipeline.")] = None,
    status: Annotated[RunStatus | None, typer.Option(help="Only runs in this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_output: JsonOption = False,
) -> None:
    """List runs, newest first."""
    from orchestrate.pipelines import service
    from orchestrate.pipelines.cli_progress import duration

    page = run_with_runtime(
        lambda rt: service.list_runs(
            rt.uow(read_only=True), pipeline=name, status=status, limit=limit
        )
    )
    found = [PipelineRunOut.of(run) for run in page.items]
    if json_output:
        print_json(found)
        return
    print_table(
        ["run", "pipeline", "#", "status", "trigger", "created", "took"],
        (
            (
                r.id,
                r.pipeline,
                r.number,
                r.status,
                r.trigger_kind,
                r.created_at,
                duration(r.started_at, r.finished_at),
            )
            for r in found
        ),
    )


def run_show(run_id: str, json_output: JsonOption = False) -> None:
    """Show a run: its status, inputs and every step with outputs, attempts and timings."""
    from orchestrate.pipelines import service
    from orchestrate.pipelines.cli_progress import duration

    run = PipelineRunOut.of(
        run_with_runtime(lambda rt: service.get_run(rt.uow(read_only=True), run_id))
    )
    if json_output:
        print_json(run)
        return
    print_fields(
        [
            ("run", run.id),
            ("pipeline", f"{run.pipeline} #{run.number}"),
            ("status", run.status),
            ("reason", run.reason),
            ("trigger", f"{run.trigger_kind.value} by {run.created_by}"),
            ("inputs", _pairs(run.inputs)),
            ("re-run of", run.rerun_of),
            ("workspace", run.workspace_path),
            ("created", run.created_at),
            ("took", duration(run.started_at, run.finished_at)),
        ],
        title=f"Run {run.id}",
    )
    print_table(
        ["step", "kind", "status", "attempts", "took", "details"],
        (
            (
                s.id,
                s.kind,
                s.status,
                f"{s.attempts}/{s.max_attempts}",
                duration(s.started_at, s.finished_at),
                _details(s),
            )
            for s in run.steps
        ),
    )


def logs(
    run_id: str,
    step: Annotated[str | None, typer.Argument(help="Only this step (or matrix step).")] = None,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Print new lines until the run ends.")
    ] = False,
) -> None:
    """Print the step logs of a run, each under a '==> step KEY <==' line."""
    from orchestrate.pipelines import service
    from orchestrate.pipelines.log_view import follow_run, log_lines, log_text, selected_steps

    async def work(runtime: Runtime) -> PipelineRun:
        run = await service.get_run(runtime.uow(read_only=True), run_id)
        steps = selected_steps(run, step)
        if not follow:
            for chunk in log_text(steps):
                sys.stdout.write(chunk)
            return run
        async for batch in follow_run(runtime, run_id):
            for event in batch:
                key = event.payload.get("step")
                prefix = "" if key == step else f"{key} | "  # several steps: say whose line
                for line in log_lines(event, step):
                    sys.stdout.write(f"{prefix}{line}\n")
            sys.stdout.flush()
        return await service.get_run(runtime.uow(read_only=True), run_id)

    run = run_with_runtime(work)
    if follow:
        say(f"Run {run.id}: {run.status.value}")


def cancel(
    run_id: str,
    step: Annotated[str | None, typer.Option("--step", help="Cancel only this step.")] = None,
) -> None:
    """Cancel a run, or one of its steps; running processes are stopped."""
    from orchestrate.pipelines import service

    actor = Actor.local_cli()
    run = run_with_runtime(
        lambda rt: (
            service.cancel_step(rt.uow(), run_id, step, actor)
            if step is not None
            else service.cancel_run(rt.uow(), run_id, actor)
        )
    )
    target = f"step {step} of run {run.id}" if step is not None else f"run {run.id}"
    if run.status.is_terminal:
        say(f"Cancelled {target}; the run is {run.status.value}")
    elif step is not None:
        say(f"Cancelling {target}: its process is being stopped (the run is {run.status.value})")
    else:
        say(
            f"Cancelling {target}: its running steps are being stopped, and it ends "
            f"cancelled once none is left (it is {run.status.value} now)"
        )


def approve(run_id: str, step: str, comment: CommentOption = None) -> None:
    """Approve a waiting approval step (you must be one of its approvers)."""
    _decide(run_id, step, "approve", comment)


def reject(run_id: str, step: str, comment: CommentOption = None) -> None:
    """Reject a waiting approval step: it fails."""
    _decide(run_id, step, "reject", comment)


def _decide(
    run_id: str, step: str, decision: Literal["approve", "reject"], comment: str | None
) -> None:
    from orchestrate.pipelines import service

    run = run_with_runtime(
        lambda rt: service.decide_approval(
            rt.uow(), run_id, step, Actor.local_cli(), decision, comment
        )
    )
    after = run.step(step)
    say(f"Step {step}: {decision}d ({after.status.value}); run {run.id} is {run.status.value}")


def _pairs(values: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in values.items()) or "-"


def _details(step: StepOut) -> str:
    if step.skip_reason:
        return step.skip_reason
    if step.error:
        return step.error
    if step.reused_from:
        return f"reused from {step.reused_from}"
    return _pairs(step.outputs) if step.outputs else ""


COMMANDS: list[tuple[str, Callable[..., None]]] = [
    ("trigger", trigger),
    ("runs", runs),
    ("run-show", run_show),
    ("logs", logs),
    ("cancel", cancel),
    ("approve", approve),
    ("reject", reject),
    ("rerun", rerun),
]
