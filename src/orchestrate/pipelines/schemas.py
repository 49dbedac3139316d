"""Request and response models of the pipelines API (and of ``pipeline … --json``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.pipelines.catalog import Template
from orchestrate.pipelines.models import (
    Approval,
    PendingApproval,
    Pipeline,
    PipelineRun,
    RunStatus,
    StepRun,
    StepStatus,
    TriggerKind,
)
from orchestrate.pipelines.spec.models import PipelineSpec
from orchestrate.pipelines.spec.problems import SpecProblem

YAML_MEDIA_TYPES = ("application/yaml", "text/yaml", "application/x-yaml", "text/x-yaml")


class PipelineIn(BaseModel):
    """A pipeline file sent as JSON; a YAML body (``Content-Type: application/yaml``) works too."""

    model_config = ConfigDict(extra="forbid")

    yaml: str = Field(
        min_length=1, examples=["name: hello\nsteps:\n  - id: greet\n    run: echo hi\n"]
    )
    repo: str | None = Field(
        default=None,
        max_length=1000,
        description="Path of the git repository on the server the pipeline belongs to; "
        "its runs get a worktree of it.",
    )


class TriggerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    inputs: dict[str, Any] = Field(
        default_factory=dict, description="Values of the pipeline's declared inputs."
    )


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    comment: str | None = Field(default=None, max_length=10_000)


class RerunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    failed: bool = Field(
        default=False, description="Reuse the outputs of the steps that succeeded; run the rest."
    )


class ProblemOut(BaseModel):
    """One problem of a pipeline file; ``line`` and ``column`` count from 1."""

    file: str
    line: int
    column: int
    message: str
    hint: str | None = None

    @classmethod
    def of(cls, problem: SpecProblem) -> ProblemOut:
        return cls(
            file=problem.file,
            line=problem.line,
            column=problem.column,
            message=problem.message,
            hint=problem.hint,
        )


class StepSummaryOut(BaseModel):
    """A step as the file defines it (not a run of it)."""

    model_config = ConfigDict(serialize_by_alias=True)

    id: str
    name: str
    kind: str
    needs: list[str]
    if_: str | bool | None = Field(serialization_alias="if")


class PipelineOut(BaseModel):
    id: str
    name: str
    description: str
    version: int
    source_path: str | None
    repo_path: str | None
    steps: list[StepSummaryOut]
    inputs: dict[str, Any]
    triggers: dict[str, Any] = Field(description="The file's `on:` section.")
    spec: dict[str, Any] = Field(description="The validated definition, defaults filled in.")
    source: str = Field(description="The YAML as registered.")
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, pipeline: Pipeline) -> PipelineOut:
        spec = PipelineSpec.model_validate(pipeline.spec)
        return cls(
            id=pipeline.id,
            name=pipeline.name,
            description=pipeline.description,
            version=pipeline.version,
            source_path=pipeline.source_path,
            repo_path=pipeline.repo_path,
            steps=[
                StepSummaryOut(
                    id=step.id,
                    name=step.display_name,
                    kind=step.kind.value,
                    needs=list(step.needs),
                    if_=step.if_,
                )
                for step in spec.steps
            ],
            inputs=pipeline.spec.get("inputs", {}),
            triggers=pipeline.spec.get("on", {}),
            spec=pipeline.spec,
            source=pipeline.source,
            created_at=pipeline.created_at,
            updated_at=pipeline.updated_at,
        )


class ApprovalOut(BaseModel):
    """One approver's decision."""

    by: str
    decision: str
    comment: str | None
    at: datetime

    @classmethod
    def of(cls, approval: Approval) -> ApprovalOut:
        return cls(
            by=approval.by, decision=approval.decision, comment=approval.comment, at=approval.at
        )


class StepOut(BaseModel):
    id: str = Field(description="The step's key: its id, or `id[N]` for a matrix instance.")
    step_id: str
    name: str
    kind: str
    status: StepStatus
    conclusion: StepStatus | None
    outputs: dict[str, str]
    started_at: datetime | None
    finished_at: datetime | None
    attempts: int
    max_attempts: int
    skip_reason: str | None
    error: str | None
    matrix: dict[str, Any] | None
    agent_id: str | None
    child_run_id: str | None
    approvals: list[ApprovalOut]
    reused_from: str | None

    @classmethod
    def of(cls, step: StepRun) -> StepOut:
        return cls(
            id=step.key,
            step_id=step.step_id,
            name=step.name,
            kind=step.kind,
            status=step.status,
            conclusion=step.conclusion,
            outputs=step.outputs,
            started_at=step.started_at,
            finished_at=step.finished_at,
            attempts=step.attempts,
            max_attempts=step.max_attempts,
            skip_reason=step.skip_reason,
            error=step.error,
            matrix=step.matrix,
            agent_id=step.agent_id,
            child_run_id=step.child_run_id,
            approvals=[ApprovalOut.of(approval) for approval in step.approvals],
            reused_from=step.reused_from,
        )


class PipelineRunOut(BaseModel):
    id: str
    pipeline: str
    number: int
    status: RunStatus
    trigger_kind: TriggerKind
    inputs: dict[str, Any]
    trigger: dict[str, Any]
    concurrency_group: str | None
    parent_step_id: str | None
    rerun_of: str | None
    workspace_path: str | None
    reason: str | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    steps: list[StepOut] = Field(description="Empty in lists; every step in a single run.")

    @classmethod
    def of(cls, run: PipelineRun) -> PipelineRunOut:
        return cls(
            id=run.id,
            pipeline=run.pipeline,
            number=run.number,
            status=run.status,
            trigger_kind=run.trigger_kind,
            inputs=run.inputs,
            trigger=run.trigger,
            concurrency_group=run.concurrency_group,
            parent_step_id=run.parent_step_id,
            rerun_of=run.rerun_of,
            workspace_path=run.workspace_path,
            reason=run.reason,
            created_by=run.created_by,
            created_at=run.created_at,
            started_at=run.started_at,
            finished_at=run.finished_at,
            steps=[StepOut.of(step) for step in run.steps],
        )


class PendingApprovalOut(BaseModel):
    """An approval step waiting on the caller's decision."""

    run_id: str
    pipeline: str
    step: str
    name: str
    approvers: list[str]
    required: int
    approvals: list[ApprovalOut]
    waiting_since: datetime | None

    @classmethod
    def of(cls, pending: PendingApproval) -> PendingApprovalOut:
        return cls(
            run_id=pending.run_id,
            pipeline=pending.pipeline,
            step=pending.step,
            name=pending.name,
            approvers=pending.approvers,
            required=pending.required,
            approvals=[ApprovalOut.of(approval) for approval in pending.approvals],
            waiting_since=pending.waiting_since,
        )


class TemplateOut(BaseModel):
    name: str
    description: str

    @classmethod
    def of(cls, template: Template) -> TemplateOut:
        return cls(name=template.name, description=template.description)
