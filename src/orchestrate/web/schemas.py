"""Response shapes shared by every router."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field, StringConstraints

from orchestrate.core.pagination import MAX_PAGE_SIZE

T = TypeVar("T")

MAX_SEQUENCE = 2**63 - 1
"""The largest id or sequence number a 64-bit column holds: the upper bound of every
``after``/``Last-Event-ID`` parameter, so a larger one is a 422 rather than a database
overflow (a 500 on SQLite)."""

ServerPath = Annotated[str, StringConstraints(max_length=1000, pattern=r"^[^\x00]*$")]
"""A path on the server from a request: no NUL, which every file system call refuses
(``ValueError: embedded null byte``) and PostgreSQL cannot store."""


PageLimit = Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE, description="Items per page.")]
"""The ``limit`` query parameter of every list route."""

PageCursor = Annotated[
    str | None,
    Query(max_length=1000, description="The next_cursor of the previous page; none for the first."),
]
"""The ``cursor`` query parameter of every list route."""


class PageOut(BaseModel, Generic[T]):
    """One page of a newest-first list; pass ``next_cursor`` back as ``cursor`` for more."""

    items: list[T]
    next_cursor: str | None = Field(
        default=None, description="Cursor of the next page; null on the last page."
    )
