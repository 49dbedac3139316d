"""The root command's machinery: sub-commands loaded on demand, errors mapped to exit codes.

``orchestrate --help`` lists every command with its one-line help, but importing a
capability's CLI means importing the capability (its service, SQLAlchemy, the language
model SDKs…): about 1.5 s. So the root knows each command only as a
:class:`LazyCommand` — a name, an import path and the help line — and imports the
target when that command is invoked. ``--version`` and ``--help`` import no capability.

Which commands exist is the composition root's knowledge (``orchestrate.app``); this
module knows none of them.
"""

from __future__ import annotations

import importlib
import socket
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer.core import TyperCommand, TyperGroup

from orchestrate.cli.errors import EXIT_FAILED, exit_code_for
from orchestrate.cli.wiring import CliWiring, wired_by
from orchestrate.core.errors import OrchestrateError

if TYPE_CHECKING:
    # Typer vendors Click; its Context and Command are what TyperGroup is typed with.
    from typer._click import Command as ClickCommand
    from typer._click import Context as ClickContext


@dataclass(frozen=True)
class LazyCommand:
    """A command the root lists by name and help line, and imports only when invoked."""

    name: str
    target: str
    """``module:attribute``: a ``typer.Typer`` sub-app, or a command function."""
    help: str
    """The line ``orchestrate --help`` shows (a test keeps it equal to the target's own)."""
    extensions: tuple[str, ...] = ()
    """``module:attribute`` of further ``typer.Typer`` apps whose commands join this
    group when it loads: how a higher layer adds commands to a lower layer's group
    (``epic run`` of autonomy under stories' ``epic``) without the lower one importing it."""

    def load(self) -> ClickCommand:
        """Import the target (and its extensions) and build its Click command."""
        found = _load_target(self.target)
        if isinstance(found, typer.Typer):
            group = typer.main.get_group(found)  # a group even with one sub-command
            for extension in self.extensions:
                _extend(group, extension)
            return group
        if self.extensions:
            raise TypeError(f"{self.target} is a single command; only a group takes extensions")
        if callable(found):
            single = typer.Typer()
            single.command(self.name)(found)
            return typer.main.get_command(single)
        raise TypeError(f"{self.target} is neither a Typer app nor a command function")


def _extend(group: TyperGroup, target: str) -> None:
    found = _load_target(target)
    if not isinstance(found, typer.Typer):
        raise TypeError(f"{target} extends a command group but is not a Typer app")
    for name, command in typer.main.get_group(found).commands.items():
        if name in group.commands:
            raise TypeError(f"{target} adds {name!r}, which {group.name!r} already has")
        group.add_command(command, name)


def _load_target(target: str) -> object:
    """The object an import path ``package.module:attribute`` names."""
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


class _Unloaded(TyperCommand):
    """Stands in for a lazy command in listings and suggestions; never invoked."""

    def __init__(self, command: LazyCommand) -> None:
        super().__init__(command.name, help=command.help)
        self.lazy = command


class RootGroup(TyperGroup):
    """The root command: lazy sub-commands, and errors as one line and an exit code.

    Subclasses name their ``lazy_commands`` and build the wiring every command runs with.
    Mapping errors here rather than around ``app()`` means every way of running the app
    (the console script, ``python -m orchestrate``, ``CliRunner``) behaves the same.
    """

    lazy_commands: ClassVar[Sequence[LazyCommand]] = ()

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for command in self.lazy_commands:
            self.commands.setdefault(command.name, _Unloaded(command))

    def make_wiring(self) -> CliWiring:
        """What the capabilities give the command about to run (none by default)."""
        return CliWiring()

    def resolve_command(
        self, ctx: ClickContext, args: list[str]
    ) -> tuple[str | None, ClickCommand | None, list[str]]:
        name, command, rest = super().resolve_command(ctx, args)
        if name is not None and isinstance(command, _Unloaded):
            command = self.commands[name] = command.lazy.load()
        return name, command, rest

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            with wired_by(self.make_wiring()):
                return super().invoke(ctx)
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise  # usage errors, --help and explicit exits: Typer reports these itself
        except BrokenPipeError:
            # The reader went away (``orchestrate story list | head``). Click ends quietly
            # with exit 1; without this line it would be reported as an unreachable
            # database, since BrokenPipeError is a ConnectionError.
            raise
        except OrchestrateError as error:
            _print_error("Error", error.message)
            raise typer.Exit(exit_code_for(error)) from None
        except Exception as error:
            _print_error(*_describe(error))
            raise typer.Exit(EXIT_FAILED) from None


def _describe(error: Exception) -> tuple[str, str]:
    """A heading and a one-line detail for an error no capability turned into ours."""
    from orchestrate.core.logging import redact_text  # only on the error path: structlog

    if _is_database_error(error):
        detail = redact_text(str(getattr(error, "orig", None) or error)).splitlines()[0]
        return "Database error", detail
    if isinstance(error, ConnectionError | socket.gaierror):
        return "Cannot reach the database", (
            f"{error} (check ORCHESTRATE_DATABASE_URL, or run 'orchestrate config show')"
        )
    if isinstance(error, OSError):
        return "Error", str(error)
    import structlog

    structlog.get_logger(__name__).debug("unexpected_cli_error", exc_info=error)
    return "Unexpected error", redact_text(f"{type(error).__name__}: {error}")


def _is_database_error(error: Exception) -> bool:
    # SQLAlchemy takes ~0.2 s to import; a command that never loaded it raised none of its
    # errors, so the check must not be what loads it.
    exc = sys.modules.get("sqlalchemy.exc")
    return exc is not None and isinstance(error, exc.SQLAlchemyError)


def _print_error(heading: str, detail: str) -> None:
    from orchestrate.cli.output import stderr, styled

    stderr.print(styled("[bold red]{heading}:[/bold red] {detail}", heading=heading, detail=detail))
