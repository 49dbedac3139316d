"""The run and step state machines allow exactly the documented moves."""

from __future__ import annotations

import pytest

from orchestrate.core.errors import InvalidTransition
from orchestrate.pipelines.models import (
    RunStatus,
    StepStatus,
    check_run_transition,
    check_step_transition,
)

RUN_MOVES = {
    (RunStatus.QUEUED, RunStatus.RUNNING),
    (RunStatus.QUEUED, RunStatus.CANCELLED),
    (RunStatus.RUNNING, RunStatus.WAITING),
    (RunStatus.WAITING, RunStatus.RUNNING),
    *(
        (s, end)
        for s in (RunStatus.RUNNING, RunStatus.WAITING)
        for end in (RunStatus.SUCCESS, RunStatus.FAILURE, RunStatus.CANCELLED)
    ),
}

STEP_MOVES = {
    *(
        (StepStatus.PENDING, s)
        for s in (
            StepStatus.QUEUED,
            StepStatus.RUNNING,
            StepStatus.WAITING,
            StepStatus.SKIPPED,
            StepStatus.CANCELLED,
            StepStatus.SUCCESS,
        )
    ),
    (StepStatus.QUEUED, StepStatus.RUNNING),
    (StepStatus.QUEUED, StepStatus.CANCELLED),
    (StepStatus.RUNNING, StepStatus.QUEUED),
    *(
        (s, end)
        for s in (StepStatus.RUNNING, StepStatus.WAITING)
        for end in (StepStatus.SUCCESS, StepStatus.FAILURE, StepStatus.CANCELLED)
    ),
}


@pytest.mark.parametrize("current", list(RunStatus))
@pytest.mark.parametrize("target", list(RunStatus))
def test_run_moves(current: RunStatus, target: RunStatus) -> None:
    if current == target:
        return
    if (current, target) in RUN_MOVES:
        check_run_transition("prun_1", current, target)
    else:
        with pytest.raises(InvalidTransition):
            check_run_transition("prun_1", current, target)


@pytest.mark.parametrize("current", list(StepStatus))
@pytest.mark.parametrize("target", list(StepStatus))
def test_step_moves(current: StepStatus, target: StepStatus) -> None:
    if current == target:
        return
    if (current, target) in STEP_MOVES:
        check_step_transition("build", current, target)
    else:
        with pytest.raises(InvalidTransition):
            check_step_transition("build", current, target)


def test_ended_states_are_terminal() -> None:
    assert {s for s in RunStatus if s.is_terminal} == {
        RunStatus.SUCCESS,
        RunStatus.FAILURE,
        RunStatus.CANCELLED,
    }
    assert {s for s in StepStatus if s.is_terminal} == {
        StepStatus.SUCCESS,
        StepStatus.FAILURE,
        StepStatus.CANCELLED,
        StepStatus.SKIPPED,
    }
