"""Secret detection: provider-specific rules, generic secrets in context, allowlists and
inline suppressions, over a working tree, a diff, or all of git history.

``scan_tree``, ``scan_diff`` and ``scan_git_history`` return ``models.Finding`` values
whose snippet is redacted and whose fingerprint is a hash of the rule, the path and the
secret (never a line number). docs/security-secrets.md describes the rules, the
``.orchestrate-secrets.toml`` file and the suppressions.
"""

from __future__ import annotations

from orchestrate.security.secrets.config import (
    CONFIG_FILE,
    load_secrets_config,
    parse_secrets_config,
)
from orchestrate.security.secrets.diff import scan_diff
from orchestrate.security.secrets.engine import SUPPRESSION_MARKERS, Detector
from orchestrate.security.secrets.findings import TOOL, redact
from orchestrate.security.secrets.history import scan_git_history
from orchestrate.security.secrets.models import Rule, RuleKind, SecretsConfig
from orchestrate.security.secrets.rules import RULES
from orchestrate.security.secrets.tree import scan_tree

__all__ = [
    "CONFIG_FILE",
    "RULES",
    "SUPPRESSION_MARKERS",
    "TOOL",
    "Detector",
    "Rule",
    "RuleKind",
    "SecretsConfig",
    "load_secrets_config",
    "parse_secrets_config",
    "redact",
    "scan_diff",
    "scan_git_history",
    "scan_tree",
]
