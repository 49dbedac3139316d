"""githubkit's exceptions turned into the forge errors of ``forges.client``.

A message names what the adapter was doing and GitHub's own words (``message`` and the
``errors`` of a 422), cut to a readable length: they are forge text, shown to people.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from githubkit.exception import (
    AuthCredentialError,
    GraphQLFailed,
    RateLimitExceeded,
    RequestError,
    RequestFailed,
)

from orchestrate.core.errors import AuthenticationFailed
from orchestrate.forges.client import ForgeError, ForgeNotFound, MergeRefused
from orchestrate.forges.github.convert import items, mapping, text

_MAX_REASON = 500
REFUSAL_STATUSES = frozenset({405, 409, 422})
"""What GitHub answers a merge or branch update it will not do (not mergeable, head
moved, conflicts)."""


def reason_of(body: Any) -> str:
    """GitHub's explanation in an error body: its message and each error's message."""
    data = mapping(body)
    parts = [text(data.get("message"))]
    for error in items(data.get("errors")):
        parts.append(text(error.get("message")) or text(error.get("code")))
    reason = "; ".join(part for part in parts if part)
    return reason[:_MAX_REASON]


def response_reason(error: RequestFailed) -> str:
    try:
        return reason_of(error.response.json())
    except ValueError:
        return error.response.text[:_MAX_REASON]


@contextmanager
def translated(what: str, *, refusals: bool = False) -> Iterator[None]:
    """Raise the forge error for a failure while doing ``what``.

    ``refusals``: a 405/409/422 means GitHub will not merge or update the branch
    (``MergeRefused`` with its reason).
    """
    try:
        yield
    except RateLimitExceeded as error:
        seconds = int(error.retry_after.total_seconds())
        raise ForgeError(
            f"GitHub's rate limit stopped {what}; it resets in {seconds} s, longer than "
            "ORCHESTRATE_FORGE_RATE_LIMIT_MAX_WAIT_SECONDS allows to wait; try again then",
            status=error.response.status_code,
            reason=response_reason(error),
        ) from None
    except RequestFailed as error:
        raise _failure(what, error, refusals=refusals) from None
    except GraphQLFailed as error:
        raise _graphql_failure(what, error) from None
    except AuthCredentialError as error:
        raise AuthenticationFailed(f"GitHub credentials unusable for {what}: {error}") from None
    except RequestError as error:
        raise ForgeError(f"Could not reach GitHub for {what}: {error.exc!r}") from None


def _failure(what: str, error: RequestFailed, *, refusals: bool) -> Exception:
    status = error.response.status_code
    reason = response_reason(error)
    if status == 401:
        return AuthenticationFailed(
            f"GitHub refused the credentials for {what} ({reason or 'Bad credentials'}): "
            "check ORCHESTRATE_GITHUB_TOKEN, the stored GITHUB_TOKEN or the GitHub App"
        )
    if status == 404:
        return ForgeNotFound(f"Not found on GitHub: {what} ({reason or 'Not Found'})")
    if refusals and status in REFUSAL_STATUSES:
        return MergeRefused(f"GitHub refused {what}: {reason}", reason=reason)
    return ForgeError(f"GitHub answered {status} to {what}: {reason}", status=status, reason=reason)


def _graphql_failure(what: str, error: GraphQLFailed) -> Exception:
    messages = [item.message for item in error.response.errors or []]
    types = {getattr(item, "type", None) for item in error.response.errors or []}
    reason = "; ".join(messages)[:_MAX_REASON]
    if "NOT_FOUND" in types:
        return ForgeNotFound(f"Not found on GitHub: {what} ({reason})")
    return ForgeError(f"GitHub's GraphQL API refused {what}: {reason}", reason=reason)
