"""The flaky-test definitions and the quarantine policy, as pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from orchestrate.ci.flaky import (
    Quarantine,
    QuarantinePolicy,
    TestTally,
    checked_attempt,
    checked_repository,
    checked_tree_sha,
    parse_window,
)
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.settings import Settings

AT = datetime(2026, 12, 7, tzinfo=UTC)
POLICY = QuarantinePolicy(
    window=timedelta(days=30),
    min_runs=10,
    flaky_rate=0.1,
    disruption_rate=0.05,
    release_after_passes=3,
)


def quarantine(passes: int = 0) -> Quarantine:
    return Quarantine("acme/shop", "t::a", True, AT, None, passes, 0.2, 0.1, 20)


class TestRates:
    def test_rates_follow_the_documented_formulas(self) -> None:
        tally = TestTally(runs=40, failed_runs=6, flaky_failures=4, repository_runs=80)

        assert tally.failure_rate == pytest.approx(6 / 40)
        assert tally.flaky_rate == pytest.approx(4 / 40)
        assert tally.disruption_rate == pytest.approx(4 / 80)
        assert tally.is_flaky

    def test_a_test_that_only_ever_failed_consistently_is_not_flaky(self) -> None:
        tally = TestTally(runs=10, failed_runs=10, flaky_failures=0, repository_runs=10)

        assert not tally.is_flaky
        assert tally.flaky_rate == 0
        assert tally.failure_rate == 1

    def test_no_runs_give_zero_rates_rather_than_a_division_error(self) -> None:
        tally = TestTally(runs=0, failed_runs=0, flaky_failures=0, repository_runs=0)

        assert (tally.failure_rate, tally.flaky_rate, tally.disruption_rate) == (0, 0, 0)


class TestQuarantineDecision:
    def test_a_flaky_test_above_the_flaky_rate_with_enough_runs_is_quarantined(self) -> None:
        assert POLICY.should_quarantine(TestTally(20, 2, 2, 1000))

    def test_a_disruptive_test_is_quarantined_even_below_the_flaky_rate(self) -> None:
        # runs in few of the repository's runs, but broke 6% of all of them
        assert POLICY.should_quarantine(
            TestTally(runs=100, failed_runs=6, flaky_failures=6, repository_runs=100)
        )
        assert not POLICY.should_quarantine(TestTally(100, 4, 4, 100))

    def test_too_few_runs_are_not_enough_to_judge(self) -> None:
        assert not POLICY.should_quarantine(
            TestTally(runs=9, failed_runs=9, flaky_failures=9, repository_runs=9)
        )

    def test_a_consistently_failing_test_is_never_quarantined_as_flaky(self) -> None:
        assert not POLICY.should_quarantine(TestTally(50, 50, 0, 50))


class TestRelease:
    def test_clean_passes_count_up_and_release_at_the_configured_number(self) -> None:
        passes = POLICY.passes_after(quarantine(2), failed=False)

        assert passes == 3
        assert POLICY.should_release(passes)

    def test_a_failure_resets_the_count(self) -> None:
        assert POLICY.passes_after(quarantine(2), failed=True) == 0
        assert not POLICY.should_release(0)


class TestInput:
    def test_a_full_tree_sha_is_kept_in_lower_case(self) -> None:
        assert checked_tree_sha(" " + "AB" * 20 + "\n") == "ab" * 20
        assert checked_tree_sha("c" * 64) == "c" * 64

    @pytest.mark.parametrize("sha", ["", "abc1234", "g" * 40, "a" * 41, "main"])
    def test_anything_but_a_full_tree_sha_is_refused_with_how_to_get_one(self, sha: str) -> None:
        with pytest.raises(ValidationFailed, match=r"HEAD\^\{tree\}"):
            checked_tree_sha(sha)

    def test_a_repository_name_is_required_and_bounded(self) -> None:
        assert checked_repository(" acme/shop ") == "acme/shop"
        for bad in ("", "  ", "x" * 201):
            with pytest.raises(ValidationFailed):
                checked_repository(bad)

    def test_attempts_count_from_one(self) -> None:
        assert checked_attempt(1) == 1
        with pytest.raises(ValidationFailed, match="from 1"):
            checked_attempt(0)

    def test_a_window_is_a_period_and_never_off(self) -> None:
        assert parse_window("2w") == timedelta(days=14)
        for bad in ("off", "soon", "0d"):
            with pytest.raises(ValidationFailed):
                parse_window(bad)

    def test_the_default_policy_comes_from_the_settings(self) -> None:
        policy = QuarantinePolicy.of(Settings(ci_quarantine_min_runs=5, ci_flaky_window="14d"))

        assert policy.min_runs == 5
        assert policy.window == timedelta(days=14)
        assert policy.release_after_passes == 10
