"""Reading pipeline files beyond registering them: checking one without saving it (what
``pipeline validate`` reports, for an editor's "Check" button), and a registered
pipeline's definition in the order its file is written."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ruamel.yaml.error import YAMLError

from orchestrate.core.bounded_yaml import load_bounded
from orchestrate.pipelines.models import Pipeline
from orchestrate.pipelines.spec.loader import parse_pipeline
from orchestrate.pipelines.spec.models import PipelineSpec
from orchestrate.pipelines.spec.problems import SpecProblem
from orchestrate.pipelines.spec.script_notes import script_notes


@dataclass(frozen=True)
class PipelineCheck:
    """What ``pipeline validate`` says of one file: its problems and, for a valid file,
    notes (where a ``run:`` script reads differently than it looks; they never fail it)."""

    problems: list[SpecProblem]
    notes: list[SpecProblem]
    name: str | None = None
    """The pipeline's name when the file is valid."""

    @property
    def is_valid(self) -> bool:
        return not self.problems


async def check_pipeline_source(text: str, source: str = "<string>") -> PipelineCheck:
    """Check a file offline, off the event loop (parsing pure-Python YAML is slow).

    Whether the secrets it names exist, and whether the caller may register a file that
    reads secrets, only registering decides (``service.register_pipeline``).
    """
    return await asyncio.to_thread(_check, text, source)


def _check(text: str, source: str) -> PipelineCheck:
    spec, problems, where = parse_pipeline(text, source)
    if spec is None or problems:
        return PipelineCheck(problems, [])
    return PipelineCheck([], script_notes(spec, where), spec.name)


async def pipeline_spec(pipeline: Pipeline) -> PipelineSpec:
    """The pipeline's definition, its inputs in the order its file declares them.

    The stored definition is the truth, but a database may keep a JSON object's keys in
    an order of its own (PostgreSQL's ``jsonb`` sorts them), and a form built from the
    inputs should ask in the author's order. Reading the order costs a YAML parse, off
    the event loop; a file that no longer parses keeps the stored order.
    """
    spec = PipelineSpec.model_validate(pipeline.spec)
    if len(spec.inputs) < 2:
        return spec
    order = await asyncio.to_thread(_input_order, pipeline.source)
    rank = {name: index for index, name in enumerate(order)}
    inputs = dict(sorted(spec.inputs.items(), key=lambda item: rank.get(item[0], len(rank))))
    return spec.model_copy(update={"inputs": inputs})


def _input_order(text: str) -> list[str]:
    try:
        root = load_bounded(text, typ="safe")
    except (YAMLError, ValueError):
        return []
    inputs = root.get("inputs") if isinstance(root, dict) else None
    return [str(name) for name in inputs] if isinstance(inputs, dict) else []
