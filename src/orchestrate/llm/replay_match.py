"""Does a replayed request say what the recorded one said? Compared on content, not shape.

A replay is only worth something if the agent sends what it sent when the session was
recorded: the same system prompt, and at each call the same new input — the tool
results and text added since the model's last answer. Earlier messages were checked
at earlier calls (and the model's own messages come from the recording), so only that
new input is compared, which keeps a long run's check linear.

Some text differs between two honest runs and is masked on both sides first:

- the run's identity (``RunIdentity``): its workspace path, repository path, branch
  and the ref that branch was made from (a sub-agent's is its parent's branch),
  recorded in the session header and known to the replaying run, each replaced by a
  placeholder (``<workspace>``, ``<repo>``, ``<branch>``, ``<base>``);
- any Orchestrate id (``agent_01j…``: the agent's own, a sub-agent's in a
  ``spawn_agent`` result), because ids are made from the clock;
- git commit ids (7 to 40 hex digits, at least one of them 0-9: a short id may have
  no letter, so a number of 7 or more digits is masked too; and any hex id where git
  names the commit it made, ``[branch dfcebfe] message``), because a commit's id
  covers its time;
- ISO 8601 timestamps and durations (``in 0.02s``, ``350 ms``), which test runners
  and build tools print.

Everything else — a file's contents, a command's output, a sub-agent's summary — must
be equal, or the replay reports what differed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ConfigDict

from orchestrate.llm.models import (
    CompletionRequest,
    ContentBlock,
    Message,
    Role,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
)

# One pass over the text; at each position the first alternative that matches wins.
# Each needs a digit in its first word, so words without one are passed over at once
# (2.4 times faster on source code than without that gate).
_VOLATILE = re.compile(
    r"\b(?=\w*\d)(?:(?P<id>[a-z][a-z0-9]*_[0-9a-hjkmnp-tv-z]{26}\b)"
    r"|(?P<time>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?\b)"
    r"|(?P<commit>(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b)"
    r"|(?P<duration>\d+(?:\.\d+)?\s?(?:ms|s|secs?|seconds)\b))"
)
# A commit id with no digit (1 in about 1,000 short ids: ``dfcebfe``) passes the gate
# above; where git names the commit it made (``[branch 1a2b3c4] message``), any hex is one.
_COMMIT_SUMMARY = re.compile(r"^(\[\S+ (?:\(root-commit\) )?)[0-9a-f]{7,40}\]", re.MULTILINE)
_EXCERPT = 60
_Differ = Callable[[str, str, str], "str | None"]


class RunIdentity(BaseModel):
    """What names one run of an agent and changes from recording to replay.

    Stored in the session header when recording; the replaying run passes its own, and
    each value is masked by the same placeholder on both sides before comparing.
    """

    model_config = ConfigDict(frozen=True)

    agent_id: str | None = None
    workspace: str | None = None
    repo: str | None = None
    branch: str | None = None
    base_ref: str | None = None
    """What the branch was made from: a sub-agent's is its parent's branch."""

    def placeholders(self) -> list[tuple[str, str]]:
        """``(value, placeholder)`` pairs, longest value first (a workspace holds the repo)."""
        pairs = [
            (self.workspace, "<workspace>"),
            (self.repo, "<repo>"),
            (self.branch, "<branch>"),
            (self.base_ref, "<base>"),
        ]
        return sorted(
            ((value, name) for value, name in pairs if value), key=lambda pair: -len(pair[0])
        )


def normalise(text: str, identity: RunIdentity | None) -> str:
    """``text`` with the volatile parts listed in the module docstring masked."""
    for value, placeholder in identity.placeholders() if identity else ():
        if value not in text:
            continue
        # Whole names only: branch ``orchestrate/fix`` is no part of ``orchestrate/fix-2``
        # (a full stop that ends a sentence still ends the name).
        text = re.sub(rf"(?<![\w.-]){re.escape(value)}(?![\w-]|\.\w)", placeholder, text)
    text = _COMMIT_SUMMARY.sub(r"\1<commit>]", text)
    return _VOLATILE.sub(lambda match: f"<{match.lastgroup}>", text)


def content_difference(
    recorded: CompletionRequest,
    sent: CompletionRequest,
    recorded_identity: RunIdentity | None,
    sent_identity: RunIdentity | None,
) -> str | None:
    """What the sent request says differently from the recorded one, in words, or ``None``.

    Compares the system prompt and the new input (see the module docstring).
    """

    def differ(what: str, old: str, new: str) -> str | None:
        if old == new:
            return None  # the common case: nothing volatile in it
        old, new = normalise(old, recorded_identity), normalise(new, sent_identity)
        return None if old == new else f"{what} differs: {_excerpts(old, new)}"

    found = differ("the system prompt", recorded.system, sent.system)
    if found:
        return found
    old_blocks, new_blocks = _new_input(recorded.messages), _new_input(sent.messages)
    if len(old_blocks) != len(new_blocks):
        return (
            f"the new input has {len(new_blocks)} parts where the recording has "
            f"{len(old_blocks)}: recorded {_kinds(old_blocks)} but sent {_kinds(new_blocks)}"
        )
    names = _tool_names(sent.messages)
    for old, new in zip(old_blocks, new_blocks, strict=True):
        found = _block_difference(old, new, names, differ)
        if found:
            return found
    return None


def _block_difference(
    old: ContentBlock, new: ContentBlock, names: dict[str, str], differ: _Differ
) -> str | None:
    if isinstance(old, ToolResultBlock) and isinstance(new, ToolResultBlock):
        what = f"the result of tool call {new.tool_use_id} ({names.get(new.tool_use_id, '?')})"
        if old.tool_use_id != new.tool_use_id:
            return f"a tool result answers {new.tool_use_id}, recorded {old.tool_use_id}"
        if old.is_error != new.is_error:
            state = "an error" if new.is_error else "a success"
            return f"{what} is {state} now: {_excerpts(old.content, new.content)}"
        return differ(what, old.content, new.content)
    if isinstance(old, TextBlock) and isinstance(new, TextBlock):
        return differ("the text sent to the model", old.text, new.text)
    if old.type != new.type:
        return f"a {new.type} block was sent where the recording has a {old.type} block"
    return None  # tool_use blocks in new input do not occur: the model makes those


def _new_input(messages: Sequence[Message]) -> list[ContentBlock]:
    """The blocks sent since the model's last answer (all of them on the first call)."""
    start = 0
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].role is Role.ASSISTANT:
            start = index + 1
            break
    return [block for message in messages[start:] for block in message.content]


def _tool_names(messages: Sequence[Message]) -> dict[str, str]:
    for message in reversed(messages):
        if message.role is Role.ASSISTANT:
            return {
                block.id: block.name for block in message.content if isinstance(block, ToolUseBlock)
            }
    return {}


def _kinds(blocks: Sequence[ContentBlock]) -> str:
    return "[" + ", ".join(block.type for block in blocks) + "]"


def _excerpts(old: str, new: str) -> str:
    """Where two texts part, with a little context: enough to see what changed."""
    start = next(
        (i for i, (a, b) in enumerate(zip(old, new, strict=False)) if a != b),
        min(len(old), len(new)),
    )
    begin = max(0, start - _EXCERPT // 3)

    def cut(text: str) -> str:
        piece = text[begin : begin + _EXCERPT]
        return ("…" if begin else "") + repr(piece) + ("…" if begin + _EXCERPT < len(text) else "")

    return f"from character {start}, recorded {cut(old)} but the agent sent {cut(new)}"
