"""Reading and changing a repository's merge policy (``merge_policy.py`` says what it is).

Only a repository registered with ``repo add`` stores a policy of its own. A repository
of the seed setting ``ORCHESTRATE_GITHUB_REPOSITORIES`` reads the default policy and
cannot change it: the seed has no row to hang it on and may vanish when the setting
changes, so a policy would outlive it silently. Registering the repository (``repo
add``, same name) makes its policy changeable. Removing a repository removes its policy.

A change needs the ``write`` permission (operators and admins) and writes an audit
record and a ``repository.merge_policy_changed`` event in its transaction; a change
that changes nothing writes neither.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import Conflict
from orchestrate.core.events import record_event
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.repositories import _store as store
from orchestrate.repositories.events import RepositoryMergePolicyChanged
from orchestrate.repositories.merge_policy import (
    DEFAULT_POLICY,
    MergePolicy,
    MergePolicyChange,
    RepositoryMergePolicy,
    check_method,
)
from orchestrate.repositories.models import SEED_SETTING, Repository
from orchestrate.repositories.registry import RepositoryIndex, read_registry, require
from orchestrate.repositories.tables import MergePolicyRow


async def get_merge_policy(uow: UnitOfWork, settings: Settings, name: str) -> RepositoryMergePolicy:
    """The policy of a registered repository (the default when none is stored);
    ``NotFound`` when the repository is not registered."""
    async with uow:
        repository = require(RepositoryIndex(tuple(await read_registry(uow, settings))), name)
        return await _read(uow, repository)


async def change_merge_policy(
    uow: UnitOfWork, settings: Settings, name: str, change: MergePolicyChange, actor: Actor
) -> RepositoryMergePolicy:
    """Apply ``change`` to the repository's policy; ``ValidationFailed`` for a bad value,
    ``Conflict`` for a seed repository."""
    auth.authorize(actor, Permission.WRITE)
    async with uow:
        repository = require(RepositoryIndex(tuple(await read_registry(uow, settings))), name)
        if repository.is_seed:
            raise Conflict(
                f"Repository {repository.name} comes from the setting {SEED_SETTING} and has "
                "the default merge policy; register it with 'orchestrate repo add' to change it",
                name=repository.name,
            )
        current = await _read(uow, repository)
        policy = change.applied_to(current.policy)
        if policy == current.policy and not current.is_default:
            return current
        row = await store.merge_policy_row(uow, repository.key)
        if row is None:
            row = MergePolicyRow(repository=repository.key)
            store.add_merge_policy(uow, row)
        _fill(row, policy, at=uow.now(), by=actor.name)
        event = _changed(repository.name, policy)
        details = event.model_dump(include=_POLICY_FIELDS)
        await auth.record_audit(uow, actor, "repository.merge_policy", repository.name, details)
        record_event(uow, event)
        await uow.commit()
        return _shown(repository, row)


async def _read(uow: UnitOfWork, repository: Repository) -> RepositoryMergePolicy:
    row = None if repository.is_seed else await store.merge_policy_row(uow, repository.key)
    if row is None:
        return RepositoryMergePolicy(
            repository.name, DEFAULT_POLICY, is_default=True, is_seed=repository.is_seed
        )
    return _shown(repository, row)


def _shown(repository: Repository, row: MergePolicyRow) -> RepositoryMergePolicy:
    policy = MergePolicy(
        required_approvals=row.required_approvals,
        required_checks=tuple(str(name) for name in row.required_checks),
        method=check_method(row.method),
        auto_merge=row.auto_merge,
        require_up_to_date=row.require_up_to_date,
        count_stale_approvals=row.count_stale_approvals,
    )
    return RepositoryMergePolicy(
        repository.name,
        policy,
        is_default=False,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


def _fill(row: MergePolicyRow, policy: MergePolicy, *, at: datetime, by: str) -> None:
    row.required_approvals = policy.required_approvals
    row.required_checks = list(policy.required_checks)
    row.method = policy.method.value
    row.auto_merge = policy.auto_merge
    row.require_up_to_date = policy.require_up_to_date
    row.count_stale_approvals = policy.count_stale_approvals
    row.updated_at = at
    row.updated_by = by


_POLICY_FIELDS: set[Any] = {
    "required_approvals",
    "required_checks",
    "method",
    "auto_merge",
    "require_up_to_date",
    "count_stale_approvals",
}


def _changed(name: str, policy: MergePolicy) -> RepositoryMergePolicyChanged:
    return RepositoryMergePolicyChanged(
        subject=name,
        name=name,
        required_approvals=policy.required_approvals,
        required_checks=list(policy.required_checks),
        method=policy.method.value,
        auto_merge=policy.auto_merge,
        require_up_to_date=policy.require_up_to_date,
        count_stale_approvals=policy.count_stale_approvals,
    )
