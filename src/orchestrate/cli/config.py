"""``orchestrate config show``: the effective settings and where each came from."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from pydantic import SecretStr

from orchestrate.cli.output import print_json, print_table
from orchestrate.cli.runtime import cli_settings
from orchestrate.core.db import redact_url
from orchestrate.core.settings import ENV_PREFIX, Settings, config_file_path, setting_sources

app = typer.Typer(help="Inspect configuration.", no_args_is_help=True)

MASK = "********"


def effective_settings(settings: Settings) -> dict[str, Any]:
    """Every setting with secrets masked (database passwords included)."""
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if name == "database_url":
            value = redact_url(settings.database_url_value)
        elif isinstance(value, SecretStr):
            value = MASK if value.get_secret_value() else ""
        values[name] = value
    return values


@app.command("show")
def show(json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Print the effective settings, secrets masked, with the source of each."""
    settings = cli_settings()
    values = effective_settings(settings)
    sources = setting_sources(settings)
    if json_output:
        print_json({name: {"value": values[name], "source": sources[name]} for name in values})
        return
    print_table(
        ["setting", "environment variable", "value", "source"],
        (
            (name, f"{ENV_PREFIX}{name.upper()}", str(values[name]), sources[name])
            for name in values
        ),
        title=f"Settings (file: {config_file_path()})",
    )
