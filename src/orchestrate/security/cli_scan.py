"""``orchestrate security scan`` and ``security baseline``: scan a tree from the terminal
or a CI job; the exit status is the gate (1 when new findings at or above ``--fail-on``
remain, 0 otherwise, 2 for bad usage)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.cli.output import print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.runtime import Runtime
from orchestrate.security import service
from orchestrate.security.cli import OutputOption, write_output
from orchestrate.security.formats import OutputFormat
from orchestrate.security.models import Category
from orchestrate.security.report import ScanReport, ordered

scan_app = typer.Typer()

PathArgument = Annotated[
    Path, typer.Argument(file_okay=False, help="The tree to scan (default: here).")
]
Switch = Annotated[bool, typer.Option()]


def _categories(secrets: bool, sast: bool, deps: bool, licenses: bool) -> frozenset[Category]:
    chosen = {
        category
        for category, on in (
            (Category.SECRET, secrets),
            (Category.SAST, sast),
            (Category.DEPENDENCY, deps),
            (Category.LICENSE, licenses),
        )
        if on
    }
    return frozenset(chosen)


@scan_app.command("scan")
def scan(
    path: PathArgument = Path("."),
    secrets: Annotated[bool, typer.Option("--secrets", help="Scan for secrets.")] = False,
    sast: Annotated[
        bool, typer.Option("--sast", help="Static analysis (Bandit, Semgrep).")
    ] = False,
    deps: Annotated[
        bool, typer.Option("--deps", help="Vulnerable dependencies (the OSV database).")
    ] = False,
    licenses: Annotated[bool, typer.Option("--licenses", help="Licence policy.")] = False,
    output_format: Annotated[
        str,
        typer.Option("--format", help="text (a table), sarif, json, md or html."),
    ] = "text",
    output: OutputOption = None,
    baseline: Annotated[
        Path | None,
        typer.Option("--baseline", dir_okay=False, help="Findings in this file do not gate."),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            "--fail-on",
            help="Exit 1 when a new finding is at or above: info, low, medium, high, critical "
            "(default: the setting security_fail_on, high).",
        ),
    ] = None,
    history: Annotated[
        bool, typer.Option("--history", help="Secrets: read every commit of git history.")
    ] = False,
    diff: Annotated[
        str | None,
        typer.Option("--diff", metavar="REF", help="Secrets: only the changes since REF."),
    ] = None,
    record: Annotated[
        bool, typer.Option("--record/--no-record", help="Keep the scan (`security scans`).")
    ] = True,
) -> None:
    """Scan PATH for secrets, code flaws, vulnerable dependencies and licence problems.

    With no scanner named, all four run. Findings in the baseline, and those suppressed
    inline, do not gate. Nothing leaves the machine.
    """
    chosen = _categories(secrets, sast, deps, licenses)
    fmt = _format(output_format)
    if history and diff:
        say("--history and --diff choose different sources; give one.")
        raise typer.Exit(2)
    source = (
        service.SecretSource.HISTORY
        if history
        else service.SecretSource.DIFF
        if diff
        else service.SecretSource.TREE
    )

    async def work(rt: Runtime) -> ScanReport:
        request = service.ScanRequest(
            root=path,
            categories=chosen or frozenset(Category),
            fail_on=service.severity_of(fail_on or rt.settings.security_fail_on),
            baseline=baseline,
            exclude=_excluded(path, output),
            secret_source=source,
            diff_base=diff,
            explicit=chosen,
        )
        if not record:
            return await service.scan(rt.uow(read_only=True), rt.settings, rt.clock, request)
        report, stored = await service.scan_and_record(
            rt.uow(), rt.settings, rt.clock, request, actor=Actor.local_cli(), source="cli"
        )
        say(f"Recorded as {stored.id}.")
        return report

    report = run_with_runtime(work)
    if fmt is None:
        _print_text(report)
    else:
        write_output(service.render(report, fmt), output)
    for notice in report.notices:
        say(f"{notice.tool}: {notice.message}")
    verdict = "passed" if report.passed else "failed"
    say(
        f"Gate {verdict}: {len(report.failing)} new finding(s) at or above "
        f"{report.fail_on.value}; {len(report.new)} new, {len(report.baselined)} baselined."
    )
    if not report.passed:
        raise typer.Exit(1)


@scan_app.command("baseline")
def baseline(
    path: PathArgument,
    output: Annotated[
        Path, typer.Option("--output", "-o", dir_okay=False, help="The baseline file to write.")
    ],
    secrets: Annotated[bool, typer.Option("--secrets")] = False,
    sast: Annotated[bool, typer.Option("--sast")] = False,
    deps: Annotated[bool, typer.Option("--deps")] = False,
    licenses: Annotated[bool, typer.Option("--licenses")] = False,
) -> None:
    """Accept every current finding of PATH: write them to a baseline file, so that
    `security scan --baseline FILE` gates only on new ones. Commit the file; it holds
    fingerprints (hashes), never a secret."""
    chosen = _categories(secrets, sast, deps, licenses)

    async def work(rt: Runtime) -> ScanReport:
        request = service.ScanRequest(
            root=path,
            categories=chosen or frozenset(Category),
            exclude=_excluded(path, output),
            explicit=chosen,
        )
        return await service.scan(rt.uow(read_only=True), rt.settings, rt.clock, request)

    report = run_with_runtime(work)
    service.write_baseline(output, report.new, report.finished_at)
    for notice in report.notices:
        say(f"{notice.tool}: {notice.message}")
    say(f"Wrote {output}: {len({f.fingerprint for f in report.new})} finding(s) accepted.")


def _format(name: str) -> OutputFormat | None:
    if name == "text":
        return None
    try:
        return OutputFormat(name)
    except ValueError:
        say(f"Unknown format {name!r}; use text, sarif, json, md or html.")
        raise typer.Exit(2) from None


def _excluded(root: Path, *files: Path | None) -> tuple[str, ...]:
    """Files we write inside the scanned tree, relative to it: scanners skip them."""
    base = root.resolve()
    inside: list[str] = []
    for file in files:
        if file is None:
            continue
        try:
            inside.append(file.resolve().relative_to(base).as_posix())
        except ValueError:
            continue
    return tuple(inside)


def _print_text(report: ScanReport) -> None:
    print_table(
        ["severity", "rule", "where", "finding", "fix"],
        (
            (
                f.severity.value,
                f.rule_id,
                f"{f.location.path}:{f.location.start_line}"
                if f.location.start_line
                else f.location.path,
                f.title,
                f"{f.fix.package} {f.fix.current} → {f.fix.fixed}" if f.fix else "",
            )
            for f in ordered(report.new)
        ),
    )
