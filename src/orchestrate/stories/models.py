"""Epics and stories: statuses, the story state machine, and the rules for clean values.

Story statuses and the moves between them::

    backlog ⇄ ready ⇄ in_progress ⇄ review → done
      (one step forward or back along the main flow; review → in_progress is
       "changes requested", ready → backlog is "not yet")

    any non-terminal status → blocked | cancelled      (terminal: done, cancelled)
    blocked   → backlog | ready | in_progress | review | cancelled
    cancelled → backlog                                (restore)
    done      → in_progress                            (reopen)

Asking for the status a story already has is a no-op, not an error. Every other move
goes through ``check_transition``, which raises ``InvalidTransition`` naming the
statuses that are allowed from where the story is. The one exception is a BMAD
re-import (see ``service.import_bmad``): the markdown file is the source of truth for
its checkboxes, so a story whose boxes are all ticked becomes ``done`` from any status,
and a done story whose boxes get unticked again goes back to ``in_progress``.

An epic's status is a planning label set by hand (``open`` → ``in_progress`` → ``done``,
or ``cancelled``); any status may follow any other, because epics do not drive work
themselves: their stories do, and ``story_counts`` shows their real progress.

Labels are normalised so that ``Backend``, ``backend `` and ``BACKEND`` are one label:
surrounding whitespace is stripped, inner runs of whitespace become one space, letters
are lower-cased, duplicates are dropped, and the result is sorted.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum, StrEnum
from typing import Final, Literal, TypeAlias, TypeVar

from orchestrate.core.errors import InvalidTransition, ValidationFailed

TITLE_MAX_LENGTH = 500
LABEL_MAX_LENGTH = 100
CRITERION_MAX_LENGTH = 2000
_TEXT_LIMITS: Final = {"assignee": 200, "branch": 300, "pr_url": 1000}


class StoryStatus(StrEnum):
    BACKLOG = "backlog"
    READY = "ready"
    IN_PROGRESS = "in_progress"
    REVIEW = "review"
    DONE = "done"
    BLOCKED = "blocked"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in (StoryStatus.DONE, StoryStatus.CANCELLED)


class EpicStatus(StrEnum):
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    CANCELLED = "cancelled"


class Priority(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


_S = StoryStatus
_ALLOWED: Final[Mapping[StoryStatus, tuple[StoryStatus, ...]]] = {
    _S.BACKLOG: (_S.READY, _S.BLOCKED, _S.CANCELLED),
    _S.READY: (_S.BACKLOG, _S.IN_PROGRESS, _S.BLOCKED, _S.CANCELLED),
    _S.IN_PROGRESS: (_S.READY, _S.REVIEW, _S.BLOCKED, _S.CANCELLED),
    _S.REVIEW: (_S.IN_PROGRESS, _S.DONE, _S.BLOCKED, _S.CANCELLED),
    _S.DONE: (_S.IN_PROGRESS,),
    _S.BLOCKED: (_S.BACKLOG, _S.READY, _S.IN_PROGRESS, _S.REVIEW, _S.CANCELLED),
    _S.CANCELLED: (_S.BACKLOG,),
}


def allowed_transitions(current: StoryStatus) -> tuple[StoryStatus, ...]:
    """The statuses a story may move to from ``current``, in flow order."""
    return _ALLOWED[current]


def check_transition(current: StoryStatus, target: StoryStatus, *, subject: str = "story") -> bool:
    """Whether moving ``current`` → ``target`` changes anything; raises if it is not allowed."""
    if current == target:
        return False
    allowed = _ALLOWED[current]
    if target not in allowed:
        choices = ", ".join(status.value for status in allowed)
        raise InvalidTransition(
            f"Cannot move {subject} from {current.value!r} to {target.value!r}; "
            f"from {current.value!r} it can move to: {choices}",
            current=current.value,
            target=target.value,
            allowed=[status.value for status in allowed],
        )
    return True


@dataclass(frozen=True)
class AcceptanceCriterion:
    text: str
    done: bool = False


@dataclass(frozen=True)
class Epic:
    id: str
    key: str | None
    title: str
    description: str
    status: EpicStatus
    source: str | None
    created_at: datetime
    updated_at: datetime
    story_counts: Mapping[StoryStatus, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Story:
    id: str
    key: str | None
    epic_id: str | None
    title: str
    description: str
    acceptance_criteria: tuple[AcceptanceCriterion, ...]
    status: StoryStatus
    priority: Priority
    labels: tuple[str, ...]
    assignee: str | None
    branch: str | None
    pr_url: str | None
    source: str | None
    created_at: datetime
    updated_at: datetime
    depends_on: tuple[str, ...] = ()
    """Ids of the stories of the same epic that must be done before this one starts."""
    blocked_reason: str | None = None
    """Why the story is ``blocked`` (set while it is)."""


@dataclass(frozen=True)
class EpicOverview:
    """An epic with all its stories, oldest first (for an imported epic: file order)."""

    epic: Epic
    stories: tuple[Story, ...]


@dataclass(frozen=True)
class StoryOutline:
    """What ordering and counting an epic's stories needs of one: no text, no labels."""

    id: str
    status: StoryStatus
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class EpicOutline:
    """An epic with the outline of each of its stories, oldest first (as
    ``EpicOverview``): enough to order and count them, for a reader that then reads in
    full only the few stories it shows."""

    epic: Epic
    stories: tuple[StoryOutline, ...]


@dataclass(frozen=True)
class ImportSummary:
    """What one BMAD import changed; ``unchanged`` items matched stored ones exactly."""

    files: tuple[str, ...]
    epics_created: int = 0
    epics_updated: int = 0
    epics_unchanged: int = 0
    stories_created: int = 0
    stories_updated: int = 0
    stories_unchanged: int = 0


@dataclass(frozen=True)
class StoryDraft:
    """What a new story is made of; it starts in ``backlog`` without a BMAD key."""

    title: str
    description: str = ""
    epic_id: str | None = None
    acceptance_criteria: tuple[AcceptanceCriterion, ...] = ()
    priority: Priority = Priority.MEDIUM
    labels: tuple[str, ...] = ()
    assignee: str | None = None
    source: str | None = None
    """Where the story came from (a GitHub issue's address, say); shown, not interpreted."""
    origin_key: str | None = None
    """Unique per origin (``github-issue:<id>``): a second draft with it adds nothing."""


class Unset(Enum):
    """Marks a field a partial update leaves alone (``None`` means "clear it")."""

    UNSET = "unset"


UNSET: Final = Unset.UNSET
_T = TypeVar("_T")
Maybe: TypeAlias = _T | Literal[Unset.UNSET]


@dataclass(frozen=True)
class StoryChanges:
    """A partial update of a story: fields left ``UNSET`` keep their value.

    ``labels`` replaces the whole set; ``add_labels`` and ``remove_labels`` are applied
    after it, so a caller can change one label without reading the others first.
    """

    title: Maybe[str] = UNSET
    description: Maybe[str] = UNSET
    epic_id: Maybe[str | None] = UNSET
    acceptance_criteria: Maybe[tuple[AcceptanceCriterion, ...]] = UNSET
    status: Maybe[StoryStatus] = UNSET
    priority: Maybe[Priority] = UNSET
    labels: Maybe[tuple[str, ...]] = UNSET
    add_labels: tuple[str, ...] = ()
    remove_labels: tuple[str, ...] = ()
    assignee: Maybe[str | None] = UNSET
    branch: Maybe[str | None] = UNSET
    pr_url: Maybe[str | None] = UNSET
    depends_on: Maybe[tuple[str, ...]] = UNSET
    """Stories of the same epic (ids or BMAD keys) this one waits for; replaces the list."""

    @property
    def is_empty(self) -> bool:
        return self == StoryChanges()


@dataclass(frozen=True)
class EpicChanges:
    """A partial update of an epic: fields left ``UNSET`` keep their value."""

    title: Maybe[str] = UNSET
    description: Maybe[str] = UNSET
    status: Maybe[EpicStatus] = UNSET

    @property
    def is_empty(self) -> bool:
        return self == EpicChanges()


def clean_title(title: str) -> str:
    """A title stripped of surrounding whitespace; empty or overlong titles are refused."""
    cleaned = " ".join(title.split())
    if not cleaned:
        raise ValidationFailed("A title must not be empty", field="title")
    if len(cleaned) > TITLE_MAX_LENGTH:
        raise ValidationFailed(
            f"A title may have at most {TITLE_MAX_LENGTH} characters, got {len(cleaned)}",
            field="title",
        )
    return cleaned


def normalise_label(label: str) -> str:
    cleaned = " ".join(label.split()).lower()
    if not cleaned:
        raise ValidationFailed("A label must not be empty", field="labels")
    if len(cleaned) > LABEL_MAX_LENGTH:
        raise ValidationFailed(
            f"Label {cleaned[:40]!r}… is longer than {LABEL_MAX_LENGTH} characters",
            field="labels",
        )
    return cleaned


def normalise_labels(labels: Iterable[str]) -> tuple[str, ...]:
    """Labels as stored: trimmed, lower-cased, without duplicates, sorted."""
    return tuple(sorted({normalise_label(label) for label in labels}))


def clean_criteria(criteria: Iterable[AcceptanceCriterion]) -> tuple[AcceptanceCriterion, ...]:
    """Criteria with trimmed text; an empty criterion is refused rather than stored blank."""
    cleaned: list[AcceptanceCriterion] = []
    for position, criterion in enumerate(criteria, start=1):
        text = " ".join(criterion.text.split())
        if not text:
            raise ValidationFailed(
                f"Acceptance criterion {position} is empty", field="acceptance_criteria"
            )
        if len(text) > CRITERION_MAX_LENGTH:
            raise ValidationFailed(
                f"Acceptance criterion {position} is longer than {CRITERION_MAX_LENGTH} characters",
                field="acceptance_criteria",
            )
        cleaned.append(AcceptanceCriterion(text=text, done=criterion.done))
    return tuple(cleaned)


def clean_optional_text(name: str, value: str | None) -> str | None:
    """``assignee``, ``branch`` or ``pr_url`` trimmed; blank means "not set"."""
    if value is None or not value.strip():
        return None
    cleaned = value.strip()
    limit = _TEXT_LIMITS[name]
    if len(cleaned) > limit:
        raise ValidationFailed(f"{name} may have at most {limit} characters", field=name)
    if name == "pr_url" and not cleaned.startswith(("https://", "http://")):
        raise ValidationFailed(
            f"pr_url must be an http(s) URL, got {cleaned[:60]!r}", field="pr_url"
        )
    return cleaned


def all_checked(criteria: Iterable[AcceptanceCriterion]) -> bool:
    """True when there is at least one criterion and every one is ticked."""
    items = list(criteria)
    return bool(items) and all(item.done for item in items)


BLOCKED_REASON_MAX_LENGTH: Final = 2000
MAX_DEPENDENCIES: Final = 100


def clean_blocked_reason(reason: str) -> str:
    """A reason shown to people: one paragraph of plain text, bounded."""
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in reason).split())
    if len(cleaned) > BLOCKED_REASON_MAX_LENGTH:
        cleaned = cleaned[: BLOCKED_REASON_MAX_LENGTH - 1].rstrip() + "…"
    return cleaned or "blocked"


def find_dependency_cycle(graph: Mapping[str, Iterable[str]]) -> list[str] | None:
    """A cycle of ``graph`` (story → the stories it depends on) as a path that returns to
    its start (``[a, b, a]``), or None. Edges to nodes outside the graph are ignored."""
    white, grey, black = 0, 1, 2
    colour = dict.fromkeys(graph, white)
    for start in graph:
        if colour[start] != white:
            continue
        path: list[str] = [start]
        stack: list[list[str]] = [[d for d in graph[start] if d in colour]]
        colour[start] = grey
        while stack:
            if not stack[-1]:
                stack.pop()
                colour[path.pop()] = black
                continue
            node = stack[-1].pop()
            if colour[node] == grey:
                return [*path[path.index(node) :], node]
            if colour[node] == white:
                colour[node] = grey
                path.append(node)
                stack.append([d for d in graph[node] if d in colour])
    return None


def dependency_order(order: Iterable[str], graph: Mapping[str, Iterable[str]]) -> list[str]:
    """``order`` rearranged so that every story comes after the stories it depends on,
    otherwise keeping ``order`` (the epic's story order); raises on a cycle.

    Each next story is the first of ``order`` whose dependencies are all placed; a heap of
    the stories that are free to go, by their place in ``order``, finds it in
    O((stories + dependencies) · log stories), so an epic of thousands of stories is
    ordered in milliseconds (an epic's page and its run order it on every look).
    """
    wanted = list(dict.fromkeys(order))
    cycle = find_dependency_cycle({node: list(graph.get(node, ())) for node in wanted})
    if cycle is not None:
        raise ValidationFailed(
            "Stories depend on each other in a cycle: " + " → ".join(cycle), field="depends_on"
        )
    position = {node: index for index, node in enumerate(wanted)}
    waiting_on = {node: {dep for dep in graph.get(node, ()) if dep in position} for node in wanted}
    dependents: dict[str, list[str]] = {node: [] for node in wanted}
    for node, dependencies in waiting_on.items():
        for dependency in dependencies:
            dependents[dependency].append(node)
    free = [position[node] for node in wanted if not waiting_on[node]]
    heapq.heapify(free)
    placed: list[str] = []
    while free:
        node = wanted[heapq.heappop(free)]
        placed.append(node)
        for dependent in dependents[node]:
            waiting_on[dependent].discard(node)
            if not waiting_on[dependent]:
                heapq.heappush(free, position[dependent])
    return placed
