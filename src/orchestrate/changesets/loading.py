"""Reading one change set with its members."""

from __future__ import annotations

from orchestrate.changesets import _store as store
from orchestrate.changesets.models import ChangeSet
from orchestrate.core.errors import NotFound
from orchestrate.core.uow import UnitOfWork


async def load_change_set(uow: UnitOfWork, change_set_id: str) -> ChangeSet:
    """The change set with its members in merge order (``uow`` not entered), or NotFound."""
    async with uow:
        found = await store.row(uow, change_set_id)
        if found is None:
            raise NotFound(
                f"No change set {change_set_id}; see 'orchestrate changeset list'",
                change_set_id=change_set_id,
            )
        return store.to_change_set(found, await store.member_rows(uow, change_set_id))
