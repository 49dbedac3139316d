"""A GitHub webhook delivery: its headers, its signature and its JSON body, checked.

GitHub sends ``X-GitHub-Event`` (the event's name), ``X-GitHub-Delivery`` (a unique id,
the same on a redelivery) and ``X-Hub-Signature-256`` (``signatures.py``) with a JSON
body. The secrets a signature may be made with are ``ORCHESTRATE_GITHUB_WEBHOOK_SECRET``
(several, for rotation) and the secret store's ``GITHUB_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from orchestrate.core.settings import Settings
from orchestrate.forges.github.events import FORGE
from orchestrate.forges.github.signatures import SIGNATURE_HEADER, verify_signature
from orchestrate.forges.models import ForgeDelivery, MalformedDelivery, SignatureRejected
from orchestrate.secrets import service as secret_store

EVENT_HEADER = "X-GitHub-Event"
DELIVERY_HEADER = "X-GitHub-Delivery"
SECRET_SETTING = "ORCHESTRATE_GITHUB_WEBHOOK_SECRET"  # noqa: S105 - a name, not a secret
STORED_SECRET = "GITHUB_WEBHOOK_SECRET"  # noqa: S105 - the name of a secret-store entry

_MAX_NAME_LENGTH = 100  # the event, action and delivery id columns
_MAX_REPOSITORY_LENGTH = 300

# Only headers GitHub sets and a reader of a delivery needs are kept. A denylist missed
# Proxy-Authorization, which a proxy in front of the server added and viewers then saw;
# an allowlist cannot miss the next one. The signature is left out too (ours to check,
# not to keep).
_KEPT_HEADERS = frozenset({"user-agent", "content-type", "content-length", "accept"})
_KEPT_HEADER_PREFIX = "x-github-"


def storable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of a delivery worth storing and showing: GitHub's, no credentials.

    Also applied when a stored delivery is read, so rows stored before the allowlist
    never show what it now drops.
    """
    return {
        name: value
        for name, value in headers.items()
        if name.lower() in _KEPT_HEADERS or name.lower().startswith(_KEPT_HEADER_PREFIX)
    }


def authenticate(settings: Settings, headers: Mapping[str, str], body: bytes) -> None:
    """Refuse a delivery whose signature does not match ``body`` under a configured secret.

    ``headers`` have lower-case names. With no secret configured every delivery is
    refused, unless ``ORCHESTRATE_GITHUB_WEBHOOK_INSECURE`` is set.
    """
    signature = headers.get(SIGNATURE_HEADER.lower())
    secrets = settings.github_webhook_secrets
    # The secret store's copy is kept loaded in memory (refreshed every few seconds):
    # no query per delivery.
    stored = secret_store.cached_secret_value(STORED_SECRET)
    if stored:
        secrets = [*secrets, stored]
    if not secrets:
        if settings.github_webhook_insecure:
            return
        raise SignatureRejected(
            f"No webhook secret is configured, so every delivery is refused: set "
            f"{SECRET_SETTING} (or the stored secret {STORED_SECRET}) to the secret of "
            f"the GitHub webhook (or "
            f"ORCHESTRATE_GITHUB_WEBHOOK_INSECURE=true to accept unsigned deliveries "
            f"while trying things locally)"
        )
    if not signature:
        raise SignatureRejected(
            f"The delivery has no {SIGNATURE_HEADER} header: give the GitHub webhook "
            f"a secret, the same as {SECRET_SETTING}"
        )
    if not verify_signature(body, signature, secrets):
        raise SignatureRejected(
            f"The {SIGNATURE_HEADER} signature does not match the body under any "
            f"configured secret: check that the webhook's secret on GitHub is one of "
            f"{SECRET_SETTING}"
        )


def parse_delivery(headers: Mapping[str, str], body: bytes) -> ForgeDelivery:
    """The delivery's identity from its headers (lower-case names) and its JSON body."""
    event = headers.get(EVENT_HEADER.lower(), "").strip()
    delivery_id = headers.get(DELIVERY_HEADER.lower(), "").strip()
    named = ((EVENT_HEADER, event), (DELIVERY_HEADER, delivery_id))
    missing = [name for name, value in named if not value]
    if missing:
        raise MalformedDelivery(
            f"The delivery has no {' and no '.join(missing)} header; GitHub sends both "
            f"with every delivery",
            missing=missing,
        )
    for name, value in named:
        if len(value) > _MAX_NAME_LENGTH:
            raise MalformedDelivery(
                f"The {name} header is longer than {_MAX_NAME_LENGTH} characters"
            )
    payload = _json_object(body)
    action = payload.get("action")
    repository = payload.get("repository")
    full_name = repository.get("full_name") if isinstance(repository, dict) else None
    zen = payload.get("zen")
    return ForgeDelivery(
        forge=FORGE,
        delivery_id=delivery_id,
        kind=event,
        action=action[:_MAX_NAME_LENGTH] if isinstance(action, str) else None,
        repository=(full_name[:_MAX_REPOSITORY_LENGTH] if isinstance(full_name, str) else None),
        headers=storable_headers(headers),
        body=body.decode("utf-8"),
        ping=event == "ping",
        zen=zen if isinstance(zen, str) else None,
    )


def replay_headers(event: str, delivery_id: str) -> dict[str, str]:
    """The headers GitHub would send with a delivery of ``event`` (for ``webhook replay``)."""
    return {
        EVENT_HEADER.lower(): event,
        DELIVERY_HEADER.lower(): delivery_id,
        "content-type": "application/json",
        "user-agent": "orchestrate-replay",
    }


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedDelivery(
            "The body is not JSON: set the webhook's content type to application/json "
            "on GitHub (form-encoded deliveries are not accepted)"
        ) from None
    if not isinstance(payload, dict):
        raise MalformedDelivery("The body is JSON but not an object, which GitHub always sends")
    return payload
