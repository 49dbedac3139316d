"""The job that sends a notification: decide, send, record — every attempt in the log.

Before sending, the log decides whether to: a notification whose id was sent already
is skipped (a job re-enqueued after its row was pruned, or run again by an operator),
and so is a resolve or an acknowledge for a group this channel was never sent firing —
"resolved" about something nobody was told of is noise — and a firing send that was
still queued (retrying) when its group's resolve was sent or skipped. The send itself happens
outside any transaction; its outcome is recorded, with the job's completion, in one.
The one window left is a worker dying between the receiver's answer and that commit:
the job then runs again and the receiver hears it twice (receivers can dedupe on
``X-Orchestrate-Notification-Id``; PagerDuty does, on the ``dedup_key``).
"""

from __future__ import annotations

from datetime import datetime

import structlog

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.events import record_event
from orchestrate.core.jobs import JobContext, JobFailed
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.monitoring.channels import _store as store
from orchestrate.monitoring.channels import sending
from orchestrate.monitoring.channels.events import (
    NotificationFailed,
    NotificationSent,
    NotificationSkipped,
)
from orchestrate.monitoring.channels.models import Channel, Outcome, SendFailure
from orchestrate.monitoring.notifications import FIRING, Notification, SendNotification
from orchestrate.secrets import service as secret_store

log = structlog.get_logger(__name__)


async def send_notification(context: JobContext[SendNotification]) -> None:
    """The ``monitoring.notify`` job: send one notification to its channel."""
    notification = context.payload.notification.value()
    attempt = context.job.attempt
    async with context.uow() as uow:
        channel = await store.find_channel(uow, notification.channel)
        reason = None
        if channel is not None:
            reason = await _reason_to_skip(uow, notification, context.job.created_at)
        if reason is not None:
            await _record(uow, context, notification, Outcome.SKIPPED, reason)
            record_event(
                uow,
                NotificationSkipped(
                    subject=notification.id,
                    channel=notification.channel,
                    group_key=notification.group_key,
                    status=notification.status,
                    reason=reason,
                ),
            )
            await context.complete_in(uow, {"outcome": "skipped", "reason": reason})
            await uow.commit()
            return
    if channel is None:
        await _fail(
            context,
            notification,
            SendFailure(
                f"there is no notification channel {notification.channel!r}; add it "
                "(orchestrate notify add) and retry the job",
                retryable=False,
            ),
        )
        return
    try:
        secrets = await channel_secrets(context.uow(), context.runtime.settings, channel)
        await sending.send(channel, notification, secrets)
    except SendFailure as failure:
        await _fail(context, notification, failure)
        return
    async with context.uow() as uow:
        await _record(uow, context, notification, Outcome.SENT, None)
        record_event(
            uow,
            NotificationSent(
                subject=notification.id,
                channel=notification.channel,
                group_key=notification.group_key,
                status=notification.status,
                attempt=attempt,
            ),
        )
        await context.complete_in(uow, {"outcome": "sent"})
        await uow.commit()
    log.info(
        "notification_sent",
        notification_id=notification.id,
        channel=notification.channel,
        status=notification.status,
        attempt=attempt,
    )


async def channel_secrets(uow: UnitOfWork, settings: Settings, channel: Channel) -> dict[str, str]:
    """The channel's credentials by role; a role whose secret is gone is left out."""
    try:
        values = await secret_store.get_secret_values(uow, settings, channel.secrets.values())
    except ConfigurationError as error:
        raise SendFailure(f"the channel's secrets cannot be read: {error}", False) from None
    return {
        role: values[name.upper()]
        for role, name in channel.secrets.items()
        if name.upper() in values
    }


async def _reason_to_skip(
    uow: UnitOfWork, notification: Notification, enqueued_at: datetime
) -> str | None:
    channel, group_key = notification.channel, notification.group_key
    if await store.was_sent(uow, notification.id):
        return "this notification was sent already"
    quiet = notification.status != FIRING or notification.acknowledged
    if quiet and not await store.has_notified_firing(uow, channel, group_key):
        what = "resolve" if notification.status != FIRING else "acknowledge"
        return f"a {what} for a group this channel was never notified of"
    # A firing send still retrying when its group resolved: the resolve was dropped (or
    # sent), so sending this now would leave the receiver with a group firing forever.
    if notification.status == FIRING and await store.resolved_since(
        uow, channel, group_key, enqueued_at
    ):
        return "the group was resolved after this notification was queued"
    return None


async def _fail(
    context: JobContext[SendNotification], notification: Notification, failure: SendFailure
) -> None:
    """Record the failed attempt, then fail the job: retried, or dead-lettered for good."""
    attempt = context.job.attempt
    will_retry = failure.retryable and not context.job.is_last_attempt
    async with context.uow() as uow:
        outcome = Outcome.RETRYING if will_retry else Outcome.FAILED
        await _record(uow, context, notification, outcome, failure.reason)
        if not will_retry:
            record_event(
                uow,
                NotificationFailed(
                    subject=notification.id,
                    channel=notification.channel,
                    group_key=notification.group_key,
                    status=notification.status,
                    attempt=attempt,
                    error=failure.reason[:500],
                ),
            )
        await uow.commit()
    log.warning(
        "notification_failed",
        notification_id=notification.id,
        channel=notification.channel,
        attempt=attempt,
        will_retry=will_retry,
        error=failure.reason,
    )
    raise JobFailed(failure.reason, retry=will_retry, retry_after=failure.retry_after)


async def _record(
    uow: UnitOfWork,
    context: JobContext[SendNotification],
    notification: Notification,
    outcome: Outcome,
    error: str | None,
) -> None:
    await store.add_log_entry(
        uow,
        channel=notification.channel,
        notification_id=notification.id,
        group_key=notification.group_key,
        status=notification.status,
        attempt=context.job.attempt,
        outcome=outcome,
        error=error,
        now=uow.now(),
        queued_at=context.job.created_at,
    )
