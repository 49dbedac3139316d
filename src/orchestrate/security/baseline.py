"""The baseline: the findings a team has seen and accepted, so that only new ones gate.

A baseline file lists findings by fingerprint (``models.fingerprint``: a hash of the rule
and the matched content, never of a line number), so a finding stays baselined after its
line moves, after a rebase and after a squash. It holds no secret: a secret finding's
fingerprint is a hash of the value and its snippet is not written. Entries are sorted by
fingerprint, so regenerating a baseline gives a small, reviewable diff.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.models import Finding

BASELINE_VERSION = 1
MAX_BASELINE_BYTES = 64 * 1024 * 1024


class BaselineEntry(BaseModel):
    """One accepted finding: its fingerprint, and the rule and path to help a reviewer."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    fingerprint: str = Field(min_length=1, max_length=200)
    rule_id: str = Field(default="", max_length=300)
    path: str = Field(default="", max_length=4096)


class BaselineFile(BaseModel):
    """The file's shape (``version`` 1)."""

    model_config = ConfigDict(extra="ignore")

    version: int = BASELINE_VERSION
    generated_by: str = "orchestrate security baseline"
    created_at: datetime | None = None
    findings: list[BaselineEntry] = Field(default_factory=list)


@dataclass(frozen=True)
class Baseline:
    """The fingerprints a baseline accepts."""

    fingerprints: frozenset[str]
    path: Path | None = None

    @classmethod
    def empty(cls) -> Baseline:
        return cls(frozenset())

    def __contains__(self, finding: object) -> bool:
        return isinstance(finding, Finding) and finding.fingerprint in self.fingerprints

    def __len__(self) -> int:
        return len(self.fingerprints)


@dataclass(frozen=True)
class Triage:
    """Findings split by the baseline: ``new`` ones gate, ``baselined`` ones do not."""

    new: tuple[Finding, ...]
    baselined: tuple[Finding, ...]


def triage(findings: Iterable[Finding], baseline: Baseline) -> Triage:
    """Split ``findings`` into the new and the already accepted."""
    new: list[Finding] = []
    accepted: list[Finding] = []
    for finding in findings:
        (accepted if finding in baseline else new).append(finding)
    return Triage(tuple(new), tuple(accepted))


def load_baseline(path: Path) -> Baseline:
    """Read a baseline file; a missing, oversized or malformed file is a ValidationFailed
    naming it (a gate must never run against a baseline it could not read)."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ValidationFailed(
            f"Baseline file {path} does not exist; create one with "
            f"`orchestrate security baseline PATH --output {path}`."
        ) from None
    except OSError as error:
        raise ValidationFailed(f"Cannot read baseline file {path}: {error.strerror}.") from None
    if size > MAX_BASELINE_BYTES:
        raise ValidationFailed(
            f"Baseline file {path} is {size:,} bytes; the limit is {MAX_BASELINE_BYTES:,}."
        )
    try:
        document = BaselineFile.model_validate_json(path.read_bytes())
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"]) or "the document"
        raise ValidationFailed(
            f"Baseline file {path} is not a baseline: {where}: {problem['msg']}."
        ) from None
    if document.version != BASELINE_VERSION:
        raise ValidationFailed(
            f"Baseline file {path} has version {document.version}; this release reads "
            f"version {BASELINE_VERSION}."
        )
    return Baseline(frozenset(entry.fingerprint for entry in document.findings), path)


def render_baseline(findings: Sequence[Finding], created_at: datetime) -> str:
    """The baseline file accepting ``findings`` (one entry per fingerprint)."""
    entries = {
        finding.fingerprint: BaselineEntry(
            fingerprint=finding.fingerprint,
            rule_id=finding.rule_id,
            path=finding.location.path,
        )
        for finding in findings
    }
    document = BaselineFile(
        created_at=created_at,
        findings=[entries[key] for key in sorted(entries)],
    )
    return json.dumps(document.model_dump(mode="json"), indent=2) + "\n"


def write_baseline(path: Path, findings: Sequence[Finding], created_at: datetime) -> None:
    """Write the baseline atomically (a reader never sees half a file)."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(render_baseline(findings, created_at), encoding="utf-8")
    temporary.replace(path)
