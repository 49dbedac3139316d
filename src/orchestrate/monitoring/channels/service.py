"""Use cases of notification channels: add, list, remove, test, and the log of sends.

A channel's credentials go to the encrypted secret store (``secrets.service``), never
to its row, an event, the audit log or any output — except once: the signing key
``notify add`` generates for a webhook is returned so the receiver can be told it.
Sends are durable jobs (``monitoring.notifications.enqueue_notification``) run by
``delivery.send_notification``, registered here for the worker.
"""

from __future__ import annotations

import secrets as random_secrets
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.core.errors import Conflict, IntegrationError, NotFound, ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.ids import new_id
from orchestrate.core.jobs import JobRegistry
from orchestrate.core.pagination import Page, check_page_size
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.monitoring.channels import _store as store
from orchestrate.monitoring.channels import sending
from orchestrate.monitoring.channels.delivery import channel_secrets, send_notification
from orchestrate.monitoring.channels.events import ChannelAdded, ChannelRemoved
from orchestrate.monitoring.channels.models import (
    SIGNING,
    Channel,
    ChannelSpec,
    ChannelType,
    LogEntry,
    Outcome,
    SendFailure,
    owned_secret_name,
)
from orchestrate.monitoring.notifications import (
    SEND_NOTIFICATION,
    AlertPayload,
    Notification,
)
from orchestrate.secrets import service as secret_store

__all__ = [
    "AddedChannel",
    "Channel",
    "ChannelSpec",
    "ChannelType",
    "LogEntry",
    "SentTest",
    "add_channel",
    "channels_page",
    "list_channels",
    "notification_log",
    "register_notification_jobs",
    "remove_channel",
    "send_test_notification",
]


def register_notification_jobs(registry: JobRegistry, runtime: Runtime) -> None:
    """The monitoring capability's jobs: sending notifications."""
    del runtime
    registry.register(SEND_NOTIFICATION, send_notification, timeout=timedelta(seconds=60))


@dataclass(frozen=True)
class AddedChannel:
    channel: Channel
    generated_signing_key: str | None
    """The webhook signing key ``add_channel`` made (shown once, to give the receiver)."""


async def add_channel(
    uow: UnitOfWork, settings: Settings, spec: ChannelSpec, actor: Actor
) -> AddedChannel:
    """Register a channel, storing the credentials it brings in the secret store.

    Everything is checked before anything is stored: the name is free, the options fit
    the type, and the secrets it names exist. A webhook without a signing secret gets a
    random key, stored as ``NOTIFY_<NAME>_SIGNING_KEY``."""
    auth.authorize(actor, Permission.ADMIN)
    spec = spec.checked()
    generated = None
    if spec.type is ChannelType.WEBHOOK and SIGNING not in spec.secrets:
        generated = random_secrets.token_hex(32)
        spec = replace(spec, new_secrets={**spec.new_secrets, SIGNING: generated})
    async with uow:
        if await store.find_channel(uow, spec.name) is not None:
            raise Conflict(
                f"There is a notification channel {spec.name!r} already; remove it first "
                "(orchestrate notify remove) or pick another name",
                channel=spec.name,
            )
    await _check_named_secrets(uow.sibling(read_only=True), spec)
    names = dict(spec.secrets)
    owned: list[str] = []
    for role, value in spec.new_secrets.items():
        name = owned_secret_name(spec.name, role)
        await secret_store.set_secret(uow.sibling(), settings, name, value, actor)
        names[role], owned = name, [*owned, name]
    async with uow:
        channel = await store.insert_channel(
            uow, spec.name, spec.type, spec.config, names, owned, uow.now()
        )
        record_event(uow, ChannelAdded(subject=channel.name, type=channel.type, actor=actor.name))
        await auth.record_audit(
            uow,
            actor,
            "notification.channel_add",
            channel.name,
            {"type": channel.type.value, "secrets": sorted(names.values())},
        )
        await uow.commit()
    return AddedChannel(channel, generated)


async def _check_named_secrets(uow: UnitOfWork, spec: ChannelSpec) -> None:
    stored = await secret_store.list_secret_names(uow)
    for role, name in spec.secrets.items():
        if name.strip().upper() not in stored:
            option = {"signing_key": "--signing-secret", "routing_key": "--routing-key-secret"}
            raise ValidationFailed(
                f"{option.get(role, '--password-secret')} names secret {name.upper()!r}, "
                "which is not stored; set it first (orchestrate secret set)",
                secret=name.upper(),
            )


async def list_channels(uow: UnitOfWork) -> list[Channel]:
    async with uow:
        return await store.list_channels(uow)


async def channel_names_in(uow: UnitOfWork) -> set[str]:
    """The channels' names, read in the caller's entered transaction (alert rules name
    the channels they notify, and applying them checks the names)."""
    return {channel.name for channel in await store.list_channels(uow)}


async def channels_page(
    uow: UnitOfWork, *, limit: int = 50, cursor: str | None = None
) -> Page[Channel]:
    """One page of the channels, by name (``GET /api/monitoring/channels``)."""
    check_page_size(limit)
    async with uow:
        return await store.channels_page(uow, limit, cursor)


async def remove_channel(uow: UnitOfWork, settings: Settings, name: str, actor: Actor) -> Channel:
    """Remove a channel and the secrets ``notify add`` stored for it (not those it only
    named). Its log is kept; queued sends to it fail, naming the missing channel."""
    auth.authorize(actor, Permission.ADMIN)
    async with uow:
        channel = await _existing(uow, name)
        await store.delete_channel(uow, name)
        record_event(uow, ChannelRemoved(subject=name, type=channel.type, actor=actor.name))
        await auth.record_audit(
            uow, actor, "notification.channel_remove", name, {"type": channel.type.value}
        )
        await uow.commit()
    known = await secret_store.list_secret_names(uow.sibling(read_only=True))
    for secret in channel.owned_secrets:
        if secret in known:
            await secret_store.delete_secret(uow.sibling(), settings, secret, actor)
    return channel


@dataclass(frozen=True)
class SentTest:
    channel: str
    notification_id: str
    ok: bool
    detail: str


async def send_test_notification(
    uow: UnitOfWork, settings: Settings, name: str, actor: Actor
) -> SentTest:
    """Send a test notification now (not queued) and say how it went; the attempt is in
    the log. A PagerDuty test triggers and at once resolves its own incident. Raises
    ``IntegrationError`` with the receiver's reason when the send fails."""
    auth.authorize(actor, Permission.ADMIN)
    async with uow:
        channel = await _existing(uow, name)
        await auth.record_audit(uow, actor, "notification.channel_test", name, None)
        await uow.commit()
    notification = _test_notification(channel.name, uow.now())
    outcome, error = Outcome.SENT, None
    try:
        secrets = await channel_secrets(uow.sibling(read_only=True), settings, channel)
        await sending.send(channel, notification, secrets)
        if channel.type is ChannelType.PAGERDUTY:
            resolved = _resolved(notification, uow.now())
            await sending.send(channel, resolved, secrets)
    except SendFailure as failure:
        outcome, error = Outcome.FAILED, failure.reason
    async with uow:
        await store.add_log_entry(
            uow,
            channel=channel.name,
            notification_id=notification.id,
            group_key=notification.group_key,
            status=notification.status,
            attempt=1,
            outcome=outcome,
            error=error,
            now=uow.now(),
            queued_at=notification.alerts[0].starts_at,
        )
        await uow.commit()
    if error is not None:
        raise IntegrationError(
            f"The test notification to {channel.name!r} failed: {error}", channel=channel.name
        )
    return SentTest(channel.name, notification.id, True, f"sent to {channel.target}")


def _test_notification(channel: str, now: datetime) -> Notification:
    notification_id = new_id("ntest", now)
    alert = AlertPayload(
        fingerprint=notification_id.removeprefix("ntest_"),
        status="firing",
        labels={"alertname": "OrchestrateTest", "severity": "info"},
        annotations={
            "summary": f"Test notification from Orchestrate to channel {channel}",
            "description": "Sent by 'orchestrate notify test'; nothing is wrong.",
        },
        starts_at=now.astimezone(UTC),
        ends_at=None,
    )
    return Notification(
        id=notification_id,
        channel=channel,
        group_key=f"test:{channel}:{notification_id}",
        status="firing",
        alerts=(alert,),
        group_labels={"alertname": "OrchestrateTest"},
        common_labels=dict(alert.labels),
        common_annotations=dict(alert.annotations),
    )


def _resolved(notification: Notification, now: datetime) -> Notification:
    alerts = tuple(replace(alert, status="resolved", ends_at=now) for alert in notification.alerts)
    return replace(notification, status="resolved", alerts=alerts)


async def notification_log(
    uow: UnitOfWork, *, channel: str | None = None, limit: int = 50, cursor: str | None = None
) -> Page[LogEntry]:
    """The latest attempts and decisions, newest first, a page at a time."""
    check_page_size(limit)
    async with uow:
        return await store.log_page(uow, channel=channel, limit=limit, cursor=cursor)


async def _existing(uow: UnitOfWork, name: str) -> Channel:
    channel = await store.find_channel(uow, name)
    if channel is None:
        raise NotFound(
            f"No notification channel {name!r}; see 'orchestrate notify channels'", channel=name
        )
    return channel
