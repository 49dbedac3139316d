"""What the alert engine hands to notification channels, and how it queues a send.

A ``Notification`` is one alert group's state for one channel: its alerts, the labels
they share and whether it is firing or resolved. ``enqueue_notification`` queues its
send as a durable job in the caller's transaction, keyed by ``Notification.id``, so the
same notification enqueued twice is sent once. The job's handler
(``monitoring.channels.delivery``) builds the channel's request, sends it, retries
429, 5xx and connection failures with backoff and records every attempt in the
notification log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.core.jobs import JobKind, JobPayload, enqueue
from orchestrate.core.uow import UnitOfWork

__all__ = [
    "SEND_NOTIFICATION",
    "AlertPayload",
    "Notification",
    "SendNotification",
    "enqueue_notification",
]

NOTIFICATION_MAX_ATTEMPTS = 8
"""Attempts per send: with the default backoff (2 s doubling) about four minutes of retries."""

FIRING = "firing"
RESOLVED = "resolved"


@dataclass(frozen=True)
class AlertPayload:
    """One alert of a group, as a channel shows it."""

    fingerprint: str
    """A stable id of the alert instance (hex)."""
    status: str
    """``firing`` or ``resolved``."""
    labels: dict[str, str]
    """Includes ``alertname`` and ``severity``."""
    annotations: dict[str, str]
    """``summary``, ``description``, ``runbook_url``…"""
    starts_at: datetime
    ends_at: datetime | None

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "alert")


@dataclass(frozen=True)
class Notification:
    """One alert group's state, to be sent to one channel."""

    id: str
    """Unique per (group, channel, group state version); the job's idempotency key."""
    channel: str
    group_key: str
    """Stable per alert group (route and grouping label values)."""
    status: str
    """``firing`` if any alert fires, else ``resolved``."""
    alerts: tuple[AlertPayload, ...]
    group_labels: dict[str, str] = field(default_factory=dict)
    common_labels: dict[str, str] = field(default_factory=dict)
    common_annotations: dict[str, str] = field(default_factory=dict)
    acknowledged: bool = False
    """The group was acknowledged (PagerDuty: the acknowledge action)."""

    @property
    def firing(self) -> tuple[AlertPayload, ...]:
        return tuple(alert for alert in self.alerts if alert.status == FIRING)

    @property
    def resolved(self) -> tuple[AlertPayload, ...]:
        return tuple(alert for alert in self.alerts if alert.status != FIRING)

    @property
    def alert_name(self) -> str:
        """The name the group is known by: the common ``alertname``, else the first's."""
        if "alertname" in self.common_labels:
            return self.common_labels["alertname"]
        return self.alerts[0].name if self.alerts else "alert"

    def to_json(self) -> dict[str, Any]:
        """The notification as JSON-ready data (the job's payload)."""
        return NotificationModel.of(self).model_dump(mode="json")

    @classmethod
    def from_json(cls, data: Any) -> Notification:
        """Read back what ``to_json`` wrote; pydantic's ``ValidationError`` when it does not fit."""
        return NotificationModel.model_validate(data).value()


class AlertModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    fingerprint: str = Field(max_length=200)
    status: str = Field(pattern="^(firing|resolved)$")
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    starts_at: datetime
    ends_at: datetime | None = None

    @classmethod
    def of(cls, alert: AlertPayload) -> AlertModel:
        return cls(
            fingerprint=alert.fingerprint,
            status=alert.status,
            labels=dict(alert.labels),
            annotations=dict(alert.annotations),
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
        )

    def value(self) -> AlertPayload:
        return AlertPayload(
            self.fingerprint,
            self.status,
            dict(self.labels),
            dict(self.annotations),
            self.starts_at,
            self.ends_at,
        )


class NotificationModel(BaseModel):
    """The wire form of a ``Notification``."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    id: str = Field(min_length=1, max_length=200)
    channel: str = Field(min_length=1, max_length=63)
    group_key: str = Field(min_length=1, max_length=10_000)
    status: str = Field(pattern="^(firing|resolved)$")
    alerts: tuple[AlertModel, ...]
    group_labels: dict[str, str] = {}
    common_labels: dict[str, str] = {}
    common_annotations: dict[str, str] = {}
    acknowledged: bool = False

    @classmethod
    def of(cls, notification: Notification) -> NotificationModel:
        return cls(
            id=notification.id,
            channel=notification.channel,
            group_key=notification.group_key,
            status=notification.status,
            alerts=tuple(AlertModel.of(alert) for alert in notification.alerts),
            group_labels=dict(notification.group_labels),
            common_labels=dict(notification.common_labels),
            common_annotations=dict(notification.common_annotations),
            acknowledged=notification.acknowledged,
        )

    def value(self) -> Notification:
        return Notification(
            id=self.id,
            channel=self.channel,
            group_key=self.group_key,
            status=self.status,
            alerts=tuple(alert.value() for alert in self.alerts),
            group_labels=dict(self.group_labels),
            common_labels=dict(self.common_labels),
            common_annotations=dict(self.common_annotations),
            acknowledged=self.acknowledged,
        )


class SendNotification(JobPayload):
    """Send ``notification`` to its channel."""

    notification: NotificationModel


SEND_NOTIFICATION = JobKind("monitoring.notify", SendNotification)


async def enqueue_notification(uow: UnitOfWork, notification: Notification) -> None:
    """Queue the send in the caller's transaction (a durable job keyed by
    ``notification.id``, so enqueuing the same id twice sends once)."""
    await enqueue(
        uow,
        SEND_NOTIFICATION,
        SendNotification(notification=NotificationModel.of(notification)),
        key=f"notify:{notification.id}",
        max_attempts=NOTIFICATION_MAX_ATTEMPTS,
    )
