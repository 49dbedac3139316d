"""``orchestrate job …``: look into the queue, retry dead-lettered jobs, cancel queued ones."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.cli.output import print_fields, print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.jobs import JobStatus
from orchestrate.monitoring import service
from orchestrate.monitoring.schemas import JobOut

job_app = typer.Typer(help="Inspect and steer background jobs.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@job_app.command("list")
def list_jobs(
    status: Annotated[JobStatus | None, typer.Option(help="Only jobs in this status.")] = None,
    kind: Annotated[str | None, typer.Option(help="Only jobs of this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    json_output: JsonOption = False,
) -> None:
    """List jobs, newest first."""
    page = run_with_runtime(
        lambda rt: service.list_jobs(rt.uow(read_only=True), status=status, kind=kind, limit=limit)
    )
    jobs = [JobOut.of(info) for info in page.items]
    if json_output:
        print_json(jobs)
        return
    print_table(
        ["id", "kind", "status", "attempts", "run at", "last error"],
        (
            (
                j.id,
                j.kind,
                j.status,
                f"{j.attempts}/{j.max_attempts}",
                j.run_at,
                (j.last_error or "").splitlines()[-1:] or None,
            )
            for j in jobs
        ),
    )


@job_app.command("show")
def show_job(job_id: str, json_output: JsonOption = False) -> None:
    """Show one job with its payload, result and last error."""
    job = JobOut.of(run_with_runtime(lambda rt: service.get_job(rt.uow(read_only=True), job_id)))
    if json_output:
        print_json(job)
        return
    print_fields(list(job.model_dump().items()), title=f"Job {job.id}")


@job_app.command("retry")
def retry_job(job_id: str) -> None:
    """Re-queue a dead-lettered or cancelled job with a fresh set of attempts."""
    run_with_runtime(lambda rt: service.retry_job(rt.uow(), job_id, Actor.local_cli()))
    say(f"Job {job_id} is queued again.")


@job_app.command("cancel")
def cancel_job(job_id: str) -> None:
    """Cancel a job that has not started yet."""
    run_with_runtime(lambda rt: service.cancel_job(rt.uow(), job_id, Actor.local_cli()))
    say(f"Job {job_id} is cancelled.")
