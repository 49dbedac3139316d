"""Use cases of the CI test history: record a report, list flaky and quarantined tests,
analyse a run's failures against the history.

Recording a report is the only write: a test recorded again for the same (repository,
tree SHA, attempt) has its results replaced, so a report ingested twice counts once;
in the same transaction it moves the quarantine of the tests it ran
(``ci.test_quarantined``, ``ci.test_released``). See docs/ci-flaky.md for the
definitions. Other capabilities reach these through ``ci.service`` (its facade), an
issue-fixer's start through ``analyze_failures`` and ``brief.render_brief``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orchestrate.auth import service as auth
from orchestrate.auth.service import Actor, Permission
from orchestrate.ci import _store as store
from orchestrate.ci.analysis import FailureAnalysis, TestHistory, TreeRecord, analyze
from orchestrate.ci.events import TestQuarantined, TestReleased
from orchestrate.ci.flaky import (
    FlakyTest,
    Quarantine,
    QuarantinePolicy,
    RecordedReport,
    TestTally,
    checked_attempt,
    checked_repository,
    checked_tree_sha,
    parse_window,
)
from orchestrate.ci.models import ReportFormat, TestResult, TestStatus
from orchestrate.ci.parsing import parse_report
from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork

__all__ = [
    "FlakyTest",
    "Quarantine",
    "RecordedReport",
    "analyze_failures",
    "flaky_tests",
    "quarantined_tests",
    "read_report",
    "record_report",
    "window_of",
]


def read_report(data: bytes, fmt: ReportFormat = ReportFormat.AUTO) -> list[TestResult]:
    """The per-test results of a report handed to ``ci ingest`` or the API (any format
    ``ci parse`` reads); ``ValidationFailed`` when it is none or holds no test."""
    results = list(parse_report(data, fmt).results)
    if not results:
        raise ValidationFailed("the report holds no test cases", field="report")
    return results


_MAX_TRIES = 32_767  # a SMALLINT of tries per test and run


@dataclass
class _Outcome:
    """One test's tries in one report, folded."""

    passes: int = 0
    failures: int = 0
    last_retry: int = -1
    status: TestStatus = TestStatus.SKIPPED
    duration_ms: int | None = None

    def add(self, result: TestResult) -> None:
        if result.status is TestStatus.PASSED:
            self.passes = min(self.passes + 1, _MAX_TRIES)
        elif result.status.is_failure:
            self.failures = min(self.failures + 1, _MAX_TRIES)
        if result.retry >= self.last_retry:
            self.last_retry, self.status = result.retry, result.status
        if result.duration is not None:
            self.duration_ms = (self.duration_ms or 0) + round(result.duration * 1000)

    @property
    def has_failed(self) -> bool:
        return self.failures > 0

    @property
    def has_run(self) -> bool:
        return self.passes + self.failures > 0


def _fold(results: Sequence[TestResult]) -> dict[str, _Outcome]:
    outcomes: dict[str, _Outcome] = {}
    for result in results:
        outcomes.setdefault(result.identity, _Outcome()).add(result)
    return outcomes


async def record_report(
    uow: UnitOfWork,
    settings: Settings,
    actor: Actor,
    *,
    repository: str,
    tree_sha: str,
    attempt: int,
    results: Sequence[TestResult],
) -> RecordedReport:
    """Record a report's results for (repository, tree SHA, attempt) and quarantine or
    release the tests it ran.

    A test already recorded for the same three has its results replaced (the same file
    ingested twice counts once); the reports of several jobs of one attempt (the shards
    of a matrix) add up into one run."""
    auth.authorize(actor, Permission.WRITE)
    repository, tree_sha = checked_repository(repository), checked_tree_sha(tree_sha)
    attempt = checked_attempt(attempt)
    if not results:
        raise ValidationFailed("the report holds no test results: nothing to record")
    outcomes = _fold(results)
    async with uow:
        now = uow.now()
        repository_id = await store.intern_repository(uow, repository, now)
        tree_id = await store.intern_tree(uow, repository_id, tree_sha, now)
        ids = await store.intern_tests(uow, repository_id, list(outcomes), now)
        tested = {ids[identity]: outcome for identity, outcome in outcomes.items()}
        replayed = await _write_run(uow, repository_id, tree_id, attempt, tested)
        moves = _Moves(uow, QuarantinePolicy.of(settings), repository, repository_id, tree_sha)
        # a replayed result must not count its pass twice
        await moves.count_passes({t: o for t, o in tested.items() if t not in replayed})
        await moves.judge(await _new_evidence(uow, tree_id, tested))
        await uow.commit()
    return RecordedReport(
        repository=repository,
        tree_sha=tree_sha,
        attempt=attempt,
        tests=len(outcomes),
        passed=sum(o.has_run and not o.has_failed for o in outcomes.values()),
        failed=sum(o.has_failed for o in outcomes.values()),
        skipped=sum(not o.has_run for o in outcomes.values()),
        replaced=len(replayed),
        quarantined=tuple(moves.quarantined),
        released=tuple(moves.released),
    )


async def _new_evidence(uow: UnitOfWork, tree_id: int, tested: dict[int, _Outcome]) -> list[int]:
    """The tests this report may have shown flaky: those that failed in it, and those
    that passed in it on a tree where they failed before (a re-run of failed jobs)."""
    failed = [test for test, outcome in tested.items() if outcome.has_failed]
    passed = [test for test, outcome in tested.items() if outcome.passes and test not in failed]
    return failed + sorted(await store.failed_on_tree(uow, tree_id, passed))


async def _write_run(
    uow: UnitOfWork, repository_id: int, tree_id: int, attempt: int, tested: dict[int, _Outcome]
) -> set[int]:
    """Write the tests' results into the run of (tree, attempt), creating it; returns
    the tests whose earlier results in it were replaced."""
    run = await store.find_run(uow, tree_id, attempt) or await store.add_run(
        uow, repository_id=repository_id, tree_id=tree_id, attempt=attempt, recorded_at=uow.now()
    )
    run_id, recorded_at = run.id, run.recorded_at
    replayed = await store.forget_results(uow, run_id, list(tested))
    await store.insert_results(
        uow,
        [
            {
                "run_id": run_id,
                "test_id": test_id,
                "repository_id": repository_id,
                "tree_id": tree_id,
                "recorded_at": recorded_at,
                "status": store.STATUS_CODES[outcome.status],
                "passes": outcome.passes,
                "failures": outcome.failures,
                "duration_ms": outcome.duration_ms,
            }
            for test_id, outcome in tested.items()
        ],
    )
    await store.count_run(uow, run_id)
    return replayed


class _Moves:
    """The quarantine moves one recorded report makes."""

    def __init__(
        self,
        uow: UnitOfWork,
        policy: QuarantinePolicy,
        repository: str,
        repository_id: int,
        tree_sha: str,
    ) -> None:
        self.uow, self.policy = uow, policy
        self.repository, self.repository_id, self.tree_sha = repository, repository_id, tree_sha
        self.quarantined: list[str] = []
        self.released: list[str] = []

    async def count_passes(self, tested: dict[int, _Outcome]) -> None:
        """A quarantined test's clean pass adds to its count, a failure resets it; the
        count reaching the policy's number releases it."""
        held = await store.quarantines_of(self.uow, list(tested))
        for test_id, stored in held.items():
            outcome, quarantine = tested[test_id], stored.quarantine
            if not quarantine.is_quarantined or not outcome.has_run:
                continue
            passes = self.policy.passes_after(quarantine, failed=outcome.has_failed)
            if not self.policy.should_release(passes):
                await store.set_passes(self.uow, test_id, passes)
                continue
            await store.release(self.uow, test_id, passes, self.uow.now())
            self.released.append(quarantine.identity)
            record_event(
                self.uow,
                TestReleased(
                    subject=self.repository,
                    repository=self.repository,
                    test=quarantine.identity,
                    tree_sha=self.tree_sha,
                    consecutive_passes=passes,
                    quarantined_at=quarantine.quarantined_at.isoformat(),
                ),
            )

    async def judge(self, failed_tests: list[int]) -> None:
        """Quarantine the tests among ``failed_tests`` (those this report may have shown
        flaky) that now meet the policy. A test released before is judged on its results
        since the release only."""
        if not failed_tests:
            return
        held = await store.quarantines_of(self.uow, failed_tests)
        candidates = [
            t for t in failed_tests if t not in held or not held[t].quarantine.is_quarantined
        ]
        window_start = self.uow.now() - self.policy.window
        since_of = {
            test: max(window_start, held[test].quarantine.released_at or window_start)
            if test in held
            else window_start
            for test in candidates
        }
        for since in sorted(set(since_of.values())):
            tests = [test for test in candidates if since_of[test] == since]
            for found in await store.window_tallies(
                self.uow, self.repository_id, since, tests=tests
            ):
                if self.policy.should_quarantine(found.tally):
                    await self._quarantine(found.test_id, found.identity, found.tally)

    async def _quarantine(self, test_id: int, identity: str, tally: TestTally) -> None:
        await store.put_quarantine(self.uow, test_id, self.repository_id, tally, self.uow.now())
        self.quarantined.append(identity)
        record_event(
            self.uow,
            TestQuarantined(
                subject=self.repository,
                repository=self.repository,
                test=identity,
                tree_sha=self.tree_sha,
                runs=tally.runs,
                failure_rate=round(tally.failure_rate, 4),
                flaky_rate=round(tally.flaky_rate, 4),
                disruption_rate=round(tally.disruption_rate, 4),
                window=_window_text(self.policy.window),
            ),
        )


def _window_text(window: timedelta) -> str:
    if window % timedelta(days=1) == timedelta(0):
        return f"{window.days}d"
    return f"{int(window.total_seconds() // 3600)}h"


async def _repository_ids(uow: UnitOfWork, repository: str | None) -> list[tuple[int, str]]:
    if repository is None:
        return await store.repositories(uow)
    found = await store.find_repository_id(uow, repository.strip())
    if found is None:
        raise NotFound(
            f"No test history for repository {repository!r}. Record a report first: "
            f"orchestrate ci ingest FILE --repo {repository} --sha TREE_SHA"
        )
    return [(found, repository.strip())]


async def flaky_tests(
    uow: UnitOfWork,
    settings: Settings,
    *,
    repository: str | None = None,
    window: timedelta | None = None,
) -> list[FlakyTest]:
    """The tests that both passed and failed on one tree SHA within the window (default:
    ``ci_flaky_window``), most disruptive first; ``NotFound`` for an unknown repository."""
    window = window or QuarantinePolicy.of(settings).window
    async with uow:
        since = uow.now() - window
        found: list[FlakyTest] = []
        for repository_id, name in await _repository_ids(uow, repository):
            found.extend(await _flaky_of(uow, repository_id, name, since))
    found.sort(key=lambda test: (-test.tally.disruption_rate, -test.tally.flaky_failures, test.key))
    return found


async def _flaky_of(
    uow: UnitOfWork, repository_id: int, name: str, since: datetime
) -> list[FlakyTest]:
    tallies = await store.window_tallies(uow, repository_id, since, only_flaky=True)
    if not tallies:
        return []
    tests = [found.test_id for found in tallies]
    trees = await store.flaky_trees(uow, repository_id, since, tests)
    held = await store.quarantines_of(uow, tests)
    return [
        FlakyTest(
            repository=name,
            identity=found.identity,
            tally=found.tally,
            flaky_shas=tuple(sha for sha, _ in trees.get(found.test_id, [])),
            last_seen=found.last_seen,
            last_flaky_at=max(
                (at for _, at in trees.get(found.test_id, [])), default=found.last_seen
            ),
            quarantine=held[found.test_id].quarantine if found.test_id in held else None,
        )
        for found in tallies
    ]


async def quarantined_tests(
    uow: UnitOfWork, *, repository: str | None = None, include_released: bool = False
) -> list[Quarantine]:
    """Tests in quarantine (and, asked, those released), by repository and test."""
    async with uow:
        if repository is None:
            return await store.list_quarantines(uow, None, include_released=include_released)
        [(repository_id, _)] = await _repository_ids(uow, repository)
        return await store.list_quarantines(uow, repository_id, include_released=include_released)


async def analyze_failures(
    uow: UnitOfWork,
    settings: Settings,
    *,
    repository: str,
    tree_sha: str,
    results: Sequence[TestResult],
    log_text: str = "",
) -> FailureAnalysis:
    """Group a run's failures by signature and explain each with the history: flaky,
    new since a tree SHA, infrastructure, or a regression. ``results`` may be the whole
    report (its passing tries show a failure passed on this tree SHA too)."""
    repository, tree_sha = checked_repository(repository), checked_tree_sha(tree_sha)
    outcomes = _fold(results)
    failing = [identity for identity, outcome in outcomes.items() if outcome.has_failed]
    async with uow:
        histories = await _histories(uow, settings, repository, tree_sha, failing, outcomes)
    return analyze(repository, tree_sha, results, histories, log_text)


async def _histories(
    uow: UnitOfWork,
    settings: Settings,
    repository: str,
    tree_sha: str,
    failing: list[str],
    outcomes: dict[str, _Outcome],
) -> dict[str, TestHistory]:
    histories = {
        identity: TestHistory(identity, passed_on_this_sha=outcomes[identity].passes > 0)
        for identity in failing
    }
    repository_id = await store.find_repository_id(uow, repository)
    if repository_id is None or not failing:
        return histories
    ids = await store.test_ids(uow, repository_id, failing)
    if not ids:
        return histories
    since = uow.now() - QuarantinePolicy.of(settings).window
    current = await store.find_tree_id(uow, repository_id, tree_sha)
    tests = list(ids.values())
    flaky = {
        t.test_id
        for t in await store.window_tallies(uow, repository_id, since, tests=tests, only_flaky=True)
    }
    held = await store.quarantines_of(uow, tests)
    trees: dict[int, list[Any]] = {}
    for outcome in await store.tree_outcomes(uow, repository_id, since, tests):
        trees.setdefault(outcome.test_id, []).append(outcome)
    for identity, test_id in ids.items():
        earlier = [t for t in trees.get(test_id, []) if current is None or t.tree_id < current]
        here = [t for t in trees.get(test_id, []) if t.tree_id == current]
        histories[identity] = TestHistory(
            identity,
            is_quarantined=test_id in held and held[test_id].quarantine.is_quarantined,
            is_known_flaky=test_id in flaky,
            passed_on_this_sha=histories[identity].passed_on_this_sha
            or any(t.passes > 0 for t in here),
            trees=tuple(TreeRecord(t.tree_sha, t.passes > 0, t.failures > 0) for t in earlier),
        )
    return histories


def window_of(text: str | None) -> timedelta | None:
    """``--window``/``?window=`` as a period; None (the setting's) when not given."""
    return None if text is None else parse_window(text)
