"""The CLI's output helpers show user text verbatim and style only our own templates."""

from __future__ import annotations

import pytest
from rich.console import Console

from orchestrate.cli import output
from orchestrate.cli.output import styled

HOSTILE = "[link=file:///etc/passwd]x[/link] [/] Fix [urgent] crash \\"


def test_a_styled_template_fills_values_verbatim_and_styles_around_them() -> None:
    text = styled("[bold red]{heading}:[/bold red] {detail}", heading="Error", detail=HOSTILE)

    assert text.plain == f"Error: {HOSTILE}"
    styled_characters = {i for span in text.spans for i in range(span.start, span.end)}
    assert styled_characters == set(range(6))


def test_a_value_inside_a_styled_span_takes_that_style() -> None:
    text = styled("see [cyan]{name}[/]!", name="[/]")

    assert text.plain == "see [/]!"
    assert [(span.start, span.end) for span in text.spans] == [(4, 7)]


def test_tables_fields_and_notes_print_brackets_as_written(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "stdout", Console(width=200, markup=False, emoji=False))
    monkeypatch.setattr(
        output, "stderr", Console(width=200, stderr=True, markup=False, emoji=False)
    )

    output.print_table(["title :smile:"], [[HOSTILE]], title="[BUG] list")
    output.print_fields([("title", HOSTILE)], title="[/]")
    output.say(HOSTILE)
    output.say_styled("[bold]note:[/] {value}", value=HOSTILE)

    captured = capsys.readouterr()
    assert captured.out.count(HOSTILE) == 2
    assert "[BUG] list" in captured.out
    assert "title :smile:" in captured.out
    assert captured.err.count(HOSTILE) == 2
