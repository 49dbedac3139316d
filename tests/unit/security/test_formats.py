"""Reports in every format: complete, and safe with hostile text in findings."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser

from orchestrate.security.formats import OutputFormat, render
from orchestrate.security.models import Category, Severity
from orchestrate.security.report import ScanReport
from orchestrate.security.sarif import ToolNotice
from tests.unit.security.findings import (
    dependency_finding,
    every_kind,
    license_finding,
    sast_finding,
    secret_finding,
)
from tests.unit.security.sarif_schema import assert_valid_sarif

STARTED = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def report(**changes: object) -> ScanReport:
    base = ScanReport(
        root="/work/shop",
        categories=frozenset(Category),
        fail_on=Severity.HIGH,
        started_at=STARTED,
        finished_at=STARTED,
        new=(dependency_finding(), license_finding(), secret_finding()),
        baselined=(sast_finding(),),
        has_baseline=True,
        dependency_count=12,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_gate_fails_on_new_findings_at_or_above_its_severity() -> None:
    assert report().failing == (license_finding(), secret_finding())
    assert not report().passed
    assert report(fail_on=Severity.CRITICAL).passed
    assert report(new=(dependency_finding(),)).passed
    assert not report(new=(dependency_finding(),), fail_on=Severity.MEDIUM).passed


def test_json_report_lists_new_then_baselined_most_severe_first() -> None:
    document = json.loads(render(report(), OutputFormat.JSON))

    assert document["passed"] is False
    assert document["summary"] == {
        "new": 3,
        "baselined": 1,
        "failing": 2,
        "by_severity": {"critical": 0, "high": 2, "medium": 1, "low": 0, "info": 0},
        "dependencies": 12,
    }
    assert [(f["rule_id"], f["state"]) for f in document["findings"]] == [
        ("secrets/github-pat", "new"),
        ("license/denied", "new"),
        ("osv/GHSA-j8r2-6x86-q33q", "new"),
        ("bandit/B602", "baselined"),
    ]
    osv = document["findings"][2]
    assert osv["fix"] == {
        "ecosystem": "PyPI",
        "package": "requests",
        "from": "2.25.0",
        "to": "2.31.0",
        "file": "requirements.txt",
    }


def test_sarif_format_is_valid() -> None:
    assert_valid_sarif(json.loads(render(report(), OutputFormat.SARIF)))


def test_markdown_report_has_the_verdict_a_table_per_category_and_the_fix() -> None:
    text = render(report(notices=(ToolNotice("semgrep", "not installed"),)), OutputFormat.MARKDOWN)

    assert "**Gate failed**: 2 new finding(s) at or above high" in text
    assert "## Secrets" in text
    assert "## Vulnerable dependencies" in text
    assert "requests 2.25.0 → 2.31.0" in text
    assert "## Code (SAST)" not in text  # its only finding is in the baseline
    assert "- semgrep: not installed" in text


def test_markdown_escapes_hostile_text_so_tables_and_links_hold() -> None:
    hostile = replace(
        sast_finding(),
        title="boom | ![x](https://evil.example/p.png) `code` <script>",
        location=replace(sast_finding().location, path="a|b.py"),
    )
    text = render(report(new=(hostile,), baselined=()), OutputFormat.MARKDOWN)
    row = next(line for line in text.splitlines() if line.startswith("| high | bandit"))

    assert row.count(" | ") == 4  # five cells, no extra column from the title's pipe
    assert "![x](" not in text
    assert "\\`code\\`" in row
    assert "\\<script\\>" in row


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_report_escapes_hostile_text_and_keeps_only_web_links() -> None:
    hostile = replace(
        secret_finding(),
        title='<img src=x onerror="alert(1)">',
        help_uri="javascript:alert(1)",
    )
    html = render(report(new=(hostile, *every_kind()[1:])), OutputFormat.HTML)
    parsed = _Collector()
    parsed.feed(html)

    assert "img" not in parsed.tags
    assert "script" not in parsed.tags
    assert "javascript:" not in html
    assert '<img src=x onerror="alert(1)">' in "".join(parsed.text)
    assert "Gate" in html
    assert 'lang="en"' in html
