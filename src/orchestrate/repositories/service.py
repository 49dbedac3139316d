"""Use cases of the repository registry; the capability's public API.

``repo add`` takes a path or a URL. A path must be in a git work tree and is used as it
is (its top, resolved absolute); a URL is cloned into
``$ORCHESTRATE_HOME/repositories/<owner>/<name>`` before anything is stored, so a
failed clone stores nothing and leaves no directory. The default branch is the one
given, else the remote's ``HEAD``, else the branch checked out. Removing a repository
removes its row and its declared dependencies, and the clone only when Orchestrate made
it: a user's own work tree is never touched.

Every change needs the ``write`` permission (operators and admins), and writes an
audit record and an event in its transaction. Reads merge in the seed setting
(``registry.py``). Other capabilities ask :func:`repository_index` — which repositories
are managed and where their work trees are — instead of reading settings.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.db import IntegrityError
from orchestrate.core.errors import Conflict, NotFound, ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.ids import new_id
from orchestrate.core.pagination import Page, check_page_size, page_in_memory
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.repositories import _store as store
from orchestrate.repositories import git
from orchestrate.repositories.events import (
    RepositoryAdded,
    RepositoryDependencyDeclared,
    RepositoryDependencyRemoved,
    RepositoryRemoved,
)
from orchestrate.repositories.graph import build_graph
from orchestrate.repositories.manifests import Manifests, read_manifests
from orchestrate.repositories.models import (
    SEED_SETTING,
    Edge,
    EdgeSource,
    Evidence,
    Forge,
    NewRepository,
    Repository,
    RepositoryGraph,
    check_branch,
    check_forge,
    check_name,
    check_remote,
    name_key,
    owner_and_name,
)
from orchestrate.repositories.registry import (
    RepositoryIndex,
    cache_root,
    read_registry,
    seed_index,
    to_repository,
)
from orchestrate.repositories.sources import CloneUrl, LocalPath, classify_source
from orchestrate.repositories.sources import against as absolute_source
from orchestrate.repositories.tables import RepositoryDependencyRow, RepositoryRow

__all__ = [
    "SEED_SETTING",
    "Edge",
    "EdgeSource",
    "Evidence",
    "Forge",
    "NewRepository",
    "Removal",
    "Repository",
    "RepositoryGraph",
    "RepositoryIndex",
    "absolute_source",
    "add_repository",
    "check_forge",
    "declare_dependency",
    "get_repository",
    "list_repositories",
    "remove_dependency",
    "remove_repository",
    "repositories_page",
    "repository_graph",
    "repository_index",
    "seed_index",
]

_PREFIX = "repo"


@dataclass(frozen=True)
class Removal:
    """What ``remove_repository`` did: the entry, and whether a clone was deleted."""

    repository: Repository
    clone_removed: bool


async def add_repository(
    uow: UnitOfWork, settings: Settings, request: NewRepository, actor: Actor
) -> Repository:
    """Register a work tree, or clone a URL into the cache and register the clone.

    ``ValidationFailed`` for a bad name, remote, branch, source or dependency, or a
    path outside any work tree; ``Conflict`` when the name is registered;
    ``IntegrationError`` when the clone fails (nothing is left behind).
    """
    auth.authorize(actor, Permission.WRITE)
    name = check_name(request.name)
    key = name_key(name)
    remote = check_remote(request.remote)
    branch = check_branch(request.default_branch) if request.default_branch else None
    source = classify_source(request.source)
    depends_on = _check_dependencies(key, request.depends_on)
    async with uow.sibling(read_only=True) as reading:
        await _refuse_taken(reading, key, name)
        index = RepositoryIndex(tuple(await read_registry(reading, settings)))
    for other in depends_on:
        _require(index, other)
    if isinstance(source, LocalPath):
        path, is_cloned = await git.work_tree_root(source.path), False
        url = await git.remote_url(path, remote)
    else:
        path, url, is_cloned = await _clone(settings, name, source, remote), source.url, True
    try:
        branch = branch or await _detected_branch(path, remote, name)
        return await _store_new(
            uow, name, request.forge, path, remote, url, branch, is_cloned, depends_on, actor
        )
    except BaseException:
        if is_cloned:
            await asyncio.to_thread(_remove_clone, path)
        raise


async def list_repositories(uow: UnitOfWork, settings: Settings) -> list[Repository]:
    """Every registered repository by name, seeds included (their branch read from git)."""
    async with uow:
        found = await read_registry(uow, settings)
    return [await _with_seed_branch(repository) for repository in found]


async def repositories_page(
    uow: UnitOfWork, settings: Settings, *, limit: int = 50, cursor: str | None = None
) -> Page[Repository]:
    """One page of the registry by name (``GET /api/repositories``)."""
    check_page_size(limit)
    async with uow:
        found = await read_registry(uow, settings)
    page = page_in_memory(found, lambda repository: repository.key, limit, cursor)
    return Page([await _with_seed_branch(r) for r in page.items], page.next_cursor)


async def get_repository(uow: UnitOfWork, settings: Settings, name: str) -> Repository:
    """One registered repository; ``NotFound`` naming ``repo list`` when there is none."""
    async with uow:
        index = RepositoryIndex(tuple(await read_registry(uow, settings)))
    return await _with_seed_branch(_require(index, name))


async def repository_index(uow: UnitOfWork, settings: Settings) -> RepositoryIndex:
    """The registry for lookups (``uow`` not entered): one read, no git."""
    async with uow:
        return RepositoryIndex(tuple(await read_registry(uow, settings)))


async def remove_repository(
    uow: UnitOfWork, settings: Settings, name: str, actor: Actor
) -> Removal:
    """Forget a registered repository; its clone goes too when Orchestrate made it."""
    auth.authorize(actor, Permission.WRITE)
    key = name_key(name.strip())
    async with uow:
        row = await store.row_by_key(uow, key, for_update=True)
        if row is None:
            index = RepositoryIndex(tuple(await read_registry(uow, settings)))
            seed = _require(index, name)
            raise Conflict(
                f"Repository {seed.name} comes from the setting {SEED_SETTING}: remove it "
                "there (repo remove only removes what repo add registered)",
                name=seed.name,
            )
        repository = to_repository(row)
        await store.delete_dependencies_of(uow, key)
        await store.delete_row(uow, row)
        cache = cache_root(settings)
        clone_removed = row.is_cloned and _is_within(Path(row.path), cache)
        await auth.record_audit(
            uow, actor, "repository.remove", row.name, {"clone_removed": clone_removed}
        )
        record_event(
            uow, RepositoryRemoved(subject=row.name, name=row.name, clone_removed=clone_removed)
        )
        await uow.commit()
    if clone_removed:
        await asyncio.to_thread(_remove_clone, repository.path)
    return Removal(repository, clone_removed)


async def declare_dependency(
    uow: UnitOfWork, settings: Settings, name: str, depends_on: str, actor: Actor
) -> Repository:
    """Record that ``name`` depends on ``depends_on`` (both registered); idempotent."""
    auth.authorize(actor, Permission.WRITE)
    return await _change_dependency(uow, settings, name, depends_on, actor, is_declared=True)


async def remove_dependency(
    uow: UnitOfWork, settings: Settings, name: str, depends_on: str, actor: Actor
) -> Repository:
    """Forget a declared dependency; ``NotFound`` when none was declared."""
    auth.authorize(actor, Permission.WRITE)
    return await _change_dependency(uow, settings, name, depends_on, actor, is_declared=False)


async def repository_graph(uow: UnitOfWork, settings: Settings) -> RepositoryGraph:
    """The dependency graph: declared edges, and edges detected from each work tree's
    manifests (read off the event loop), a dependencies-first order, and any cycles."""
    async with uow:
        found = await read_registry(uow, settings)
        declared = await store.all_dependencies(uow)
    manifests = await asyncio.to_thread(_read_all_manifests, found)
    return build_graph(found, manifests, declared)


async def _change_dependency(
    uow: UnitOfWork,
    settings: Settings,
    name: str,
    depends_on: str,
    actor: Actor,
    *,
    is_declared: bool,
) -> Repository:
    async with uow:
        index = RepositoryIndex(tuple(await read_registry(uow, settings)))
        source, target = _require(index, name), _require(index, depends_on)
        if source.key == target.key:
            raise ValidationFailed(
                f"{source.name} cannot depend on itself", field="depends_on", name=source.name
            )
        row = await store.dependency_row(uow, source.key, target.key)
        if is_declared and row is None:
            store.add(uow, RepositoryDependencyRow(
                repository=source.key, depends_on=target.key, created_at=uow.now()
            ))  # fmt: skip
            event: RepositoryDependencyDeclared | RepositoryDependencyRemoved = (
                RepositoryDependencyDeclared(
                    subject=source.name, name=source.name, depends_on=target.name
                )
            )
        elif not is_declared and row is not None:
            await store.delete_dependency(uow, row)
            event = RepositoryDependencyRemoved(
                subject=source.name, name=source.name, depends_on=target.name
            )
        elif is_declared:
            return source  # declared already
        else:
            raise NotFound(
                f"{source.name} has no declared dependency on {target.name} (a detected one "
                "comes from its manifests; see repo graph)",
                name=source.name,
                depends_on=target.name,
            )
        action = "repository.depend" if is_declared else "repository.undepend"
        await auth.record_audit(uow, actor, action, source.name, {"depends_on": target.name})
        record_event(uow, event)
        await uow.commit()
        index = RepositoryIndex(tuple(await read_registry(uow, settings)))
    found = index.find(source.name)
    assert found is not None
    return found


def _check_dependencies(key: str, names: tuple[str, ...]) -> list[str]:
    checked: list[str] = []
    for name in names:
        other = check_name(name)
        if name_key(other) == key:
            raise ValidationFailed(
                f"{other} cannot depend on itself", field="depends_on", name=other
            )
        if name_key(other) not in {name_key(n) for n in checked}:
            checked.append(other)
    return checked


def _require(index: RepositoryIndex, name: str) -> Repository:
    found = index.find(name.strip())
    if found is None:
        raise NotFound(
            f"No repository named {name.strip()!r} is registered; see 'orchestrate repo list'",
            name=name,
        )
    return found


async def _refuse_taken(uow: UnitOfWork, key: str, name: str) -> None:
    existing = await store.row_by_key(uow, key)
    if existing is not None:
        raise Conflict(
            f"Repository {existing.name} is already registered (at {existing.path}); "
            f"remove it first with 'orchestrate repo remove {existing.name}'",
            name=name,
        )


async def _clone(settings: Settings, name: str, source: CloneUrl, remote: str) -> Path:
    owner, repository = owner_and_name(name)
    destination = cache_root(settings) / owner.lower() / repository.lower()
    if destination.exists():
        raise Conflict(
            f"The clone cache already has {destination} (another 'repo add' of {name} "
            "is running, or one was interrupted): remove that directory and try again",
            name=name,
            path=str(destination),
        )
    await git.clone(source.url, destination, remote=remote)
    return destination


async def _detected_branch(path: Path, remote: str, name: str) -> str:
    branch = await git.detect_default_branch(path, remote)
    if branch is None:
        raise ValidationFailed(
            f"Could not tell the default branch of {name} (no {remote}/HEAD and no branch "
            "checked out): pass --default-branch",
            field="default_branch",
        )
    return branch


async def _store_new(
    uow: UnitOfWork,
    name: str,
    forge: Forge,
    path: Path,
    remote: str,
    url: str | None,
    branch: str,
    is_cloned: bool,
    depends_on: list[str],
    actor: Actor,
) -> Repository:
    key = name_key(name)
    try:
        async with uow:
            now = uow.now()
            row = RepositoryRow(
                id=new_id(_PREFIX, now), name=name, name_key=key, forge=forge.value,
                path=str(path), remote=remote, url=url, default_branch=branch,
                is_cloned=is_cloned, created_at=now, updated_at=now,
            )  # fmt: skip
            store.add(uow, row)
            for other in depends_on:
                store.add(uow, RepositoryDependencyRow(
                    repository=key, depends_on=name_key(other), created_at=now
                ))  # fmt: skip
            await store.flush(uow)
            details = {"path": str(path), "forge": forge.value, "cloned": is_cloned}
            await auth.record_audit(uow, actor, "repository.add", name, details)
            added = RepositoryAdded(
                subject=name, name=name, forge=forge.value, path=str(path),
                is_cloned=is_cloned, url=url,
            )  # fmt: skip
            record_event(uow, added)
            await uow.commit()
    except IntegrityError:
        raise Conflict(f"Repository {name} is already registered", name=name) from None
    return replace(to_repository(row), depends_on=tuple(depends_on))


async def _with_seed_branch(repository: Repository) -> Repository:
    if not repository.is_seed or not await asyncio.to_thread(repository.path.is_dir):
        return repository
    branch = await git.detect_default_branch(repository.path, repository.remote)
    return replace(repository, default_branch=branch)


def _read_all_manifests(repositories: list[Repository]) -> dict[str, Manifests | None]:
    return {
        repository.key: read_manifests(repository.path) if repository.path.is_dir() else None
        for repository in repositories
    }


def _remove_clone(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
    git.remove_if_empty(path.parent)


def _is_within(path: Path, root: Path) -> bool:
    resolved, top = path.resolve(), root.resolve()
    return top in resolved.parents
