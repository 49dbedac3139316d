"""Delivery: an agent's committed work becomes a pushed branch and a pull request.

The capability records every pull request Orchestrate opened (``pull_requests``),
opens them for completed agent runs on registered repositories (a durable job), shows
them refreshed from the forge, and merges them through the forge. Other capabilities
use ``service.py`` only.
"""
