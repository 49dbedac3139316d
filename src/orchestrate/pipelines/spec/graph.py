"""The step graph of a pipeline: order, cycles, and who depends on whom.

Pure functions over ``needs``, shared by validation (cycles), the executor (what may
start) and re-runs (what a failed step drags along). Loops are iterative so a long
chain sent through the API cannot exhaust the recursion limit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from orchestrate.core.errors import ValidationFailed
from orchestrate.pipelines.spec.models import PipelineSpec

NeedsGraph = Mapping[str, Sequence[str]]


def needs_graph(spec: PipelineSpec) -> dict[str, list[str]]:
    """Step id → the ids it needs, in file order (the first of two steps with one id wins)."""
    graph: dict[str, list[str]] = {}
    for step in spec.steps:
        graph.setdefault(step.id, list(step.needs))
    return graph


def topological_order(spec: PipelineSpec) -> list[str]:
    """Step ids so that every step comes after the steps it needs.

    Stable: among the steps ready at the same time, file order wins, so the order a
    user reads is the order they see in listings. Raises ``ValidationFailed`` on a cycle
    (a loaded spec never has one).
    """
    graph = needs_graph(spec)
    remaining = {step: {n for n in needs if n in graph} for step, needs in graph.items()}
    order: list[str] = []
    while remaining:
        ready = [step for step, needs in remaining.items() if not needs]
        if not ready:
            cycle = find_cycle({step: sorted(needs) for step, needs in remaining.items()})
            raise ValidationFailed(
                f"Pipeline '{spec.name}' has a cycle: {' → '.join(cycle or [])}.",
                cycle=cycle,
            )
        first = ready[0]
        order.append(first)
        del remaining[first]
        for needs in remaining.values():
            needs.discard(first)
    return order


def find_cycles(graph: NeedsGraph) -> list[list[str]]:
    """Cycles of ``needs``, each as a closed path ``[a, b, a]`` read "a needs b needs a".

    One cycle per back edge of a depth-first walk in file order; ids that are not steps
    are ignored (they are reported as unknown elsewhere).
    """
    visiting: list[str] = []
    on_path: set[str] = set()
    done: set[str] = set()
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()
    for start in graph:
        if start in done:
            continue
        stack = [(start, iter(graph[start]))]
        visiting.append(start)
        on_path.add(start)
        while stack:
            node, pending = stack[-1]
            target = next((n for n in pending if n in graph and n not in done), None)
            if target is None:
                stack.pop()
                visiting.pop()
                on_path.discard(node)
                done.add(node)
            elif target in on_path:
                cycle = [*visiting[visiting.index(target) :], target]
                if frozenset(cycle) not in seen:
                    seen.add(frozenset(cycle))
                    cycles.append(cycle)
            else:
                stack.append((target, iter(graph[target])))
                visiting.append(target)
                on_path.add(target)
    return cycles


def find_cycle(graph: NeedsGraph) -> list[str] | None:
    """The first cycle of ``needs`` in file order, or None."""
    cycles = find_cycles(graph)
    return cycles[0] if cycles else None


def ancestors(spec: PipelineSpec, step_id: str) -> set[str]:
    """Every step ``step_id`` needs, directly or through other steps."""
    spec.step(step_id)  # KeyError for an unknown step, like PipelineSpec.step
    return _reachable(needs_graph(spec), step_id)


def dependents(spec: PipelineSpec, step_id: str) -> set[str]:
    """Every step that needs ``step_id``, directly or through other steps."""
    spec.step(step_id)
    reverse: dict[str, list[str]] = {step.id: [] for step in spec.steps}
    for step in spec.steps:
        for need in step.needs:
            reverse.setdefault(need, []).append(step.id)
    return _reachable(reverse, step_id)


def _reachable(graph: NeedsGraph, start: str) -> set[str]:
    found: set[str] = set()
    frontier = list(graph.get(start, ()))
    while frontier:
        node = frontier.pop()
        if node not in found and node != start:
            found.add(node)
            frontier.extend(graph.get(node, ()))
    return found
