"""Detections become findings: a place, a redacted snippet, a content fingerprint.

The secret never leaves this module in clear: the snippet shows at most its first four
characters (fewer for a short value), and the fingerprint is a hash of the rule, the
path and the value (``models.fingerprint``), so the same secret in the same file is the
same finding whatever line it moves to, and whichever commit it is in after a rebase or
a squash.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Sequence

from orchestrate.security.models import Category, Finding, Location, fingerprint
from orchestrate.security.secrets.models import Hit

TOOL = "orchestrate-secrets"
RULE_PREFIX = "secrets/"
_NEWLINE = re.compile(rb"\n")


def redact(secret: bytes) -> str:
    """At most the first four characters, then an ellipsis: enough to recognise a key's
    kind (``ghp_``, ``AKIA``), never enough to use it."""
    text = secret.decode("utf-8", "replace")
    return text[: min(4, len(text) // 5)] + "…"


def secret_fingerprint(rule_id: str, path: str, secret: bytes) -> str:
    return fingerprint(f"{RULE_PREFIX}{rule_id}", path, secret.decode("utf-8", "surrogateescape"))


def to_findings(
    hits: Sequence[Hit],
    data: bytes,
    path: str,
    *,
    line_numbers: Sequence[int] | None = None,
    commit: str | None = None,
) -> list[Finding]:
    """Findings for ``hits`` in ``data``. ``line_numbers[i]`` is the real line of the
    ``i``-th line of ``data`` when ``data`` holds only some lines of a file (a diff's
    added lines); otherwise lines count from 1."""
    if not hits:
        return []
    newlines = [match.start() for match in _NEWLINE.finditer(data)]
    return [_finding(hit, data, path, newlines, line_numbers, commit) for hit in hits]


def _finding(
    hit: Hit,
    data: bytes,
    path: str,
    newlines: list[int],
    line_numbers: Sequence[int] | None,
    commit: str | None,
) -> Finding:
    rule = hit.rule
    rule_id = f"{RULE_PREFIX}{rule.id}"
    start_index = bisect_right(newlines, hit.start - 1)
    end_index = bisect_right(newlines, max(hit.start, hit.end - 1) - 1)
    start_line_offset = newlines[start_index - 1] + 1 if start_index else 0
    end_line_offset = newlines[end_index - 1] + 1 if end_index else 0
    start_column = _column(data, start_line_offset, hit.start)
    end_column = _column(data, end_line_offset, hit.end)
    if line_numbers is not None:
        start_line, end_line = line_numbers[start_index], line_numbers[end_index]
    else:
        start_line, end_line = start_index + 1, end_index + 1
    where = f"{path}:{start_line}" + (f" (commit {commit[:12]})" if commit else "")
    return Finding(
        rule_id=rule_id,
        category=Category.SECRET,
        severity=rule.severity,
        title=rule.title,
        message=f"{rule.title} in {where}. {rule.remediation}",
        location=Location(path, start_line, end_line, start_column, end_column, commit),
        fingerprint=secret_fingerprint(rule.id, path, hit.secret),
        tool=TOOL,
        snippet=redact(hit.secret),
        help_uri=rule.help_uri,
        properties=dict(hit.properties),
    )


def _column(data: bytes, line_offset: int, offset: int) -> int:
    """1-based column in characters (UTF-8 decoded), not bytes."""
    return len(data[line_offset:offset].decode("utf-8", "replace")) + 1
