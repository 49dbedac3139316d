"""Health's statuses from their thresholds: the queue, the scheduler, the whole."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from orchestrate.monitoring.models import (
    QUEUE_DEPTH_DEGRADED,
    QUEUE_OLDEST_DEGRADED,
    SCHEDULER_MARGIN,
    DatabaseHealth,
    HourRate,
    Status,
    overall,
    queue_status,
    scheduler_status,
)

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
REACHABLE = DatabaseHealth(Status.OK, True, "sqlite", 0.5)
UNREACHABLE = DatabaseHealth(Status.DOWN, False, "sqlite", None, "OperationalError")


def test_a_queue_is_degraded_over_its_depth_or_its_oldest_wait() -> None:
    assert queue_status(QUEUE_DEPTH_DEGRADED, None) is Status.OK
    assert queue_status(QUEUE_DEPTH_DEGRADED + 1, None) is Status.DEGRADED
    assert queue_status(3, QUEUE_OLDEST_DEGRADED) is Status.OK
    assert queue_status(3, QUEUE_OLDEST_DEGRADED + timedelta(seconds=1)) is Status.DEGRADED


def test_the_scheduler_is_stale_only_past_its_margin() -> None:
    assert scheduler_status(None, NOW) == (Status.OK, None)
    assert scheduler_status(NOW + timedelta(minutes=1), NOW) == (Status.OK, None)
    late = NOW - SCHEDULER_MARGIN
    assert scheduler_status(late, NOW) == (Status.OK, SCHEDULER_MARGIN)
    later = late - timedelta(seconds=1)
    assert scheduler_status(later, NOW) == (Status.STALE, SCHEDULER_MARGIN + timedelta(seconds=1))


def test_the_whole_is_down_with_the_database_and_degraded_with_any_part() -> None:
    assert overall(UNREACHABLE, ()) is Status.DOWN
    assert overall(REACHABLE, (Status.OK, Status.OK)) is Status.OK
    assert overall(REACHABLE, (Status.OK, Status.STALE)) is Status.DEGRADED
    assert overall(REACHABLE, (Status.DEGRADED,)) is Status.DEGRADED


def test_an_hour_without_ended_runs_has_no_failures() -> None:
    assert HourRate(NOW, 0, 0).failure_rate == 0.0
    assert HourRate(NOW, 4, 1).failure_rate == 0.25
