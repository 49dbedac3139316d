"""What a stream may be asked to push, and how often it pushes a part."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from orchestrate.core.events import Event
from orchestrate.dashboard.pushed import (
    MAX_ENTRIES,
    MAX_PAGES,
    MAX_TOKENS,
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
        (json.dumps([json.loads(_watch())[0]] * (MAX_ENTRIES + 1)), f"at most {MAX_ENTRIES}"),
        ("[1]", "watch[0] must be an object"),
        (_watch(tab=1), "watch[0].tab"),
        (_watch(tab="1x"), "watch[0].tab"),
    ],
)
def test_what_is_not_a_list_of_parts_at_all_is_refused_saying_why(raw: str, says: str) -> None:
    with pytest.raises(WatchError, match=says.replace(".", r"\.").replace("[", r"\[")):
        parse_watch(raw)


@pytest.mark.parametrize(
    "entry",
    [
        {"id": "1table"},
        {"id": 'x" onmouseover="y'},
        {"url": "/api/tokens"},  # not a dashboard page
        {"url": "https://elsewhere.test/ui/agents"},
        {"url": "/ui//elsewhere.test/x"},
        {"url": "/ui/../api/tokens"},
        {"url": "/ui/%2e%2e/api/tokens"},
        {"url": "/ui/events?after=1"},  # the stream itself
        {"url": "/ui/events/"},
        {"url": "/ui/static/live.js"},  # files, not pages
        {"url": "/ui/vendor/htmx-2.0.11.min.js"},
        {"url": "/ui/" + "a" * 2000},
        {"live": ""},
        {"live": " ".join(["agent."] * (MAX_TOKENS + 1))},
    ],
)
def test_a_tab_with_a_part_the_stream_cannot_push_is_left_to_fetch(entry: dict[str, str]) -> None:
    pushable = {"tab": "2", "id": "runs-table", "url": "/ui/runs", "live": "run."}
    both_of_tab_1 = [json.loads(_watch())[0], json.loads(_watch(**entry))[0]]
    parts = parse_watch(json.dumps([*both_of_tab_1, pushable]))
    assert [part.tab for part in parts] == ["2"]  # tab 1 whole is left out, not half
    assert PushSchedule(parts).tabs() == ["2"]


def test_real_pages_tokens_are_taken() -> None:
    """A pull request's subject (owner/name#12) and an epic's hundreds of story ids."""
    stories = " ".join(f"story_{n:04d}" for n in range(200))
    raw = json.dumps(
        [
            {"tab": "1", "id": "pr-main", "url": "/ui/pull-requests/o/n/12", "live": "o/n#12 pr."},
            {"tab": "2", "id": "epic-main", "url": "/ui/epics/epic_1", "live": stories},
        ]
    )
    assert [part.tab for part in parse_watch(raw)] == ["1", "2"]


def test_tabs_beyond_the_caps_are_left_to_fetch() -> None:
    many_parts = [
        {"tab": str(n // 4), "id": f"p{n}", "url": "/ui/agents", "live": "agent."}
        for n in range(MAX_WATCHED + 4)
    ]
    parts = parse_watch(json.dumps(many_parts))
    assert len(parts) == MAX_WATCHED
    assert {part.tab for part in parts} == {str(tab) for tab in range(MAX_WATCHED // 4)}
    many_pages = [
        {"tab": str(n), "id": "t", "url": f"/ui/agents?page={n}", "live": "agent."}
        for n in range(MAX_PAGES + 3)
    ]
    assert len(parse_watch(json.dumps(many_pages))) == MAX_PAGES


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

    schedule.mark_all()  # a resumed stream owes every part a push
    assert sorted(part.part_id for part in schedule.due(101.0)) == ["agents-table", "runs-table"]


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
