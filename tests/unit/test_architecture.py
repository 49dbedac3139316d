"""No import cycle between the top-level packages of orchestrate.

``lint-imports`` holds the layers (pyproject.toml); this test holds the one rule any
layering rests on, with its own detector so that it cannot pass by misconfiguration:
the detector must find a cycle planted in a throwaway package first.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from pathlib import Path

import grimp
import pytest

# Imports that close a cycle known to be on its way out. Each must still exist (the
# test below fails when it is gone, so the allowance cannot outlive the cycle).
ALLOWED_CYCLE_EDGES: set[tuple[str, str]] = set()


def package_graph(
    graph: grimp.ImportGraph, root: str, without: Iterable[tuple[str, str]] = ()
) -> dict[str, set[str]]:
    """Which top-level packages of ``root`` import which, ignoring ``without`` imports."""
    skipped = set(without)
    edges: dict[str, set[str]] = {child: set() for child in graph.find_children(root)}
    for importer in graph.modules:
        source = _top_level(importer, root)
        if source is None:
            continue
        for imported in graph.find_modules_directly_imported_by(importer):
            target = _top_level(imported, root)
            if target not in (None, source) and (importer, imported) not in skipped:
                edges[source].add(target)
    return edges


def _top_level(module: str, root: str) -> str | None:
    """``root.pkg`` for any module inside it; None for ``root`` itself and outsiders."""
    parts = module.split(".")
    if parts[0] != root or len(parts) < 2:
        return None
    return f"{root}.{parts[1]}"


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one package (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    lowest: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = lowest[node] = len(index)
        stack.append(node)
        for neighbour in edges.get(node, ()):
            if neighbour not in index:
                visit(neighbour)
                lowest[node] = min(lowest[node], lowest[neighbour])
            elif neighbour in stack:
                lowest[node] = min(lowest[node], index[neighbour])
        if lowest[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_top_level_packages_import_each_other_without_a_cycle() -> None:
    graph = grimp.build_graph("orchestrate", cache_dir=None)
    assert cycles(package_graph(graph, "orchestrate", ALLOWED_CYCLE_EDGES)) == []


def test_every_allowed_cycle_edge_still_exists() -> None:
    graph = grimp.build_graph("orchestrate", cache_dir=None)
    for importer, imported in ALLOWED_CYCLE_EDGES:
        assert graph.direct_import_exists(importer=importer, imported=imported), (
            f"{importer} no longer imports {imported}: remove it from ALLOWED_CYCLE_EDGES"
        )


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> grimp.ImportGraph:
    """A package whose ``low`` and ``high`` import each other through submodules."""
    files = {
        "planted/__init__.py": "",
        "planted/base/__init__.py": "",
        "planted/low/__init__.py": "",
        "planted/low/service.py": "from planted.high import api\nfrom planted import base\n",
        "planted/high/__init__.py": "",
        "planted/high/api.py": "from planted.low.service import *\n",
        "planted/other/__init__.py": "import planted.base\n",
    }
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    return grimp.build_graph("planted", cache_dir=None)


def test_the_detector_finds_a_planted_cycle(planted: grimp.ImportGraph) -> None:
    assert cycles(package_graph(planted, "planted")) == [["planted.high", "planted.low"]]


def test_the_detector_lets_an_allowed_edge_break_a_cycle(planted: grimp.ImportGraph) -> None:
    allowed = {("planted.high.api", "planted.low.service")}
    assert cycles(package_graph(planted, "planted", allowed)) == []
