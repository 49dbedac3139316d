"""How a transcript reads on a terminal: ``agent logs`` and ``agent start --wait``."""

from __future__ import annotations

import json

from rich.console import Console
from rich.text import Text

from orchestrate.agents.stuck import WARNING_HEADING
from orchestrate.cli.output import styled
from orchestrate.llm.service import Message, Role, TextBlock, ToolResultBlock, ToolUseBlock

_PREVIEW = 2000


def describe_message(console: Console, seq: int, message: Message) -> None:
    """Every block of a message, tool inputs and outputs included (long ones shortened).

    Everything in a transcript is model- or tool-written, so it is shown verbatim
    (``styled`` fills values in without reading them as markup).
    """
    who = "[bold cyan]agent[/]" if message.role is Role.ASSISTANT else "[bold green]user[/]"
    for block in message.content:
        if isinstance(block, TextBlock):
            console.print(styled(f"#{{seq}} {who}: {{text}}", seq=seq, text=block.text))
        elif isinstance(block, ToolUseBlock):
            arguments = _short(json.dumps(block.input, ensure_ascii=False))
            line = styled(
                f"#{{seq}} {who} → [bold]{{name}}[/] {{arguments}}",
                seq=seq,
                name=block.name,
                arguments=arguments,
            )
            console.print(line)
        elif isinstance(block, ToolResultBlock):
            marker = "[red]error[/]" if block.is_error else "result"
            text = _short(block.content)
            console.print(styled(f"#{{seq}} {marker}: {{text}}", seq=seq, text=text))


def progress_line(message: Message) -> Text | None:
    """One line per step for ``--wait``: what the agent said or which tools it called."""
    if message.role is not Role.ASSISTANT:
        errors = [b for b in message.content if isinstance(b, ToolResultBlock) and b.is_error]
        if errors:
            return Text(f"  ! {_first_line(errors[0].content)}")
        warned = [
            b.text
            for b in message.content
            if isinstance(b, TextBlock) and b.text.startswith(WARNING_HEADING)
        ]
        return Text(f"  ! {_short(warned[0], 300)}", style="yellow") if warned else None
    calls = [
        f"{b.name}({_short(_arguments(b), 60)})"
        for b in message.content
        if isinstance(b, ToolUseBlock)
    ]
    text = _first_line(message.text)
    parts = [Text(text, style="cyan")] if text else []
    parts += [Text(call) for call in calls]
    return Text.assemble("  ", Text("  ").join(parts)) if parts else None


def _arguments(block: ToolUseBlock) -> str:
    if block.name == "bash" and "command" in block.input:
        return str(block.input["command"])
    if "path" in block.input:
        return str(block.input["path"])
    return json.dumps(block.input, ensure_ascii=False)


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return _short(line, 120)


def _short(text: str, limit: int = _PREVIEW) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
