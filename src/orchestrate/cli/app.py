"""The ``orchestrate`` command: mounts each capability's sub-app and maps errors to exit codes."""

from __future__ import annotations

import sys

import structlog
import typer
from sqlalchemy.exc import SQLAlchemyError

from orchestrate import __version__
from orchestrate.auth.cli import audit_app, token_app
from orchestrate.cli import config, db, serve
from orchestrate.cli.errors import EXIT_FAILED, exit_code_for
from orchestrate.cli.output import stderr
from orchestrate.core.errors import OrchestrateError
from orchestrate.core.logging import redact_text
from orchestrate.monitoring.cli import job_app
from orchestrate.stories.cli import epic_app, story_app

app = typer.Typer(
    name="orchestrate",
    help="Put AI agents to work on software delivery.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        print(f"orchestrate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version and exit."
    ),
) -> None:
    """Orchestrate: a self-hosted platform for AI agents in software delivery."""


app.command("serve")(serve.serve)
app.command("worker")(serve.worker)
app.add_typer(config.app, name="config")
app.add_typer(db.app, name="db")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
app.add_typer(story_app, name="story")
app.add_typer(epic_app, name="epic")
app.add_typer(job_app, name="job")


def main() -> None:
    """Entry point: domain errors become one clear line and an exit code, never a traceback."""
    try:
        app()
    except OrchestrateError as error:
        stderr.print(f"[bold red]Error:[/bold red] {error.message}", highlight=False)
        sys.exit(exit_code_for(error))
    except SQLAlchemyError as error:
        detail = redact_text(str(getattr(error, "orig", None) or error)).splitlines()[0]
        stderr.print(f"[bold red]Database error:[/bold red] {detail}", highlight=False)
        sys.exit(EXIT_FAILED)
    except OSError as error:
        stderr.print(f"[bold red]Error:[/bold red] {error}", highlight=False)
        sys.exit(EXIT_FAILED)
    except Exception as error:
        structlog.get_logger(__name__).debug("unexpected_cli_error", exc_info=True)
        stderr.print(f"[bold red]Unexpected error:[/bold red] {type(error).__name__}: {error}")
        sys.exit(EXIT_FAILED)
