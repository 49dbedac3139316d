"""Findings for the report, baseline and SARIF tests, built as each scanner builds them."""

from __future__ import annotations

from orchestrate.security.models import (
    Category,
    DependencyBump,
    Ecosystem,
    Finding,
    Location,
    Severity,
    fingerprint,
)


def secret_finding(path: str = "config/settings.py", line: int = 12) -> Finding:
    rule = "secrets/github-pat"
    return Finding(
        rule_id=rule,
        category=Category.SECRET,
        severity=Severity.HIGH,
        title="GitHub personal access token",
        message="A GitHub personal access token is committed in config/settings.py.",
        location=Location(path, line, line, 9, 49),
        fingerprint=fingerprint(rule, "ghp_" + "A" * 36),
        tool="orchestrate-secrets",
        snippet="ghp_…",
    )


def sast_finding(line: int = 4) -> Finding:
    rule = "bandit/B602"
    return Finding(
        rule_id=rule,
        category=Category.SAST,
        severity=Severity.HIGH,
        title="subprocess call with shell=True",
        message="subprocess call with shell=True identified, security issue.",
        location=Location("app/run.py", line, line, 5, 40),
        fingerprint=fingerprint(rule, "app/run.py", "subprocess.call(cmd, shell=True)"),
        tool="bandit",
        snippet="subprocess.call(cmd, shell=True)",
        properties={"cwe": "CWE-78", "confidence": "high"},
    )


def dependency_finding() -> Finding:
    rule = "osv/GHSA-j8r2-6x86-q33q"
    return Finding(
        rule_id=rule,
        category=Category.DEPENDENCY,
        severity=Severity.MEDIUM,
        title="requests 2.25.0: Unintended leak of Proxy-Authorization header",
        message="requests 2.25.0 is affected by GHSA-j8r2-6x86-q33q; 2.31.0 fixes it.",
        location=Location("requirements.txt", 3),
        fingerprint=fingerprint(rule, "PyPI", "requests", "2.25.0", "requirements.txt"),
        tool="osv",
        fix=DependencyBump(Ecosystem.PYPI, "requests", "2.25.0", "2.31.0", "requirements.txt"),
        properties={"package": "requests", "version": "2.25.0", "aliases": "CVE-2023-32681"},
    )


def license_finding() -> Finding:
    rule = "license/denied"
    return Finding(
        rule_id=rule,
        category=Category.LICENSE,
        severity=Severity.HIGH,
        title="left-pad 1.3.0 is under AGPL-3.0-only, which the policy denies",
        message="left-pad 1.3.0 (AGPL-3.0-only) is denied by the licence policy.",
        location=Location("package-lock.json"),
        fingerprint=fingerprint(rule, "npm", "left-pad", "1.3.0", "AGPL-3.0-only"),
        tool="orchestrate-licenses",
    )


def every_kind() -> list[Finding]:
    return [secret_finding(), sast_finding(), dependency_finding(), license_finding()]
