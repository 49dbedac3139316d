"""Retention: every table that grows with use is pruned by a rule of its capability.

``rules`` says what a rule is, ``pruning`` runs a plan of them (the hourly job and
``orchestrate db prune``), ``logs`` is the rule of append-only logs, ``sql`` the
queries rules share. See docs/retention.md.
"""

from orchestrate.core.retention.logs import Floor, LogPrefixRule
from orchestrate.core.retention.pruning import RetentionPlan, RuleOutcome, prune
from orchestrate.core.retention.rules import (
    Cleanup,
    Deleted,
    Keeper,
    Key,
    Retention,
    RetentionRule,
)

__all__ = [
    "Cleanup",
    "Deleted",
    "Floor",
    "Keeper",
    "Key",
    "LogPrefixRule",
    "Retention",
    "RetentionPlan",
    "RetentionRule",
    "RuleOutcome",
    "prune",
]
