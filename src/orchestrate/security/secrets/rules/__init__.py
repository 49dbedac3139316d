"""Every built-in rule, provider rules first and the two generic ones last."""

from __future__ import annotations

from orchestrate.security.secrets.models import Rule
from orchestrate.security.secrets.rules import ai, cloud, code_hosts, generic, keys, saas

RULES: tuple[Rule, ...] = (
    *code_hosts.RULES,
    *cloud.RULES,
    *saas.RULES,
    *ai.RULES,
    *keys.RULES,
    *generic.RULES,
)

RULES_BY_ID = {rule.id: rule for rule in RULES}
assert len(RULES_BY_ID) == len(RULES), "rule ids are unique"

__all__ = ["RULES", "RULES_BY_ID"]
