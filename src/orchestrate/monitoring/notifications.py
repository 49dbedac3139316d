"""Notifications of alert groups, as the alert engine hands them to the channels.

(Interface shared with the channel senders; replaced by their module at merge.)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from orchestrate.core.jobs import JobKind, JobPayload, enqueue
from orchestrate.core.uow import UnitOfWork


@dataclass(frozen=True)
class AlertPayload:
    fingerprint: str
    status: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None


@dataclass(frozen=True)
class Notification:
    id: str
    channel: str
    group_key: str
    status: str
    alerts: tuple[AlertPayload, ...]
    group_labels: dict[str, str]
    common_labels: dict[str, str]
    common_annotations: dict[str, str]
    acknowledged: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        for alert in body["alerts"]:
            alert["starts_at"] = alert["starts_at"].isoformat()
            alert["ends_at"] = alert["ends_at"].isoformat() if alert["ends_at"] else None
        return body


class NotifyJob(JobPayload):
    notification: dict[str, Any]


NOTIFY = JobKind("monitoring.notify", NotifyJob)


async def enqueue_notification(uow: UnitOfWork, notification: Notification) -> None:
    await enqueue(uow, NOTIFY, NotifyJob(notification=notification.to_json()), key=notification.id)
