"""Notification channels as values: their types, their settings, and a send's outcome.

A channel's settings that are not secret (an SMTP host, a receiver's URL) are kept in
its row as ``config``; its credentials (a Slack webhook URL, a PagerDuty routing key,
a signing key, an SMTP password) are kept in the secret store and the row names them
in ``secrets`` (role → secret name). ``owned_secrets`` are those ``notify add``
generated or stored for it; ``notify remove`` deletes them with the channel.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit

from orchestrate.core.errors import ValidationFailed

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
EMAIL_PATTERN = re.compile(r"^[^@\s,<>]+@[^@\s,<>]+$")
DEFAULT_PAGERDUTY_URL = "https://events.pagerduty.com"

SIGNING = "signing_key"
WEBHOOK_URL = "webhook_url"
ROUTING_KEY = "routing_key"
PASSWORD = "password"  # noqa: S105 - the role of a secret, not one


class ChannelType(StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    PAGERDUTY = "pagerduty"
    WEBHOOK = "webhook"


class Outcome(StrEnum):
    """What one attempt at a send came to (a row of the notification log)."""

    SENT = "sent"
    RETRYING = "retrying"
    """Failed in a way worth retrying (429, 5xx, no connection); the job tries again."""
    FAILED = "failed"
    """Refused for good (another 4xx), or the last attempt failed."""
    SKIPPED = "skipped"
    """Not sent: already sent, or a resolve for a group this channel never heard of."""


@dataclass(frozen=True)
class Channel:
    name: str
    type: ChannelType
    config: dict[str, object]
    secrets: dict[str, str]
    """Role (``signing_key``, ``webhook_url``, ``routing_key``, ``password``) → secret name."""
    owned_secrets: tuple[str, ...]
    created_at: datetime
    updated_at: datetime

    def text(self, key: str, default: str = "") -> str:
        value = self.config.get(key, default)
        return value if isinstance(value, str) else default

    @property
    def target(self) -> str:
        """Where it sends, for listings: never a credential."""
        match self.type:
            case ChannelType.WEBHOOK:
                return self.text("url")
            case ChannelType.SLACK:
                return "Slack incoming webhook (URL in secret " + self.secrets[WEBHOOK_URL] + ")"
            case ChannelType.PAGERDUTY:
                return self.text("url", DEFAULT_PAGERDUTY_URL)
            case ChannelType.EMAIL:
                recipients = self.config.get("to", [])
                listed = (
                    ", ".join(str(r) for r in recipients) if isinstance(recipients, list) else ""
                )
                host = f"{self.text('smtp_host')}:{self.config.get('smtp_port', 25)}"
                return f"{listed} via {host}"


@dataclass(frozen=True)
class ChannelSpec:
    """What ``notify add`` asks for. ``new_secrets`` are values to store (role → value)
    under names derived from the channel's; ``secrets`` names existing ones."""

    name: str
    type: ChannelType
    config: dict[str, object] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    new_secrets: dict[str, str] = field(default_factory=dict)

    def checked(self) -> ChannelSpec:
        check_name(self.name)
        match self.type:
            case ChannelType.WEBHOOK:
                check_url(self.config.get("url"), "--url")
            case ChannelType.SLACK:
                check_url(self.new_secrets.get(WEBHOOK_URL), "--url")
            case ChannelType.PAGERDUTY:
                check_url(self.config.get("url", DEFAULT_PAGERDUTY_URL), "--url")
                if ROUTING_KEY not in self.secrets and not self.new_secrets.get(ROUTING_KEY):
                    raise ValidationFailed(
                        "A PagerDuty channel needs a routing key: --routing-key-secret NAME "
                        "(a stored secret) or --routing-key-stdin"
                    )
            case ChannelType.EMAIL:
                _check_email(self.config)
        return self


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name):
        raise ValidationFailed(
            f"{name!r} is not a channel name: use lower-case letters, digits and hyphens, "
            "starting with a letter, at most 63 characters (e.g. ops-hook)",
            channel=name,
        )


def check_url(url: object, option: str) -> None:
    if not isinstance(url, str) or not url:
        raise ValidationFailed(f"{option} is required: an http:// or https:// URL")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        # The URL may be a credential (Slack's): say what is wrong, not what it was.
        raise ValidationFailed(f"{option} must be an http:// or https:// URL with a host")


def _check_email(config: dict[str, object]) -> None:
    host, port = config.get("smtp_host"), config.get("smtp_port")
    if not isinstance(host, str) or not host.strip():
        raise ValidationFailed("An email channel needs --smtp-host")
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ValidationFailed("--smtp-port must be a port number (1-65535)")
    sender = config.get("from")
    if not isinstance(sender, str) or not EMAIL_PATTERN.match(sender):
        raise ValidationFailed("An email channel needs --from, an address like alerts@example.com")
    recipients = config.get("to")
    if not isinstance(recipients, list) or not recipients:
        raise ValidationFailed("An email channel needs --to, one or more addresses (a,b)")
    for address in recipients:
        if not isinstance(address, str) or not EMAIL_PATTERN.match(address):
            raise ValidationFailed(f"{address!r} in --to is not an email address")


def owned_secret_name(channel: str, role: str) -> str:
    """Where ``notify add`` stores a channel's own secret: ``NOTIFY_OPS_HOOK_SIGNING_KEY``."""
    return f"NOTIFY_{channel.upper().replace('-', '_')}_{role.upper()}"


class SendFailure(Exception):
    """A send that did not go through; ``retryable`` for 429, 5xx and connection errors."""

    def __init__(self, reason: str, retryable: bool, retry_after: timedelta | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.retry_after = retry_after


@dataclass(frozen=True)
class LogEntry:
    """One row of the notification log: an attempt at a send, or a decision not to send."""

    id: int
    channel: str
    notification_id: str
    group_key: str
    status: str
    """The notification's: ``firing`` or ``resolved``."""
    sent_at: datetime
    attempt: int
    outcome: Outcome
    error: str | None


@dataclass(frozen=True)
class ChannelOptions:
    """``notify add``'s options (and ``POST /api/monitoring/channels``' body) as given."""

    name: str
    type: ChannelType
    url: str | None = None
    signing_secret: str | None = None
    routing_key_secret: str | None = None
    routing_key: str | None = None
    smtp_host: str | None = None
    smtp_port: int | None = None
    starttls: bool = False
    username: str | None = None
    password_secret: str | None = None
    sender: str | None = None
    recipients: tuple[str, ...] = ()

    def spec(self) -> ChannelSpec:
        """The channel these options describe; refuses options of another type."""
        self._refuse_foreign()
        match self.type:
            case ChannelType.WEBHOOK:
                named = {SIGNING: self.signing_secret} if self.signing_secret else {}
                webhook: dict[str, object] = {"url": self.url}
                return ChannelSpec(self.name, self.type, webhook, named).checked()
            case ChannelType.SLACK:
                new = {WEBHOOK_URL: self.url} if self.url else {}
                return ChannelSpec(self.name, self.type, {}, {}, new).checked()
            case ChannelType.PAGERDUTY:
                if self.routing_key_secret and self.routing_key:
                    raise ValidationFailed(
                        "Give the routing key one way: --routing-key-secret or --routing-key-stdin"
                    )
                named = {ROUTING_KEY: self.routing_key_secret} if self.routing_key_secret else {}
                new = {ROUTING_KEY: self.routing_key} if self.routing_key else {}
                base: dict[str, object] = {"url": self.url or DEFAULT_PAGERDUTY_URL}
                return ChannelSpec(self.name, self.type, base, named, new).checked()
            case ChannelType.EMAIL:
                config: dict[str, object] = {
                    "smtp_host": self.smtp_host,
                    "smtp_port": self.smtp_port,
                    "starttls": self.starttls,
                    "username": self.username,
                    "from": self.sender,
                    "to": [r.strip() for r in self.recipients if r.strip()],
                }
                named = {PASSWORD: self.password_secret} if self.password_secret else {}
                if self.password_secret and not self.username:
                    raise ValidationFailed("--password-secret needs --username")
                return ChannelSpec(self.name, self.type, config, named).checked()

    def _refuse_foreign(self) -> None:
        allowed = {
            ChannelType.WEBHOOK: {"url", "signing_secret"},
            ChannelType.SLACK: {"url"},
            ChannelType.PAGERDUTY: {"url", "routing_key_secret", "routing_key"},
            ChannelType.EMAIL: {
                "smtp_host",
                "smtp_port",
                "starttls",
                "username",
                "password_secret",
                "sender",
                "recipients",
            },
        }[self.type]
        given = {
            key
            for key in (
                "url",
                "signing_secret",
                "routing_key_secret",
                "routing_key",
                "smtp_host",
                "smtp_port",
                "starttls",
                "username",
                "password_secret",
                "sender",
                "recipients",
            )
            if getattr(self, key) not in (None, False, ())
        }
        foreign = sorted(given - allowed)
        if foreign:
            shown = ", ".join(
                "--" + _OPTION_NAMES.get(key, key).replace("_", "-") for key in foreign
            )
            raise ValidationFailed(f"A {self.type.value} channel takes no {shown}")


_OPTION_NAMES = {"sender": "from", "recipients": "to", "routing_key": "routing-key-stdin"}
