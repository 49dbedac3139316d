"""The ``orchestrate`` command: mounts each capability's sub-app and maps errors to exit codes."""

from __future__ import annotations

import socket
from typing import TYPE_CHECKING, Any

import structlog
import typer
from sqlalchemy.exc import SQLAlchemyError
from typer.core import TyperGroup

from orchestrate import __version__
from orchestrate.agents.cli import agent_app
from orchestrate.auth.cli import audit_app, token_app
from orchestrate.cli import config, db, serve
from orchestrate.cli.errors import EXIT_FAILED, exit_code_for
from orchestrate.cli.output import stderr
from orchestrate.core.errors import OrchestrateError
from orchestrate.core.logging import redact_text
from orchestrate.monitoring.cli import job_app
from orchestrate.pipelines.cli import pipeline_app
from orchestrate.schedules.cli import schedule_app
from orchestrate.schedules.service import follow_pipelines
from orchestrate.secrets.cli import secret_app
from orchestrate.stories.cli import epic_app, story_app
from orchestrate.triggers.cli import webhook_app

if TYPE_CHECKING:
    # Typer vendors Click; its Context is what TyperGroup.invoke is typed with.
    from typer._click import Context as ClickContext


class _OrchestrateGroup(TyperGroup):
    """The root command: an error becomes one clear line on stderr and an exit code.

    Mapping here rather than around ``app()`` means every way of running the app
    (the console script, ``python -m orchestrate``, ``CliRunner``) behaves the same.
    """

    def invoke(self, ctx: ClickContext) -> Any:
        follow_pipelines()  # `pipeline register` keeps declared schedules in step
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # usage errors, --help and explicit exits: Typer reports these itself
        except OrchestrateError as error:
            stderr.print(f"[bold red]Error:[/bold red] {error.message}", highlight=False)
            raise typer.Exit(exit_code_for(error)) from None
        except SQLAlchemyError as error:
            detail = redact_text(str(getattr(error, "orig", None) or error)).splitlines()[0]
            stderr.print(f"[bold red]Database error:[/bold red] {detail}", highlight=False)
            raise typer.Exit(EXIT_FAILED) from None
        except (ConnectionError, socket.gaierror) as error:
            stderr.print(
                f"[bold red]Cannot reach the database:[/bold red] {error} "
                "(check ORCHESTRATE_DATABASE_URL, or run 'orchestrate config show')",
                highlight=False,
            )
            raise typer.Exit(EXIT_FAILED) from None
        except OSError as error:
            stderr.print(f"[bold red]Error:[/bold red] {error}", highlight=False)
            raise typer.Exit(EXIT_FAILED) from None
        except Exception as error:
            structlog.get_logger(__name__).debug("unexpected_cli_error", exc_info=True)
            message = redact_text(f"{type(error).__name__}: {error}")
            stderr.print(f"[bold red]Unexpected error:[/bold red] {message}", highlight=False)
            raise typer.Exit(EXIT_FAILED) from None


app = typer.Typer(
    cls=_OrchestrateGroup,
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
app.add_typer(secret_app, name="secret")
app.add_typer(story_app, name="story")
app.add_typer(epic_app, name="epic")
app.add_typer(job_app, name="job")
app.add_typer(agent_app, name="agent")
app.add_typer(pipeline_app, name="pipeline")
app.add_typer(webhook_app, name="webhook")
app.add_typer(schedule_app, name="schedule")


def main() -> None:
    """Entry point of the ``orchestrate`` console script."""
    app()
