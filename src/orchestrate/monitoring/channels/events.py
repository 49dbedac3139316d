"""The events of notification channels and of the notifications sent through them.

A channel's events have its name as subject; a notification's have the notification's
id. None holds a credential: channels name their secrets, never the values.
"""

from __future__ import annotations

from typing import ClassVar

from orchestrate.core.events import DomainEvent


class ChannelAdded(DomainEvent):
    event_type: ClassVar[str] = "notification.channel_added"
    type: str
    actor: str


class ChannelRemoved(DomainEvent):
    event_type: ClassVar[str] = "notification.channel_removed"
    type: str
    actor: str


class NotificationSent(DomainEvent):
    """The channel accepted the notification (a 2xx answer, or the SMTP server took it)."""

    event_type: ClassVar[str] = "notification.sent"
    channel: str
    group_key: str
    status: str
    attempt: int


class NotificationFailed(DomainEvent):
    """The send was refused for good (a 4xx other than 429) or its last attempt failed."""

    event_type: ClassVar[str] = "notification.failed"
    channel: str
    group_key: str
    status: str
    attempt: int
    error: str


class NotificationSkipped(DomainEvent):
    """Not sent: already sent, or a resolve for a group the channel was never sent."""

    event_type: ClassVar[str] = "notification.skipped"
    channel: str
    group_key: str
    status: str
    reason: str
