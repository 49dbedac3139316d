"""``orchestrate ci …``: the test history (ingest, flaky, quarantine, analyze-report)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.ci import history
from orchestrate.ci.brief import render_brief
from orchestrate.ci.models import ReportFormat
from orchestrate.ci.schemas import FlakyTestOut, QuarantineOut, RecordedReportOut
from orchestrate.cli.output import print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.runtime import Runtime

ci_app = typer.Typer(
    help="CI platforms (GitHub Actions, GitLab CI, CircleCI), test reports, flaky tests.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
ReportFile = Annotated[
    Path,
    typer.Argument(
        exists=True, dir_okay=False, readable=True, help="The test report (e.g. JUnit XML)."
    ),
]
RepoOption = Annotated[str, typer.Option("--repo", help="The repository, e.g. acme/shop.")]
ShaOption = Annotated[
    str,
    typer.Option("--sha", help="The git tree SHA the tests ran on (git rev-parse HEAD^{tree})."),
]
FormatOption = Annotated[
    ReportFormat, typer.Option("--format", help="The report's format (auto: detected).")
]


# --- the test history -----------------------------------------------------------------


@ci_app.command("ingest")
def ingest(
    file: ReportFile,
    repo: RepoOption,
    sha: ShaOption,
    attempt: Annotated[
        int, typer.Option(min=1, help="The CI run attempt (GitHub's run_attempt).")
    ] = 1,
    fmt: FormatOption = ReportFormat.AUTO,
    json_output: JsonOption = False,
) -> None:
    """Record a test report in the history of REPO at tree SHA and attempt.

    A test recorded again for the same repository, SHA and attempt has its results
    replaced, so nothing is counted twice; the reports of several jobs (shards) of one
    attempt add up. Flaky tests that cross the quarantine thresholds are
    quarantined; quarantined tests that pass often enough in a row are released.
    """
    results = history.read_report(file.read_bytes(), fmt)

    async def record(rt: Runtime) -> RecordedReportOut:
        recorded = await history.record_report(
            rt.uow(),
            rt.settings,
            Actor.local_cli(),
            repository=repo,
            tree_sha=sha,
            attempt=attempt,
            results=results,
        )
        return RecordedReportOut.of(recorded)

    recorded = run_with_runtime(record)
    if json_output:
        print_json(recorded)
        return
    say(
        f"Recorded {recorded.tests} tests of {recorded.repository} at tree "
        f"{recorded.tree_sha[:12]} attempt {recorded.attempt}: {recorded.passed} passed, "
        f"{recorded.failed} failed, {recorded.skipped} skipped."
    )
    if recorded.replaced:
        say(f"{recorded.replaced} of them were recorded before: their results were replaced.")
    for test in recorded.quarantined:
        say(f"Quarantined (flaky): {test}")
    for test in recorded.released:
        say(f"Released from quarantine: {test}")


@ci_app.command("flaky")
def flaky(
    repo: Annotated[str | None, typer.Option("--repo", help="Only this repository.")] = None,
    window: Annotated[
        str | None,
        typer.Option(help="How far back: 30d, 2w, 72h (default: the ci_flaky_window setting)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Tests that both passed and failed on the same tree SHA, most disruptive first.

    Each names the tree SHAs where it flaked, its failure, flaky and disruption rates
    and whether it is quarantined (docs/ci-flaky.md has the definitions).
    """
    span = history.window_of(window)

    async def read(rt: Runtime) -> list[FlakyTestOut]:
        found = await history.flaky_tests(
            rt.uow(read_only=True), rt.settings, repository=repo, window=span
        )
        return [FlakyTestOut.of(test) for test in found]

    found = run_with_runtime(read)
    if json_output:
        print_json(found)
        return
    if not found:
        say("No flaky tests in the window.")
        return
    print_table(
        ["repository", "test", "runs", "failure", "flaky", "disruption", "quarantine", "flaky on"],
        (
            (
                t.repository,
                t.test,
                t.runs,
                f"{t.failure_rate:.1%}",
                f"{t.flaky_rate:.1%}",
                f"{t.disruption_rate:.1%}",
                t.quarantine.value,
                _shas(t.flaky_shas),
            )
            for t in found
        ),
        title="Flaky tests: passed and failed on the same tree SHA",
    )


def _shas(shas: list[str], shown: int = 3) -> str:
    text = ", ".join(sha[:12] for sha in shas[:shown])
    return f"{text} (+{len(shas) - shown})" if len(shas) > shown else text


@ci_app.command("quarantine")
def quarantine(
    repo: Annotated[str | None, typer.Option("--repo", help="Only this repository.")] = None,
    include_released: Annotated[bool, typer.Option("--all", help="Released tests too.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Tests in quarantine: flaky enough to be set aside until they pass reliably."""

    async def read(rt: Runtime) -> list[QuarantineOut]:
        found = await history.quarantined_tests(
            rt.uow(read_only=True), repository=repo, include_released=include_released
        )
        return [QuarantineOut.of(q) for q in found]

    found = run_with_runtime(read)
    if json_output:
        print_json(found)
        return
    if not found:
        say("No test is in quarantine.")
        return
    print_table(
        ["repository", "test", "status", "since", "passes in a row", "flaky", "disruption"],
        (
            (
                q.repository,
                q.test,
                q.status.value,
                f"{q.released_at or q.quarantined_at:%Y-%m-%d %H:%M}",
                q.consecutive_passes,
                f"{q.flaky_rate:.1%}",
                f"{q.disruption_rate:.1%}",
            )
            for q in found
        ),
    )


@ci_app.command("analyze-report")
def analyze_report(
    file: ReportFile,
    repo: RepoOption,
    sha: ShaOption,
    log: Annotated[
        Path | None,
        typer.Option(exists=True, dir_okay=False, help="The job's log, for infrastructure signs."),
    ] = None,
    fmt: FormatOption = ReportFormat.AUTO,
    json_output: JsonOption = False,
) -> None:
    """Group a report's failures by error signature, name each group's likely cause
    (flaky, new since a tree SHA, infrastructure, regression) and the next action.

    Prints the Markdown brief an issue-fixing agent is handed (or --json). Nothing is
    recorded: ingest the report separately.
    """
    results = history.read_report(file.read_bytes(), fmt)
    log_text = log.read_text(encoding="utf-8", errors="replace") if log else ""
    analysis = run_with_runtime(
        lambda rt: history.analyze_failures(
            rt.uow(read_only=True),
            rt.settings,
            repository=repo,
            tree_sha=sha,
            results=results,
            log_text=log_text,
        )
    )
    if json_output:
        print_json(analysis.to_json())
    else:
        sys.stdout.write(render_brief(analysis))
