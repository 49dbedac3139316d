"""Version ordering per ecosystem, as the OSV schema's ranges need it.

OSV compares a range's events with the ordering its ``type`` names: ``SEMVER`` with
Semantic Versioning 2.0 (prereleases before the release, build metadata ignored), and
``ECOSYSTEM`` with the ecosystem's own — PEP 440 for PyPI, semver for npm and crates.io,
Go's semver for Go modules. Go versions carry a ``v`` and may be ``+incompatible`` (build
metadata) or pseudo-versions, which are ordinary semver prereleases by construction:
``v0.0.0-20191109021931-daa7c04131f5`` sorts by its timestamp among ``v0.0.0`` prereleases,
``v1.2.3-pre.0.2019…`` after ``v1.2.3-pre`` and ``v1.2.4-0.2019…`` after ``v1.2.3`` and
before any other ``v1.2.4`` prerelease. A version that parses under none of these is
``None``: the caller reports it as unknown, never as safe or vulnerable.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache, total_ordering

import semver
from packaging.version import InvalidVersion, Version

from orchestrate.security.models import Ecosystem

_MAX_VERSION_LENGTH = 256
_GO_SHORT = re.compile(r"^v?(\d{1,20})(?:\.(\d{1,20}))?$")
"""Go's ``v1`` and ``v1.2`` stand for ``v1.0.0`` and ``v1.2.0``."""


@total_ordering
@dataclass(frozen=True, slots=True)
class SemVer:
    """A Semantic Versioning 2.0 version, compared as the specification says (via
    ``semver``, which ignores build metadata when comparing)."""

    parsed: semver.Version

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self.parsed.compare(other.parsed) < 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SemVer):
            return NotImplemented
        return self.parsed.compare(other.parsed) == 0

    def __hash__(self) -> int:
        return hash(self.parsed.replace(build=None))


Comparable = Version | SemVer
"""What a parsed version is; two of the same ecosystem compare with ``<`` and ``==``."""


class RangeKind(StrEnum):
    """The OSV range types whose events are versions (``GIT`` events are commits)."""

    SEMVER = "SEMVER"
    ECOSYSTEM = "ECOSYSTEM"


def parse_semver(text: str, *, allow_v: bool = True) -> SemVer | None:
    """``text`` as semver; a leading ``v`` is accepted (Go, some npm tags) when allowed."""
    if not text or len(text) > _MAX_VERSION_LENGTH:
        return None
    candidate = text[1:] if allow_v and text[0] in "vV" else text
    try:
        return SemVer(semver.Version.parse(candidate))
    except (ValueError, TypeError):
        return None


def parse_go(text: str) -> SemVer | None:
    """A Go module version: ``v1.2.3``, ``v2.0.0+incompatible``, a pseudo-version, or the
    shorthand ``v1``/``v1.2``; OSV's Go ranges write the same without the ``v``."""
    short = _GO_SHORT.match(text) if len(text) <= _MAX_VERSION_LENGTH else None
    if short is not None:
        return SemVer(semver.Version(int(short.group(1)), int(short.group(2) or 0), 0))
    return parse_semver(text, allow_v=True)


def parse_pep440(text: str) -> Version | None:
    if not text or len(text) > _MAX_VERSION_LENGTH:
        return None
    try:
        return Version(text)
    except InvalidVersion:
        return None


@lru_cache(maxsize=65_536)  # a match parses the same range events for every dependency
def parse_version(
    ecosystem: Ecosystem, text: str, kind: str = RangeKind.ECOSYSTEM
) -> Comparable | None:
    """``text`` parsed with the ordering ``kind`` (an OSV range type) uses in ``ecosystem``."""
    if ecosystem is Ecosystem.GO:
        return parse_go(text)
    if kind == RangeKind.SEMVER:
        return parse_semver(text)
    if ecosystem is Ecosystem.PYPI:
        return parse_pep440(text)
    return parse_semver(text, allow_v=False) or parse_semver(text)


def same_version(ecosystem: Ecosystem, left: str, right: str) -> bool:
    """Whether two version strings name the same release (an OSV ``versions`` entry):
    equal text, or equal once parsed (``1.0`` and ``1.0.0`` on PyPI)."""
    if left == right:
        return True
    parsed_left = parse_version(ecosystem, left)
    parsed_right = parse_version(ecosystem, right)
    if parsed_left is None or parsed_right is None or type(parsed_left) is not type(parsed_right):
        return False
    return parsed_left == parsed_right
