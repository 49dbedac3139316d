"""The finding every scanner produces and every report, baseline and gate consumes.

Four scanners (secrets, SAST, dependency vulnerabilities, licences) speak this one
shape so that SARIF, JSON and Markdown output, the baseline, inline suppressions and the
pipeline gate are written once. A finding's ``fingerprint`` is what makes it the *same*
finding across runs: a hash of its content (the rule and what matched), never of its line
number, so a baseline survives a line move, a rebase and a squash.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

FINGERPRINT_VERSION = "v1"


class Severity(StrEnum):
    """Ordered from least to most severe; ``rank`` compares them."""

    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_ORDER.index(self)

    def at_least(self, other: Severity) -> bool:
        return self.rank >= other.rank


_SEVERITY_ORDER = (
    Severity.INFO,
    Severity.LOW,
    Severity.MEDIUM,
    Severity.HIGH,
    Severity.CRITICAL,
)


class Category(StrEnum):
    """Which scanner found it; also the ``--secrets --sast --deps --licenses`` switches."""

    SECRET = "secret"  # noqa: S105 - a category name, not a password
    SAST = "sast"
    DEPENDENCY = "dependency"
    LICENSE = "license"


class Ecosystem(StrEnum):
    """The package ecosystems we read, named as OSV names them."""

    PYPI = "PyPI"
    NPM = "npm"
    CRATES_IO = "crates.io"
    GO = "Go"


@dataclass(frozen=True, slots=True)
class Location:
    """Where a finding is: a path relative to the scanned root (``/`` separators), and
    1-based lines and columns when known. ``commit`` is set for a finding in git
    history (the commit that introduced it)."""

    path: str
    start_line: int | None = None
    end_line: int | None = None
    start_column: int | None = None
    end_column: int | None = None
    commit: str | None = None


@dataclass(frozen=True, slots=True)
class Dependency:
    """One resolved package a lockfile or manifest names.

    ``version`` is the exact resolved version, or ``None`` when the manifest gives only a
    range (a requirements line without ``==``); such a dependency is checked for licences
    but cannot be matched against advisories exactly. ``licenses`` holds what the
    lockfile's own metadata says (an SPDX expression or a free-form name), empty when it
    says nothing. ``source`` is the file it was read from, relative to the root, and
    ``line`` where it appears there when the format allows finding it.
    """

    ecosystem: Ecosystem
    name: str
    version: str | None
    source: str
    line: int | None = None
    is_direct: bool | None = None
    is_dev: bool = False
    licenses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DependencyBump:
    """A fix suggestion: move ``package`` from ``current`` to ``fixed`` (the first
    version that fixes every advisory found on it), in ``source``."""

    ecosystem: Ecosystem
    package: str
    current: str
    fixed: str
    source: str


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a scanner reports.

    ``rule_id`` is stable across releases and scanner versions (SARIF's ``ruleId``):
    ``secrets/<rule>``, ``bandit/<test id>``, ``semgrep/<rule id>``, ``osv/<advisory id>``,
    ``license/<denied|review|unknown>``. ``fingerprint`` identifies the finding by content
    (see ``fingerprint``). ``snippet`` is what the user sees of the matched text; a
    secret's snippet is always redacted. ``properties`` carries scanner-specific facts
    (CWE, confidence, package, advisory aliases) as strings.
    """

    rule_id: str
    category: Category
    severity: Severity
    title: str
    message: str
    location: Location
    fingerprint: str
    tool: str
    snippet: str = ""
    help_uri: str | None = None
    fix: DependencyBump | None = None
    properties: Mapping[str, str] = field(default_factory=dict)

    def __hash__(self) -> int:
        # ``properties`` is a mapping, which does not hash; what identifies a finding
        # does (equality still compares every field).
        return hash((self.rule_id, self.fingerprint, self.location, self.severity))


@dataclass(frozen=True)
class StoredScan:
    """A recorded scan: its state and summary, without its findings."""

    id: str
    root: str
    repository: str | None
    source: str
    status: str
    error: str | None
    categories: tuple[str, ...]
    fail_on: str
    has_baseline: bool
    passed: bool
    new_count: int
    baselined_count: int
    failing_count: int
    by_severity: dict[str, int]
    dependency_count: int
    notices: tuple[dict[str, str], ...]
    started_at: datetime
    finished_at: datetime | None
    created_by: str


@dataclass(frozen=True)
class StoredFinding:
    """A recorded finding: its row id, its scan, ``new`` or ``baselined``."""

    id: int
    scan_id: str
    state: str
    finding: Finding


def fingerprint(rule_id: str, *content: str) -> str:
    """A finding's identity: its rule and the content that matched, hashed.

    Callers pass what makes the finding itself and nothing positional: a secret's value,
    a SAST finding's path and normalised matched code, a vulnerable package's ecosystem,
    name, version and lockfile. A line number never goes in, so moving the code does not
    make a finding new; the secret's own value never reaches a baseline, only its hash.
    """
    digest = hashlib.sha256()
    digest.update(FINGERPRINT_VERSION.encode())
    for part in (rule_id, *content):
        digest.update(b"\x00")
        digest.update(part.encode("utf-8", "surrogatepass"))
    return f"{FINGERPRINT_VERSION}:{digest.hexdigest()[:40]}"
