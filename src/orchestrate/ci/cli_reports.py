"""``orchestrate ci parse``: a test report or log read into per-test results."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import typer

from orchestrate.ci.models import ReportFormat, TestResult, TestStatus
from orchestrate.ci.parsing import ParsedReport, read_report
from orchestrate.cli.output import print_json, print_table, say

reports_app = typer.Typer()
"""Its commands join the ``ci`` group (``app/capabilities.py``)."""

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@reports_app.command("parse")
def parse(
    file: Annotated[
        Path, typer.Argument(metavar="FILE", help="A JUnit XML report or a test run's log.")
    ],
    report_format: Annotated[
        ReportFormat,
        typer.Option("--format", help="The report's format; auto detects it."),
    ] = ReportFormat.AUTO,
    json_output: JsonOption = False,
) -> None:
    """Show each test's result from a report or log (pytest, Jest, cargo, go, JUnit XML)."""
    report = read_report(file, report_format)
    if json_output:
        print_json(_document(report))
        return
    print_table(
        ["status", "test", "retry", "seconds", "message"],
        (
            (
                result.status,
                result.identity,
                result.retry or None,
                None if result.duration is None else f"{result.duration:.3f}",
                result.message or None,
            )
            for result in report.results
        ),
        title=f"{file.name} ({report.format.value})",
    )
    say(_totals(report))


def _totals(report: ParsedReport) -> str:
    counts = report.counts()
    parts = ", ".join(f"{counts[status]} {status.value}" for status in TestStatus)
    return f"{len(report.results)} results ({report.format.value}): {parts}"


def _document(report: ParsedReport) -> dict[str, Any]:
    return {
        "format": report.format.value,
        "counts": {status.value: count for status, count in report.counts().items()},
        "results": [_result_json(result) for result in report.results],
    }


def _result_json(result: TestResult) -> dict[str, Any]:
    return {**asdict(result), "status": result.status.value, "identity": result.identity}
