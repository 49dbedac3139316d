"""The step graph: order, cycles, ancestors and dependents."""

from __future__ import annotations

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.pipelines.spec.graph import (
    ancestors,
    dependents,
    find_cycle,
    find_cycles,
    topological_order,
)
from orchestrate.pipelines.spec.models import PipelineSpec


def make_spec(**needs: list[str]) -> PipelineSpec:
    """A pipeline of run steps in the order given, each needing the listed steps."""
    steps = [{"id": step_id, "run": "true", "needs": wanted} for step_id, wanted in needs.items()]
    return PipelineSpec.model_validate({"name": "demo", "steps": steps})


class TestTopologicalOrder:
    def test_independent_steps_keep_file_order(self) -> None:
        assert topological_order(make_spec(c=[], a=[], b=[])) == ["c", "a", "b"]

    def test_a_step_comes_after_everything_it_needs(self) -> None:
        spec = make_spec(deploy=["build", "test"], test=["build"], build=[])

        assert topological_order(spec) == ["build", "test", "deploy"]

    def test_among_ready_steps_file_order_wins(self) -> None:
        spec = make_spec(root=[], late=["root"], early=[], last=["late", "early"])

        assert topological_order(spec) == ["root", "late", "early", "last"]

    def test_a_diamond_is_ordered_once_each(self) -> None:
        spec = make_spec(a=[], b=["a"], c=["a"], d=["b", "c"])

        assert topological_order(spec) == ["a", "b", "c", "d"]

    def test_a_cycle_is_refused_with_its_path(self) -> None:
        spec = make_spec(a=["b"], b=["a"], c=[])

        with pytest.raises(ValidationFailed, match="has a cycle: a → b → a"):
            topological_order(spec)

    def test_a_long_chain_does_not_recurse(self) -> None:
        chain: dict[str, list[str]] = {"s0": []} | {f"s{i}": [f"s{i - 1}"] for i in range(1, 3000)}
        spec = make_spec(**chain)

        assert topological_order(spec)[-1] == "s2999"
        assert find_cycle(chain) is None


class TestCycles:
    def test_an_acyclic_graph_has_no_cycle(self) -> None:
        assert find_cycle({"a": [], "b": ["a"], "c": ["a", "b"]}) is None

    def test_a_cycle_is_a_closed_path_from_the_first_step_in_file_order(self) -> None:
        assert find_cycle({"a": ["c"], "b": ["a"], "c": ["b"]}) == ["a", "c", "b", "a"]

    def test_a_step_needing_itself_is_a_cycle(self) -> None:
        assert find_cycle({"a": ["a"]}) == ["a", "a"]

    def test_separate_cycles_are_all_found(self) -> None:
        graph = {"a": ["b"], "b": ["a"], "c": ["d"], "d": ["c"], "e": ["a"]}

        assert find_cycles(graph) == [["a", "b", "a"], ["c", "d", "c"]]

    def test_needs_of_unknown_steps_are_ignored(self) -> None:
        assert find_cycle({"a": ["ghost"]}) is None


class TestAncestorsAndDependents:
    SPEC = make_spec(build=[], lint=[], test=["build"], package=["test", "lint"], ship=["package"])

    def test_ancestors_are_every_step_needed_directly_or_not(self) -> None:
        assert ancestors(self.SPEC, "package") == {"build", "test", "lint"}

    def test_a_step_without_needs_has_no_ancestors(self) -> None:
        assert ancestors(self.SPEC, "build") == set()

    def test_dependents_are_every_step_that_waits_for_it(self) -> None:
        assert dependents(self.SPEC, "build") == {"test", "package", "ship"}

    def test_the_last_step_has_no_dependents(self) -> None:
        assert dependents(self.SPEC, "ship") == set()

    @pytest.mark.parametrize("function", [ancestors, dependents])
    def test_an_unknown_step_is_a_key_error(self, function: object) -> None:
        with pytest.raises(KeyError):
            function(self.SPEC, "nope")  # type: ignore[operator]
