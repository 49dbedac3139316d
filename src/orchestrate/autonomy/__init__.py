"""Autonomous epic runs: every story of an epic driven from developer to merged pull
request, in dependency order, without a person between the steps.

Use cases live in ``service`` (the capability's API), the HTTP routes in ``api`` and
the commands (``orchestrate epic run|pause|resume|stop|status``) in ``cli``.
"""
