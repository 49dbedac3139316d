"""Notification channels: where alerts are sent (email, Slack, PagerDuty, webhooks).

Use cases in ``service`` (add, list, remove, test, the log); what each channel is sent
in ``formats``; the send and its failure classes in ``sending``; the job in
``delivery``. The alert engine queues sends with ``monitoring.notifications``.
"""
