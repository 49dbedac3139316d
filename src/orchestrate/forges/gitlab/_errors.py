"""python-gitlab's and requests' exceptions turned into Orchestrate's error tree.

401 → ``AuthenticationFailed``; 404 → ``ForgeNotFound``; a rate limit not waited out
and every other failure → ``ForgeError`` with GitLab's status and its own words as
``reason``. Merges and rebases turn GitLab's refusals into ``MergeRefused`` themselves
(``merge_refusal``), because only they know a 409 there means "not now".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import requests
from gitlab.exceptions import GitlabAuthenticationError, GitlabError

from orchestrate.core.errors import AuthenticationFailed, OrchestrateError
from orchestrate.forges.client import ForgeError, ForgeNotFound, MergeRefused
from orchestrate.forges.gitlab._transport import RateLimited

# Names where the token goes; holds none.
TOKEN_HINT = "set ORCHESTRATE_GITLAB_TOKEN or the stored secret GITLAB_TOKEN to an api-scoped token"  # noqa: S105


@dataclass(frozen=True)
class Operation:
    """What was being asked of GitLab, for messages: ``merge request group/app!5``."""

    kind: str
    subject: str

    def __str__(self) -> str:
        return f"{self.kind} {self.subject}"


def reason(error: GitlabError) -> str:
    """GitLab's own words: its ``message`` may be text, a list or a field → errors map."""
    message: object = error.error_message
    if isinstance(message, Mapping):
        return "; ".join(f"{field} {_joined(value)}" for field, value in message.items())
    return _joined(message)


def _joined(value: object) -> str:
    if isinstance(value, list | tuple):
        return "; ".join(str(item) for item in value)
    return str(value)


def translate(error: Exception, operation: Operation) -> OrchestrateError:
    if isinstance(error, RateLimited):
        return ForgeError(
            f"GitLab's rate limit stopped {operation} ({error}); try again later",
            status=429,
            reason=str(error),
        )
    if isinstance(error, GitlabAuthenticationError):
        return AuthenticationFailed(
            f"GitLab rejected the token ({reason(error)}) for {operation}: {TOKEN_HINT}"
        )
    if isinstance(error, GitlabError):
        status = error.response_code
        if status == 404:
            return ForgeNotFound(f"GitLab has no {operation} (or the token may not see it)")
        hint = f" ({TOKEN_HINT})" if status == 403 else ""
        return ForgeError(
            f"GitLab answered {status} to {operation}: {reason(error)}{hint}",
            status=status,
            reason=reason(error),
        )
    if isinstance(error, requests.RequestException | OSError):
        return ForgeError(f"GitLab could not be reached for {operation}: {type(error).__name__}")
    return ForgeError(f"GitLab failed for {operation}: {error}")


def merge_refusal(action: str, error: GitlabError) -> MergeRefused:
    text = reason(error)
    return MergeRefused(f"GitLab refused to {action}: {text}", reason=text)
