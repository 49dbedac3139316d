"""Cron schedules: what fires when, misfire and overlap policies, and the firing job.

Other capabilities use ``orchestrate.schedules.service`` only.
"""
