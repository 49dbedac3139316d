"""Use cases of the repository registry; the capability's public API.

``repo add`` takes a path or a URL. A path must be in a git work tree and is used as it
is (its top, resolved absolute); a URL is cloned into
``$ORCHESTRATE_HOME/repositories/<owner>/<name>`` before anything is stored, so a
failed clone stores nothing and leaves no directory. The default branch is the one
given, else the remote's ``HEAD``, else the branch checked out. Removing a repository
removes its row, its declared dependencies and its merge policy, and the clone only when
Orchestrate made it: a user's own work tree is never touched.

Every change needs the ``write`` permission (operators and admins), and writes an
audit record and an event in its transaction. Each repository has a merge policy
(``merge_policy.py``, ``policies.py``), the default until changed. Reads merge in the
seed setting (``registry.py``). Other capabilities ask :func:`repository_index` — which repositories
are managed and where their work trees are — instead of reading settings.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import Conflict
from orchestrate.core.events import record_event
from orchestrate.core.pagination import Page, check_page_size, page_in_memory
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.repositories import _store as store
from orchestrate.repositories import git
from orchestrate.repositories.adding import add_repository, remove_clone
from orchestrate.repositories.dependencies import declare_dependency, remove_dependency
from orchestrate.repositories.events import RepositoryRemoved
from orchestrate.repositories.graph import build_graph
from orchestrate.repositories.manifests import Manifests, read_manifests
from orchestrate.repositories.merge_policy import (
    DEFAULT_POLICY,
    MergeMethodName,
    MergePolicy,
    MergePolicyChange,
    RepositoryMergePolicy,
)
from orchestrate.repositories.merge_policy import check_method as check_merge_method
from orchestrate.repositories.models import (
    SEED_SETTING,
    Edge,
    EdgeSource,
    Evidence,
    Forge,
    NewRepository,
    Repository,
    RepositoryGraph,
    check_forge,
    name_key,
)
from orchestrate.repositories.policies import change_merge_policy, get_merge_policy
from orchestrate.repositories.registry import (
    RepositoryIndex,
    cache_root,
    read_registry,
    require,
    seed_index,
    to_repository,
)
from orchestrate.repositories.sources import against as absolute_source

__all__ = [
    "DEFAULT_POLICY",
    "SEED_SETTING",
    "Edge",
    "EdgeSource",
    "Evidence",
    "Forge",
    "MergeMethodName",
    "MergePolicy",
    "MergePolicyChange",
    "NewRepository",
    "Removal",
    "Repository",
    "RepositoryGraph",
    "RepositoryIndex",
    "RepositoryMergePolicy",
    "absolute_source",
    "add_repository",
    "change_merge_policy",
    "check_forge",
    "check_merge_method",
    "declare_dependency",
    "get_merge_policy",
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
    return await _with_seed_branch(require(index, name))


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
            seed = require(index, name)
            raise Conflict(
                f"Repository {seed.name} comes from the setting {SEED_SETTING}: remove it "
                "there (repo remove only removes what repo add registered)",
                name=seed.name,
            )
        repository = to_repository(row)
        await store.delete_dependencies_of(uow, key)
        await store.delete_merge_policy_of(uow, key)
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
        await asyncio.to_thread(remove_clone, repository.path)
    return Removal(repository, clone_removed)


async def repository_graph(uow: UnitOfWork, settings: Settings) -> RepositoryGraph:
    """The dependency graph: declared edges, and edges detected from each work tree's
    manifests (read off the event loop), a dependencies-first order, and any cycles."""
    async with uow:
        found = await read_registry(uow, settings)
        declared = await store.all_dependencies(uow)
    manifests = await asyncio.to_thread(_read_all_manifests, found)
    return build_graph(found, manifests, declared)


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


def _is_within(path: Path, root: Path) -> bool:
    resolved, top = path.resolve(), root.resolve()
    return top in resolved.parents
