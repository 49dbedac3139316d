"""The SQL aggregation agrees with the definitions, computed here by hand, over random
histories (fixed seeds): retries, re-run attempts, skips and re-recorded reports."""

from __future__ import annotations

import random
from collections import defaultdict

import pytest

from orchestrate.ci import history
from orchestrate.ci.models import TestResult, TestStatus
from orchestrate.core.runtime import Runtime
from tests.integration.ci.history_rows import record, result, sha, tid

TESTS = ["t0", "t1", "t2", "t3", "t4", "t5"]


def random_report(rng: random.Random) -> list[TestResult]:
    results = []
    for name in rng.sample(TESTS, rng.randint(1, len(TESTS))):
        roll = rng.random()
        if roll < 0.1:
            results.append(result(name, TestStatus.SKIPPED))
        elif roll < 0.6:
            results.append(result(name, TestStatus.PASSED))
        else:
            results.append(result(name, rng.choice([TestStatus.FAILED, TestStatus.ERROR])))
            if rng.random() < 0.4:  # a retry within the run
                results.append(result(name, TestStatus.PASSED, retry=1))
    return results


Expected = dict[str, tuple[int, int, int, int, set[str]]]


def expected(reports: list[tuple[int, int, list[TestResult]]]) -> Expected:
    """runs, failed runs, flaky failures, repository runs and flaky SHAs, by the book."""
    runs: dict[tuple[int, int], dict[str, tuple[int, int]]] = defaultdict(dict)
    for tree, attempt, results in reports:
        tried: dict[str, tuple[int, int]] = {}
        for r in results:
            passes, failures = tried.get(r.identity, (0, 0))
            tried[r.identity] = (
                passes + (r.status is TestStatus.PASSED),
                failures + r.status.is_failure,
            )
        runs[(tree, attempt)].update(tried)  # a test recorded again is replaced
    found: Expected = {}
    for name in TESTS:
        test = tid(name)
        mine = {key: tries[test] for key, tries in runs.items() if sum(tries.get(test, (0, 0)))}
        passed_on = {tree for (tree, _), (p, _f) in mine.items() if p}
        failed = [(tree, f) for (tree, _), (_p, f) in mine.items() if f]
        flaky_failures = sum(1 for tree, _f in failed if tree in passed_on)
        if flaky_failures:
            shas = {sha(tree) for tree, _f in failed if tree in passed_on}
            found[test] = (len(mine), len(failed), flaky_failures, len(runs), shas)
    return found


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_flaky_tests_match_the_definitions_on_a_random_history(
    frozen_runtime: Runtime, seed: int
) -> None:
    rng = random.Random(seed)
    reports = [(rng.randint(1, 4), rng.randint(1, 2), random_report(rng)) for _ in range(25)]
    for tree, attempt, results in reports:
        await record(frozen_runtime, tree, *results, attempt=attempt)

    found = await history.flaky_tests(frozen_runtime.uow(read_only=True), frozen_runtime.settings)

    actual = {
        t.identity: (
            t.tally.runs,
            t.tally.failed_runs,
            t.tally.flaky_failures,
            t.tally.repository_runs,
            set(t.flaky_shas),
        )
        for t in found
    }
    assert actual == expected(reports)
    assert actual  # the seeds give flaky tests to compare
