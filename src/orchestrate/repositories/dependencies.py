"""Declared dependencies between registered repositories: declare one, forget one.

Both ends must be registered (seeds count). Declaring twice is a no-op; forgetting one
that was never declared is ``NotFound``, with a hint that a detected dependency comes
from the manifests and cannot be forgotten here.
"""

from __future__ import annotations

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.repositories import _store as store
from orchestrate.repositories.events import (
    RepositoryDependencyDeclared,
    RepositoryDependencyRemoved,
)
from orchestrate.repositories.models import Repository
from orchestrate.repositories.registry import RepositoryIndex, read_registry, require
from orchestrate.repositories.tables import RepositoryDependencyRow


async def declare_dependency(
    uow: UnitOfWork, settings: Settings, name: str, depends_on: str, actor: Actor
) -> Repository:
    """Record that ``name`` depends on ``depends_on`` (both registered); idempotent."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        source, target = await _ends(uow, settings, name, depends_on)
        if await store.dependency_row(uow, source.key, target.key) is None:
            store.add(uow, RepositoryDependencyRow(
                repository=source.key, depends_on=target.key, created_at=uow.now()
            ))  # fmt: skip
            details = {"depends_on": target.name}
            await auth.record_audit(uow, actor, "repository.depend", source.name, details)
            record_event(uow, RepositoryDependencyDeclared(
                subject=source.name, name=source.name, depends_on=target.name
            ))  # fmt: skip
            await uow.commit()
        return await _reread(uow, settings, source.name)


async def remove_dependency(
    uow: UnitOfWork, settings: Settings, name: str, depends_on: str, actor: Actor
) -> Repository:
    """Forget a declared dependency; ``NotFound`` when none was declared."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        source, target = await _ends(uow, settings, name, depends_on)
        row = await store.dependency_row(uow, source.key, target.key)
        if row is None:
            raise NotFound(
                f"{source.name} has no declared dependency on {target.name} (a detected one "
                "comes from its manifests; see 'orchestrate repo graph')",
                name=source.name,
                depends_on=target.name,
            )
        await store.delete_dependency(uow, row)
        details = {"depends_on": target.name}
        await auth.record_audit(uow, actor, "repository.undepend", source.name, details)
        record_event(uow, RepositoryDependencyRemoved(
            subject=source.name, name=source.name, depends_on=target.name
        ))  # fmt: skip
        await uow.commit()
        return await _reread(uow, settings, source.name)


async def _ends(
    uow: UnitOfWork, settings: Settings, name: str, depends_on: str
) -> tuple[Repository, Repository]:
    index = RepositoryIndex(tuple(await read_registry(uow, settings)))
    source, target = require(index, name), require(index, depends_on)
    if source.key == target.key:
        raise ValidationFailed(
            f"{source.name} cannot depend on itself", field="depends_on", name=source.name
        )
    return source, target


async def _reread(uow: UnitOfWork, settings: Settings, name: str) -> Repository:
    return require(RepositoryIndex(tuple(await read_registry(uow, settings))), name)
