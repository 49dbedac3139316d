"""The events of alerting (subject: the alert id ``alr_…``, a silence ``sil_…``, or the
rules' source)."""

from __future__ import annotations

from typing import ClassVar

from orchestrate.core.events import DomainEvent


class _AlertChanged(DomainEvent):
    rule: str
    fingerprint: str
    severity: str
    labels: dict[str, str]
    value: float


class AlertPending(_AlertChanged):
    """A rule's condition holds for a series; it fires once it has held for ``for``."""

    event_type: ClassVar[str] = "alert.pending"


class AlertFiring(_AlertChanged):
    event_type: ClassVar[str] = "alert.firing"


class AlertResolved(_AlertChanged):
    event_type: ClassVar[str] = "alert.resolved"


class AlertAcknowledged(DomainEvent):
    event_type: ClassVar[str] = "alert.acknowledged"
    rule: str
    by: str


class SilenceCreated(DomainEvent):
    event_type: ClassVar[str] = "alert.silence_created"
    matchers: list[str]
    starts_at: str
    ends_at: str
    comment: str
    by: str


class SilenceExpired(DomainEvent):
    """A silence was ended before its time by someone (one that runs out says nothing)."""

    event_type: ClassVar[str] = "alert.silence_expired"
    by: str


class AlertRulesApplied(DomainEvent):
    event_type: ClassVar[str] = "alert.rules_applied"
    source: str
    rules: list[str]
    routes: int
    inhibit_rules: int
    by: str


class AlertRulesRemoved(DomainEvent):
    event_type: ClassVar[str] = "alert.rules_removed"
    source: str
    by: str
