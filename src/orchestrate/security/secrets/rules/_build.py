"""Constructors that keep the rule tables short and their regular expressions fast.

A pattern should start with a literal (``ghp_``, ``xox``): Python's ``re`` then skips
through text at gigabytes a second looking for it, where a leading character class or
lookbehind drops it to tens of megabytes. So no pattern starts with a boundary
assertion; the engine checks that the character before a match is not part of a word.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from orchestrate.security.models import Severity
from orchestrate.security.secrets.models import Rule, RuleKind, Validator

# Ends a token: the next character is not one a token of that alphabet could hold.
END = r"(?![A-Za-z0-9_-])"
END_ALNUM = r"(?![A-Za-z0-9])"


def on_secret(check: Callable[[bytes], bool]) -> Validator:
    """A validator that looks at the secret alone."""
    return lambda secret, _context: check(secret)


def pattern_rule(
    rule_id: str,
    title: str,
    pattern: str,
    keywords: tuple[str, ...],
    *,
    severity: Severity = Severity.HIGH,
    description: str | None = None,
    min_entropy: float | None = None,
    validator: Validator | None = None,
    priority: int = 2,
    help_uri: str | None = None,
    flags: int = 0,
    normalise: Callable[[bytes], bytes] | None = None,
) -> Rule:
    return Rule(
        id=rule_id,
        title=title,
        description=description or f"A {title} grants access to the account that issued it.",
        severity=severity,
        keywords=keywords,
        kind=RuleKind.PATTERN,
        pattern=re.compile(pattern.encode(), flags),
        min_entropy=min_entropy,
        validator=validator,
        priority=priority,
        help_uri=help_uri,
        normalise=normalise,
    )


def keyed_rule(
    rule_id: str,
    title: str,
    key_pattern: str,
    value_pattern: str,
    keywords: tuple[str, ...],
    *,
    severity: Severity = Severity.HIGH,
    description: str | None = None,
    min_entropy: float | None = None,
    help_uri: str | None = None,
) -> Rule:
    """A value of a known shape assigned to a key that names the provider: the shape
    alone (32 hex characters, a UUID) would match far too much without the key."""
    return Rule(
        id=rule_id,
        title=title,
        description=description or f"A {title} grants access to the account that issued it.",
        severity=severity,
        keywords=keywords,
        kind=RuleKind.KEYED,
        key_pattern=re.compile(key_pattern),
        value_pattern=re.compile(value_pattern.encode()),
        min_entropy=min_entropy,
        priority=3,
        help_uri=help_uri,
    )
