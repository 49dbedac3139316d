"""The test history on both databases: flaky tests with known answers, idempotent
recording, the window, quarantine and release, failure analysis, retention."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from orchestrate.app.retention import retention_plan
from orchestrate.ci import history
from orchestrate.ci.analysis import Cause
from orchestrate.core.clock import FrozenClock
from orchestrate.core.errors import NotFound, PermissionDenied, ValidationFailed
from orchestrate.core.events import EventFilter, read_events
from orchestrate.core.retention import prune
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from tests.integration.ci.history_rows import OPERATOR, REPO, E, F, P, S, record, result, sha, tid


async def known_history(runtime: Runtime) -> None:
    """Four reports of acme/shop; the expected answers are in the tests below."""
    await record(
        runtime, 1,
        result("a", F), result("b", P), result("c", F), result("c", P, retry=1),
        result("d", S), result("e", P),
    )  # fmt: skip
    await record(
        runtime, 1, result("a", P), result("b", P), result("c", P), result("e", F), attempt=2
    )
    await record(runtime, 2, result("a", P), result("b", F), result("c", P), result("e", E))
    await record(runtime, 3, result("a", P), result("b", F), result("c", P), result("e", P))


class TestFlakyTests:
    async def test_tests_that_passed_and_failed_on_one_tree_sha_are_flaky_with_exact_rates(
        self, frozen_runtime: Runtime
    ) -> None:
        await known_history(frozen_runtime)

        found = await history.flaky_tests(
            frozen_runtime.uow(read_only=True), frozen_runtime.settings
        )

        assert [test.identity for test in found] == [tid("a"), tid("c"), tid("e")]
        by_name = {test.identity: test for test in found}
        a, c, e = by_name[tid("a")], by_name[tid("c")], by_name[tid("e")]
        # a: failed on attempt 1 of tree 1, passed on its attempt 2
        assert (a.tally.runs, a.tally.failed_runs, a.tally.flaky_failures) == (4, 1, 1)
        assert a.tally.repository_runs == 4
        assert (a.tally.failure_rate, a.tally.flaky_rate, a.tally.disruption_rate) == (
            0.25,
            0.25,
            0.25,
        )
        assert a.flaky_shas == (sha(1),)
        # c: failed and passed on a retry within one run
        assert (c.tally.runs, c.tally.failed_runs, c.tally.flaky_failures) == (4, 1, 1)
        assert c.flaky_shas == (sha(1),)
        # e: flaky on tree 1, but its error on tree 2 (no pass there) is no flaky failure
        assert (e.tally.runs, e.tally.failed_runs, e.tally.flaky_failures) == (4, 2, 1)
        assert e.tally.failure_rate == 0.5
        assert e.flaky_shas == (sha(1),)
        assert all(test.quarantine is None for test in found)

    async def test_a_test_failing_on_every_run_of_its_trees_is_not_flaky(
        self, frozen_runtime: Runtime
    ) -> None:
        await known_history(frozen_runtime)

        found = await history.flaky_tests(
            frozen_runtime.uow(read_only=True), frozen_runtime.settings, repository=REPO
        )

        assert tid("b") not in {test.identity for test in found}
        assert tid("d") not in {test.identity for test in found}  # only ever skipped

    async def test_recording_the_same_report_twice_counts_it_once(
        self, frozen_runtime: Runtime
    ) -> None:
        await known_history(frozen_runtime)
        before = await history.flaky_tests(
            frozen_runtime.uow(read_only=True), frozen_runtime.settings
        )

        again = await record(
            frozen_runtime, 2, result("a", P), result("b", F), result("c", P), result("e", E)
        )

        after = await history.flaky_tests(
            frozen_runtime.uow(read_only=True), frozen_runtime.settings
        )
        assert again.replaced == 4
        assert (again.tests, again.passed, again.failed) == (4, 2, 2)
        assert [(t.identity, t.tally) for t in after] == [(t.identity, t.tally) for t in before]

    async def test_the_reports_of_the_jobs_of_one_attempt_add_up_into_one_run(
        self, frozen_runtime: Runtime
    ) -> None:
        await record(frozen_runtime, 1, result("a", F))  # one shard of the matrix
        await record(frozen_runtime, 1, result("b", P))  # another
        await record(frozen_runtime, 1, result("a", P), result("b", P), attempt=2)

        [a] = await history.flaky_tests(frozen_runtime.uow(read_only=True), frozen_runtime.settings)

        assert a.identity == tid("a")
        assert (a.tally.runs, a.tally.flaky_failures, a.tally.repository_runs) == (2, 1, 2)

    async def test_shards_of_one_attempt_recorded_together_make_one_run(
        self, runtime: Runtime
    ) -> None:
        await record(runtime, 1, result("s0", F))  # the repository and the tree exist
        await asyncio.gather(
            *(record(runtime, 1, result(f"s{shard}", P), attempt=2) for shard in range(4))
        )

        [flaky] = await history.flaky_tests(runtime.uow(read_only=True), runtime.settings)

        assert flaky.identity == tid("s0")
        assert (flaky.tally.runs, flaky.tally.repository_runs) == (2, 2)

    async def test_a_replaced_report_takes_the_place_of_the_first(
        self, frozen_runtime: Runtime
    ) -> None:
        await known_history(frozen_runtime)

        # tree 1, attempt 2 recorded again: now a failed there too, so it is no longer flaky
        await record(
            frozen_runtime,
            1,
            result("a", F),
            result("b", P),
            result("c", P),
            result("e", F),
            attempt=2,
        )

        found = await history.flaky_tests(
            frozen_runtime.uow(read_only=True), frozen_runtime.settings
        )
        assert [test.identity for test in found] == [tid("c"), tid("e")]

    async def test_results_older_than_the_window_are_left_out(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        await known_history(frozen_runtime)
        clock.advance(timedelta(days=20))
        await record(frozen_runtime, 4, result("a", F), result("a", P, retry=1))

        recent = await history.flaky_tests(
            frozen_runtime.uow(read_only=True), frozen_runtime.settings, window=timedelta(days=7)
        )
        month = await history.flaky_tests(
            frozen_runtime.uow(read_only=True), frozen_runtime.settings
        )

        assert [(t.identity, t.flaky_shas, t.tally.repository_runs) for t in recent] == [
            (tid("a"), (sha(4),), 1)
        ]
        assert [t.identity for t in month] == [tid("a"), tid("c"), tid("e")]
        assert month[0].flaky_shas == (sha(4), sha(1))  # most recent first

    async def test_each_repository_has_its_own_history(self, frozen_runtime: Runtime) -> None:
        await known_history(frozen_runtime)
        await record(frozen_runtime, 1, result("a", P), repo="acme/other")

        other = await history.flaky_tests(
            frozen_runtime.uow(read_only=True), frozen_runtime.settings, repository="acme/other"
        )

        assert other == []

    async def test_an_unknown_repository_is_not_found_with_how_to_record_one(
        self, frozen_runtime: Runtime
    ) -> None:
        with pytest.raises(NotFound, match="orchestrate ci ingest FILE --repo acme/nope"):
            await history.flaky_tests(
                frozen_runtime.uow(read_only=True), frozen_runtime.settings, repository="acme/nope"
            )


class TestRecording:
    async def test_a_short_sha_is_refused(self, frozen_runtime: Runtime) -> None:
        with pytest.raises(ValidationFailed, match="not a git tree SHA"):
            await history.record_report(
                frozen_runtime.uow(), frozen_runtime.settings, OPERATOR, repository=REPO,
                tree_sha="abc1234", attempt=1, results=[result("a", P)],
            )  # fmt: skip

    async def test_an_empty_report_is_refused(self, frozen_runtime: Runtime) -> None:
        with pytest.raises(ValidationFailed, match="no test results"):
            await record(frozen_runtime, 1)

    async def test_a_viewer_may_not_record(self, frozen_runtime: Runtime) -> None:
        from orchestrate.auth.service import Actor
        from orchestrate.core.identity import Role

        viewer = Actor(name="v", role=Role.VIEWER, source="127.0.0.1")
        with pytest.raises(PermissionDenied):
            await history.record_report(
                frozen_runtime.uow(), frozen_runtime.settings, viewer, repository=REPO,
                tree_sha=sha(1), attempt=1, results=[result("a", P)],
            )  # fmt: skip


STRICT = {
    "ci_quarantine_min_runs": 3,
    "ci_quarantine_flaky_rate": 0.3,
    "ci_quarantine_disruption_rate": 0.3,
    "ci_release_after_passes": 2,
}


class TestQuarantine:
    async def test_a_flaky_test_is_quarantined_then_released_after_clean_passes(
        self, frozen_runtime: Runtime, settings: Settings
    ) -> None:
        strict = settings.model_copy(update=STRICT)
        steps = [
            (1, 1, F), (1, 2, P),  # flaky on tree 1, but 2 runs are too few to judge
            (2, 1, F),  # 3 runs, 1 flaky failure: 33% >= 30%: quarantined
            (2, 2, P),  # clean pass 1
            (3, 1, P),  # clean pass 2: released
        ]  # fmt: skip
        reports = [
            await record(
                frozen_runtime,
                tree,
                result("x", status),
                result("y", P),
                attempt=attempt,
                settings=strict,
            )
            for tree, attempt, status in steps
        ]

        assert [(r.quarantined, r.released) for r in reports] == [
            ((), ()), ((), ()), ((tid("x"),), ()), ((), ()), ((), (tid("x"),)),
        ]  # fmt: skip
        events = await _ci_events(frozen_runtime)
        assert [(e.type, e.subject, e.payload["test"]) for e in events] == [
            ("ci.test_quarantined", REPO, tid("x")),
            ("ci.test_released", REPO, tid("x")),
        ]
        assert events[0].payload["tree_sha"] == sha(2)
        assert events[0].payload["runs"] == 3
        assert events[0].payload["flaky_rate"] == pytest.approx(0.3333)
        assert events[1].payload["consecutive_passes"] == 2
        [held] = await history.quarantined_tests(
            frozen_runtime.uow(read_only=True), include_released=True
        )
        assert (held.identity, held.status.value, held.consecutive_passes) == (
            tid("x"),
            "released",
            2,
        )
        assert await history.quarantined_tests(frozen_runtime.uow(read_only=True)) == []

    async def test_the_passing_re_run_that_shows_a_test_flaky_quarantines_it(
        self, frozen_runtime: Runtime, settings: Settings
    ) -> None:
        strict = settings.model_copy(update={**STRICT, "ci_quarantine_min_runs": 2})

        failed = await record(frozen_runtime, 1, result("x", F), settings=strict)
        rerun = await record(frozen_runtime, 1, result("x", P), attempt=2, settings=strict)

        assert failed.quarantined == ()
        assert rerun.quarantined == (tid("x"),)
        [held] = await history.quarantined_tests(frozen_runtime.uow(read_only=True))
        assert (held.runs, held.flaky_rate, held.consecutive_passes) == (2, 0.5, 0)

    async def test_a_failure_in_quarantine_resets_the_count_of_passes(
        self, frozen_runtime: Runtime, settings: Settings
    ) -> None:
        strict = settings.model_copy(update=STRICT)
        for tree, attempt, status in [
            (1, 1, F),
            (1, 2, P),
            (2, 1, F),
            (2, 2, P),
            (3, 1, F),
            (4, 1, P),
        ]:
            await record(
                frozen_runtime, tree, result("x", status), attempt=attempt, settings=strict
            )

        [held] = await history.quarantined_tests(
            frozen_runtime.uow(read_only=True), repository=REPO
        )

        assert (held.status.value, held.consecutive_passes) == ("quarantined", 1)
        flaky = await history.flaky_tests(frozen_runtime.uow(read_only=True), strict)
        assert flaky[0].quarantine_status.value == "quarantined"

    async def test_replaying_a_passing_report_does_not_count_its_pass_twice(
        self, frozen_runtime: Runtime, settings: Settings
    ) -> None:
        strict = settings.model_copy(update=STRICT)
        for tree, attempt, status in [(1, 1, F), (1, 2, P), (2, 1, F), (2, 2, P), (2, 2, P)]:
            await record(
                frozen_runtime, tree, result("x", status), attempt=attempt, settings=strict
            )

        [held] = await history.quarantined_tests(frozen_runtime.uow(read_only=True))

        assert (held.status.value, held.consecutive_passes) == ("quarantined", 1)

    async def test_below_the_thresholds_nothing_is_quarantined(
        self, frozen_runtime: Runtime, settings: Settings
    ) -> None:
        lenient = settings.model_copy(
            update={**STRICT, "ci_quarantine_flaky_rate": 0.9, "ci_quarantine_disruption_rate": 0.9}
        )
        for tree, attempt, status in [(1, 1, F), (1, 2, P), (2, 1, F), (3, 1, P)]:
            await record(
                frozen_runtime, tree, result("x", status), attempt=attempt, settings=lenient
            )

        assert await history.quarantined_tests(frozen_runtime.uow(read_only=True)) == []
        assert await _ci_events(frozen_runtime) == []


async def _ci_events(runtime: Runtime) -> list:  # type: ignore[type-arg]
    uow = runtime.uow(read_only=True)
    async with uow:
        return list(await read_events(uow.session, only=EventFilter(types=("ci.*",))))


class TestAnalysis:
    async def test_a_test_that_passed_on_the_previous_tree_is_a_new_failure_since_it(
        self, frozen_runtime: Runtime
    ) -> None:
        await record(frozen_runtime, 1, result("total", P), result("tax", P))
        await record(frozen_runtime, 2, result("total", P), result("tax", P))

        analysis = await history.analyze_failures(
            frozen_runtime.uow(read_only=True),
            frozen_runtime.settings,
            repository=REPO,
            tree_sha=sha(3),
            results=[
                result("total", F, message="AssertionError: assert 41 == 42"),
                result("tax", F, message="AssertionError: assert 1 == 7"),
            ],
        )

        [group] = analysis.groups
        assert group.cause is Cause.NEW
        assert set(group.tests) == {tid("total"), tid("tax")}
        assert (group.last_passing_sha, group.first_failing_sha) == (sha(2), sha(3))

    async def test_a_test_known_flaky_in_the_history_is_flaky(
        self, frozen_runtime: Runtime
    ) -> None:
        await known_history(frozen_runtime)

        analysis = await history.analyze_failures(
            frozen_runtime.uow(read_only=True),
            frozen_runtime.settings,
            repository=REPO,
            tree_sha=sha(5),
            results=[
                result("a", F, message="TimeoutError: took 31.2 s"),
                result("b", F, message="KeyError: 'q'"),
            ],
        )

        causes = {group.tests: group.cause for group in analysis.groups}
        assert causes[(tid("a"),)] is Cause.FLAKY
        # b passed on tree 1 and fails since tree 2, before the analysed tree
        [b] = [group for group in analysis.groups if group.tests == (tid("b"),)]
        assert (b.cause, b.last_passing_sha, b.first_failing_sha) == (Cause.NEW, sha(1), sha(2))

    async def test_the_tree_being_analysed_after_recording_counts_its_own_passes(
        self, frozen_runtime: Runtime
    ) -> None:
        await record(frozen_runtime, 1, result("a", P))
        await record(frozen_runtime, 2, result("a", P), attempt=1)

        analysis = await history.analyze_failures(
            frozen_runtime.uow(read_only=True),
            frozen_runtime.settings,
            repository=REPO,
            tree_sha=sha(2),
            results=[result("a", F)],
        )

        assert analysis.groups[0].cause is Cause.FLAKY


class TestRetention:
    async def test_old_reports_are_pruned_and_quarantines_kept(
        self, frozen_runtime: Runtime, clock: FrozenClock, settings: Settings
    ) -> None:
        strict = settings.model_copy(update=STRICT)
        for tree, attempt, status in [(1, 1, F), (1, 2, P), (2, 1, F)]:
            await record(
                frozen_runtime, tree, result("x", status), attempt=attempt, settings=strict
            )
        clock.advance(timedelta(days=91))
        await record(frozen_runtime, 9, result("x", F), result("x", P, retry=1))

        outcomes = await prune(frozen_runtime, retention_plan())

        [ci] = [o for o in outcomes if o.rule == "ci_test_runs"]
        assert (ci.rows, ci.error) == (3, None)
        assert len(await history.quarantined_tests(frozen_runtime.uow(read_only=True))) == 1
        found = await history.flaky_tests(
            frozen_runtime.uow(read_only=True), frozen_runtime.settings, window=timedelta(days=400)
        )
        assert [(t.flaky_shas, t.tally.repository_runs) for t in found] == [((sha(9),), 1)]
