"""Whether a version is affected by an OSV ``affected`` entry, and its first fix.

The OSV schema's evaluation, exactly: each range's events are sorted by version (the
range type's ordering; ``introduced: "0"`` is below every version); walking them, an
``introduced`` at or below the version makes it vulnerable, a ``fixed`` at or below it
makes it safe again, a ``last_affected`` below it makes it safe again; ``limit`` events
cap the range (the version must be below one of them). An entry affects the version if
any range does or if its ``versions`` list names it. ``GIT`` ranges hold commits, which a
lockfile does not give, so they are ignored (their ``versions`` list still counts).

Anything that cannot be ordered — the installed version or an event's — makes the answer
``UNKNOWN`` rather than a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from orchestrate.security.advisories.versions import (
    Comparable,
    RangeKind,
    parse_version,
    same_version,
)
from orchestrate.security.models import Ecosystem


class Verdict(StrEnum):
    AFFECTED = "affected"
    NOT_AFFECTED = "not_affected"
    UNKNOWN = "unknown"


class EventKind(StrEnum):
    INTRODUCED = "introduced"
    FIXED = "fixed"
    LAST_AFFECTED = "last_affected"
    LIMIT = "limit"


@dataclass(frozen=True, slots=True)
class RangeEvent:
    kind: EventKind
    version: str


@dataclass(frozen=True, slots=True)
class VersionRange:
    """One OSV range: its type (``SEMVER``, ``ECOSYSTEM``, ``GIT``) and its events."""

    type: str
    events: tuple[RangeEvent, ...]


@dataclass(frozen=True, slots=True)
class AffectedPackage:
    """One ``affected`` entry of an advisory, for one package."""

    ecosystem: str
    name: str
    ranges: tuple[VersionRange, ...] = ()
    versions: tuple[str, ...] = ()


_BOTTOM = "0"
_UNBOUNDED_LIMIT = "*"
# At equal versions an introduction applies before what ends it.
_ORDER_AT_EQUAL = {
    EventKind.INTRODUCED: 0,
    EventKind.LAST_AFFECTED: 1,
    EventKind.FIXED: 2,
    EventKind.LIMIT: 3,
}


class _Unordered(Exception):
    """An event's version cannot be parsed with the range's ordering."""


def verdict(package: AffectedPackage, ecosystem: Ecosystem, version: str) -> Verdict:
    """Whether ``version`` of the package is affected by this entry."""
    if any(same_version(ecosystem, listed, version) for listed in package.versions):
        return Verdict.AFFECTED
    is_unknown = False
    for version_range in package.ranges:
        if version_range.type not in (RangeKind.SEMVER, RangeKind.ECOSYSTEM):
            continue
        installed = parse_version(ecosystem, version, version_range.type)
        if installed is None:
            is_unknown = True
            continue
        try:
            if _range_affects(version_range, ecosystem, installed):
                return Verdict.AFFECTED
        except _Unordered:
            is_unknown = True
    return Verdict.UNKNOWN if is_unknown else Verdict.NOT_AFFECTED


def fixed_versions(package: AffectedPackage) -> list[str]:
    """Every ``fixed`` event of the entry's version ranges, as written."""
    return [
        event.version
        for version_range in package.ranges
        if version_range.type in (RangeKind.SEMVER, RangeKind.ECOSYSTEM)
        for event in version_range.events
        if event.kind is EventKind.FIXED
    ]


def first_fix_above(
    packages: Sequence[AffectedPackage], ecosystem: Ecosystem, version: str
) -> str | None:
    """The lowest version above ``version`` that none of ``packages`` affects, among
    their ``fixed`` events; ``None`` when no fixed version clears them all."""
    installed = parse_version(ecosystem, version)
    if installed is None:
        return None
    candidates: list[tuple[Comparable, str]] = []
    for package in packages:
        for text in fixed_versions(package):
            parsed = parse_version(ecosystem, text)
            if parsed is not None and type(parsed) is type(installed) and installed < parsed:
                candidates.append((parsed, text))
    candidates.sort(key=lambda pair: pair[0])
    for _parsed, text in candidates:
        if all(verdict(package, ecosystem, text) is Verdict.NOT_AFFECTED for package in packages):
            return text
    return None


def _range_affects(
    version_range: VersionRange, ecosystem: Ecosystem, installed: Comparable
) -> bool:
    events = [
        (
            None
            if event.version == _BOTTOM and event.kind is EventKind.INTRODUCED
            else _parse(ecosystem, event.version, version_range.type, installed),
            event,
        )
        for event in version_range.events
        if not (event.kind is EventKind.LIMIT and event.version == _UNBOUNDED_LIMIT)
    ]
    limits = [parsed for parsed, event in events if event.kind is EventKind.LIMIT]
    if limits and not any(parsed is not None and installed < parsed for parsed in limits):
        return False
    ordered = sorted(
        (pair for pair in events if pair[1].kind is not EventKind.LIMIT),
        key=_SortKey.of,
    )
    is_affected = False
    for parsed, event in ordered:
        if event.kind is EventKind.INTRODUCED:
            is_affected = is_affected or parsed is None or not installed < parsed
        elif parsed is None:
            continue
        elif (event.kind is EventKind.FIXED and not installed < parsed) or (
            event.kind is EventKind.LAST_AFFECTED and parsed < installed
        ):
            is_affected = False
    return is_affected


def _parse(ecosystem: Ecosystem, text: str, kind: str, installed: Comparable) -> Comparable:
    parsed = parse_version(ecosystem, text, kind)
    if parsed is None or type(parsed) is not type(installed):
        raise _Unordered(text)
    return parsed


@dataclass(frozen=True)
class _SortKey:
    """Orders ``(parsed, event)`` pairs: the bottom first, then by version, then kind."""

    parsed: Comparable | None
    rank: int

    @classmethod
    def of(cls, pair: tuple[Comparable | None, RangeEvent]) -> _SortKey:
        return cls(pair[0], _ORDER_AT_EQUAL[pair[1].kind])

    def __lt__(self, other: _SortKey) -> bool:
        if self.parsed is None or other.parsed is None:
            if self.parsed is None and other.parsed is None:
                return self.rank < other.rank
            return self.parsed is None
        if self.parsed == other.parsed:
            return self.rank < other.rank
        return bool(self.parsed < other.parsed)
