"""The dependency graph between registered repositories: its edges, an order, its cycles.

Pure: the service reads the manifests and the declared dependencies and hands them in.

A repository depends on another when it is declared so (``repo depend``), or when one
of its manifests names the other (detected):

- by package name, in the same ecosystem: a Python requirement naming the other's
  ``project.name`` (compared as PEP 503 normalises), an npm dependency its
  ``package.json`` name, a crate its ``[package] name``, a Go ``require`` its module path;
- by git URL: the URL is the other's clone URL or remote, or ends in its ``owner/name``
  (``git+https://github.com/octo/lib.git``, ``git@github.com:octo/lib``);
- by path: a local path dependency (relative to the manifest) inside the other's work tree.

A repository naming itself (an extra that requires its own package) is no edge. The
order puts dependencies first (Kahn's algorithm on the graph of strongly connected
components, ties broken by name so it is stable); a cycle (Tarjan's algorithm) is
reported with its members, who stand together in the order.
"""

from __future__ import annotations

import heapq
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from orchestrate.repositories.manifests import Manifests, Requirement, normalise_package
from orchestrate.repositories.models import (
    Edge,
    EdgeSource,
    Evidence,
    Repository,
    RepositoryGraph,
    name_key,
)

_URL_PREFIX = re.compile(r"^(?:git\+)?(?:[a-z][a-z0-9+.-]*://)?(?:[^@/]+@)?", re.IGNORECASE)


def build_graph(
    repositories: Sequence[Repository],
    manifests: Mapping[str, Manifests | None],
    declared: Iterable[tuple[str, str]],
) -> RepositoryGraph:
    """The graph of ``repositories``; ``manifests`` by name key, ``None`` for no work tree.

    ``declared`` holds ``(repository, depends_on)`` name pairs; one naming a repository
    not in ``repositories`` is left out.
    """
    by_key = {repository.key: repository for repository in repositories}
    edges: list[Edge] = []
    for source, target in sorted(set(declared)):
        if source in by_key and target in by_key and source != target:
            edges.append(Edge(by_key[source].name, by_key[target].name, EdgeSource.DECLARED))
    warnings: list[str] = []
    for repository in sorted(repositories, key=lambda r: r.key):
        found = manifests.get(repository.key)
        if found is None:
            warnings.append(
                f"{repository.name}: no work tree at {repository.path}; nothing detected"
            )
            continue
        warnings.extend(f"{repository.name}: {problem}" for problem in found.problems)
        edges.extend(_detected(repository, found, repositories, manifests))
    nodes = tuple(r.name for r in sorted(repositories, key=lambda r: r.key))
    components = _strongly_connected(nodes, edges)
    cycles = tuple(c for c in components if len(c) > 1)
    return RepositoryGraph(
        nodes=nodes,
        edges=tuple(edges),
        order=_order(components, edges),
        cycles=cycles,
        warnings=tuple(warnings),
    )


def _detected(
    repository: Repository,
    found: Manifests,
    repositories: Sequence[Repository],
    manifests: Mapping[str, Manifests | None],
) -> list[Edge]:
    evidence: dict[str, list[Evidence]] = defaultdict(list)
    if not found.requirements:
        return []
    for other in repositories:
        if other.key == repository.key:
            continue
        other_manifests = manifests.get(other.key)
        for requirement in found.requirements:
            if _points_at(requirement, repository, other, other_manifests):
                item = Evidence(requirement.manifest, requirement.label)
                if item not in evidence[other.name]:
                    evidence[other.name].append(item)
    return [
        Edge(repository.name, target, EdgeSource.DETECTED, tuple(items))
        for target, items in sorted(evidence.items(), key=lambda item: name_key(item[0]))
    ]


def _points_at(
    requirement: Requirement,
    repository: Repository,
    other: Repository,
    other_manifests: Manifests | None,
) -> bool:
    if requirement.name is not None and other_manifests is not None:
        wanted = normalise_package(requirement.ecosystem, requirement.name)
        for package in other_manifests.packages:
            if package.ecosystem is requirement.ecosystem and (
                normalise_package(package.ecosystem, package.name) == wanted
            ):
                return True
    if requirement.url is not None and _url_points_at(requirement.url, other):
        return True
    if requirement.path is not None:
        return _is_within((repository.path / requirement.path), other.path)
    return False


def _url_points_at(url: str, other: Repository) -> bool:
    if url.lower().startswith("file://"):
        return _is_within(Path(url[len("file://") :]), other.path)
    location = _url_location(url)
    if other.url is not None and location == _url_location(other.url):
        return True
    return location.endswith(("/" + other.key, ":" + other.key))


def _url_location(url: str) -> str:
    """``host/owner/name`` of a git URL: no scheme, user, ``.git``, fragment or query."""
    location = _URL_PREFIX.sub("", url.strip()).split("#", 1)[0].split("?", 1)[0]
    location = location.rstrip("/").removesuffix(".git").casefold()
    return location.replace(":", "/", 1) if "/" not in location.split(":", 1)[0] else location


def _is_within(path: Path, root: Path) -> bool:
    try:
        resolved, top = path.resolve(), root.resolve()
    except (OSError, RuntimeError):
        return False
    return resolved == top or top in resolved.parents


def _strongly_connected(nodes: Sequence[str], edges: Sequence[Edge]) -> list[tuple[str, ...]]:
    """Tarjan's components, iteratively (no recursion limit), each sorted by name."""
    successors: dict[str, list[str]] = {node: [] for node in nodes}
    for edge in edges:
        successors[edge.repository].append(edge.depends_on)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[tuple[str, ...]] = []
    for start in nodes:
        if start in index:
            continue
        work: list[tuple[str, int]] = [(start, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            children = successors[node]
            if position < len(children):
                work.append((node, position + 1))
                child = children[position]
                if child not in index:
                    work.append((child, 0))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            if low[node] == index[node]:
                members: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    members.append(member)
                    if member == node:
                        break
                components.append(tuple(sorted(members, key=name_key)))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components


def _order(components: Sequence[tuple[str, ...]], edges: Sequence[Edge]) -> tuple[str, ...]:
    """Dependencies first; a component is emitted once everything it depends on is."""
    component_of = {member: i for i, members in enumerate(components) for member in members}
    needs: dict[int, set[int]] = {i: set() for i in range(len(components))}
    dependents: dict[int, set[int]] = defaultdict(set)
    for edge in edges:
        source, target = component_of[edge.repository], component_of[edge.depends_on]
        if source != target:
            needs[source].add(target)
            dependents[target].add(source)
    ready = [(name_key(components[i][0]), i) for i, wanted in needs.items() if not wanted]
    heapq.heapify(ready)
    order: list[str] = []
    while ready:
        _, component = heapq.heappop(ready)
        order.extend(components[component])
        for dependent in dependents[component]:
            needs[dependent].discard(component)
            if not needs[dependent]:
                heapq.heappush(ready, (name_key(components[dependent][0]), dependent))
    return tuple(order)
