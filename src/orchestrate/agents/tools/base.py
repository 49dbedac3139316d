"""What a tool is to the agent loop: a spec the model sees and an async ``run``.

A tool never raises for a mistake the model made (missing file, text not found, path
outside the workspace): it returns ``ToolOutput(is_error=True)`` with a message the
model can act on, by raising ``ToolInputError`` which the loop converts. Anything else
it raises is a bug and fails the tool call with the exception text.

Cancellation: when an agent is paused or cancelled the loop cancels the running tool's
task; a tool that started a process must kill it (its whole process group) before the
``CancelledError`` propagates, so control requests take effect within seconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from orchestrate.core.sandbox import SandboxPolicy
from orchestrate.llm.service import ToolSpec

SpawnAgent = Callable[[str, str, Decimal | None], Awaitable[str]]
"""Run a child agent of a type with a task and an optional USD budget; returns its summary."""


@dataclass(frozen=True)
class ToolContext:
    """Everything a tool may use; it gets nothing else from the agent."""

    agent_id: str
    workspace: Path
    env: Mapping[str, str]
    bash_timeout: float = 600.0
    output_limit: int = 30_000
    spawn: SpawnAgent | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    sandbox: SandboxPolicy = field(default_factory=SandboxPolicy)
    """How bash, git and search programs are confined (bubblewrap unless configured)."""
    network: bool = False
    """Whether those programs may reach the network (the agent type's ``network: true``)."""


@dataclass(frozen=True)
class ToolOutput:
    content: str
    is_error: bool = False


class ToolInputError(Exception):
    """The model's request cannot be carried out; the message goes back to the model."""


class Tool(Protocol):
    @property
    def spec(self) -> ToolSpec: ...

    async def run(self, context: ToolContext, arguments: dict[str, Any]) -> ToolOutput: ...


class ToolArguments(BaseModel):
    """Base of each tool's input model: one class gives both the schema and the checks.

    Unknown arguments are refused so that a misspelt name (``file_path`` for ``path``)
    comes back to the model as an error instead of being silently ignored.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")


ArgumentsT = TypeVar("ArgumentsT", bound=ToolArguments)


def input_schema(model: type[ToolArguments]) -> dict[str, Any]:
    """The JSON Schema the model sees, without pydantic's noise.

    Generated ``title`` keys are dropped, enums are written in place instead of as
    ``$ref``s, and an optional argument (``int | None = None``) is shown as its plain
    type: we want such an argument omitted, not sent as ``null``.
    """
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    simplified: dict[str, Any] = _simplified(schema, definitions)
    return simplified


def _simplified(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [_simplified(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    reference = node.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/$defs/"):
        rest = {key: value for key, value in node.items() if key != "$ref"}
        node = {**definitions[reference.removeprefix("#/$defs/")], **rest}
    variants = node.get("anyOf")
    if isinstance(variants, list) and len(variants) == 2 and {"type": "null"} in variants:
        (kept,) = (variant for variant in variants if variant != {"type": "null"})
        rest = {
            key: value
            for key, value in node.items()
            if key != "anyOf" and not (key == "default" and value is None)
        }
        node = {**kept, **rest}
    return {
        key: _simplified(value, definitions)
        for key, value in node.items()
        if not (key == "title" and isinstance(value, str))
    }


def parse_arguments(model: type[ArgumentsT], arguments: dict[str, Any]) -> ArgumentsT:
    """Validate a tool call's input; problems become one readable ``ToolInputError``."""
    try:
        return model.model_validate(arguments)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            location = ".".join(str(part) for part in item["loc"]) or "input"
            if item["type"] == "missing":
                problems.append(f"'{location}' is required")
            elif item["type"] == "extra_forbidden":
                known = ", ".join(model.model_fields)
                problems.append(f"'{location}' is not an argument of this tool (known: {known})")
            else:
                problems.append(f"'{location}': {item['msg']}")
        raise ToolInputError("Invalid arguments: " + "; ".join(problems)) from None


def clip_middle(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping its head and its tail.

    Both ends matter for command output: the head says what started, the tail how it
    ended (the failing test, the exit message).
    """
    if len(text) <= limit:
        return text
    head = text[: limit // 2]
    tail = text[len(text) - (limit - len(head)) :] if limit > len(head) else ""
    return head + omission_marker(len(text) - len(head) - len(tail)) + tail


def omission_marker(count: int) -> str:
    """The line that stands where ``count`` characters were cut out of an output."""
    return f"\n[… {count} characters omitted …]\n"
