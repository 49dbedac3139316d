"""The events of the secret store; they name secrets, never hold a value."""

from __future__ import annotations

from typing import ClassVar

from orchestrate.core.events import DomainEvent


class SecretCreated(DomainEvent):
    event_type: ClassVar[str] = "secret.created"
    name: str


class SecretUpdated(DomainEvent):
    event_type: ClassVar[str] = "secret.updated"
    name: str


class SecretDeleted(DomainEvent):
    event_type: ClassVar[str] = "secret.deleted"
    name: str


class SecretKeyRotated(DomainEvent):
    """A new key encrypts every secret now (subject ``secrets``)."""

    event_type: ClassVar[str] = "secret.key_rotated"
    key_id: str
    re_encrypted: int
