"""``orchestrate ci runs|show|logs|trigger|rerun|cancel|analyze``: runs of GitHub Actions,
GitLab CI, CircleCI.

Every command takes ``--provider`` and ``--repo``; left out, they come from
``ORCHESTRATE_CI_PROVIDER`` (default github) and ``ORCHESTRATE_CI_REPOSITORY``.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.ci import runs
from orchestrate.ci.brief import render_brief
from orchestrate.ci.providers import CiRun, Conclusion, RunFilter, RunStatus
from orchestrate.ci.run_analysis import analyze_run
from orchestrate.ci.schemas import CiRunDetailsOut, CiRunOut
from orchestrate.cli.errors import EXIT_FAILED
from orchestrate.cli.output import print_fields, print_json, print_table, say
from orchestrate.cli.runtime import cli_settings, run_with_runtime
from orchestrate.core.runtime import Runtime

runs_app = typer.Typer(
    help="CI runs on GitHub Actions, GitLab CI and CircleCI: list, show, logs, trigger, rerun, "
    "cancel.",
    no_args_is_help=True,
)

ProviderOption = Annotated[
    str | None,
    typer.Option("--provider", "-p", help="github, gitlab or circleci (ORCHESTRATE_CI_PROVIDER)."),
]
RepoOption = Annotated[
    str | None,
    typer.Option(
        "--repo",
        "-r",
        help="owner/name, GitLab group/project or CircleCI gh/org/repo "
        "(ORCHESTRATE_CI_REPOSITORY).",
    ),
]
RunArgument = Annotated[str, typer.Argument(help="The run: workflow run, pipeline or workflow id.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _target(provider: str | None, repo: str | None) -> runs.CiTarget:
    return runs.resolve_target(cli_settings(), provider, repo)


@runs_app.command("runs")
def list_runs(
    provider: ProviderOption = None,
    repo: RepoOption = None,
    branch: Annotated[str | None, typer.Option(help="Only runs on this branch.")] = None,
    status: Annotated[
        RunStatus | None, typer.Option(help="queued, in_progress or completed.")
    ] = None,
    workflow: Annotated[
        str | None, typer.Option(help="Only this workflow (GitHub: its file, ci.yml).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=100, help="How many, newest first.")] = 20,
    json_output: JsonOption = False,
) -> None:
    """The repository's latest runs, newest first."""
    target = _target(provider, repo)
    filters = RunFilter(branch=branch, status=status, workflow=workflow)
    page = run_with_runtime(
        lambda rt: runs.list_runs(rt.uow(read_only=True), rt.settings, target, filters, limit=limit)
    )
    found = [CiRunOut.of(run) for run in page.items]
    if json_output:
        print_json(found)
        return
    print_table(
        ["id", "workflow", "branch", "status", "conclusion", "attempt", "created"],
        (
            (r.id, r.workflow, r.branch, r.status, r.conclusion, r.attempt, r.created_at)
            for r in found
        ),
        title=f"{target.provider.value}: {target.repository}",
    )


@runs_app.command("show")
def show(
    run_id: RunArgument,
    provider: ProviderOption = None,
    repo: RepoOption = None,
    attempt: Annotated[int | None, typer.Option(min=1, help="An earlier attempt.")] = None,
    json_output: JsonOption = False,
) -> None:
    """One run and its jobs."""
    target = _target(provider, repo)
    details = CiRunDetailsOut.of(
        run_with_runtime(
            lambda rt: runs.show_run(
                rt.uow(read_only=True), rt.settings, target, run_id, attempt=attempt
            )
        )
    )
    if json_output:
        print_json(details)
        return
    run = details.run
    print_fields(
        [
            ("workflow", run.workflow),
            ("branch", run.branch),
            ("commit", run.head_sha),
            ("status", run.status),
            ("conclusion", run.conclusion),
            ("attempt", run.attempt),
            ("url", run.url),
            ("created", run.created_at),
            ("updated", run.updated_at),
        ],
        title=f"Run {run.id} of {run.repository} ({run.provider.value})",
    )
    print_table(
        ["job", "name", "status", "conclusion", "started", "finished"],
        ((j.id, j.name, j.status, j.conclusion, j.started_at, j.finished_at) for j in details.jobs),
    )


@runs_app.command("logs")
def logs(
    run_id: RunArgument,
    job: Annotated[str | None, typer.Option("--job", "-j", help="One job, by id or name.")] = None,
    provider: ProviderOption = None,
    repo: RepoOption = None,
) -> None:
    """A job's log, or every job's of the run, as text."""
    target = _target(provider, repo)
    text = run_with_runtime(
        lambda rt: runs.run_logs(rt.uow(read_only=True), rt.settings, target, run_id, job=job)
    )
    sys.stdout.write(text if text.endswith("\n") else text + "\n")


@runs_app.command("trigger")
def trigger(
    ref: Annotated[str, typer.Option("--ref", help="The branch (or tag) to run on.")],
    workflow: Annotated[
        str,
        typer.Option(
            "--workflow", "-w", help="GitHub: the workflow file (ci.yml); CircleCI: its name."
        ),
    ] = "",
    inputs: Annotated[
        list[str] | None,
        typer.Option("--input", "-i", help="key=value: an input, variable or parameter."),
    ] = None,
    provider: ProviderOption = None,
    repo: RepoOption = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait until the run completes.")] = False,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds --wait waits at most.")] = 3600.0,
    poll: Annotated[float, typer.Option(min=0.1, help="Seconds between --wait's looks.")] = 10.0,
    json_output: JsonOption = False,
) -> None:
    """Start a workflow on a ref (exit 1 with --wait when the run does not succeed)."""
    target = _target(provider, repo)
    request = runs.Trigger(workflow, ref, runs.parse_inputs(inputs or []))

    async def work(rt: Runtime) -> CiRun:
        started = await runs.trigger(rt.uow(), rt.settings, target, request, Actor.local_cli())
        if not wait:
            return started
        if not json_output:
            say(f"Started run {started.id} ({started.url or 'no url'}); waiting…")
        return await runs.wait_for(
            rt.uow(read_only=True), rt.settings, target, started, timeout=timeout, poll=poll
        )

    run = CiRunOut.of(run_with_runtime(work))
    _print_run(run, json_output, verb="Started")
    if wait and (run.status != RunStatus.COMPLETED or run.conclusion != "success"):
        raise typer.Exit(EXIT_FAILED)


@runs_app.command("rerun")
def rerun(
    run_id: RunArgument,
    failed_only: Annotated[
        bool, typer.Option("--failed-only", help="Only the failed jobs (CircleCI: from failed).")
    ] = False,
    job: Annotated[
        str | None, typer.Option("--job", "-j", help="Only this job (id or name).")
    ] = None,
    provider: ProviderOption = None,
    repo: RepoOption = None,
    json_output: JsonOption = False,
) -> None:
    """Run it again: every job, only the failed ones, or one job."""
    target = _target(provider, repo)
    run = CiRunOut.of(
        run_with_runtime(
            lambda rt: runs.rerun(
                rt.uow(),
                rt.settings,
                target,
                run_id,
                Actor.local_cli(),
                failed_only=failed_only,
                job=job,
            )
        )
    )
    _print_run(run, json_output, verb="Re-running")


@runs_app.command("cancel")
def cancel(
    run_id: RunArgument,
    provider: ProviderOption = None,
    repo: RepoOption = None,
    json_output: JsonOption = False,
) -> None:
    """Stop a run's unfinished jobs (a run that has already ended is left as it is)."""
    target = _target(provider, repo)
    run = CiRunOut.of(
        run_with_runtime(
            lambda rt: runs.cancel(rt.uow(), rt.settings, target, run_id, Actor.local_cli())
        )
    )
    if json_output:
        print_json(run)
    elif run.conclusion is Conclusion.CANCELLED:
        _print_run(run, json_output, verb="Cancelled")
    elif run.status is RunStatus.COMPLETED:
        ended = run.conclusion.value if run.conclusion else "completed"
        say(f"Run {run.id} of {run.repository} had already ended {ended}; nothing to cancel.")
    else:
        _print_run(run, json_output, verb="Cancelling")


def _print_run(run: CiRunOut, json_output: bool, *, verb: str) -> None:
    if json_output:
        print_json(run)
        return
    outcome = run.conclusion.value if run.conclusion else run.status.value
    say(
        f"{verb} run {run.id} of {run.repository}: {run.workflow} on {run.branch}, "
        f"attempt {run.attempt}, {outcome}. {run.url or ''}".rstrip()
    )


@runs_app.command("analyze")
def analyze(
    run_id: RunArgument,
    provider: ProviderOption = None,
    repo: RepoOption = None,
    sha: Annotated[
        str | None,
        typer.Option(
            "--sha",
            help="The tree SHA the run tested; default: its commit's tree, read with git "
            "from the registered repository.",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Group a run's failures by error signature and name each group's likely cause
    (flaky, new since a tree SHA, infrastructure, regression) and the next action.

    Reads the failed jobs' test reports or logs from the platform; prints the Markdown
    brief an issue-fixer is handed (`orchestrate ci fix` hands it over), or --json.
    """
    target = _target(provider, repo)
    found = run_with_runtime(
        lambda rt: analyze_run(rt.uow, rt.settings, target, run_id, tree_sha=sha)
    )
    if json_output:
        print_json(found.to_json())
        return
    if found.tree_sha_source == "commit":
        say(
            f"(The history is read at commit {found.tree_sha[:12]}: the repository is not "
            "registered or lacks it; pass --sha TREE_SHA for the tree's history.)"
        )
    if found.unparsed_jobs:
        say(f"(No test results in the log of: {', '.join(found.unparsed_jobs)}.)")
    for job, signal in found.job_signals:
        say(f"(Job {job}: {signal.kind}: {signal.line})")
    sys.stdout.write(render_brief(found.analysis))
