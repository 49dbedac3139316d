"""Dependencies against the OSV database: which advisories affect which resolved package.

Names are looked up a batch at a time (one query per 500 packages, however many
lockfiles named them); each advisory's ranges are evaluated in Python with the
ecosystem's ordering. A finding carries its own advisory's first fixed version, and its
``fix`` is the bump that clears *every* advisory on that package at once: the lowest
fixed version above the installed one that no affecting advisory still covers. When the
installed version or a range cannot be ordered, the finding says so at ``info`` severity
with ``match=unknown`` rather than calling the package safe or vulnerable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from orchestrate.core.uow import UnitOfWork
from orchestrate.security.advisories import _store
from orchestrate.security.advisories.ranges import (
    AffectedPackage,
    EventKind,
    RangeEvent,
    Verdict,
    VersionRange,
    first_fix_above,
    verdict,
)
from orchestrate.security.dependencies.naming import normalise_name
from orchestrate.security.models import (
    Category,
    Dependency,
    DependencyBump,
    Finding,
    Location,
    Severity,
    fingerprint,
)

TOOL = "osv"


@dataclass(frozen=True, slots=True)
class _Advisory:
    stored: _store.StoredMatch
    entries: tuple[AffectedPackage, ...]


async def find_vulnerabilities(
    uow: UnitOfWork, dependencies: Sequence[Dependency]
) -> list[Finding]:
    """A finding per (dependency, advisory) where the advisory affects the dependency's
    resolved version, or cannot tell; dependencies without an exact version are skipped.
    One finding per fingerprint: a version listed twice in one file is reported once, at
    the first place given."""
    exact = [dep for dep in dependencies if dep.version]
    keys = {(dep.ecosystem.value, normalise_name(dep.ecosystem, dep.name)) for dep in exact}
    async with uow:
        stored = await _store.advisories_naming(uow, sorted(keys))
    by_package = _group(stored)
    findings: dict[str, Finding] = {}
    for dep in exact:
        key = (dep.ecosystem.value, normalise_name(dep.ecosystem, dep.name))
        for finding in _findings_for(dep, by_package.get(key, ())):
            # The same version twice in one lockfile (npm's nested copies) is one finding.
            findings.setdefault(finding.fingerprint, finding)
    return list(findings.values())


def _group(stored: Sequence[_store.StoredMatch]) -> Mapping[tuple[str, str], list[_Advisory]]:
    entries: dict[tuple[str, str, str], list[AffectedPackage]] = defaultdict(list)
    first: dict[tuple[str, str, str], _store.StoredMatch] = {}
    for match in stored:
        key = (match.ecosystem, match.name, match.advisory_id)
        entries[key].append(_entry(match))
        first.setdefault(key, match)
    grouped: dict[tuple[str, str], list[_Advisory]] = defaultdict(list)
    for key, found in entries.items():
        grouped[key[:2]].append(_Advisory(first[key], tuple(found)))
    return grouped


def _entry(match: _store.StoredMatch) -> AffectedPackage:
    return AffectedPackage(
        ecosystem=match.ecosystem,
        name=match.name,
        ranges=tuple(_range(raw) for raw in match.ranges if isinstance(raw, Mapping)),
        versions=tuple(str(version) for version in match.versions),
    )


def _range(raw: Mapping[str, Any]) -> VersionRange:
    events = []
    for event in raw.get("events") or ():
        for kind, version in dict(event).items():
            events.append(RangeEvent(EventKind(kind), str(version)))
    return VersionRange(str(raw.get("type", "")), tuple(events))


def _findings_for(dep: Dependency, advisories: Sequence[_Advisory]) -> list[Finding]:
    assert dep.version is not None
    verdicts = [(advisory, _verdict(advisory, dep)) for advisory in advisories]
    affecting = [advisory for advisory, found in verdicts if found is Verdict.AFFECTED]
    bump_to = first_fix_above([e for a in affecting for e in a.entries], dep.ecosystem, dep.version)
    bump = (
        DependencyBump(dep.ecosystem, dep.name, dep.version, bump_to, dep.source)
        if bump_to is not None
        else None
    )
    return [
        _finding(dep, advisory, found, bump)
        for advisory, found in verdicts
        if found is not Verdict.NOT_AFFECTED
    ]


def _verdict(advisory: _Advisory, dep: Dependency) -> Verdict:
    assert dep.version is not None
    found = {verdict(entry, dep.ecosystem, dep.version) for entry in advisory.entries}
    if Verdict.AFFECTED in found:
        return Verdict.AFFECTED
    return Verdict.UNKNOWN if Verdict.UNKNOWN in found else Verdict.NOT_AFFECTED


def _finding(
    dep: Dependency, advisory: _Advisory, found: Verdict, bump: DependencyBump | None
) -> Finding:
    assert dep.version is not None
    stored = advisory.stored
    rule_id = f"osv/{stored.advisory_id}"
    is_unknown = found is Verdict.UNKNOWN
    fixed = None if is_unknown else first_fix_above(advisory.entries, dep.ecosystem, dep.version)
    aliases = ", ".join(stored.aliases)
    named = f"{stored.advisory_id}" + (f" ({aliases})" if aliases else "")
    if is_unknown:
        message = (
            f"{dep.name} {dep.version} in {dep.source} is named by {named}, but its version "
            f"cannot be ordered against the advisory's ranges: check it by hand."
        )
    else:
        remedy = f"Upgrade to {fixed} or later." if fixed else "No fixed version is known."
        message = f"{dep.name} {dep.version} in {dep.source} is affected by {named}. {remedy}"
    properties = {
        "advisory": stored.advisory_id,
        "ecosystem": dep.ecosystem.value,
        "package": dep.name,
        "version": dep.version,
        "aliases": ",".join(stored.aliases),
        "match": found.value,
        "advisory_severity": stored.severity,
        "dev": "true" if dep.is_dev else "false",
        "direct": "unknown" if dep.is_direct is None else str(dep.is_direct).lower(),
    }
    if fixed is not None:
        properties["fixed_version"] = fixed
    if stored.cvss_score is not None:
        properties["cvss_score"] = f"{stored.cvss_score:.1f}"
    return Finding(
        rule_id=rule_id,
        category=Category.DEPENDENCY,
        severity=Severity.INFO if is_unknown else Severity(stored.severity),
        title=f"{dep.name} {dep.version}: {stored.summary or stored.advisory_id}"[:300],
        message=message,
        location=Location(path=dep.source, start_line=dep.line),
        fingerprint=fingerprint(rule_id, dep.ecosystem.value, dep.name, dep.version, dep.source),
        tool=TOOL,
        help_uri=f"https://osv.dev/vulnerability/{stored.advisory_id}",
        fix=None if is_unknown else bump,
        properties=properties,
    )
