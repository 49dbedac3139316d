"""Request and response models of epics and stories, shared by the API and ``--json``.

Partial updates (``PATCH``) tell "leave alone" from "clear" by which fields the client
sent: an absent field is kept, ``null`` clears the fields that may be empty
(``epic_id``, ``assignee``, ``branch``, ``pr_url``) and is refused for the others.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from orchestrate.stories.models import (
    CRITERION_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    AcceptanceCriterion,
    Epic,
    EpicChanges,
    EpicOverview,
    EpicStatus,
    ImportSummary,
    Priority,
    Story,
    StoryChanges,
    StoryDraft,
    StoryStatus,
)

Title = Annotated[str, Field(min_length=1, max_length=TITLE_MAX_LENGTH)]
Label = Annotated[str, Field(min_length=1, max_length=100)]


class CriterionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=CRITERION_MAX_LENGTH)
    done: bool = False


CriterionInput = Annotated[
    str | CriterionIn,
    Field(description='A criterion as text, or as {"text": ..., "done": true}.'),
]


def _criteria(items: list[str | CriterionIn]) -> tuple[AcceptanceCriterion, ...]:
    return tuple(
        AcceptanceCriterion(text=item)
        if isinstance(item, str)
        else AcceptanceCriterion(**dict(item))
        for item in items
    )


class CriterionOut(BaseModel):
    text: str
    done: bool


class EpicCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: str = ""
    status: EpicStatus = EpicStatus.OPEN


class EpicUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: str | None = None
    status: EpicStatus | None = None

    @model_validator(mode="after")
    def _no_null_for_required(self) -> EpicUpdate:
        _refuse_nulls(self, ("title", "description", "status"))
        return self

    def to_changes(self) -> EpicChanges:
        return EpicChanges(**{name: getattr(self, name) for name in self.model_fields_set})


class EpicOut(BaseModel):
    id: str
    key: str | None = Field(description="The BMAD epic number for imported epics, e.g. '1'.")
    title: str
    description: str
    status: EpicStatus
    story_counts: dict[StoryStatus, int] = Field(
        description="How many of the epic's stories are in each status."
    )
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, epic: Epic) -> EpicOut:
        return cls(
            id=epic.id,
            key=epic.key,
            title=epic.title,
            description=epic.description,
            status=epic.status,
            story_counts=dict(epic.story_counts),
            created_at=epic.created_at,
            updated_at=epic.updated_at,
        )


class StoryCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title
    description: str = ""
    epic_id: str | None = Field(default=None, description="An epic id or BMAD key.")
    acceptance_criteria: list[CriterionInput] = Field(default_factory=list)
    priority: Priority = Priority.MEDIUM
    labels: list[Label] = Field(default_factory=list)
    assignee: str | None = Field(default=None, max_length=200)

    def to_draft(self) -> StoryDraft:
        return StoryDraft(
            title=self.title,
            description=self.description,
            epic_id=self.epic_id,
            acceptance_criteria=_criteria(self.acceptance_criteria),
            priority=self.priority,
            labels=tuple(self.labels),
            assignee=self.assignee,
        )


class StoryUpdate(BaseModel):
    """Send only the fields to change; ``labels`` and ``acceptance_criteria`` replace."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: str | None = None
    epic_id: str | None = None
    acceptance_criteria: list[CriterionInput] | None = None
    status: StoryStatus | None = None
    priority: Priority | None = None
    labels: list[Label] | None = None
    assignee: str | None = Field(default=None, max_length=200)
    branch: str | None = Field(default=None, max_length=300)
    pr_url: str | None = Field(default=None, max_length=1000)
    depends_on: list[Annotated[str, Field(max_length=100)]] | None = Field(
        default=None,
        max_length=100,
        description="Stories of the same epic (ids or BMAD keys) this one waits for; "
        "replaces the list ([] clears it).",
    )

    @model_validator(mode="after")
    def _no_null_for_required(self) -> StoryUpdate:
        _refuse_nulls(
            self,
            (
                "title",
                "description",
                "acceptance_criteria",
                "status",
                "priority",
                "labels",
                "depends_on",
            ),
        )
        return self

    def to_changes(self) -> StoryChanges:
        sent = self.model_fields_set
        values: dict[str, Any] = {name: getattr(self, name) for name in sent}
        if "acceptance_criteria" in values:
            values["acceptance_criteria"] = _criteria(values["acceptance_criteria"])
        if "labels" in values:
            values["labels"] = tuple(values["labels"])
        if "depends_on" in values:
            values["depends_on"] = tuple(values["depends_on"])
        return StoryChanges(**values)


class StoryOut(BaseModel):
    id: str
    key: str | None = Field(description="The BMAD story number for imported stories, e.g. '1.2'.")
    epic_id: str | None
    title: str
    description: str
    acceptance_criteria: list[CriterionOut]
    status: StoryStatus
    priority: Priority
    labels: list[str]
    assignee: str | None
    branch: str | None
    pr_url: str | None
    depends_on: list[str] = Field(
        default_factory=list, description="Ids of the stories this one waits for."
    )
    blocked_reason: str | None = Field(default=None, description="Why it is blocked.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, story: Story) -> StoryOut:
        return cls(
            id=story.id,
            key=story.key,
            epic_id=story.epic_id,
            title=story.title,
            description=story.description,
            acceptance_criteria=[
                CriterionOut(text=item.text, done=item.done) for item in story.acceptance_criteria
            ],
            status=story.status,
            priority=story.priority,
            labels=list(story.labels),
            assignee=story.assignee,
            branch=story.branch,
            pr_url=story.pr_url,
            depends_on=list(story.depends_on),
            blocked_reason=story.blocked_reason,
            created_at=story.created_at,
            updated_at=story.updated_at,
        )


class EpicWithStoriesOut(EpicOut):
    stories: list[StoryOut]

    @classmethod
    def of_overview(cls, overview: EpicOverview) -> EpicWithStoriesOut:
        return cls(
            **EpicOut.of(overview.epic).model_dump(),
            stories=[StoryOut.of(story) for story in overview.stories],
        )


class ImportSummaryOut(BaseModel):
    files: list[str]
    epics_created: int
    epics_updated: int
    epics_unchanged: int
    stories_created: int
    stories_updated: int
    stories_unchanged: int

    @classmethod
    def of(cls, summary: ImportSummary) -> ImportSummaryOut:
        return cls(
            files=list(summary.files),
            epics_created=summary.epics_created,
            epics_updated=summary.epics_updated,
            epics_unchanged=summary.epics_unchanged,
            stories_created=summary.stories_created,
            stories_updated=summary.stories_updated,
            stories_unchanged=summary.stories_unchanged,
        )


def _refuse_nulls(model: BaseModel, names: tuple[str, ...]) -> None:
    nulls = [
        name for name in names if name in model.model_fields_set and getattr(model, name) is None
    ]
    if nulls:
        raise ValueError(f"{', '.join(nulls)} may not be null; leave the field out to keep it")
