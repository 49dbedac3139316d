"""Expanding a step's ``matrix`` into combinations, exactly as GitHub Actions does.

The cartesian product of the variables, minus ``exclude`` entries (a partial match
excludes), then each ``include`` entry is added to every combination whose original
values it does not overwrite, or becomes a combination of its own when it fits none.
"""

from __future__ import annotations

from itertools import product
from typing import Any

from orchestrate.core.errors import ValidationFailed
from orchestrate.pipelines.spec.models import MATRIX_RESERVED

MAX_COMBINATIONS = 256


def max_parallel(matrix: dict[str, Any]) -> int | None:
    value = matrix.get("max_parallel", matrix.get("max-parallel"))
    return int(value) if value is not None else None


def expand_matrix(matrix: dict[str, Any]) -> list[dict[str, Any]]:
    """Every combination, in GitHub's order; ``matrix`` has its expressions evaluated."""
    variables = {key: value for key, value in matrix.items() if key not in MATRIX_RESERVED}
    for key, values in variables.items():
        if not isinstance(values, list) or not values:
            raise ValidationFailed(f"matrix '{key}' must be a non-empty list, got {values!r}")
    combinations = (
        [dict(zip(variables, values, strict=True)) for values in product(*variables.values())]
        if variables
        else []
    )
    excludes = _mappings(matrix.get("exclude"), "exclude")
    combinations = [
        combination
        for combination in combinations
        if not any(_matches(combination, exclude) for exclude in excludes)
    ]
    combinations = _with_includes(combinations, _mappings(matrix.get("include"), "include"))
    if not combinations:
        raise ValidationFailed("the matrix has no combinations left to run")
    if len(combinations) > MAX_COMBINATIONS:
        raise ValidationFailed(
            f"the matrix has {len(combinations)} combinations; "
            f"at most {MAX_COMBINATIONS} are allowed"
        )
    return combinations


def _with_includes(
    combinations: list[dict[str, Any]], includes: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    originals = [dict(combination) for combination in combinations]
    extra: list[dict[str, Any]] = []
    for include in includes:
        fitted = False
        for combination, original in zip(combinations, originals, strict=True):
            if all(original[key] == value for key, value in include.items() if key in original):
                combination.update(include)
                fitted = True
        if not fitted:
            extra.append(dict(include))
    return combinations + extra


def _matches(combination: dict[str, Any], pattern: dict[str, Any]) -> bool:
    return all(combination.get(key) == value for key, value in pattern.items())


def _mappings(value: Any, name: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ValidationFailed(f"matrix '{name}' must be a list of mappings")
    return value
