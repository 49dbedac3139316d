"""``orchestrate security db import|update|status``: the offline OSV database that the
dependency scanner matches lockfiles against (docs/security-dependencies.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from orchestrate.cli.output import print_fields, print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.runtime import Runtime
from orchestrate.security import service
from orchestrate.security.advisories import DatabaseStatus, ImportSummary

db_extension = typer.Typer()
"""Adds the ``db`` group to ``security`` (``app/capabilities.py``)."""

db_app = typer.Typer(
    help="The offline OSV advisory database: import an export, update it, show its state.",
    no_args_is_help=True,
)
db_extension.add_typer(db_app, name="db")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@db_app.command("import")
def import_export(
    path: Annotated[
        Path,
        typer.Argument(
            exists=True,
            help="An OSV export: a zip (OSV's all.zip) or a directory of OSV JSON records.",
        ),
    ],
    json_output: JsonOption = False,
) -> None:
    """Import OSV records from a zip or a directory, offline; newer records win."""

    async def work(rt: Runtime) -> ImportSummary:
        return await service.import_advisories(rt.uow(), path)

    _show_import(run_with_runtime(work), json_output)


@db_app.command("update")
def update(json_output: JsonOption = False) -> None:
    """Download each configured ecosystem's OSV export and import it (needs a network;
    ORCHESTRATE_SECURITY_OSV_URL and ORCHESTRATE_SECURITY_OSV_ECOSYSTEMS say from where)."""

    async def work(rt: Runtime) -> ImportSummary:
        return await service.update_advisories(rt.uow(), rt.settings)

    _show_import(run_with_runtime(work), json_output)


@db_app.command("status")
def status(json_output: JsonOption = False) -> None:
    """How many advisories the database holds, per ecosystem, and its last import."""

    async def read(rt: Runtime) -> DatabaseStatus:
        return await service.advisory_database_status(rt.uow(read_only=True))

    found = run_with_runtime(read)
    if json_output:
        print_json(_status_document(found))
        return
    last = found.last_import
    print_fields(
        [
            ("advisories", found.advisories),
            ("withdrawn", found.withdrawn),
            ("last import", last.source if last else "never"),
            ("imported at", last.finished_at if last else None),
        ]
    )
    if found.per_ecosystem:
        print_table(
            ["ecosystem", "advisories"],
            sorted(found.per_ecosystem.items()),
        )
    if found.is_empty:
        say("The database is empty: `orchestrate security db import PATH` fills it.")


def _show_import(summary: ImportSummary, json_output: bool) -> None:
    if json_output:
        print_json(_import_document(summary))
        return
    say(
        f"Imported {summary.records:,} records from {summary.source} in "
        f"{summary.seconds:.1f} s: {summary.inserted:,} new, {summary.updated:,} updated, "
        f"{summary.unchanged:,} unchanged, {summary.skipped:,} skipped."
    )
    for reason in summary.skipped_reasons:
        say(f"  skipped {reason}")


def _import_document(summary: ImportSummary) -> dict[str, Any]:
    return {
        "source": summary.source,
        "records": summary.records,
        "inserted": summary.inserted,
        "updated": summary.updated,
        "unchanged": summary.unchanged,
        "skipped": summary.skipped,
        "skipped_reasons": list(summary.skipped_reasons),
        "started_at": summary.started_at.isoformat(),
        "finished_at": summary.finished_at.isoformat(),
        "seconds": round(summary.seconds, 3),
        "parts": [_import_document(part) for part in summary.parts],
    }


def _status_document(found: DatabaseStatus) -> dict[str, Any]:
    last = found.last_import
    return {
        "advisories": found.advisories,
        "withdrawn": found.withdrawn,
        "per_ecosystem": dict(found.per_ecosystem),
        "last_import": None
        if last is None
        else {
            "source": last.source,
            "finished_at": last.finished_at.isoformat(),
            "records": last.records,
            "inserted": last.inserted,
            "updated": last.updated,
            "skipped": last.skipped,
        },
    }
