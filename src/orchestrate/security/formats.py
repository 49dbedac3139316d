"""A scan report written as SARIF, JSON, Markdown or HTML.

Findings carry text from the scanned files and from advisories — hostile input. The
Markdown writer escapes what Markdown would interpret (a ``|`` must not break a table, a
backtick must not open code, a link must not be made), and the HTML writer autoescapes
through Jinja2; neither ever prints a secret, only the scanner's redacted snippet.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from orchestrate.security.models import Category, Finding
from orchestrate.security.report import ScanReport, ordered
from orchestrate.security.sarif import to_sarif

REPORT_VERSION = 1

_CATEGORY_TITLES = {
    Category.SECRET: "Secrets",
    Category.SAST: "Code (SAST)",
    Category.DEPENDENCY: "Vulnerable dependencies",
    Category.LICENSE: "Licences",
}
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()<>#+!|~])")
_environment = Environment(
    loader=PackageLoader("orchestrate.security", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


class OutputFormat(StrEnum):
    SARIF = "sarif"
    JSON = "json"
    MARKDOWN = "md"
    HTML = "html"

    @property
    def media_type(self) -> str:
        """What the API and the dashboard serve the report as."""
        return _MEDIA_TYPES[self]

    @property
    def extension(self) -> str:
        """A downloaded report's file extension."""
        return self.value


_MEDIA_TYPES = {
    OutputFormat.SARIF: "application/sarif+json",
    OutputFormat.JSON: "application/json",
    OutputFormat.MARKDOWN: "text/markdown; charset=utf-8",
    OutputFormat.HTML: "text/html; charset=utf-8",
}


def render(report: ScanReport, output: OutputFormat) -> str:
    """The report in ``output`` format, ending in a newline."""
    if output is OutputFormat.SARIF:
        return json.dumps(to_sarif(report.sarif_input()), indent=2, ensure_ascii=False) + "\n"
    if output is OutputFormat.JSON:
        return json.dumps(report_document(report), indent=2, ensure_ascii=False) + "\n"
    if output is OutputFormat.MARKDOWN:
        return render_markdown(report)
    return _environment.get_template("report.html").render(
        report=report,
        findings=_grouped(report),
        counts=report.counts(),
        titles=_CATEGORY_TITLES,
    )


def report_document(report: ScanReport) -> dict[str, Any]:
    """The JSON report: every field a script needs, stable key names (``version`` 1)."""
    return {
        "version": REPORT_VERSION,
        "root": report.root,
        "categories": sorted(category.value for category in report.categories),
        "started_at": report.started_at.isoformat(),
        "finished_at": report.finished_at.isoformat(),
        "fail_on": report.fail_on.value,
        "passed": report.passed,
        "summary": {
            "new": len(report.new),
            "baselined": len(report.baselined),
            "failing": len(report.failing),
            "by_severity": report.counts(),
            "dependencies": report.dependency_count,
        },
        "findings": [
            *(finding_document(f, "new") for f in ordered(report.new)),
            *(finding_document(f, "baselined") for f in ordered(report.baselined)),
        ],
        "notices": [
            {"tool": notice.tool, "level": notice.level, "message": notice.message}
            for notice in report.notices
        ],
    }


def finding_document(finding: Finding, state: str) -> dict[str, Any]:
    """One finding as JSON (the report's and the API's shape)."""
    location = finding.location
    document: dict[str, Any] = {
        "rule_id": finding.rule_id,
        "category": finding.category.value,
        "severity": finding.severity.value,
        "title": finding.title,
        "message": finding.message,
        "tool": finding.tool,
        "fingerprint": finding.fingerprint,
        "state": state,
        "location": {
            "path": location.path,
            "start_line": location.start_line,
            "end_line": location.end_line,
            "start_column": location.start_column,
            "end_column": location.end_column,
            "commit": location.commit,
        },
        "snippet": finding.snippet,
        "help_uri": finding.help_uri,
        "properties": dict(finding.properties),
        "fix": None,
    }
    if finding.fix is not None:
        document["fix"] = {
            "ecosystem": finding.fix.ecosystem.value,
            "package": finding.fix.package,
            "from": finding.fix.current,
            "to": finding.fix.fixed,
            "file": finding.fix.source,
        }
    return document


def render_markdown(report: ScanReport) -> str:
    """A Markdown report for a pull request comment or a job summary."""
    verdict = "passed" if report.passed else "failed"
    lines = [
        "# Security scan",
        "",
        f"**Gate {verdict}**: {len(report.failing)} new finding(s) at or above "
        f"{report.fail_on.value}; {len(report.new)} new, {len(report.baselined)} in the "
        f"baseline.",
        "",
        "| severity | new |",
        "|---|---:|",
        *(f"| {severity} | {count} |" for severity, count in report.counts().items()),
    ]
    for category, findings in _grouped(report).items():
        lines += ["", f"## {_CATEGORY_TITLES[category]}", ""]
        lines += ["| severity | rule | where | finding | fix |", "|---|---|---|---|---|"]
        lines += [_markdown_row(finding) for finding in findings]
    if report.notices:
        lines += ["", "## Notices", ""]
        lines += [f"- {_md(notice.tool)}: {_md(notice.message)}" for notice in report.notices]
    return "\n".join(lines) + "\n"


def _markdown_row(finding: Finding) -> str:
    where = finding.location.path
    if finding.location.start_line:
        where += f":{finding.location.start_line}"
    if finding.location.commit:
        where += f" ({finding.location.commit[:12]})"
    fix = ""
    if finding.fix is not None:
        fix = f"{finding.fix.package} {finding.fix.current} → {finding.fix.fixed}"
    cells = (finding.severity.value, finding.rule_id, where, finding.title, fix)
    return "| " + " | ".join(_md(cell) for cell in cells) + " |"


def _md(text: str) -> str:
    """Text as literal Markdown on one table line."""
    flat = " ".join(text.split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", flat)


def _grouped(report: ScanReport) -> dict[Category, list[Finding]]:
    groups: dict[Category, list[Finding]] = {}
    for finding in ordered(report.new):
        groups.setdefault(finding.category, []).append(finding)
    return {category: groups[category] for category in Category if category in groups}
