"""Flaky tests: the definitions, and when a test is quarantined and released (pure).

Following BuildPulse and Trunk, a test is *flaky* when it both passed and failed on the
same code — the same git tree SHA — whether the two outcomes came from a framework's
retries within one CI run or from different CI attempts on that SHA. Over a window:

- a test's *runs* are the recorded reports (tree SHA, CI attempt) that ran it (skips
  do not count); a run *failed* when any try of the test in it failed;
- *failure rate* = failed runs / runs;
- a *flaky failure* is a failed run on a tree SHA where the test also passed;
  *flaky rate* = flaky failures / runs;
- *disruption rate* = flaky failures / the repository's runs in the window: the share
  of all CI runs of the repository that this test's flakiness broke (BuildPulse's
  "disruptiveness").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from orchestrate.core.durations import EXAMPLES, parse_period
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.settings import Settings

_TREE_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
MAX_REPOSITORY_CHARS = 200


def checked_tree_sha(text: str) -> str:
    """A git tree SHA as stored: 40 (SHA-1) or 64 (SHA-256) hex digits, lower case."""
    sha = text.strip().lower()
    if not _TREE_SHA.fullmatch(sha):
        raise ValidationFailed(
            f"{text!r} is not a git tree SHA: give all 40 hex digits (SHA-1) or 64 "
            "(SHA-256), e.g. the output of `git rev-parse HEAD^{tree}`",
            field="sha",
        )
    return sha


def checked_repository(text: str) -> str:
    name = text.strip()
    if not name or len(name) > MAX_REPOSITORY_CHARS:
        raise ValidationFailed(
            f"a repository name is 1 to {MAX_REPOSITORY_CHARS} characters, e.g. acme/shop",
            field="repo",
        )
    return name


def checked_attempt(attempt: int) -> int:
    if attempt < 1:
        raise ValidationFailed(
            f"the CI attempt is counted from 1 (GitHub's run_attempt), not {attempt}",
            field="attempt",
        )
    return attempt


@dataclass(frozen=True)
class TestTally:
    """A test's counts over a window, as the history aggregates them."""

    __test__ = False

    runs: int
    failed_runs: int
    flaky_failures: int
    repository_runs: int

    @property
    def failure_rate(self) -> float:
        return self.failed_runs / self.runs if self.runs else 0.0

    @property
    def flaky_rate(self) -> float:
        return self.flaky_failures / self.runs if self.runs else 0.0

    @property
    def disruption_rate(self) -> float:
        return self.flaky_failures / self.repository_runs if self.repository_runs else 0.0

    @property
    def is_flaky(self) -> bool:
        return self.flaky_failures > 0


class QuarantineStatus(StrEnum):
    NONE = "none"
    QUARANTINED = "quarantined"
    RELEASED = "released"


@dataclass(frozen=True)
class Quarantine:
    """A test's quarantine as stored (``released_at`` set once it was released)."""

    repository: str
    identity: str
    is_quarantined: bool
    quarantined_at: datetime
    released_at: datetime | None
    consecutive_passes: int
    flaky_rate: float
    disruption_rate: float
    runs: int

    @property
    def status(self) -> QuarantineStatus:
        return QuarantineStatus.QUARANTINED if self.is_quarantined else QuarantineStatus.RELEASED


@dataclass(frozen=True)
class QuarantinePolicy:
    """When a flaky test is quarantined and when it is let out again."""

    window: timedelta
    min_runs: int
    flaky_rate: float
    disruption_rate: float
    release_after_passes: int

    @classmethod
    def of(cls, settings: Settings) -> QuarantinePolicy:
        return cls(
            window=parse_window(settings.ci_flaky_window),
            min_runs=settings.ci_quarantine_min_runs,
            flaky_rate=settings.ci_quarantine_flaky_rate,
            disruption_rate=settings.ci_quarantine_disruption_rate,
            release_after_passes=settings.ci_release_after_passes,
        )

    def should_quarantine(self, tally: TestTally) -> bool:
        """Flaky, with enough runs to judge, and flaky often enough or disruptive enough."""
        return (
            tally.is_flaky
            and tally.runs >= self.min_runs
            and (
                tally.flaky_rate >= self.flaky_rate or tally.disruption_rate >= self.disruption_rate
            )
        )

    def passes_after(self, quarantine: Quarantine, *, failed: bool) -> int:
        """The count of consecutive clean passes once a run of the test is recorded."""
        return 0 if failed else quarantine.consecutive_passes + 1

    def should_release(self, consecutive_passes: int) -> bool:
        return consecutive_passes >= self.release_after_passes


def parse_window(text: str) -> timedelta:
    """``30d``, ``2w``, ``72h`` as a window of history; ValidationFailed otherwise."""
    try:
        window = parse_period(text, allow_off=False)
    except ValueError:
        raise ValidationFailed(
            f"{text!r} is not a window: use {EXAMPLES}", field="window"
        ) from None
    assert window is not None
    if window <= timedelta(0):
        raise ValidationFailed(
            f"{text!r} is not a window: it must be longer than 0", field="window"
        )
    return window


@dataclass(frozen=True)
class FlakyTest:
    """One flaky test of a repository over the window, with where it flaked."""

    __test__ = False

    repository: str
    identity: str
    tally: TestTally
    flaky_shas: tuple[str, ...]
    """Tree SHAs where it both passed and failed, most recently seen first."""
    last_seen: datetime
    last_flaky_at: datetime
    quarantine: Quarantine | None

    @property
    def quarantine_status(self) -> QuarantineStatus:
        return QuarantineStatus.NONE if self.quarantine is None else self.quarantine.status

    @property
    def key(self) -> str:
        return f"{self.repository}\n{self.identity}"


@dataclass(frozen=True)
class RecordedReport:
    """What recording one report did."""

    repository: str
    tree_sha: str
    attempt: int
    tests: int
    passed: int
    failed: int
    skipped: int
    replaced: int
    """Tests of the report already recorded for the same repository, tree SHA and
    attempt: their earlier results were replaced, not added to."""
    quarantined: tuple[str, ...]
    released: tuple[str, ...]
