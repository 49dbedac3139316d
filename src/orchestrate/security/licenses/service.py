"""Licence compliance of a project's dependencies: each dependency's licence (from its
lockfile, else installed metadata) judged by the policy, as findings.

Severities: a denied licence is ``high`` (it blocks at the default ``--fail-on``), one to
review is ``medium``, one that could not be determined is ``low`` (an unknown is a gap
in the evidence, not a violation). Allowed licences produce no finding.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from orchestrate.security.licenses import sources
from orchestrate.security.licenses.models import LicensePolicy, ResolvedLicense, Verdict
from orchestrate.security.licenses.spdx import evaluate
from orchestrate.security.models import (
    Category,
    Dependency,
    Ecosystem,
    Finding,
    Location,
    Severity,
    fingerprint,
)

TOOL = "orchestrate-licenses"
_SEVERITY = {Verdict.DENIED: Severity.HIGH, Verdict.REVIEW: Severity.MEDIUM}


def check_licenses(
    dependencies: Sequence[Dependency],
    policy: LicensePolicy,
    *,
    root: Path,
    python_paths: Sequence[Path] | None = None,
) -> list[Finding]:
    """Findings for every dependency whose licence is denied, needs review or is
    unknown, sorted by source file, line and package.

    ``python_paths`` are the site-packages folders whose installed distributions tell
    the licence of PyPI packages; ``None`` means the current interpreter's. ``root`` is
    where npm's ``node_modules`` is looked for. Reads files, never the network.
    """
    python: sources.PythonEnvironment | None = None
    findings = []
    for dependency in dependencies:
        if dependency.ecosystem is Ecosystem.PYPI and python is None and not dependency.licenses:
            python = sources.PythonEnvironment(python_paths)
        resolved = resolve_license(dependency, root=root, python=python)
        finding = _finding(dependency, resolved, policy)
        if finding is not None:
            findings.append(finding)
    return sorted(
        findings,
        key=lambda f: (f.location.path, f.location.start_line or 0, f.properties["package"]),
    )


def resolve_license(
    dependency: Dependency, *, root: Path, python: sources.PythonEnvironment | None
) -> ResolvedLicense:
    """Where the licence of one dependency is found, in order of trust: the lockfile's
    own metadata, then what the installed package says."""
    if dependency.licenses:
        return sources.from_expression_texts(dependency.licenses, f"lockfile {dependency.source}")
    found: ResolvedLicense | None = None
    if dependency.ecosystem is Ecosystem.PYPI and python is not None:
        found = python.license_of(dependency)
    elif dependency.ecosystem is Ecosystem.NPM:
        found = sources.npm_license(root, dependency)
    elif dependency.ecosystem is Ecosystem.CRATES_IO:
        found = sources.crate_license(dependency)
    elif dependency.ecosystem is Ecosystem.GO:
        found = sources.go_license(dependency)
    return found or ResolvedLicense(None, "", "not found (no lockfile metadata, not installed)")


def _finding(
    dependency: Dependency, resolved: ResolvedLicense, policy: LicensePolicy
) -> Finding | None:
    package = f"{dependency.name}@{dependency.version}" if dependency.version else dependency.name
    properties = {
        "package": dependency.name,
        "version": dependency.version or "",
        "ecosystem": dependency.ecosystem.value,
        "expression": resolved.expression or "",
        "license_text": resolved.raw[:200],
        "license_source": resolved.origin,
    }
    if resolved.expression is None:
        rule_id = "license/unknown"
        severity = Severity.LOW
        shown = resolved.raw[:80] or "none found"
        title = f"Unknown licence: {package}"
        message = (
            f"The licence of {dependency.ecosystem.value} package {package} could not be "
            f"determined ({shown}; looked in {resolved.origin}). Check it by hand, or "
            "install the dependencies so their metadata can be read."
        )
    else:
        evaluation = evaluate(resolved.expression, policy)
        if evaluation.verdict is Verdict.ALLOWED:
            return None
        rule_id = f"license/{evaluation.verdict.value}"
        severity = _SEVERITY[evaluation.verdict]
        deciding = ", ".join(evaluation.deciding)
        properties["deciding_licenses"] = deciding
        verb = "is denied" if evaluation.verdict is Verdict.DENIED else "needs review"
        title = f"Licence {resolved.expression} {verb}: {package}"
        message = (
            f"{dependency.ecosystem.value} package {package} is licensed "
            f"{resolved.expression} (from {resolved.origin}); by the licence policy "
            f"{deciding} {verb}."
        )
    return Finding(
        rule_id=rule_id,
        category=Category.LICENSE,
        severity=severity,
        title=title,
        message=message,
        location=Location(path=dependency.source, start_line=dependency.line),
        fingerprint=fingerprint(
            rule_id,
            dependency.ecosystem.value,
            dependency.name,
            dependency.version or "",
            resolved.expression or "",
        ),
        tool=TOOL,
        properties=properties,
    )
