"""The step graph's layout: layers by longest path, few crossings, edges around steps."""

from __future__ import annotations

import re

from orchestrate.dashboard.dag import (
    LABEL_CHARACTERS,
    NODE_HEIGHT,
    NODE_WIDTH,
    DagLayout,
    DagNode,
    layout,
    longest_path_layers,
)


def node(node_id: str, *needs: str) -> DagNode:
    return DagNode(node_id, node_id, tuple(needs))


def placed(result: DagLayout) -> dict[str, tuple[int, int]]:
    return {p.node.id: (p.layer, p.row) for p in result.nodes}


def test_a_chain_takes_one_column_per_step() -> None:
    result = layout([node("build"), node("test", "build"), node("ship", "test")])

    assert placed(result) == {"build": (0, 0), "test": (1, 0), "ship": (2, 0)}
    assert [(e.source, e.target) for e in result.edges] == [("build", "test"), ("test", "ship")]


def test_a_step_stands_after_its_longest_chain_of_needs() -> None:
    layers = longest_path_layers(
        [node("lint"), node("build"), node("test", "build"), node("ship", "lint", "test")]
    )

    assert layers == {"lint": 0, "build": 0, "test": 1, "ship": 2}


def test_steps_in_file_order_after_their_needs_are_laid_out_whatever_the_order() -> None:
    layers = longest_path_layers([node("ship", "test"), node("test", "build"), node("build")])

    assert layers == {"build": 0, "test": 1, "ship": 2}


def test_unknown_needs_are_ignored() -> None:
    result = layout([node("build", "nowhere"), node("test", "build")])

    assert placed(result) == {"build": (0, 0), "test": (1, 0)}
    assert len(result.edges) == 1


def test_a_cycle_does_not_hang_and_every_step_is_drawn() -> None:
    result = layout([node("a", "c"), node("b", "a"), node("c", "b"), node("d")])

    assert set(placed(result)) == {"a", "b", "c", "d"}
    assert all(edge.source != edge.target for edge in result.edges)


def test_the_order_within_a_column_removes_avoidable_crossings() -> None:
    # In file order the edges a→d and b→c cross; swapping c and d uncrosses them.
    nodes = [node("a"), node("b"), node("c", "b"), node("d", "a")]

    result = layout(nodes)

    assert result.crossings == 0
    rows = placed(result)
    assert rows["d"][1] < rows["c"][1]


def test_a_diamond_has_no_crossings() -> None:
    result = layout(
        [node("build"), node("unit", "build"), node("lint", "build"), node("ship", "unit", "lint")]
    )

    assert result.crossings == 0
    assert placed(result)["ship"][0] == 2


def test_an_edge_that_skips_a_column_goes_around_the_step_there() -> None:
    # build → test → ship, and build → ship directly: the direct edge must not pass
    # through "test", which stands in the column it crosses.
    result = layout([node("build"), node("test", "build"), node("ship", "build", "test")])

    direct = next(e for e in result.edges if (e.source, e.target) == ("build", "ship"))
    test = next(p for p in result.nodes if p.node.id == "test")
    straight = re.search(r" L (\S+) (\S+)", direct.path)
    assert straight is not None, direct.path  # it crosses a placeholder's slot straight on
    y = float(straight.group(2))
    assert not test.y <= y <= test.y + NODE_HEIGHT


def test_every_step_fits_in_the_drawing_and_none_overlap() -> None:
    nodes = [node("a"), node("b"), node("c", "a"), node("d", "a", "b"), node("e", "c", "d")]

    result = layout(nodes)

    boxes = [(p.x, p.y) for p in result.nodes]
    assert len(set(boxes)) == len(boxes)
    for p in result.nodes:
        assert p.x >= 0
        assert p.x + NODE_WIDTH <= result.width
        assert p.y >= 0
        assert p.y + NODE_HEIGHT <= result.height


def test_edges_leave_a_step_on_its_right_and_enter_its_dependent_on_its_left() -> None:
    result = layout([node("build"), node("test", "build")])
    build, test = result.nodes

    numbers = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", result.edges[0].path)]
    assert (numbers[0], numbers[1]) == (build.x + NODE_WIDTH, build.y + NODE_HEIGHT / 2)
    assert (numbers[-2], numbers[-1]) == (test.x, test.y + NODE_HEIGHT / 2)


def test_a_repeated_step_id_is_drawn_once() -> None:
    result = layout([node("build"), DagNode("build", "again"), node("test", "build")])

    assert [p.node.label for p in result.nodes] == ["build", "test"]


def test_a_long_label_is_shortened_and_a_short_one_kept() -> None:
    long = DagNode("x", "Run the whole integration test suite on every database")

    assert len(long.short_label) == LABEL_CHARACTERS
    assert long.short_label.endswith("…")
    assert DagNode("y", "build").short_label == "build"


def test_no_steps_is_an_empty_drawing() -> None:
    result = layout([])

    assert result.nodes == []
    assert result.edges == []
