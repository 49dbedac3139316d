"""Matrix expansion follows GitHub Actions' strategy.matrix rules."""

from __future__ import annotations

from typing import Any

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.pipelines.matrix import expand_matrix, max_parallel


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        ({"os": ["linux", "mac"]}, [{"os": "linux"}, {"os": "mac"}]),
        (
            {"os": ["linux", "mac"], "py": [1, 2]},
            [
                {"os": "linux", "py": 1},
                {"os": "linux", "py": 2},
                {"os": "mac", "py": 1},
                {"os": "mac", "py": 2},
            ],
        ),
        (
            {"os": ["linux", "mac"], "py": [1, 2], "exclude": [{"os": "mac", "py": 1}]},
            [{"os": "linux", "py": 1}, {"os": "linux", "py": 2}, {"os": "mac", "py": 2}],
        ),
        # a partial exclude removes every combination it matches
        (
            {"os": ["linux", "mac"], "py": [1, 2], "exclude": [{"os": "mac"}]},
            [{"os": "linux", "py": 1}, {"os": "linux", "py": 2}],
        ),
        # an include adding a new key joins every combination whose values it does not change
        (
            {"py": [1, 2], "include": [{"extra": "x"}]},
            [{"py": 1, "extra": "x"}, {"py": 2, "extra": "x"}],
        ),
        # an include that matches an original value extends only that combination
        (
            {"py": [1, 2], "include": [{"py": 2, "experimental": True}]},
            [{"py": 1}, {"py": 2, "experimental": True}],
        ),
        # an include that would overwrite an original value becomes its own combination
        ({"py": [1, 2], "include": [{"py": 3}]}, [{"py": 1}, {"py": 2}, {"py": 3}]),
        # only includes
        ({"include": [{"a": 1}, {"a": 2}]}, [{"a": 1}, {"a": 2}]),
        # GitHub's documented example: added values may be overwritten by later includes
        (
            {
                "fruit": ["apple", "pear"],
                "animal": ["cat", "dog"],
                "include": [
                    {"color": "green"},
                    {"color": "pink", "animal": "cat"},
                    {"fruit": "apple", "shape": "circle"},
                    {"fruit": "banana"},
                    {"fruit": "banana", "animal": "cat"},
                ],
            },
            [
                {"fruit": "apple", "animal": "cat", "color": "pink", "shape": "circle"},
                {"fruit": "apple", "animal": "dog", "color": "green", "shape": "circle"},
                {"fruit": "pear", "animal": "cat", "color": "pink"},
                {"fruit": "pear", "animal": "dog", "color": "green"},
                {"fruit": "banana"},
                {"fruit": "banana", "animal": "cat"},
            ],
        ),
    ],
)
def test_matrix_expands_like_github_actions(
    matrix: dict[str, Any], expected: list[dict[str, Any]]
) -> None:
    assert expand_matrix(matrix) == expected


@pytest.mark.parametrize(
    "matrix",
    [
        {"os": []},
        {"os": "linux"},
        {"os": ["linux"], "exclude": [{"os": "linux"}]},
        {"n": list(range(300))},
    ],
)
def test_matrix_without_usable_combinations_is_refused(matrix: dict[str, Any]) -> None:
    with pytest.raises(ValidationFailed):
        expand_matrix(matrix)


def test_max_parallel_accepts_both_spellings() -> None:
    assert max_parallel({"a": [1], "max_parallel": 2}) == 2
    assert max_parallel({"a": [1], "max-parallel": 3}) == 3
    assert max_parallel({"a": [1]}) is None
