"""Pipeline YAML for the spec tests, built from keyword arguments instead of copied text.

Positions in the tests are found with ``position_of`` (the place of a snippet in the
built text), so a test says *where* a problem must be in terms a reader can check.
"""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import (
    DoubleQuotedScalarString,
    LiteralScalarString,
    SingleQuotedScalarString,
)


def _keys(fields: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments → YAML keys: ``if_`` is ``if``, ``continue__on__error`` is hyphenated."""
    return {key.removesuffix("_").replace("__", "-"): value for key, value in fields.items()}


def run_step(step_id: str, command: str = "make test", **fields: Any) -> dict[str, Any]:
    return {"id": step_id, **_keys(fields), "run": command}


def agent_step(step_id: str, agent: str = "issue-fixer", **fields: Any) -> dict[str, Any]:
    with_ = fields.pop("with_", {"task": "Fix the failing tests"})
    return {"id": step_id, **_keys(fields), "agent": agent, "with": with_}


def approval_step(step_id: str, **fields: Any) -> dict[str, Any]:
    approval = fields.pop("approval", {"approvers": ["admin"]})
    return {"id": step_id, **_keys(fields), "approval": approval}


def pipeline_step(step_id: str, pipeline: str = "other", **fields: Any) -> dict[str, Any]:
    return {"id": step_id, "pipeline": pipeline, **_keys(fields)}


def literal(text: str) -> LiteralScalarString:
    """A ``|`` block scalar, as multi-line scripts are written."""
    block: LiteralScalarString = LiteralScalarString(text)
    return block


def double_quoted(text: str) -> DoubleQuotedScalarString:
    block: DoubleQuotedScalarString = DoubleQuotedScalarString(text)
    return block


def single_quoted(text: str) -> SingleQuotedScalarString:
    block: SingleQuotedScalarString = SingleQuotedScalarString(text)
    return block


def make_pipeline(*steps: dict[str, Any], name: str = "demo", **top: Any) -> str:
    """YAML text of a pipeline: ``name``, then the other top-level keys, then ``steps``."""
    document = {"name": name, **top, "steps": list(steps) or [run_step("build")]}
    return to_yaml(document)


def to_yaml(document: Any) -> str:
    yaml = YAML(typ="rt")
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    buffer = io.StringIO()
    yaml.dump(document, buffer)
    return buffer.getvalue()


def position_of(text: str, snippet: str, occurrence: int = 1, *, plus: int = 0) -> tuple[int, int]:
    """1-based (line, column) of the ``occurrence``-th ``snippet`` in ``text``, moved ``plus``."""
    index = -1
    for _ in range(occurrence):
        index = text.index(snippet, index + 1)
    index += plus
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, column
