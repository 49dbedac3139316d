"""The story and epic forms: what a person typed, kept as typed, turned into the same
drafts and changes the API builds, and the service's refusals put beside their fields.

A form that the service refuses is shown again with everything that was typed, so
nothing is lost; the message of each ``ValidationFailed`` goes to the field it names
(``context["field"]``), or above the form when it names none.

Acceptance criteria are typed one a line; a line starting ``[x]`` (or ``- [x]``, as in
a story file) is a criterion already met. Labels and dependencies are separated by
commas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any

from starlette.datastructures import FormData

from orchestrate.core.errors import ValidationFailed
from orchestrate.stories import (
    AcceptanceCriterion,
    Epic,
    EpicChanges,
    EpicStatus,
    Priority,
    Story,
    StoryChanges,
    StoryDraft,
)

_CHECKBOX = re.compile(r"^(?:[-*+]\s+)?\[([ xX])\]\s*")
_BULLET = re.compile(r"^[-*+]\s+")
# A field of the service's errors → the form control that shows it.
_FIELD_OF = {"epic_id": "epic", "repo": "repository"}

Errors = dict[str, str]


def field_errors(error: ValidationFailed, known: set[str]) -> Errors:
    """``{control: message}`` for a refusal; ``""`` holds what no control owns."""
    name = str(error.context.get("field", ""))
    name = _FIELD_OF.get(name, name)
    return {name if name in known else "": error.message}


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _choice(value: str, enum: Any, name: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise ValidationFailed(f"Choose a {name}: one of {allowed}", field=name) from None


def _list(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def criteria_of(text: str) -> tuple[AcceptanceCriterion, ...]:
    """One criterion a non-blank line; ``[x]`` in front marks it met."""
    criteria = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        box = _CHECKBOX.match(line)
        if box:
            criteria.append(AcceptanceCriterion(line[box.end() :], done=box.group(1) != " "))
        else:
            criteria.append(AcceptanceCriterion(_BULLET.sub("", line)))
    return tuple(criteria)


def criteria_text(criteria: tuple[AcceptanceCriterion, ...]) -> str:
    return "\n".join(f"[{'x' if item.done else ' '}] {item.text}" for item in criteria)


@dataclass(frozen=True)
class StoryForm:
    """The fields of the story form, as text."""

    title: str = ""
    description: str = ""
    acceptance_criteria: str = ""
    epic: str = ""
    priority: str = Priority.MEDIUM.value
    labels: str = ""
    assignee: str = ""
    branch: str = ""
    pr_url: str = ""
    depends_on: str = ""

    @classmethod
    def names(cls) -> set[str]:
        return {item.name for item in fields(cls)}

    @classmethod
    def posted(cls, form: FormData) -> StoryForm:
        return cls(**{name: _text(form, name) for name in cls.names()})

    @classmethod
    def of(cls, story: Story) -> StoryForm:
        return cls(
            title=story.title,
            description=story.description,
            acceptance_criteria=criteria_text(story.acceptance_criteria),
            epic=story.epic_id or "",
            priority=story.priority.value,
            labels=", ".join(story.labels),
            assignee=story.assignee or "",
            branch=story.branch or "",
            pr_url=story.pr_url or "",
            depends_on=", ".join(story.depends_on),
        )

    def with_epic(self, epic: str | None) -> StoryForm:
        return replace(self, epic=epic or "")

    def draft(self) -> StoryDraft:
        """A new story, as ``POST /api/stories`` would make it."""
        return StoryDraft(
            title=self.title,
            description=self.description,
            epic_id=self.epic.strip() or None,
            acceptance_criteria=criteria_of(self.acceptance_criteria),
            priority=_choice(self.priority, Priority, "priority"),
            labels=_list(self.labels),
            assignee=self.assignee.strip() or None,
        )

    def changes(self) -> StoryChanges:
        """Every field of the form as a change; the service keeps the ones that differ."""
        return StoryChanges(
            title=self.title,
            description=self.description,
            epic_id=self.epic.strip() or None,
            acceptance_criteria=criteria_of(self.acceptance_criteria),
            priority=_choice(self.priority, Priority, "priority"),
            labels=_list(self.labels),
            assignee=self.assignee.strip() or None,
            branch=self.branch.strip() or None,
            pr_url=self.pr_url.strip() or None,
            depends_on=_list(self.depends_on),
        )


@dataclass(frozen=True)
class EpicForm:
    """The fields of the epic form, as text."""

    title: str = ""
    description: str = ""
    status: str = EpicStatus.OPEN.value

    @classmethod
    def names(cls) -> set[str]:
        return {item.name for item in fields(cls)}

    @classmethod
    def posted(cls, form: FormData) -> EpicForm:
        return cls(**{name: _text(form, name) for name in cls.names()})

    @classmethod
    def of(cls, epic: Epic) -> EpicForm:
        return cls(title=epic.title, description=epic.description, status=epic.status.value)

    def status_value(self) -> EpicStatus:
        result: EpicStatus = _choice(self.status, EpicStatus, "status")
        return result

    def changes(self) -> EpicChanges:
        return EpicChanges(
            title=self.title, description=self.description, status=self.status_value()
        )


@dataclass(frozen=True)
class RunForm:
    """Starting an epic's autonomous run: where, and its limits (blank: the settings')."""

    repository: str = ""
    stuck_minutes: str = ""
    max_attempts: str = ""

    @classmethod
    def names(cls) -> set[str]:
        return {item.name for item in fields(cls)}

    @classmethod
    def posted(cls, form: FormData) -> RunForm:
        return cls(**{name: _text(form, name) for name in cls.names()})

    def number(self, name: str) -> int | None:
        text = str(getattr(self, name)).strip()
        if not text:
            return None
        if not text.isdigit() or len(text) > 6:
            raise ValidationFailed(f"{name.replace('_', ' ')} must be a whole number", field=name)
        return int(text)


@dataclass(frozen=True)
class AgentForm:
    """Starting a story developer on a story."""

    repository: str = ""
    task: str = ""
    force: str = ""

    @classmethod
    def names(cls) -> set[str]:
        return {item.name for item in fields(cls)}

    @classmethod
    def posted(cls, form: FormData) -> AgentForm:
        return cls(**{name: _text(form, name) for name in cls.names()})
