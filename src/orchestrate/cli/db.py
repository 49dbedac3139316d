"""``orchestrate db upgrade|status|prune``: schema migrations and pruning by hand.

``prune`` runs the retention rules the composition root hands in (``cli.wiring``), the
same the hourly background job runs; see docs/retention.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrate.cli.errors import EXIT_FAILED
from orchestrate.cli.output import print_fields, print_json, print_table, say, say_styled
from orchestrate.cli.runtime import cli_settings, run_with_runtime
from orchestrate.cli.wiring import current_wiring
from orchestrate.core.db import redact_url
from orchestrate.core.durations import normalise_period
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.migrate import migration_status, upgrade_to_head

if TYPE_CHECKING:
    from orchestrate.core.retention import RuleOutcome
    from orchestrate.core.runtime import Runtime

app = typer.Typer(help="Manage the database: schema migrations and pruning.", no_args_is_help=True)


@app.command("upgrade")
def upgrade() -> None:
    """Apply all pending migrations (serve and worker also do this on start)."""
    url = cli_settings().database_url_value
    before = migration_status(url)
    upgrade_to_head(url)
    if before.pending:
        say(f"Applied {len(before.pending)} migration(s): {', '.join(before.pending)}")
    else:
        say("Database schema is already up to date.")


@app.command("status")
def status(
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show the current revision, the latest one, and what is pending."""
    url = cli_settings().database_url_value
    state = migration_status(url)
    data = {
        "database": redact_url(url),
        "current": list(state.current),
        "head": list(state.heads),
        "pending": list(state.pending),
        "up_to_date": state.is_up_to_date,
    }
    if json_output:
        print_json(data)
        return
    print_fields(
        [
            ("database", data["database"]),
            ("current", ", ".join(state.current) or "(empty database)"),
            ("head", ", ".join(state.heads)),
            ("pending", ", ".join(state.pending) or "none"),
            ("up to date", "yes" if state.is_up_to_date else "no - run 'orchestrate db upgrade'"),
        ]
    )


@app.command("prune")
def prune(
    older_than: Annotated[
        str | None,
        typer.Option(
            "--older-than",
            metavar="DURATION",
            help="Prune what finished before this long ago (30d, 12h, 90m, 2w) instead "
            "of each rule's ORCHESTRATE_RETENTION_* age; rules set to off stay off.",
        ),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be removed; change nothing.")
    ] = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Delete finished data past its retention period now, rule by rule."""
    from orchestrate.core.retention import prune as run_rules

    override = _checked_period(older_than)
    wiring = current_wiring()
    plan = wiring.retention()

    async def prune_and_audit(runtime: Runtime) -> list[RuleOutcome]:
        outcomes = await run_rules(runtime, plan, older_than=override, dry_run=dry_run)
        if not dry_run:  # what was removed, and on whose word, stays on record
            details = {"older_than": override, "rules": _as_json(outcomes)}
            await wiring.audit(runtime, "db.prune", "database", details)
        return outcomes

    outcomes = run_with_runtime(prune_and_audit)
    if json_output:
        print_json({"dry_run": dry_run, "older_than": override, "rules": _as_json(outcomes)})
    else:
        _print_outcomes(outcomes, dry_run=dry_run)
    failed = [outcome for outcome in outcomes if outcome.error is not None]
    for outcome in failed:
        say_styled(
            "[bold red]Error:[/bold red] rule {rule} stopped: {reason}",
            rule=outcome.rule,
            reason=outcome.error or "",
        )
    if failed:
        raise typer.Exit(EXIT_FAILED)


def _checked_period(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return normalise_period(text, allow_off=False)
    except ValueError as error:
        raise ValidationFailed(f"--older-than: {error}", older_than=text) from None


def _as_json(outcomes: list[RuleOutcome]) -> list[dict[str, Any]]:
    return [
        {
            "rule": outcome.rule,
            "setting": f"ORCHESTRATE_{outcome.setting.upper()}",
            "removes": outcome.removes,
            "older_than": outcome.age,
            "cutoff": outcome.cutoff.isoformat() if outcome.cutoff else None,
            "rows": outcome.rows,
            "files": outcome.files,
            "batches": outcome.batches,
            "error": outcome.error,
        }
        for outcome in outcomes
    ]


def _print_outcomes(outcomes: list[RuleOutcome], *, dry_run: bool) -> None:
    rows_heading = "would remove" if dry_run else "removed"
    print_table(
        ["rule", "older than", "cutoff (UTC)", rows_heading, "files"],
        (
            (
                outcome.rule,
                outcome.age,
                outcome.cutoff,
                "-" if outcome.is_off else outcome.rows,
                "-" if outcome.is_off or dry_run else outcome.files,
            )
            for outcome in outcomes
        ),
    )
    rows = sum(outcome.rows for outcome in outcomes)
    if dry_run:
        say(f"Dry run: {rows} row(s) would be removed; nothing was changed.")
    else:
        files = sum(outcome.files for outcome in outcomes)
        say(f"Removed {rows} row(s) and {files} file(s) or folder(s).")
