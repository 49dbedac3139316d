"""The monitoring capability's SQL: the health check's round trip to the database.

The job queue's views are ``core.jobs``'; this module holds only what monitoring asks
of the database itself.
"""

from __future__ import annotations

from sqlalchemy import text

from orchestrate.core.uow import UnitOfWork


async def ping(uow: UnitOfWork) -> None:
    """One round trip to the database; raises whatever the driver raises when it is down."""
    await uow.session.execute(text("SELECT 1"))
