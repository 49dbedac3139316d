"""Alert rules over the platform's metrics, their alerts, silences and notifications.

Semantics follow Prometheus alerting rules (``for``, ``keep_firing_for``) and
Alertmanager (routes, grouping with ``group_wait`` / ``group_interval`` /
``repeat_interval``, silences, inhibition); docs/alerts.md is the users' contract.
"""
