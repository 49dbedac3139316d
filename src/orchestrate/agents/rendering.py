"""How a transcript reads on a terminal: ``agent logs`` and ``agent start --wait``."""

from __future__ import annotations

import json

from rich.console import Console
from rich.markup import escape

from orchestrate.llm.service import Message, Role, TextBlock, ToolResultBlock, ToolUseBlock

_PREVIEW = 2000


def describe_message(console: Console, seq: int, message: Message) -> None:
    """Every block of a message, tool inputs and outputs included (long ones shortened)."""
    who = "[bold cyan]agent[/]" if message.role is Role.ASSISTANT else "[bold green]user[/]"
    for block in message.content:
        if isinstance(block, TextBlock):
            console.print(f"#{seq} {who}: {escape(block.text)}")
        elif isinstance(block, ToolUseBlock):
            arguments = json.dumps(block.input, ensure_ascii=False)
            console.print(f"#{seq} {who} → [bold]{block.name}[/] {escape(_short(arguments))}")
        elif isinstance(block, ToolResultBlock):
            marker = "[red]error[/]" if block.is_error else "result"
            console.print(f"#{seq} {marker}: {escape(_short(block.content))}")


def progress_line(message: Message) -> str | None:
    """One line per step for ``--wait``: what the agent said or which tools it called."""
    if message.role is not Role.ASSISTANT:
        errors = [b for b in message.content if isinstance(b, ToolResultBlock) and b.is_error]
        return f"  ! {escape(_first_line(errors[0].content))}" if errors else None
    calls = [
        f"{b.name}({escape(_short(_arguments(b), 60))})"
        for b in message.content
        if isinstance(b, ToolUseBlock)
    ]
    text = _first_line(message.text)
    parts = [f"[cyan]{escape(text)}[/]"] if text else []
    parts += calls
    return "  " + "  ".join(parts) if parts else None


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
