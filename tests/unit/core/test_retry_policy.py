"""Retry delays: exponential growth, a cap, and jitter that never retries too soon."""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestrate.core.jobs import RetryPolicy

POLICY = RetryPolicy(base=timedelta(seconds=2), cap=timedelta(minutes=10))


def nominal(policy: RetryPolicy, attempt: int) -> float:
    """base * 2**(attempt-1), capped; computed in integers so huge attempts cannot overflow."""
    doubled_ms = policy.base // timedelta(milliseconds=1) * 2 ** max(attempt - 1, 0)
    return min(policy.cap.total_seconds(), doubled_ms / 1000 if doubled_ms < 2**60 else 2.0**60)


class TestGrowth:
    @pytest.mark.parametrize(
        ("attempt", "longest"), [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (9, 512)]
    )
    def test_the_delay_doubles_with_each_attempt(self, attempt: int, longest: float) -> None:
        assert POLICY.delay_after(attempt, rand=lambda: 1.0) == timedelta(seconds=longest)
        assert POLICY.delay_after(attempt, rand=lambda: 0.0) == timedelta(seconds=longest / 2)

    def test_the_first_attempt_waits_about_the_base_delay(self) -> None:
        assert POLICY.delay_after(1, rand=lambda: 0.5) == timedelta(seconds=1.5)

    @pytest.mark.parametrize("attempt", [0, -3])
    def test_attempts_before_the_first_are_treated_as_the_first(self, attempt: int) -> None:
        assert POLICY.delay_after(attempt, rand=lambda: 1.0) == timedelta(seconds=2)


class TestCap:
    @pytest.mark.parametrize("attempt", [10, 11, 40, 63, 64, 1_000, 10**9])
    def test_late_attempts_wait_at_most_the_cap(self, attempt: int) -> None:
        assert POLICY.delay_after(attempt, rand=lambda: 1.0) == timedelta(minutes=10)
        assert POLICY.delay_after(attempt, rand=lambda: 0.0) == timedelta(minutes=5)

    def test_a_cap_below_the_base_wins(self) -> None:
        policy = RetryPolicy(base=timedelta(seconds=30), cap=timedelta(seconds=10))

        assert policy.delay_after(1, rand=lambda: 1.0) == timedelta(seconds=10)


class TestJitter:
    @given(
        attempt=st.integers(min_value=-5, max_value=10_000),
        rand=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
        base_ms=st.integers(min_value=1, max_value=60_000),
        cap_ms=st.integers(min_value=1, max_value=86_400_000),
    )
    def test_a_delay_is_between_half_and_all_of_the_nominal_delay(
        self, attempt: int, rand: float, base_ms: int, cap_ms: int
    ) -> None:
        policy = RetryPolicy(
            base=timedelta(milliseconds=base_ms), cap=timedelta(milliseconds=cap_ms)
        )
        expected = nominal(policy, attempt)

        delay = policy.delay_after(attempt, rand=lambda: rand).total_seconds()

        tolerance = 1e-6  # timedelta keeps microseconds
        assert expected / 2 - tolerance <= delay <= expected + tolerance
        assert delay <= policy.cap.total_seconds() + tolerance

    @given(
        attempt=st.integers(min_value=1, max_value=100),
        rand=st.floats(min_value=0.0, max_value=1.0, exclude_max=True),
    )
    def test_with_the_same_luck_a_later_attempt_never_waits_less(
        self, attempt: int, rand: float
    ) -> None:
        assert POLICY.delay_after(attempt + 1, rand=lambda: rand) >= POLICY.delay_after(
            attempt, rand=lambda: rand
        )

    def test_jobs_that_failed_together_retry_at_different_times(self) -> None:
        delays = {POLICY.delay_after(4) for _ in range(200)}

        assert len(delays) > 100
        assert all(timedelta(seconds=8) <= d <= timedelta(seconds=16) for d in delays)
