"""Sending one notification to one channel, and sorting what went wrong.

A failure is *retryable* when trying again later can help: HTTP 429 and 5xx (with the
answer's ``Retry-After``), no connection, a timeout, an SMTP 4xx. Anything else the
receiver refused (another 4xx, an SMTP 5xx) is permanent. Error messages never hold
a credential: a Slack URL or a routing key in an error text is replaced by ``***``.
"""

from __future__ import annotations

import asyncio
import json
import smtplib
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import httpx

from orchestrate import __version__
from orchestrate.monitoring.channels import formats
from orchestrate.monitoring.channels.models import (
    DEFAULT_PAGERDUTY_URL,
    PASSWORD,
    ROUTING_KEY,
    SIGNING,
    WEBHOOK_URL,
    Channel,
    ChannelType,
    SendFailure,
)
from orchestrate.monitoring.notifications import Notification

TIMEOUT = httpx.Timeout(10.0)
RETRY_AFTER_CAP = timedelta(hours=1)
_USER_AGENT = f"Orchestrate/{__version__}"


async def send(channel: Channel, notification: Notification, secrets: Mapping[str, str]) -> None:
    """Deliver ``notification``; raises ``SendFailure`` when the channel did not take it.

    ``secrets`` holds the channel's credentials by role (``signing_key``, ``routing_key``…).
    """
    try:
        if channel.type is ChannelType.EMAIL:
            await asyncio.to_thread(_send_email, channel, notification, secrets.get(PASSWORD))
            return
        url, body, headers = _http_request(channel, notification, secrets)
        await _post(url, body, headers)
    except SendFailure as failure:
        raise SendFailure(
            _scrub(failure.reason, secrets), failure.retryable, failure.retry_after
        ) from None


def _http_request(
    channel: Channel, notification: Notification, secrets: Mapping[str, str]
) -> tuple[str, bytes, dict[str, str]]:
    headers = {
        "Content-Type": "application/json",
        "User-Agent": _USER_AGENT,
        formats.NOTIFICATION_ID_HEADER: notification.id,
    }
    match channel.type:
        case ChannelType.WEBHOOK:
            body = formats.webhook_body(channel.name, notification)
            headers[formats.SIGNATURE_HEADER] = formats.signature(_need(secrets, SIGNING), body)
            return channel.text("url"), body, headers
        case ChannelType.SLACK:
            body = json.dumps(formats.slack_body(notification)).encode()
            return _need(secrets, WEBHOOK_URL), body, headers
        case ChannelType.PAGERDUTY:
            event = formats.pagerduty_event(notification, _need(secrets, ROUTING_KEY))
            base = channel.text("url", DEFAULT_PAGERDUTY_URL).rstrip("/")
            return f"{base}/v2/enqueue", json.dumps(event).encode(), headers
        case _:
            raise SendFailure(f"channel type {channel.type} does not send over HTTP", False)


def _need(secrets: Mapping[str, str], role: str) -> str:
    value = secrets.get(role)
    if not value:
        raise SendFailure(
            f"the channel's {role.replace('_', ' ')} is not in the secret store; "
            "set the secret the channel names (orchestrate notify channels)",
            retryable=False,
        )
    return value


async def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        raise SendFailure("the receiver did not answer in time", retryable=True) from None
    except httpx.TransportError as error:
        raise SendFailure(
            f"could not reach the receiver: {type(error).__name__}: {error}", retryable=True
        ) from None
    if response.is_success:
        return
    status = response.status_code
    detail = response.text[:300].strip()
    reason = f"the receiver answered HTTP {status}" + (f": {detail}" if detail else "")
    if status == 429 or status >= 500:
        raise SendFailure(reason, retryable=True, retry_after=retry_after(response.headers))
    raise SendFailure(reason, retryable=False)


def retry_after(headers: Mapping[str, str], now: datetime | None = None) -> timedelta | None:
    """The wait a ``Retry-After`` header asks for (seconds, fractions allowed, or an HTTP
    date), capped at an hour; None when there is none or it does not parse."""
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        wait = timedelta(seconds=max(float(value), 0.0))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        wait = max(moment - (now or datetime.now(UTC)), timedelta(0))
    return min(wait, RETRY_AFTER_CAP)


def _send_email(channel: Channel, notification: Notification, password: str | None) -> None:
    """Hand the message to the SMTP server (runs in a thread: smtplib blocks)."""
    message = formats.email_message(channel, notification)
    host, port = channel.text("smtp_host"), int(str(channel.config.get("smtp_port", 25)))
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT.connect or 10.0) as smtp:
            if channel.config.get("starttls"):
                smtp.starttls(context=ssl.create_default_context())
            username = channel.text("username")
            if username:
                if password is None:
                    raise SendFailure(
                        "the channel's SMTP password is not in the secret store", False
                    )
                smtp.login(username, password)
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        raise SendFailure(f"the SMTP server refused every recipient: {error}", False) from None
    except smtplib.SMTPResponseException as error:
        text = (
            error.smtp_error.decode(errors="replace")
            if isinstance(error.smtp_error, bytes)
            else str(error.smtp_error)
        )
        raise SendFailure(
            f"the SMTP server answered {error.smtp_code}: {text[:300]}",
            retryable=400 <= error.smtp_code < 500,
        ) from None
    except (smtplib.SMTPException, OSError) as error:
        raise SendFailure(
            f"could not reach the SMTP server: {type(error).__name__}: {error}", retryable=True
        ) from None


def _scrub(text: str, secrets: Mapping[str, str]) -> str:
    for value in secrets.values():
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text
