"""The secret engine's values: a rule, the configuration, and a raw detection.

A rule is one of three kinds. A **pattern** rule is a compiled regular expression
searched over a whole file (provider tokens with a fixed prefix: ``ghp_``, ``xoxb-``,
``AKIA``); a **keyed** rule looks at ``key = value`` pairs whose key names something
(``aws_secret_access_key``, ``twilio_auth_token``) and checks the value's shape; a
**generic** rule is a keyed rule whose value is judged by entropy and false-positive
filters instead of a fixed shape. Every rule has keywords: a file in which none occurs
is never searched with that rule, which is most of what makes the scan fast.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from orchestrate.security.models import Severity
from orchestrate.security.secrets.patterns import BytesPattern, TextPattern


class RuleKind(StrEnum):
    PATTERN = "pattern"
    KEYED = "keyed"
    GENERIC = "generic"


# (secret, the whole match or the key it was assigned to) -> may it be real?
Validator = Callable[[bytes, bytes], bool]


@dataclass(frozen=True, eq=False)
class Rule:
    """One kind of secret.

    ``keywords`` are lowercase literals; at least one must occur (case-insensitively) in
    the text for the rule to run. A pattern rule's ``pattern`` names the secret with a
    group called ``secret`` (else the whole match is the secret). A keyed rule's
    ``key_pattern`` is searched in the lowercased key name and ``value_pattern`` must
    match the whole value. ``validator`` (a checksum, a decodable structure) refuses
    candidates that cannot be real. ``priority`` decides which of two overlapping
    detections is kept: the more specific rule.
    """

    id: str
    title: str
    description: str
    severity: Severity
    keywords: tuple[str, ...]
    kind: RuleKind = RuleKind.PATTERN
    pattern: re.Pattern[bytes] | BytesPattern | None = None
    key_pattern: re.Pattern[str] | None = None
    value_pattern: re.Pattern[bytes] | None = None
    min_entropy: float | None = None
    validator: Validator | None = None
    priority: int = 2
    help_uri: str | None = None
    remediation: str = "Revoke the credential with its issuer, then remove it from the code."
    normalise: Callable[[bytes], bytes] | None = None

    @property
    def help_text(self) -> str:
        return f"{self.description} {self.remediation}"

    def __repr__(self) -> str:
        return f"Rule({self.id!r})"


@dataclass(frozen=True)
class SecretsConfig:
    """What ``.orchestrate-secrets.toml`` may change; the defaults when it is absent."""

    allowlist_paths: tuple[str, ...] = ()
    allowlist_regexes: tuple[TextPattern, ...] = ()
    stopwords: tuple[str, ...] = ()
    disabled_rules: frozenset[str] = frozenset()
    custom_rules: tuple[Rule, ...] = ()
    max_file_size: int = 5 * 1024 * 1024
    source: str | None = None


@dataclass(frozen=True, slots=True)
class Hit:
    """A detection inside one text: byte offsets of the secret, before it becomes a
    finding (which needs a path, a line and a redacted snippet)."""

    rule: Rule
    start: int
    end: int
    secret: bytes
    properties: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # never show the secret
        return f"Hit({self.rule.id!r}, {self.start}, {self.end})"
