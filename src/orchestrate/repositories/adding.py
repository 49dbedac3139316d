"""Adding a repository: check everything, clone a URL if given, then store it.

The checks that need no git come first (name, remote, branch, source, dependencies,
a name already taken), so bad input never starts a clone. A URL is cloned before the
row is written; should anything after the clone fail (the branch cannot be told, the
name was taken meanwhile) the clone is removed again.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.db import IntegrityError
from orchestrate.core.errors import Conflict, ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.ids import new_id
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.repositories import _store as store
from orchestrate.repositories import git
from orchestrate.repositories.events import RepositoryAdded
from orchestrate.repositories.models import (
    NewRepository,
    Repository,
    check_branch,
    check_name,
    check_remote,
    name_key,
    owner_and_name,
)
from orchestrate.repositories.registry import (
    RepositoryIndex,
    cache_root,
    read_registry,
    require,
    to_repository,
)
from orchestrate.repositories.sources import CloneUrl, LocalPath, classify_source
from orchestrate.repositories.tables import RepositoryDependencyRow, RepositoryRow

_PREFIX = "repo"


@dataclass(frozen=True)
class _Checkout:
    """Where the new repository's work tree is, and how it got there."""

    path: Path
    url: str | None
    is_cloned: bool


async def add_repository(
    uow: UnitOfWork, settings: Settings, request: NewRepository, actor: Actor
) -> Repository:
    """Register a work tree, or clone a URL into the cache and register the clone.

    ``ValidationFailed`` for a bad name, remote, branch, source or dependency, or a
    path outside any work tree; ``NotFound`` for an unknown dependency; ``Conflict``
    when the name is registered; ``IntegrationError`` when the clone fails (nothing is
    left behind).
    """
    auth.authorize(actor, Permission.WRITE)
    name = check_name(request.name)
    remote = check_remote(request.remote)
    branch = check_branch(request.default_branch) if request.default_branch else None
    source = classify_source(request.source)
    if _reads_the_server(source):
        # A path or a file:// URL reads this machine's own files: only an admin may
        # point the registry (and the agents that work in it) there.
        auth.authorize(actor, Permission.ADMIN)
    depends_on = _check_dependencies(name_key(name), request.depends_on)
    async with uow.sibling(read_only=True) as reading:
        await _refuse_taken(reading, name)
        index = RepositoryIndex(tuple(await read_registry(reading, settings)))
    for other in depends_on:
        require(index, other)
    checkout = await _check_out(settings, name, source, remote)
    try:
        branch = await _default_branch(checkout.path, remote, name, given=branch)
        added = Repository(
            name=name, forge=request.forge, path=checkout.path, remote=remote,
            default_branch=branch, url=checkout.url, is_cloned=checkout.is_cloned,
            depends_on=tuple(depends_on),
        )  # fmt: skip
        return await _store_new(uow, added, actor)
    except BaseException:
        if checkout.is_cloned:
            await asyncio.to_thread(remove_clone, checkout.path)
        raise


def _reads_the_server(source: CloneUrl | LocalPath) -> bool:
    return isinstance(source, LocalPath) or source.url.lower().startswith("file:")


async def _check_out(
    settings: Settings, name: str, source: CloneUrl | LocalPath, remote: str
) -> _Checkout:
    if isinstance(source, LocalPath):
        path = await git.work_tree_root(source.path)
        return _Checkout(path, await git.remote_url(path, remote), is_cloned=False)
    return _Checkout(await _clone(settings, name, source, remote), source.url, is_cloned=True)


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


async def _refuse_taken(uow: UnitOfWork, name: str) -> None:
    existing = await store.row_by_key(uow, name_key(name))
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


async def _default_branch(path: Path, remote: str, name: str, *, given: str | None) -> str:
    """The branch given, once it is known to exist; else the one detected."""
    if given is not None:
        if not await git.has_branch(path, remote, given):
            raise ValidationFailed(
                f"{name} has no branch {given!r} (neither locally nor on {remote}): "
                "pass an existing --default-branch, or leave it out to detect it",
                field="default_branch",
            )
        return given
    branch = await git.detect_default_branch(path, remote)
    if branch is None:
        raise ValidationFailed(
            f"Could not tell the default branch of {name} (no {remote}/HEAD and no branch "
            "checked out): pass --default-branch",
            field="default_branch",
        )
    return branch


async def _store_new(uow: UnitOfWork, new: Repository, actor: Actor) -> Repository:
    try:
        async with uow:
            now = uow.now()
            row = RepositoryRow(
                id=new_id(_PREFIX, now), name=new.name, name_key=new.key,
                forge=new.forge.value, path=str(new.path), remote=new.remote, url=new.url,
                default_branch=new.default_branch, is_cloned=new.is_cloned,
                created_at=now, updated_at=now,
            )  # fmt: skip
            store.add(uow, row)
            for other in new.depends_on:
                store.add(uow, RepositoryDependencyRow(
                    repository=new.key, depends_on=name_key(other), created_at=now
                ))  # fmt: skip
            await store.flush(uow)
            details = {"path": str(new.path), "forge": new.forge.value, "cloned": new.is_cloned}
            await auth.record_audit(uow, actor, "repository.add", new.name, details)
            record_event(uow, RepositoryAdded(
                subject=new.name, name=new.name, forge=new.forge.value, path=str(new.path),
                is_cloned=new.is_cloned, url=new.url,
            ))  # fmt: skip
            await uow.commit()
    except IntegrityError:
        raise Conflict(f"Repository {new.name} is already registered", name=new.name) from None
    return replace(to_repository(row), depends_on=new.depends_on)


def remove_clone(path: Path) -> None:
    """Delete a clone Orchestrate made, and its owner's folder once empty."""
    shutil.rmtree(path, ignore_errors=True)
    git.remove_if_empty(path.parent)
