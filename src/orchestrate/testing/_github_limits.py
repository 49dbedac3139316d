"""Rate limits and scripted failures of the fake GitHub.

Every answer carries GitHub's ``x-ratelimit-*`` headers. ``exhaust`` makes every
request get the primary limit's 403 (``x-ratelimit-remaining: 0`` and the reset time)
until the reset; ``failures`` answer the next matching requests instead of the route
(a secondary rate limit with ``retry-after``, a 502…), one request each.
"""

from __future__ import annotations

import math
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from orchestrate.testing._github_http import Answer, error

RATE_LIMIT = 5000


@dataclass(frozen=True)
class Failure:
    """An answer the fake gives instead of the route's, to the next matching request.

    ``method``/``path_contains`` narrow which request it answers (any when None).
    """

    status: int
    message: str
    headers: dict[str, str] = field(default_factory=dict)
    method: str | None = None
    path_contains: str | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_contains is None or self.path_contains in path
        )


def secondary_rate_limit(retry_after: int = 1, *, status: int = 403, **match: Any) -> Failure:
    """GitHub's secondary rate limit: 403 (or 429) with ``retry-after`` in whole seconds."""
    return Failure(
        status,
        "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
        {"retry-after": str(retry_after)},
        **match,
    )


def bad_gateway(status: int = 502, **match: Any) -> Failure:
    """A transient server error (502, 503 or 504)."""
    return Failure(status, "Server Error", **match)


class RateLimits:
    def __init__(self) -> None:
        self.failures: deque[Failure] = deque()
        self.resets_at: float | None = None
        self.remaining = RATE_LIMIT

    def exhaust(self, reset_in: float) -> None:
        self.resets_at, self.remaining = time.time() + reset_in, 0

    def refusal(self, method: str, path: str) -> Answer | None:
        """The answer that replaces the route's for this request, if any; counts it."""
        if self.resets_at is not None:
            if time.time() < self.resets_at:
                return error(403, "API rate limit exceeded for user ID 1.")
            self.resets_at, self.remaining = None, RATE_LIMIT
        self.remaining = max(0, self.remaining - 1)
        for failure in list(self.failures):
            if failure.matches(method, path):
                self.failures.remove(failure)
                body = {"message": failure.message, "documentation_url": ""}
                return Answer(failure.status, body, dict(failure.headers))
        return None

    def headers(self) -> dict[str, str]:
        reset = self.resets_at or time.time() + 3600
        return {
            "x-ratelimit-limit": str(RATE_LIMIT),
            "x-ratelimit-remaining": str(self.remaining),
            "x-ratelimit-used": str(RATE_LIMIT - self.remaining),
            "x-ratelimit-reset": str(math.ceil(reset)),
            "x-ratelimit-resource": "core",
        }
