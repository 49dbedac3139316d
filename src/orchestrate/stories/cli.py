"""Story and epic commands (being written)."""

import typer

story_app = typer.Typer(help="Manage stories.", no_args_is_help=True)
epic_app = typer.Typer(help="Manage epics.", no_args_is_help=True)
