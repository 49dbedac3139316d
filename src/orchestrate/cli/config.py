"""``orchestrate config show``: the effective settings and where each came from.

Every password form is masked (URL user info, ``?password=`` and the like, secret
settings), and settings that are valid but unsafe are shown as warnings: on stderr
above the table, as a ``warnings`` list in ``--json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import SecretStr

from orchestrate.cli.output import print_json, print_table, say_styled
from orchestrate.cli.runtime import cli_settings
from orchestrate.core.db import redact_url
from orchestrate.core.sandbox import SandboxPolicy, sandbox_warning
from orchestrate.core.settings import (
    ENV_PREFIX,
    Settings,
    config_file_path,
    setting_sources,
)

app = typer.Typer(help="Inspect configuration.", no_args_is_help=True)

MASK = "********"


def effective_settings(settings: Settings) -> dict[str, Any]:
    """Every setting with secrets masked (database passwords included)."""
    values: dict[str, Any] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if name == "database_url":
            value = redact_url(settings.database_url_value)
        elif isinstance(value, str) and "://" in value:
            value = redact_url(value)  # any other URL may carry a password too
        elif isinstance(value, SecretStr):
            value = MASK if value.get_secret_value() else ""
        values[name] = value
    return values


def setting_warnings(settings: Settings) -> list[str]:
    """Settings that are valid but unsafe, for the operator to see every time."""
    warning = sandbox_warning(SandboxPolicy.from_settings(settings))
    return [warning] if warning else []


@app.command("show")
def show(json_output: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Print the effective settings, secrets masked, with the source of each."""
    settings = cli_settings()
    values = effective_settings(settings)
    sources = setting_sources(settings)
    warnings = setting_warnings(settings)
    if json_output:
        shown: dict[str, Any] = {
            name: {"value": values[name], "source": sources[name]} for name in values
        }
        print_json({**shown, "warnings": warnings})
        return
    for warning in warnings:
        say_styled("[bold yellow]warning:[/bold yellow] {warning}", warning=warning)
    print_table(
        ["setting", "environment variable", "value", "source"],
        (
            (name, f"{ENV_PREFIX}{name.upper()}", str(values[name]), sources[name])
            for name in values
        ),
        title=_title(config_file_path()),
    )


def _title(path: Path) -> str:
    """Name the settings file only when there is one: a missing file read as a source."""
    if path.is_file():
        return f"Settings (file: {path.resolve()})"
    return f"Settings (environment and defaults; no {path} in {Path.cwd()})"
