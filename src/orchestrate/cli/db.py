"""``orchestrate db upgrade|status``: schema migrations by hand."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrate.cli.output import print_fields, print_json, say
from orchestrate.cli.runtime import cli_settings
from orchestrate.core.db import redact_url
from orchestrate.core.migrate import migration_status, upgrade_to_head

app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


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
