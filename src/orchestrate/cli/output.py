"""Rendering for every command: Rich tables for people, ``--json`` for scripts.

JSON goes to stdout unstyled and nothing else is printed with it, so
``orchestrate story list --json | jq`` always works. Messages meant for people go
to stderr.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table

# Piped output is read by scripts and pagers, not squeezed into 80 columns.
_PIPED_WIDTH = 240
stdout = Console(soft_wrap=True, width=None if sys.stdout.isatty() else _PIPED_WIDTH)
stderr = Console(stderr=True, soft_wrap=True)


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    raise TypeError(f"cannot serialise {type(value).__name__}")


def print_json(data: Any) -> None:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    elif isinstance(data, list) and data and isinstance(data[0], BaseModel):
        data = [item.model_dump(mode="json") for item in data]
    sys.stdout.write(json.dumps(data, default=_default, indent=2) + "\n")
    sys.stdout.flush()


def print_table(
    columns: Sequence[str], rows: Iterable[Sequence[Any]], *, title: str | None = None
) -> None:
    table = Table(title=title, show_lines=False, header_style="bold")
    for index, column in enumerate(columns):
        # The first column is the id people copy: it never wraps.
        table.add_column(column, overflow="fold", no_wrap=index == 0)
    count = 0
    for row in rows:
        table.add_row(*(format_cell(cell) for cell in row))
        count += 1
    if count == 0:
        stderr.print("[dim]Nothing to show.[/dim]")
        return
    stdout.print(table)


def print_fields(fields: Sequence[tuple[str, Any]], *, title: str | None = None) -> None:
    """A two-column key/value view of one object."""
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in fields:
        table.add_row(name, format_cell(value))
    stdout.print(table)


def format_cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return ", ".join(format_cell(item) for item in value)
    return str(value)


def say(message: str) -> None:
    """A note for the person at the terminal (stderr, so stdout stays parseable)."""
    stderr.print(message)
