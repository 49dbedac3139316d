"""One scan: run the chosen scanners over a tree, triage with the baseline, report.

Each scanner (``scanners``) turns a ``ScanTarget`` into findings, notices and the
descriptors of its rules; this module runs those asked for, keeps the baseline file and
the report being written out of what they read, and splits what they found into new
and baselined. Scanners that read files run in a thread: a large tree must not stall
the event loop of a worker or the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from orchestrate.core.clock import Clock
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.security.baseline import Baseline, load_baseline, triage
from orchestrate.security.models import Category, Dependency, Finding, Severity
from orchestrate.security.report import ScanReport
from orchestrate.security.sarif import RuleDescriptor, ToolNotice


class SecretSource(StrEnum):
    """What the secret scanner reads: the files, the changes since a ref, or history."""

    TREE = "tree"
    DIFF = "diff"
    HISTORY = "history"


@dataclass(frozen=True)
class ScanRequest:
    """What to scan and how to judge it."""

    root: Path
    categories: frozenset[Category] = frozenset(Category)
    fail_on: Severity = Severity.HIGH
    baseline: Path | None = None
    exclude: tuple[str, ...] = ()
    """Paths (relative to ``root``) no scanner reads: the baseline, the report file."""
    secret_source: SecretSource = SecretSource.TREE
    diff_base: str | None = None
    """For ``SecretSource.DIFF``: the ref the changes are taken against."""
    explicit: frozenset[Category] = frozenset()
    """Scanners the user named: one that cannot run is an error, not a notice."""


@dataclass(frozen=True)
class ScanTarget:
    """What a scanner gets: the tree, the paths to leave alone, and what other scanners
    already read (the dependencies, read once for vulnerabilities and licences)."""

    root: Path
    exclude: tuple[str, ...]
    request: ScanRequest
    settings: Settings
    dependencies: tuple[Dependency, ...] = ()


@dataclass
class ScannerResult:
    findings: list[Finding] = field(default_factory=list)
    notices: list[ToolNotice] = field(default_factory=list)
    rules: dict[str, RuleDescriptor] = field(default_factory=dict)


class Scanner(Protocol):
    """One category of scanning (``scanners`` has the four)."""

    @property
    def category(self) -> Category: ...

    async def scan(self, uow: UnitOfWork, target: ScanTarget) -> ScannerResult: ...


async def run_scan(
    uow: UnitOfWork,
    settings: Settings,
    clock: Clock,
    request: ScanRequest,
    scanners: Sequence[Scanner],
    *,
    read_dependencies: DependencyReader | None = None,
    tool_version: str = "0",
) -> ScanReport:
    """Scan ``request.root`` with the scanners of the asked categories."""
    root = _checked_root(request.root)
    baseline = load_baseline(request.baseline) if request.baseline else Baseline.empty()
    exclude = tuple(sorted({*request.exclude, *_inside(root, request.baseline)}))
    started = clock.now()
    dependencies: tuple[Dependency, ...] = ()
    if read_dependencies is not None and request.categories & {
        Category.DEPENDENCY,
        Category.LICENSE,
    }:
        dependencies = tuple(await read_dependencies(root, exclude))
    target = ScanTarget(root, exclude, request, settings, dependencies)
    combined = ScannerResult()
    for scanner in scanners:
        if scanner.category not in request.categories:
            continue
        result = await scanner.scan(uow, target)
        combined.findings += result.findings
        combined.notices += result.notices
        combined.rules.update(result.rules)
    split = triage(_unique(combined.findings), baseline)
    return ScanReport(
        root=str(root),
        categories=request.categories,
        fail_on=request.fail_on,
        started_at=started,
        finished_at=clock.now(),
        new=split.new,
        baselined=split.baselined,
        notices=tuple(combined.notices),
        rules=combined.rules,
        has_baseline=request.baseline is not None,
        dependency_count=len(dependencies),
        tool_version=tool_version,
    )


class DependencyReader(Protocol):
    async def __call__(self, root: Path, exclude: tuple[str, ...]) -> Sequence[Dependency]: ...


def parse_categories(names: Sequence[str]) -> frozenset[Category]:
    """``secrets``, ``sast``, ``deps``, ``licenses`` (and the categories' own names)."""
    aliases = {
        "secrets": Category.SECRET,
        "secret": Category.SECRET,
        "sast": Category.SAST,
        "deps": Category.DEPENDENCY,
        "dependencies": Category.DEPENDENCY,
        "dependency": Category.DEPENDENCY,
        "licenses": Category.LICENSE,
        "licences": Category.LICENSE,
        "license": Category.LICENSE,
    }
    chosen: set[Category] = set()
    for name in names:
        category = aliases.get(name.strip().lower())
        if category is None:
            raise ValidationFailed(
                f"Unknown scanner {name!r}; use secrets, sast, deps or licenses.",
                field="categories",
            )
        chosen.add(category)
    return frozenset(chosen) if chosen else frozenset(Category)


def _checked_root(root: Path) -> Path:
    resolved = root.expanduser().resolve()
    if not resolved.is_dir():
        raise ValidationFailed(f"{root} is not a directory to scan.")
    return resolved


def _inside(root: Path, path: Path | None) -> list[str]:
    """``path`` relative to ``root`` when it lies inside it (so no scanner reads it)."""
    if path is None:
        return []
    try:
        return [path.expanduser().resolve().relative_to(root).as_posix()]
    except ValueError:
        return []


def _unique(findings: Sequence[Finding]) -> list[Finding]:
    """One finding per (fingerprint, place): two rules of one tool can match the same
    text, and a secret reported twice at one spot is one finding."""
    seen: set[tuple[str, str, int | None, str | None]] = set()
    kept: list[Finding] = []
    for finding in findings:
        key = (
            finding.fingerprint,
            finding.location.path,
            finding.location.start_line,
            finding.location.commit,
        )
        if key not in seen:
            seen.add(key)
            kept.append(finding)
    return kept
