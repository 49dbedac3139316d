"""Rendering for every command: Rich tables for people, ``--json`` for scripts.

JSON goes to stdout unstyled and nothing else is printed with it, so
``orchestrate story list --json | jq`` always works. Messages meant for people go
to stderr.

Everything shown here is treated as plain text: story titles, issue titles, step
output and model messages are user-, forge- or model-written and often contain
square brackets (``Fix [urgent] crash``, ``[BUG] …``) that Rich would otherwise read
as markup, silently dropping them or raising ``MarkupError`` on ``[/]``. So both
consoles have markup and emoji codes switched off, cells and titles become ``Text``,
and styling is only ever added by :func:`say_styled`, whose template is ours and
whose values are escaped.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from enum import Enum
from pathlib import PurePath
from string import Formatter
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

# Piped output is read by scripts and pagers, not squeezed into 80 columns.
_PIPED_WIDTH = 240
# Markup and emoji codes are off: a string printed here is shown as written.
stdout = Console(
    soft_wrap=True,
    width=None if sys.stdout.isatty() else _PIPED_WIDTH,
    markup=False,
    emoji=False,
)
stderr = Console(stderr=True, soft_wrap=True, markup=False, emoji=False)


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
    """Rows of values as a table on stdout; every value is shown verbatim."""
    table = Table(title=_plain(title), show_lines=False, header_style="bold")
    for index, column in enumerate(columns):
        # The first column is the id people copy: it never wraps.
        table.add_column(Text(column), overflow="fold", no_wrap=index == 0)
    count = 0
    for row in rows:
        table.add_row(*(cell_text(cell) for cell in row))
        count += 1
    if count == 0:
        stderr.print(Text("Nothing to show.", style="dim"))
        return
    stdout.print(table)


def print_fields(fields: Sequence[tuple[str, Any]], *, title: str | None = None) -> None:
    """A two-column key/value view of one object."""
    table = Table(title=_plain(title), show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in fields:
        table.add_row(Text(name), cell_text(value))
    stdout.print(table)


def print_forest(roots: Sequence[Tree]) -> None:
    """Trees built with ``tree_node`` on stdout, one after the other."""
    if not roots:
        stderr.print(Text("Nothing to show.", style="dim"))
        return
    for root in roots:
        stdout.print(root)


def tree_node(label: str, parent: Tree | None = None) -> Tree:
    """A node shown verbatim (brackets included), under ``parent`` when given."""
    text = Text(label)
    return Tree(text) if parent is None else parent.add(text)


def format_cell(value: Any) -> str:
    """One value as the text a table shows (``-`` for nothing, dates without microseconds)."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return ", ".join(format_cell(item) for item in value)
    return str(value)


def cell_text(value: Any) -> Text:
    """One value as a ``Text`` a Rich table renders verbatim, brackets included."""
    if isinstance(value, Text):
        return value
    return Text(format_cell(value))


def _plain(value: str | None) -> Text | None:
    return None if value is None else Text(value)


def say(message: str | Text) -> None:
    """A note for the person at the terminal (stderr, so stdout stays parseable).

    The message is printed exactly as given: no markup is interpreted, so an
    f-string with a story title or an error message in it is always safe. For
    styling, use :func:`say_styled` (or pass a ``Text``).
    """
    stderr.print(message, markup=False, emoji=False, highlight=False)


def say_styled(template: str, /, **values: object) -> None:
    """A note whose ``template`` (ours) carries Rich markup and whose values are escaped.

    ``say_styled("[bold yellow]Warning:[/] {warning}", warning=text)`` styles the
    label and shows ``text`` verbatim, whatever brackets it contains.
    """
    stderr.print(styled(template, **values), highlight=False)


def styled(template: str, /, **values: object) -> Text:
    """``template`` with Rich markup, its ``{name}`` fields filled verbatim with ``values``.

    The values never pass through the markup parser: each field becomes a
    placeholder without brackets, the template is parsed, and the placeholders are
    then replaced in the parsed text, each value taking the style around it.
    """
    names: list[str] = []
    pieces: list[str] = []
    for literal, field, _spec, _conversion in Formatter().parse(template):
        pieces.append(literal)
        if field is not None:
            pieces.append(f"{_HOLE}{len(names)}{_HOLE}")
            names.append(field)
    parsed = Text.from_markup("".join(pieces), emoji=False)
    return _fill(parsed, [str(values[name]) for name in names])


# A private-use character: never in a template, and not markup.
_HOLE = "\ue000"


def _fill(parsed: Text, values: Sequence[str]) -> Text:
    """Replace the placeholders of ``parsed`` with ``values``, stretching styles over them."""
    plain = parsed.plain
    result = Text(style=parsed.style, end=parsed.end)
    cursor = 0
    for index, value in enumerate(values):
        hole = f"{_HOLE}{index}{_HOLE}"
        start = plain.index(hole, cursor)
        result.append_text(parsed[cursor:start])
        result.append(value, style=_style_at(parsed, start))
        cursor = start + len(hole)
    result.append_text(parsed[cursor:])
    return result


def _style_at(text: Text, offset: int) -> str:
    return " ".join(str(span.style) for span in text.spans if span.start <= offset < span.end)
