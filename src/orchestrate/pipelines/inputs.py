"""Checking and converting the inputs given to a run against the pipeline's ``inputs``.

Inputs arrive as JSON from the API, as ``k=v`` strings from the CLI, or as rendered
``with:`` values from a parent pipeline; each is converted to its declared type, so
``${{ inputs.retries > 2 }}`` compares numbers whichever way the run was started.
"""

from __future__ import annotations

import json
from difflib import get_close_matches
from typing import Any

from orchestrate.core.errors import ValidationFailed
from orchestrate.pipelines.spec.models import InputSpec, InputType, PipelineSpec

_TRUE = {"true", "yes", "1", "on"}
_FALSE = {"false", "no", "0", "off"}


def resolve_inputs(spec: PipelineSpec, given: dict[str, Any]) -> dict[str, Any]:
    """Every declared input with its value: given, else the default; unknown or missing → 422."""
    for name in given:
        if name not in spec.inputs:
            known = sorted(spec.inputs)
            close = get_close_matches(name, known, n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            names = ", ".join(known) or "none"
            raise ValidationFailed(
                f"Pipeline '{spec.name}' has no input '{name}' (declared: {names}).{hint}",
                field=f"inputs.{name}",
            )
    resolved: dict[str, Any] = {}
    for name, declared in spec.inputs.items():
        if name in given:
            resolved[name] = convert_input(name, declared, given[name])
        elif declared.default is not None:
            resolved[name] = convert_input(name, declared, declared.default)
        elif declared.required:
            raise ValidationFailed(
                f"Pipeline '{spec.name}' needs the input '{name}'"
                + (f" ({declared.description})" if declared.description else "")
                + f": pass --input {name}=VALUE",
                field=f"inputs.{name}",
            )
        else:
            resolved[name] = None
    return resolved


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["k=v", …]`` from the command line → a mapping; a pair without '=' is an error."""
    result: dict[str, str] = {}
    for pair in pairs:
        name, equals, value = pair.partition("=")
        if not equals or not name.strip():
            raise ValidationFailed(f"--input takes NAME=VALUE, got {pair!r}")
        result[name.strip()] = value
    return result


def convert_input(name: str, declared: InputSpec, value: Any) -> Any:
    try:
        return _CONVERTERS[declared.type](value, declared)
    except (TypeError, ValueError) as error:
        raise ValidationFailed(
            f"Input '{name}' must be a {declared.type.value}: {error}", field=f"inputs.{name}"
        ) from None


def _string(value: Any, _: InputSpec) -> str:
    if isinstance(value, dict | list):
        raise ValueError(f"got {type(value).__name__}")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _number(value: Any, _: InputSpec) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"got {value!r}")
    if isinstance(value, int | float):
        return value
    text = str(value).strip()
    try:
        return int(text)
    except ValueError:
        return float(text)


def _boolean(value: Any, _: InputSpec) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"got {value!r}; use true or false")


def _choice(value: Any, declared: InputSpec) -> str:
    text = _string(value, declared)
    options = declared.options or []
    if text not in options:
        raise ValueError(f"got {text!r}; choose one of {', '.join(options)}")
    return text


def _json(value: Any, _: InputSpec) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except json.JSONDecodeError as error:
            raise ValueError(f"not JSON ({error.msg})") from None
    return value


_CONVERTERS = {
    InputType.STRING: _string,
    InputType.NUMBER: _number,
    InputType.BOOLEAN: _boolean,
    InputType.CHOICE: _choice,
    InputType.JSON: _json,
}
