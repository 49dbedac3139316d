"""What a stream may be asked to push, and how often it pushes a part."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from orchestrate.core.events import Event
from orchestrate.dashboard.pushed import (
    MAX_PAGES,
    MAX_WATCHED,
    PUSH_INTERVAL_SECONDS,
    PushSchedule,
    WatchedPart,
    WatchError,
    parse_watch,
    part_frame,
    watching_frame,
)


def _event(type_: str, subject: str = "x", id_: int = 1) -> Event:
    return Event(id=id_, type=type_, subject=subject, payload={}, created_at=datetime.now(UTC))


def _watch(**changes: object) -> str:
    part = {"tab": "1", "id": "agents-table", "url": "/ui/agents?state=running", "live": "agent."}
    return json.dumps([{**part, **changes}])


def test_a_well_formed_list_names_its_parts() -> None:
    raw = json.dumps(
        [
            {"tab": "1", "id": "agents-table", "url": "/ui/agents", "live": "agent. run."},
            {"tab": "2", "id": "agent-state", "url": "/ui/agents/agt_1?window=2", "live": "agt_1"},
        ]
    )
    assert parse_watch(raw) == [
        WatchedPart("1", "agents-table", "/ui/agents", ("agent.", "run.")),
        WatchedPart("2", "agent-state", "/ui/agents/agt_1?window=2", ("agt_1",)),
    ]


@pytest.mark.parametrize(
    ("raw", "says"),
    [
        ("not json", "JSON list"),
        ('{"tab": "1"}', "JSON list"),
        ("[1]", "watch[0] must be an object"),
        (_watch(tab=1), "watch[0].tab"),
        (_watch(tab="1x"), "watch[0].tab"),
        (_watch(id="1table"), "watch[0].id"),
        (_watch(id='x" onmouseover="y'), "watch[0].id"),
        (_watch(url="/api/tokens"), "watch[0].url"),  # not a dashboard page
        (_watch(url="https://elsewhere.test/ui/agents"), "watch[0].url"),
        (_watch(url="/ui//elsewhere.test/x"), "watch[0].url"),
        (_watch(url="/ui/../api/tokens"), "watch[0].url"),
        (_watch(url="/ui/%2e%2e/api/tokens"), "watch[0].url"),
        (_watch(url="/ui/events?after=1"), "watch[0].url"),  # the stream itself
        (_watch(url="/ui/events/"), "watch[0].url"),
        (_watch(url="/ui/" + "a" * 2000), "watch[0].url"),
        (_watch(live=""), "watch[0].live"),
        (_watch(live=" ".join(["agent."] * 17)), "watch[0].live"),
        (_watch(live="agent.<script>"), "watch[0].live"),
        (json.dumps([json.loads(_watch())[0]] * (MAX_WATCHED + 1)), f"at most {MAX_WATCHED}"),
        (
            json.dumps(
                [
                    {"tab": "1", "id": "t", "url": f"/ui/agents?page={n}", "live": "agent."}
                    for n in range(MAX_PAGES + 1)
                ]
            ),
            f"parts of {MAX_PAGES + 1} pages",
        ),
    ],
)
def test_anything_else_is_refused_saying_what_is_wrong(raw: str, says: str) -> None:
    with pytest.raises(WatchError, match=says.replace(".", r"\.").replace("[", r"\[")):
        parse_watch(raw)


def test_a_part_matches_an_event_by_type_prefix_or_subject() -> None:
    part = WatchedPart("1", "p", "/ui/agents", ("agent.", "run_7"))
    assert part.matches(_event("agent.started"))
    assert part.matches(_event("pipeline.step_finished", subject="run_7"))
    assert not part.matches(_event("pipeline.step_finished", subject="run_8"))


def test_a_part_is_pushed_at_once_then_at_most_once_per_interval() -> None:
    agents = WatchedPart("1", "agents-table", "/ui/agents", ("agent.",))
    runs = WatchedPart("2", "runs-table", "/ui/runs", ("run.",))
    schedule = PushSchedule([agents, runs])
    assert schedule.wait(100.0) is None  # nothing pending: wait for events only

    schedule.note([_event("agent.created"), _event("agent.started")])
    assert schedule.wait(100.0) == 0.0
    assert schedule.due(100.0) == [agents]  # the first push goes at once, once
    assert schedule.due(100.0) == []

    schedule.note([_event("agent.finished")])  # within the interval: it waits
    assert schedule.due(100.1) == []
    assert schedule.wait(100.1) == pytest.approx(PUSH_INTERVAL_SECONDS - 0.1)
    schedule.note([_event("agent.cancelled"), _event("run.created")])  # folded into one
    assert schedule.due(100.1) == [runs]
    assert schedule.due(100.0 + PUSH_INTERVAL_SECONDS) == [agents]
    assert schedule.wait(100.5) is None


def test_the_frames_name_the_tabs_and_carry_the_part_without_an_event_id() -> None:
    schedule = PushSchedule(parse_watch(_watch(tab="3")))
    assert watching_frame(schedule) == 'event: watching\ndata: ["3"]\n\n'
    frame = part_frame(WatchedPart("3", "p", "/ui/x", ("a.",)), '<div id="p">\n</div>')
    head, data = frame.rstrip("\n").split("\n")
    assert head == "event: part"
    assert json.loads(data.removeprefix("data: ")) == {
        "tab": "3",
        "id": "p",
        "html": '<div id="p">\n</div>',
    }
    assert "id:" not in frame.split("data:")[0]
