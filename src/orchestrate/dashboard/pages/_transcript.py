"""A window of an agent's transcript as a page shows it: each message's text, its tool
calls (name and pretty arguments, with the state of those still running or waiting)
and tool results (a preview; the rest behind a disclosure).

Everything here was written by a model or a tool: the template escapes it, and this
module only decides how much of it a page carries. A tool's output can be 30,000
characters and a window holds 50 messages, so long texts are cut at ``SHOWN_CAP`` (the
CLI's ``agent logs`` and the API's ``/messages`` have all of it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from orchestrate.agents.service import ToolCallRecord, ToolCallStatus
from orchestrate.llm.service import Message, Role, TextBlock, ToolResultBlock, ToolUseBlock

PREVIEW_LINES = 4
PREVIEW_CHARS = 400
SHOWN_CAP = 20_000

_CALL_STATES = {
    ToolCallStatus.PENDING: ("running", "busy"),
    ToolCallStatus.AWAITING_APPROVAL: ("waiting for approval", "warn"),
    ToolCallStatus.APPROVED: ("approved, about to run", "busy"),
    ToolCallStatus.DENIED: ("denied", "bad"),
    ToolCallStatus.AWAITING_CHILD: ("waiting for its sub-agent", "busy"),
}
"""How a call without a result reads, and the tone of its badge (``app.css``)."""


@dataclass(frozen=True)
class Shown:
    """A text as a page shows it: whole when short, else a preview and the rest folded."""

    preview: str
    full: str
    cut: int
    """Characters left out of ``full`` (beyond ``SHOWN_CAP``)."""

    @property
    def is_folded(self) -> bool:
        return self.preview != self.full or self.cut > 0


@dataclass(frozen=True)
class Block:
    kind: Literal["text", "tool_use", "tool_result"]
    body: Shown
    name: str = ""
    """The tool's name (a call, or the call a result answers when it is in the window)."""
    call_id: str = ""
    is_error: bool = False
    status: str = ""
    """A call without a result yet: what it waits on (empty once its result is recorded)."""
    tone: str = ""
    note: str = ""


@dataclass(frozen=True)
class ShownMessage:
    seq: int
    created_at: datetime
    role: str
    label: str
    blocks: list[Block]


def shown(text: str) -> Shown:
    cut = max(len(text) - SHOWN_CAP, 0)
    full = text[:SHOWN_CAP]
    lines = full.split("\n")
    preview = "\n".join(lines[:PREVIEW_LINES])[:PREVIEW_CHARS]
    if preview != full:
        preview = preview.rstrip() + " …"
    return Shown(preview=preview, full=full, cut=cut)


def shown_messages(
    messages: Sequence[tuple[int, datetime, Message]],
    unfinished: Sequence[ToolCallRecord],
) -> list[ShownMessage]:
    """The window's messages, oldest first, ready for ``agents/_transcript.html``."""
    waiting = {call.tool_use_id: call for call in unfinished}
    names = {
        block.id: block.name
        for _, _, message in messages
        for block in message.content
        if isinstance(block, ToolUseBlock)
    }
    return [
        ShownMessage(
            seq=seq,
            created_at=created_at,
            role=message.role.value,
            label=_label(message),
            blocks=[_block(block, names, waiting) for block in message.content],
        )
        for seq, created_at, message in messages
    ]


def _label(message: Message) -> str:
    if message.role is Role.ASSISTANT:
        return "Agent"
    if message.content and all(isinstance(b, ToolResultBlock) for b in message.content):
        return "Tool results"
    return "To the agent"


def _block(
    block: TextBlock | ToolUseBlock | ToolResultBlock,
    names: Mapping[str, str],
    waiting: Mapping[str, ToolCallRecord],
) -> Block:
    if isinstance(block, TextBlock):
        return Block(kind="text", body=shown(block.text))
    if isinstance(block, ToolUseBlock):
        arguments = json.dumps(block.input, indent=2, sort_keys=True, ensure_ascii=False)
        call = waiting.get(block.id)
        status, tone = _CALL_STATES.get(call.status, ("", "")) if call else ("", "")
        note = ""
        if call is not None and call.decided_by:
            note = f"decided by {call.decided_by}"
            if call.status is ToolCallStatus.DENIED and call.output:
                note += f": {call.output}"
        return Block(
            kind="tool_use",
            body=shown(arguments),
            name=block.name,
            call_id=block.id,
            status=status,
            tone=tone,
            note=note,
        )
    return Block(
        kind="tool_result",
        body=shown(block.content),
        name=names.get(block.tool_use_id, ""),
        call_id=block.tool_use_id,
        is_error=block.is_error,
    )
