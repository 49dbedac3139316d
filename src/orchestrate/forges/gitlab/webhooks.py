"""A GitLab webhook delivery: its headers, its token and its JSON body, checked.

GitLab sends ``X-Gitlab-Event`` (``Merge Request Hook``, ``Pipeline Hook``…) and, when
the webhook has a secret token, ``X-Gitlab-Token`` carrying it in clear: there is no
signature over the body, so the token is compared in constant time with each of
``ORCHESTRATE_GITLAB_WEBHOOK_SECRET`` (several while rotating) and the secret store's
``GITLAB_WEBHOOK_SECRET``, and is never stored.

The delivery id. ``X-Gitlab-Event-UUID`` is not one: it is GitLab's recursion
detection id, shared by every webhook a single request fires (a merge's merge request
hook and push hook, a project hook and a group hook), so keying on it alone would drop
distinct events as duplicates. ``Idempotency-Key`` (GitLab 17.4 and later) is the same
across GitLab's retries of one delivery and is used when present. Otherwise the id is
a hash of the event UUID, the event name and the body: a retry (same headers, same
bytes) is a duplicate, two different events are not. ``X-Gitlab-Webhook-UUID`` is
kept with the headers for reading, never as the id (it is new on every attempt).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from orchestrate.core.settings import Settings
from orchestrate.forges.gitlab.events import FORGE, action_of, kind_of, repository_of
from orchestrate.forges.models import ForgeDelivery, MalformedDelivery, SignatureRejected
from orchestrate.secrets import service as secret_store

EVENT_HEADER = "X-Gitlab-Event"
TOKEN_HEADER = "X-Gitlab-Token"  # noqa: S105 - a header name, not a secret
EVENT_UUID_HEADER = "X-Gitlab-Event-UUID"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SECRET_SETTING = "ORCHESTRATE_GITLAB_WEBHOOK_SECRET"  # noqa: S105 - a name, not a secret
INSECURE_SETTING = "ORCHESTRATE_GITLAB_WEBHOOK_INSECURE"
STORED_SECRET = "GITLAB_WEBHOOK_SECRET"  # noqa: S105 - the name of a secret-store entry
HASHED_ID_PREFIX = "gitlab:"

_MAX_NAME_LENGTH = 100  # the event, action and delivery id columns
_MAX_REPOSITORY_LENGTH = 300
_KEY = re.compile(r"[A-Za-z0-9._:-]{1,100}")

# An allowlist, as for GitHub: GitLab's own headers but never the token.
_KEPT_HEADERS = frozenset(
    {"user-agent", "content-type", "content-length", "accept", "idempotency-key"}
)
_KEPT_HEADER_PREFIX = "x-gitlab-"
_DROPPED_HEADERS = frozenset({TOKEN_HEADER.lower()})


def storable_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """The headers of a delivery worth storing and showing: GitLab's, without the token."""
    return {
        name: value
        for name, value in headers.items()
        if name.lower() not in _DROPPED_HEADERS
        and (name.lower() in _KEPT_HEADERS or name.lower().startswith(_KEPT_HEADER_PREFIX))
    }


def token_matches(given: str | None, secrets: Sequence[str]) -> bool:
    """Whether ``given`` is one of ``secrets``; every comparison is constant-time.

    No early exit: the time taken does not reveal which secret matched, nor how much
    of one did (``compare_digest`` over bytes).
    """
    if not given or not secrets:
        return False
    token = given.strip().encode("utf-8", errors="replace")
    matched = False
    for secret in secrets:
        matched |= hmac.compare_digest(secret.encode("utf-8"), token)
    return matched


def authenticate(settings: Settings, headers: Mapping[str, str]) -> None:
    """Refuse a delivery whose ``X-Gitlab-Token`` is not a configured secret.

    ``headers`` have lower-case names. With no secret configured every delivery is
    refused, unless ``ORCHESTRATE_GITLAB_WEBHOOK_INSECURE`` is set.
    """
    secrets = settings.gitlab_webhook_secrets
    stored = secret_store.cached_secret_value(STORED_SECRET)
    if stored:
        secrets = [*secrets, stored]
    if not secrets:
        if settings.gitlab_webhook_insecure:
            return
        raise SignatureRejected(
            f"No GitLab webhook secret is configured, so every delivery is refused: set "
            f"{SECRET_SETTING} (or the stored secret {STORED_SECRET}) to the webhook's "
            f"secret token in GitLab (or {INSECURE_SETTING}=true to accept deliveries "
            f"without a token while trying things locally)"
        )
    given = headers.get(TOKEN_HEADER.lower())
    if not given:
        raise SignatureRejected(
            f"The delivery has no {TOKEN_HEADER} header: give the GitLab webhook a secret "
            f"token, the same as {SECRET_SETTING}"
        )
    if not token_matches(given, secrets):
        raise SignatureRejected(
            f"The {TOKEN_HEADER} is none of the configured secrets: check that the "
            f"webhook's secret token in GitLab is one of {SECRET_SETTING}"
        )


def parse_delivery(headers: Mapping[str, str], body: bytes) -> ForgeDelivery:
    """The delivery's identity from its headers (lower-case names) and its JSON body."""
    event_header = headers.get(EVENT_HEADER.lower(), "").strip()
    if not event_header:
        raise MalformedDelivery(
            f"The delivery has no {EVENT_HEADER} header; GitLab sends it with every delivery",
            missing=[EVENT_HEADER],
        )
    if len(event_header) > _MAX_NAME_LENGTH:
        raise MalformedDelivery(
            f"The {EVENT_HEADER} header is longer than {_MAX_NAME_LENGTH} characters"
        )
    payload = _json_object(body)
    kind = kind_of(event_header, payload)
    action = action_of(kind, payload)
    repository = repository_of(payload)
    return ForgeDelivery(
        forge=FORGE,
        delivery_id=delivery_id(headers, event_header, body),
        kind=kind,
        action=action[:_MAX_NAME_LENGTH] if action else None,
        repository=repository[:_MAX_REPOSITORY_LENGTH] if repository else None,
        headers=storable_headers(headers),
        body=body.decode("utf-8"),
    )


def delivery_id(headers: Mapping[str, str], event_header: str, body: bytes) -> str:
    """``Idempotency-Key`` when GitLab sends a usable one, else a hash (see the module)."""
    key = headers.get(IDEMPOTENCY_HEADER.lower(), "").strip()
    if _KEY.fullmatch(key):
        return key
    event_uuid = headers.get(EVENT_UUID_HEADER.lower(), "").strip()
    digest = hashlib.sha256()
    for part in (event_uuid.encode("utf-8", "replace"), event_header.encode("utf-8", "replace")):
        digest.update(part + b"\0")
    digest.update(body)
    return HASHED_ID_PREFIX + digest.hexdigest()


def replay_headers(event_header: str, delivery_id: str) -> dict[str, str]:
    """The headers GitLab would send with a delivery of ``event_header`` (for replays)."""
    return {
        EVENT_HEADER.lower(): event_header,
        IDEMPOTENCY_HEADER.lower(): delivery_id,
        "content-type": "application/json",
        "user-agent": "orchestrate-replay",
    }


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        payload = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise MalformedDelivery("The body is not JSON, which GitLab always sends") from None
    if not isinstance(payload, dict):
        raise MalformedDelivery("The body is JSON but not an object, which GitLab always sends")
    return payload
