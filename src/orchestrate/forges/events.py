"""The events of the forges capability: every HTTP call an adapter makes to a forge.

The subject is the repository the call is about (``owner/name``), or the forge's name
for a call about no repository (an installation token, GraphQL). Nothing of a request
or an answer is kept but its method, path and status: no credential, no body.
"""

from __future__ import annotations

from typing import ClassVar

from orchestrate.core.events import DomainEvent


class ForgeCalled(DomainEvent):
    """One HTTP call to a forge was answered (``status``) or failed (``error``).

    ``attempt`` counts the tries of one call (2 and up: retried); ``waited_s`` is how
    long a rate limit or a backoff made it wait before this try.
    """

    event_type: ClassVar[str] = "forge.called"
    forge: str
    method: str
    path: str
    status: int | None = None
    duration_ms: float
    attempt: int = 1
    waited_s: float | None = None
    error: str | None = None
