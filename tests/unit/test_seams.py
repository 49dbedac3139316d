"""The seams of the design, checked over the source: where SQL is, how capabilities meet.

- Only ``tables.py`` and ``_store.py`` of a capability (and the kernel, ``core``, and
  the ``migrations``) import SQLAlchemy or call the session; everything else asks its
  capability's ``_store.py``. ``sqlalchemy.exc`` is allowed anywhere: its errors
  (a unique index refusing a duplicate) are outcomes a service decides on, not queries.
- A capability imports another only through that one's ``service.py``, its package
  ``__init__`` or its ``events.py`` (the typed events others react to);
  ``PUBLIC_ENTRIES`` names the other public modules, each with its reason.
- ``lint-imports`` (the contracts in pyproject.toml, the layers among them) passes.

Each detector is first shown to find a violation planted in a throwaway package, so a
check cannot pass by looking at nothing.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from collections.abc import Collection, Iterator
from pathlib import Path

import grimp
import pytest

import orchestrate
from orchestrate.app.capabilities import CAPABILITIES

SOURCE = Path(orchestrate.__file__).parent
REPOSITORY = SOURCE.parent.parent

SQL_FILES = frozenset({"tables.py", "_store.py"})
SQL_PACKAGES = frozenset({"core", "migrations"})  # the kernel's persistence; the migrations
ALLOWED_SQLALCHEMY = frozenset({"sqlalchemy.exc"})
SESSION_CALLS = frozenset(
    {
        "add",
        "add_all",
        "connection",
        "delete",
        "execute",
        "flush",
        "get",
        "get_bind",
        "merge",
        "refresh",
        "scalar",
        "scalars",
        "stream",
        "stream_scalars",
    }
)

PUBLIC_ROLES = ("service", "events")

# Modules other capabilities may import besides each one's service.py, events.py, __init__.
PUBLIC_ENTRIES = {
    # The pipeline format is published (a JSON Schema for editors); triggers
    # routing reads the filters a pipeline declares from its parsed spec.
    "orchestrate.pipelines.spec",
}


def sql_outside_its_files(root: Path) -> Iterator[str]:
    """``path:line what`` for each SQLAlchemy import or session call outside its files."""
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if path.name in SQL_FILES or relative.parts[0] in SQL_PACKAGES:
            continue
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not isinstance(node, (ast.Import, ast.ImportFrom, ast.Call)):
                continue
            found = _sql_use(node)
            if found is not None:
                yield f"{relative}:{node.lineno} {found}"


def _sql_use(node: ast.Import | ast.ImportFrom | ast.Call) -> str | None:
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level != 0 or not node.module:
            return None
        names = [node.module]
    elif isinstance(node.func, ast.Attribute):
        receiver = node.func.value
        is_session = (isinstance(receiver, ast.Attribute) and receiver.attr == "session") or (
            isinstance(receiver, ast.Name) and receiver.id == "session"
        )
        if is_session and node.func.attr in SESSION_CALLS:
            return f"calls session.{node.func.attr}()"
        return None
    else:
        return None
    for name in names:
        if name.split(".")[0] == "sqlalchemy" and not name.startswith(tuple(ALLOWED_SQLALCHEMY)):
            return f"imports {name}"
    return None


def reaches_past_the_service(
    graph: grimp.ImportGraph,
    root: str,
    capabilities: Collection[str],
    public: Collection[str] = (),
) -> list[str]:
    """``importer -> imported`` for each import of another capability's private module."""
    found = []
    for importer in sorted(graph.modules):
        source = _capability(importer, root, capabilities)
        if source is None:
            continue
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            target = _capability(imported, root, capabilities)
            if target is None or target == source:
                continue
            entries = {f"{root}.{target}", *(f"{root}.{target}.{m}" for m in PUBLIC_ROLES), *public}
            if imported not in entries:
                found.append(f"{importer} -> {imported}")
    return found


def _capability(module: str, root: str, capabilities: Collection[str]) -> str | None:
    parts = module.split(".")
    if parts[0] != root or len(parts) < 2 or parts[1] not in capabilities:
        return None
    return parts[1]


def test_only_tables_and_stores_speak_sql() -> None:
    assert list(sql_outside_its_files(SOURCE)) == []


def test_capabilities_reach_each_other_only_through_their_service() -> None:
    graph = grimp.build_graph("orchestrate", cache_dir=None)
    names = {capability.name for capability in CAPABILITIES}
    assert reaches_past_the_service(graph, "orchestrate", names, PUBLIC_ENTRIES) == []


def test_every_public_entry_exists() -> None:
    for module in PUBLIC_ENTRIES:
        assert (SOURCE.parent / module.replace(".", "/") / "__init__.py").is_file(), module


def test_the_import_contracts_hold() -> None:
    """The layers and the other contracts of pyproject.toml (``make lint`` runs them too)."""
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture
def planted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package with a query in a service, a session call in an api, and a reach-in."""
    files = {
        "__init__.py": "",
        "core/__init__.py": "",
        "core/db.py": "from sqlalchemy import select\n",
        "low/__init__.py": "",
        "low/tables.py": "from sqlalchemy.orm import Mapped\n",
        "low/_store.py": "from sqlalchemy import select\n",
        "low/models.py": "",
        "low/service.py": """\
            from sqlalchemy import select
            from sqlalchemy.exc import IntegrityError
            from seamed.low import models
        """,
        "high/__init__.py": "",
        "high/api.py": """\
            from seamed.low import service
            from seamed.low.models import *

            async def read(uow):
                return await uow.session.scalars(None)
        """,
    }
    for name, text in files.items():
        path = tmp_path / "seamed" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    monkeypatch.syspath_prepend(str(tmp_path))
    return tmp_path / "seamed"


def test_the_sql_detector_finds_what_was_planted(planted: Path) -> None:
    assert list(sql_outside_its_files(planted)) == [
        "high/api.py:5 calls session.scalars()",
        "low/service.py:1 imports sqlalchemy",
    ]


def test_the_service_detector_finds_what_was_planted(planted: Path) -> None:
    graph = grimp.build_graph("seamed", cache_dir=None)

    found = reaches_past_the_service(graph, "seamed", {"low", "high"})

    assert found == ["seamed.high.api -> seamed.low.models"]
    assert reaches_past_the_service(graph, "seamed", {"low", "high"}, ["seamed.low.models"]) == []
