"""Read a pipeline file: YAML text → a validated ``PipelineSpec``, or every problem in it.

ruamel.yaml's round-trip loader is used for two reasons: it speaks YAML 1.2, where
``on:`` is the string "on" (YAML 1.1 loaders such as PyYAML turn it into ``True``), and
it records the line and column of every key and value, which is how each problem gets
its ``file:line:column``. Size, nesting depth and alias expansion are bounded
(``core.bounded_yaml``), so a hostile file is refused in milliseconds. The model is
validated from plain Python values converted from that tree; the tree itself is kept
as the ``SourceMap``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from ruamel.yaml.comments import TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.scalarbool import ScalarBoolean

from orchestrate.core.bounded_yaml import load_bounded
from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.pipelines.spec.model_errors import problems_from_validation_error
from orchestrate.pipelines.spec.models import PipelineSpec
from orchestrate.pipelines.spec.positions import SourceMap
from orchestrate.pipelines.spec.problems import PipelineInvalid, SpecProblem
from orchestrate.pipelines.spec.validation import validate_spec

__all__ = [
    "PipelineInvalid",
    "SpecProblem",
    "check_pipeline",
    "load_pipeline",
    "load_pipeline_file",
    "parse_pipeline",
]

_TEMPLATE_HINT = "start from a template: orchestrate pipeline init --template ci"


def load_pipeline(text: str, source: str = "<string>") -> PipelineSpec:
    """The pipeline in ``text``; raises ``PipelineInvalid`` listing every problem found."""
    spec, problems, _ = parse_pipeline(text, source)
    if spec is None or problems:
        raise PipelineInvalid(problems)
    return spec


def load_pipeline_file(path: Path) -> PipelineSpec:
    """The pipeline in a file; problems are reported against the path as given."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(f"No pipeline file at {path}.", path=str(path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ValidationFailed(
            f"Cannot read the pipeline file {path}: {error}", path=str(path)
        ) from None
    return load_pipeline(text, source=str(path))


def check_pipeline(text: str, source: str = "<string>") -> list[SpecProblem]:
    """Every problem in ``text``, for linting; an empty list means the pipeline is valid."""
    return parse_pipeline(text, source)[1]


def parse_pipeline(
    text: str, source: str = "<string>"
) -> tuple[PipelineSpec | None, list[SpecProblem], SourceMap]:
    """The spec (None when the structure is broken), its problems and its source map.

    Rule checks need a well-formed spec, so they run only once the YAML and the model
    are fine; the model's own errors are all reported together.
    """
    root, problems = _parse_yaml(text, source)
    where = SourceMap(source, text, root)
    if problems:
        return None, problems, where
    data = _plain(root)
    try:
        spec = PipelineSpec.model_validate(data)
    except ValidationError as error:
        problems = problems_from_validation_error(error, where)
        problems += _rules_without_unknown_keys(data, error, where)
        return None, sorted(problems, key=lambda p: (p.line, p.column)), where
    return spec, validate_spec(spec, where), where


def _rules_without_unknown_keys(
    data: dict[str, Any], error: ValidationError, where: SourceMap
) -> list[SpecProblem]:
    """The rules' problems too, when unknown keys were the model's only complaint.

    A typo such as ``nedds:`` is the most common mistake; dropping those keys cannot
    change the meaning of the rest, so the user still gets the whole list in one go.
    Any other error leaves the spec too uncertain to judge without false alarms.
    """
    details = error.errors(include_url=False)
    if any(detail["type"] != "extra_forbidden" for detail in details):
        return []
    for detail in details:
        *parents, key = detail["loc"]
        owner: Any = data
        for part in parents:
            owner = owner[part]
        owner.pop(key, None)
    try:
        spec = PipelineSpec.model_validate(data)
    except ValidationError:
        return []
    return validate_spec(spec, where)


def _parse_yaml(text: str, source: str) -> tuple[Any, list[SpecProblem]]:
    try:
        root = load_bounded(text)
    except MarkedYAMLError as error:
        return None, [_yaml_problem(error, source)]
    except (YAMLError, ValueError) as error:
        # e.g. `!!int x`: ruamel raises a bare ValueError without a position.
        return None, [SpecProblem(source, 1, 1, f"invalid YAML: {error}")]
    if root is None:
        message = "the file holds no pipeline; it needs at least 'name' and 'steps'"
        return None, [SpecProblem(source, 1, 1, message, _TEMPLATE_HINT)]
    if not isinstance(root, Mapping):
        message = f"a pipeline is a mapping of keys such as 'name' and 'steps', not {_kind(root)}"
        return None, [SpecProblem(source, 1, 1, message, _TEMPLATE_HINT)]
    return root, []


def _yaml_problem(error: MarkedYAMLError, source: str) -> SpecProblem:
    mark = error.problem_mark or error.context_mark
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (1, 1)
    problem = str(error.problem or error.context or "the text is not valid YAML")
    if "duplicate key" in problem:
        hint = "a key may appear only once in a mapping"
    elif error.context and error.context_mark is not None:
        hint = f"{error.context} at line {error.context_mark.line + 1}"
    else:
        hint = None
    return SpecProblem(source, line, column, f"invalid YAML: {problem}", hint)


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def _plain(node: Any) -> Any:
    """ruamel's annotated containers and scalars → plain dicts, lists, str, int, float.

    Dates become their ISO text: a default of ``2024-01-01`` is meant as a string here,
    and a plain value is what the model stores and the API returns as JSON.
    """
    if isinstance(node, Mapping):
        return {_plain(key): _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(item) for item in node]
    if isinstance(node, TaggedScalar):
        return str(node.value)
    if isinstance(node, bool | ScalarBoolean):
        return bool(node)
    if node is None:
        return None
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, dt.date):
        return node.isoformat()
    return node
