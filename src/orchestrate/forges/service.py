"""The forges capability's public API: events and webhook deliveries in forge-neutral terms.

Other capabilities use this module only. Today GitHub is the one forge; each function
names the forge it serves, so another adapter (GitLab) adds functions of its own, or a
``forge`` argument where the callers are forge-neutral already (``event_from_delivery``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.settings import Settings
from orchestrate.forges.github import events as github_events
from orchestrate.forges.github import webhooks as github_webhooks
from orchestrate.forges.models import (
    CheckRun,
    ForgeDelivery,
    ForgeEvent,
    Issue,
    MalformedDelivery,
    Person,
    PullRequest,
    Review,
    SignatureRejected,
)

__all__ = [
    "GITHUB",
    "CheckRun",
    "ForgeDelivery",
    "ForgeEvent",
    "Issue",
    "MalformedDelivery",
    "Person",
    "PullRequest",
    "Review",
    "SignatureRejected",
    "event_from_delivery",
    "github_replay_headers",
    "parse_github_delivery",
    "read_github_delivery",
    "storable_headers",
]

GITHUB = github_events.FORGE


def parse_github_delivery(
    settings: Settings, headers: Mapping[str, str], body: bytes
) -> ForgeDelivery:
    """Verify a GitHub delivery's signature, then read its headers and JSON body.

    Raises ``SignatureRejected`` (unsigned, wrongly signed, or no secret configured)
    before anything of the body is read, and ``MalformedDelivery``.
    """
    normalized = {name.lower(): value for name, value in headers.items()}
    github_webhooks.authenticate(settings, normalized, body)
    return github_webhooks.parse_delivery(normalized, body)


def read_github_delivery(headers: Mapping[str, str], body: bytes) -> ForgeDelivery:
    """Read a delivery that needs no signature (a payload replayed by a trusted user)."""
    normalized = {name.lower(): value for name, value in headers.items()}
    return github_webhooks.parse_delivery(normalized, body)


def github_replay_headers(event: str, delivery_id: str) -> dict[str, str]:
    """The headers GitHub would send with a delivery of ``event``."""
    return github_webhooks.replay_headers(event, delivery_id)


def storable_headers(forge: str, headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of a stored delivery worth showing: the forge's own, no credentials."""
    _check_forge(forge)
    return github_webhooks.storable_headers(headers)


def event_from_delivery(
    forge: str, kind: str, payload: Mapping[str, Any], *, delivery_id: str | None = None
) -> ForgeEvent:
    """The forge-neutral event of a delivery of ``kind`` with the parsed JSON ``payload``."""
    _check_forge(forge)
    return github_events.to_forge_event(kind, payload, delivery_id=delivery_id)


def _check_forge(forge: str) -> None:
    if forge != GITHUB:
        raise ValidationFailed(f"Unknown forge {forge!r}; the known one is {GITHUB!r}")
