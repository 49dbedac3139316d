"""``orchestrate security …``: scan, baseline, the OSV database, recorded scans, reports."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from orchestrate.cli.output import print_fields, print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.runtime import Runtime
from orchestrate.security import service
from orchestrate.security.formats import OutputFormat
from orchestrate.security.models import Category, Severity
from orchestrate.security.schemas import FindingOut, ScanOut

security_app = typer.Typer(
    help="Scan for secrets, code flaws, vulnerable dependencies and licences, offline.",
    no_args_is_help=True,
)


class GateVerdict(StrEnum):
    PASSED = "passed"
    FAILED = "failed"


JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
OutputOption = Annotated[
    Path | None,
    typer.Option("--output", "-o", dir_okay=False, help="Write to this file, not stdout."),
]


def write_output(text: str, output: Path | None) -> None:
    """The report on stdout, or into ``output`` (written whole, then renamed into place)."""
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    temporary = output.with_name(f".{output.name}.tmp")
    try:
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(output)
    except OSError as error:
        say(f"Cannot write {output}: {error.strerror}")
        raise typer.Exit(2) from None


@security_app.command("scans")
def scans(
    repo: Annotated[str | None, typer.Option("--repo", help="Only this repository.")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="queued, running, completed or failed.")
    ] = None,
    gate: Annotated[
        GateVerdict | None, typer.Option("--gate", help="Completed scans that passed or failed.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 20,
    json_output: JsonOption = False,
) -> None:
    """Recorded scans, newest first."""

    async def read(rt: Runtime) -> list[ScanOut]:
        page = await service.list_scans(
            rt.uow(read_only=True),
            repository=repo,
            status=status,
            passed=None if gate is None else gate is GateVerdict.PASSED,
            limit=limit,
        )
        return [ScanOut.of(scan) for scan in page.items]

    found = run_with_runtime(read)
    if json_output:
        print_json(found)
        return
    print_table(
        ["id", "status", "gate", "new", "failing", "baselined", "root", "finished"],
        (
            (
                s.id,
                s.status,
                "passed" if s.passed else ("failed" if s.status == "completed" else "-"),
                s.new,
                s.failing,
                s.baselined,
                s.repository or s.root,
                s.finished_at,
            )
            for s in found
        ),
    )


@security_app.command("show")
def show(
    scan_id: Annotated[str | None, typer.Argument(help="The scan (default: the latest).")] = None,
    json_output: JsonOption = False,
) -> None:
    """A scan's verdict, counts and notices."""

    async def read(rt: Runtime) -> ScanOut:
        uow = rt.uow(read_only=True)
        scan = await (service.get_scan(uow, scan_id) if scan_id else service.latest_scan(uow))
        return ScanOut.of(scan)

    scan = run_with_runtime(read)
    if json_output:
        print_json(scan)
        return
    print_fields(
        [
            ("id", scan.id),
            ("status", scan.status),
            ("gate", "passed" if scan.passed else "failed"),
            ("fail on", scan.fail_on.value),
            ("root", scan.root),
            ("repository", scan.repository),
            ("scanners", ", ".join(c.value for c in scan.categories)),
            ("new", scan.new),
            ("failing", scan.failing),
            ("baselined", scan.baselined),
            ("by severity", ", ".join(f"{k} {v}" for k, v in scan.by_severity.items())),
            ("dependencies", scan.dependencies),
            ("started", scan.started_at),
            ("finished", scan.finished_at),
            ("error", scan.error),
        ]
    )
    for notice in scan.notices:
        say(f"{notice.tool}: {notice.message}")


@security_app.command("findings")
def findings(
    scan_id: Annotated[str | None, typer.Argument(help="The scan (default: the latest).")] = None,
    severity: Annotated[
        Severity | None, typer.Option("--severity", help="This severity and above.")
    ] = None,
    category: Annotated[Category | None, typer.Option("--category")] = None,
    include_baselined: Annotated[
        bool, typer.Option("--include-baselined", help="Also those in the baseline.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, max=500)] = 100,
    json_output: JsonOption = False,
) -> None:
    """A scan's findings, most severe first."""

    async def read(rt: Runtime) -> list[FindingOut]:
        uow = rt.uow(read_only=True)
        target = scan_id or (await service.latest_scan(uow)).id
        page = await service.list_findings(
            uow,
            target,
            state=None if include_baselined else "new",
            category=category,
            min_severity=severity,
            limit=limit,
        )
        return [FindingOut.of(f) for f in page.items]

    found = run_with_runtime(read)
    if json_output:
        print_json(found)
        return
    print_table(
        ["id", "severity", "rule", "where", "finding", "fix"],
        (
            (
                f.id,
                f.severity.value,
                f.rule_id,
                f"{f.location.path}:{f.location.start_line}"
                if f.location.start_line
                else f.location.path,
                f.title,
                f"{f.fix.package} {f.fix.current} → {f.fix.fixed}" if f.fix else "",
            )
            for f in found
        ),
    )


@security_app.command("report")
def report(
    scan_id: Annotated[str | None, typer.Argument(help="The scan (default: the latest).")] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", help="sarif, json, md or html.")
    ] = OutputFormat.MARKDOWN,
    output: OutputOption = None,
) -> None:
    """A recorded scan's report: SARIF 2.1.0, JSON, Markdown (default) or HTML."""

    async def read(rt: Runtime) -> str:
        uow = rt.uow(read_only=True)
        target = scan_id or (await service.latest_scan(uow)).id
        return await service.render_stored_report(rt.uow(read_only=True), target, output_format)

    write_output(run_with_runtime(read), output)
