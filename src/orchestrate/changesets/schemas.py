"""Request and response models of ``/api/changesets``."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.changesets.models import (
    DESCRIPTION_MAX_LENGTH,
    MAX_MEMBERS,
    TITLE_MAX_LENGTH,
    ChangeSet,
    Member,
    MemberStatus,
)


class ChangeSetCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=TITLE_MAX_LENGTH)
    description: str = Field(default="", max_length=DESCRIPTION_MAX_LENGTH)
    agents: list[str] = Field(
        default_factory=list,
        max_length=MAX_MEMBERS,
        description="Completed agent runs, one per repository: each one's branch is the "
        "change in its repository.",
    )
    pull_requests: list[str] = Field(
        default_factory=list,
        max_length=MAX_MEMBERS,
        description="Open pull requests Orchestrate opened, as OWNER/NAME#NUMBER.",
        examples=[["octo/lib#3"]],
    )


class MemberOut(BaseModel):
    position: int = Field(description="Place in merge order, from 0.")
    repository: str
    agent_id: str | None
    depends_on: list[str] = Field(description="The members' repositories it merges after.")
    state: str = Field(description="pending (no pull request yet), open, merged or closed.")
    pull_request: str | None = Field(description="OWNER/NAME#NUMBER.")
    number: int | None
    url: str | None
    note: str | None = Field(description="The latest word on why it has not merged.")
    merged_at: datetime | None

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        return cls(
            position=member.position,
            repository=member.repository,
            agent_id=member.agent_id,
            depends_on=list(member.depends_on),
            state=member.state.value,
            pull_request=member.pull_request,
            number=member.pr_number,
            url=member.pr_url,
            note=member.note,
            merged_at=member.merged_at,
        )


class ChangeSetOut(BaseModel):
    id: str
    title: str
    description: str
    state: str = Field(description="open, merging, merged, failed or cancelled.")
    failure_reason: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    finished_at: datetime | None
    members: list[MemberOut] = Field(description="In merge order, dependencies first.")

    @classmethod
    def of(cls, change_set: ChangeSet) -> ChangeSetOut:
        return cls(
            id=change_set.id,
            title=change_set.title,
            description=change_set.description,
            state=change_set.state.value,
            failure_reason=change_set.failure_reason,
            created_by=change_set.created_by,
            created_at=change_set.created_at,
            updated_at=change_set.updated_at,
            finished_at=change_set.finished_at,
            members=[MemberOut.of(member) for member in change_set.members],
        )


class MemberStatusOut(BaseModel):
    position: int
    repository: str
    state: str
    pull_request: str | None
    url: str | None
    waiting_for: str | None = Field(description="What it waits for; null once merged.")

    @classmethod
    def of(cls, status: MemberStatus) -> MemberStatusOut:
        member = status.member
        return cls(
            position=member.position,
            repository=member.repository,
            state=member.state.value,
            pull_request=member.pull_request,
            url=member.pr_url,
            waiting_for=status.waiting_for,
        )


class ChangeSetStatusOut(BaseModel):
    id: str
    title: str
    state: str
    failure_reason: str | None
    members: list[MemberStatusOut] = Field(description="In merge order.")

    @classmethod
    def of(cls, change_set: ChangeSet, statuses: list[MemberStatus]) -> ChangeSetStatusOut:
        return cls(
            id=change_set.id,
            title=change_set.title,
            state=change_set.state.value,
            failure_reason=change_set.failure_reason,
            members=[MemberStatusOut.of(status) for status in statuses],
        )
