"""SARIF 2.1.0: the format GitHub code scanning (and most security dashboards) ingest.

One run per tool (orchestrate-secrets, bandit, semgrep, osv, licenses), each with the
descriptors of the rules its results use. What code scanning relies on is kept stable:
``ruleId`` never changes for a rule, ``partialFingerprints`` carries our content
fingerprint (so an alert survives a line move), ``properties.security-severity`` is the
numeric severity GitHub sorts by, and ``automationDetails.id`` separates our tools'
analyses. With a baseline, each result says whether it is ``new`` or ``unchanged``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from orchestrate.security.models import Category, Finding, Severity

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
FINGERPRINT_KEY = "orchestrate/v1"
INFORMATION_URI = "https://github.com/orchestrate-dev/orchestrate/blob/main/docs/security.md"

_LEVEL = {
    Severity.CRITICAL: "error",
    Severity.HIGH: "error",
    Severity.MEDIUM: "warning",
    Severity.LOW: "note",
    Severity.INFO: "note",
}
# GitHub reads this as CVSS-like: >= 9 critical, 7-8.9 high, 4-6.9 medium, 0.1-3.9 low.
_SECURITY_SEVERITY = {
    Severity.CRITICAL: "9.5",
    Severity.HIGH: "8.0",
    Severity.MEDIUM: "5.5",
    Severity.LOW: "2.0",
    Severity.INFO: "0.0",
}
_TOOL_NAMES = {
    "orchestrate-secrets": "Orchestrate secret scanner",
    "bandit": "Bandit",
    "semgrep": "Semgrep",
    "osv": "Orchestrate dependency scanner (OSV)",
    "orchestrate-licenses": "Orchestrate licence checker",
}
_TOOL_URIS = {
    "bandit": "https://bandit.readthedocs.io/",
    "semgrep": "https://semgrep.dev/",
    "osv": "https://osv.dev/",
}


@dataclass(frozen=True)
class RuleDescriptor:
    """What SARIF says of a rule once per run (its results point at it by index)."""

    id: str
    title: str
    description: str
    severity: Severity
    category: Category
    help_text: str = ""
    help_uri: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ToolNotice:
    """Something a tool said about the scan itself (skipped, a file it could not parse)."""

    tool: str
    message: str
    level: str = "warning"  # SARIF notification level: error, warning or note


@dataclass(frozen=True)
class SarifInput:
    """Everything one SARIF log is made from."""

    findings: Sequence[Finding]
    baselined: Sequence[Finding] = ()
    rules: Mapping[str, RuleDescriptor] = field(default_factory=dict)
    notices: Sequence[ToolNotice] = ()
    tool_version: str = "0"
    has_baseline: bool = False


def to_sarif(log: SarifInput) -> dict[str, Any]:
    """The SARIF 2.1.0 log of a scan, as a JSON-ready dict."""
    tools = sorted(
        {finding.tool for finding in (*log.findings, *log.baselined)}
        | {notice.tool for notice in log.notices}
    )
    runs = [_run(tool, log) for tool in tools]
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": runs}


def _run(tool: str, log: SarifInput) -> dict[str, Any]:
    states = [(finding, "new") for finding in log.findings if finding.tool == tool]
    states += [(finding, "unchanged") for finding in log.baselined if finding.tool == tool]
    states.sort(key=lambda pair: _order(pair[0]))
    rule_ids = sorted({finding.rule_id for finding, _ in states})
    index = {rule_id: position for position, rule_id in enumerate(rule_ids)}
    first = {finding.rule_id: finding for finding, _ in reversed(states)}
    driver: dict[str, Any] = {
        "name": tool,
        "fullName": _TOOL_NAMES.get(tool, tool),
        "version": log.tool_version,
        "semanticVersion": log.tool_version,
        "informationUri": _TOOL_URIS.get(tool, INFORMATION_URI),
        "rules": [
            _rule(log.rules.get(rule_id) or _rule_of(first[rule_id])) for rule_id in rule_ids
        ],
    }
    notices = [notice for notice in log.notices if notice.tool == tool]
    return {
        "tool": {"driver": driver},
        "automationDetails": {"id": f"orchestrate/security/{tool}/"},
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": {"%SRCROOT%": {"uri": "file:///"}},
        "invocations": [
            {
                "executionSuccessful": not any(n.level == "error" for n in notices),
                "toolExecutionNotifications": [
                    {"level": notice.level, "message": {"text": notice.message}}
                    for notice in notices
                ],
            }
        ],
        "results": [
            _result(finding, index[finding.rule_id], state if log.has_baseline else None)
            for finding, state in states
        ],
    }


def _order(finding: Finding) -> tuple[str, int, str, str]:
    return (
        finding.location.path,
        finding.location.start_line or 0,
        finding.rule_id,
        finding.fingerprint,
    )


def _rule_of(finding: Finding) -> RuleDescriptor:
    """A descriptor from a finding, for tools whose rules are not declared up front."""
    return RuleDescriptor(
        id=finding.rule_id,
        title=finding.title,
        description=finding.title,
        severity=finding.severity,
        category=finding.category,
        help_uri=finding.help_uri,
    )


def _rule(rule: RuleDescriptor) -> dict[str, Any]:
    descriptor: dict[str, Any] = {
        "id": rule.id,
        "name": _pascal(rule.id),
        "shortDescription": {"text": rule.title},
        "fullDescription": {"text": rule.description or rule.title},
        "defaultConfiguration": {"level": _LEVEL[rule.severity]},
        "help": {"text": rule.help_text or rule.description or rule.title},
        "properties": {
            "tags": sorted({"security", rule.category.value, *rule.tags}),
            "security-severity": _SECURITY_SEVERITY[rule.severity],
            "precision": "high" if rule.category is not Category.SAST else "medium",
            "problem.severity": _LEVEL[rule.severity].replace("note", "recommendation"),
        },
    }
    if rule.help_uri:
        descriptor["helpUri"] = rule.help_uri
    return descriptor


def _result(finding: Finding, rule_index: int, state: str | None) -> dict[str, Any]:
    result: dict[str, Any] = {
        "ruleId": finding.rule_id,
        "ruleIndex": rule_index,
        "level": _LEVEL[finding.severity],
        "kind": "fail",
        "message": {"text": finding.message or finding.title},
        "locations": [{"physicalLocation": _physical_location(finding)}],
        "partialFingerprints": {FINGERPRINT_KEY: finding.fingerprint},
        "properties": _properties(finding),
    }
    if state is not None:
        result["baselineState"] = state
    return result


def _physical_location(finding: Finding) -> dict[str, Any]:
    location = finding.location
    # Code scanning refuses a result without a region; a lockfile finding whose line is
    # unknown points at the file's first line.
    region: dict[str, Any] = {"startLine": max(location.start_line or 1, 1)}
    if location.end_line and location.end_line >= region["startLine"]:
        region["endLine"] = location.end_line
    if location.start_column and location.start_column >= 1:
        region["startColumn"] = location.start_column
        if location.end_column and (
            location.end_column > location.start_column
            or region.get("endLine", region["startLine"]) > region["startLine"]
        ):
            region["endColumn"] = location.end_column
    if finding.snippet:
        region["snippet"] = {"text": finding.snippet}
    return {
        "artifactLocation": {"uri": _uri(location.path), "uriBaseId": "%SRCROOT%"},
        "region": region,
    }


def _properties(finding: Finding) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "category": finding.category.value,
        "severity": finding.severity.value,
        "security-severity": _SECURITY_SEVERITY[finding.severity],
        **dict(sorted(finding.properties.items())),
    }
    if finding.location.commit:
        properties["commit"] = finding.location.commit
    if finding.fix is not None:
        properties["fix"] = {
            "ecosystem": finding.fix.ecosystem.value,
            "package": finding.fix.package,
            "from": finding.fix.current,
            "to": finding.fix.fixed,
            "file": finding.fix.source,
        }
    return properties


def _uri(path: str) -> str:
    """A relative URI reference: percent-encoded, forward slashes, no leading slash."""
    return quote(path.replace("\\", "/").lstrip("/"), safe="/-._~")


def _pascal(rule_id: str) -> str:
    words = [word for chunk in rule_id.split("/") for word in chunk.replace("_", "-").split("-")]
    return "".join(word[:1].upper() + word[1:] for word in words if word) or "Rule"
