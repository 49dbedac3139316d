"""An epic's stories in dependency order: after what they depend on, else as they were."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrate.core.errors import ValidationFailed
from orchestrate.stories.models import dependency_order


def reference_order(order: Sequence[str], graph: Mapping[str, Sequence[str]]) -> list[str]:
    """The definition, step by step: each next story is the first one not yet placed
    whose dependencies (within ``order``) are all placed."""
    placed: list[str] = []
    while len(placed) < len(order):
        placed.append(
            next(
                node
                for node in order
                if node not in placed
                and all(dep in placed for dep in graph.get(node, ()) if dep in order)
            )
        )
    return placed


def test_a_story_moves_after_the_stories_it_depends_on_and_the_rest_keep_their_order() -> None:
    graph = {"a": ["c"], "b": [], "c": [], "d": ["a", "outside"]}

    assert dependency_order(["a", "b", "c", "d"], graph) == ["b", "c", "a", "d"]


def test_a_cycle_is_refused_naming_it() -> None:
    with pytest.raises(ValidationFailed, match="a → b → a"):
        dependency_order(["a", "b"], {"a": ["b"], "b": ["a"]})


def test_thousands_of_chained_stories_are_ordered() -> None:
    nodes = [f"s{n}" for n in range(5000)]
    graph = {node: [nodes[index + 1]] for index, node in enumerate(nodes[:-1])}

    assert dependency_order(nodes, graph) == nodes[::-1]


@st.composite
def acyclic(draw: st.DrawFn) -> tuple[list[str], dict[str, list[str]]]:
    """Stories in some order whose dependencies follow a hidden order (so no cycle)."""
    count = draw(st.integers(min_value=0, max_value=12))
    hidden = [f"s{n}" for n in range(count)]
    graph = {
        node: draw(st.lists(st.sampled_from(hidden[:index]), max_size=3)) if index else []
        for index, node in enumerate(hidden)
    }
    return draw(st.permutations(hidden)), graph


@given(acyclic())
def test_the_order_is_the_one_the_definition_gives(
    case: tuple[list[str], dict[str, list[str]]],
) -> None:
    order, graph = case

    assert dependency_order(order, graph) == reference_order(order, graph)
