"""Request and response models of ``/api/repositories`` (and a repository's merge policy)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.repositories.merge_policy import (
    DEFAULT_POLICY,
    MAX_APPROVALS,
    MAX_REQUIRED_CHECKS,
    MergePolicyChange,
    RepositoryMergePolicy,
    check_method,
)
from orchestrate.repositories.models import (
    DEFAULT_REMOTE,
    NAME_MAX_LENGTH,
    Edge,
    NewRepository,
    Repository,
    RepositoryGraph,
    check_forge,
)
from orchestrate.repositories.sources import SOURCE_MAX_LENGTH


class RepositoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(
        min_length=1,
        max_length=SOURCE_MAX_LENGTH,
        description="An absolute path in a git work tree (used as it is), or a URL to "
        "clone (http(s)://, ssh://, git://, file:// or user@host:path).",
        examples=["https://github.com/octo/app.git"],
    )
    name: str = Field(
        min_length=1, max_length=NAME_MAX_LENGTH, description="OWNER/NAME", examples=["octo/app"]
    )
    forge: str = Field(default="github", description="github or gitlab.")
    remote: str = Field(default=DEFAULT_REMOTE, max_length=100)
    default_branch: str | None = Field(
        default=None,
        max_length=255,
        description="Detected when left out: the remote's HEAD, else the branch checked out.",
    )
    depends_on: list[str] = Field(
        default_factory=list, max_length=100, description="Registered repositories it needs."
    )

    def to_request(self) -> NewRepository:
        return NewRepository(
            source=self.source,
            name=self.name,
            forge=check_forge(self.forge),
            remote=self.remote,
            default_branch=self.default_branch,
            depends_on=tuple(self.depends_on),
        )


class RepositoryOut(BaseModel):
    name: str = Field(examples=["octo/app"])
    forge: str
    path: Path = Field(description="The work tree agents start from.")
    remote: str
    url: str | None = Field(description="What was cloned, or the remote's URL; no password.")
    default_branch: str | None
    cloned: bool = Field(description="Orchestrate cloned it; removing it removes the clone.")
    seed: bool = Field(description="From ORCHESTRATE_GITHUB_REPOSITORIES, not the registry.")
    depends_on: list[str] = Field(description="Declared dependencies (see the graph for all).")
    created_at: datetime | None = Field(description="null for a seed.")

    @classmethod
    def of(cls, repository: Repository) -> RepositoryOut:
        return cls(
            name=repository.name,
            forge=repository.forge.value,
            path=repository.path,
            remote=repository.remote,
            url=repository.url,
            default_branch=repository.default_branch,
            cloned=repository.is_cloned,
            seed=repository.is_seed,
            depends_on=list(repository.depends_on),
            created_at=repository.created_at,
        )


class EvidenceOut(BaseModel):
    manifest: str = Field(examples=["pyproject.toml"])
    dependency: str = Field(description="The name, URL or path the manifest gives.")


class EdgeOut(BaseModel):
    repository: str = Field(description="The dependent.")
    depends_on: str
    source: str = Field(description="declared or detected.")
    evidence: list[EvidenceOut] = Field(description="For a detected edge: what named it.")

    @classmethod
    def of(cls, edge: Edge) -> EdgeOut:
        return cls(
            repository=edge.repository,
            depends_on=edge.depends_on,
            source=edge.source.value,
            evidence=[
                EvidenceOut(manifest=e.manifest, dependency=e.dependency) for e in edge.evidence
            ],
        )


class GraphOut(BaseModel):
    nodes: list[str]
    edges: list[EdgeOut]
    order: list[str] = Field(
        description="Every repository, dependencies first; a cycle's members stand together."
    )
    cycles: list[list[str]] = Field(description="Each group of repositories depending in a circle.")
    warnings: list[str] = Field(description="Work trees missing, manifests that did not parse.")

    @classmethod
    def of(cls, graph: RepositoryGraph) -> GraphOut:
        return cls(
            nodes=list(graph.nodes),
            edges=[EdgeOut.of(edge) for edge in graph.edges],
            order=list(graph.order),
            cycles=[list(cycle) for cycle in graph.cycles],
            warnings=list(graph.warnings),
        )


class MergePolicyIn(BaseModel):
    """The whole policy: a field left out takes its default (``PUT`` replaces)."""

    model_config = ConfigDict(extra="forbid")

    required_approvals: int = Field(
        default=DEFAULT_POLICY.required_approvals,
        ge=0,
        le=MAX_APPROVALS,
        description="Approvals by trusted reviewers needed to merge.",
    )
    required_checks: list[str] = Field(
        default_factory=list,
        max_length=MAX_REQUIRED_CHECKS,
        description="Checks that must succeed, by name; empty: every reported check must "
        "pass. A required check not reported yet is pending.",
        examples=[["test", "lint"]],
    )
    method: str = Field(default=DEFAULT_POLICY.method.value, description="merge, squash or rebase.")
    auto_merge: bool = Field(
        default=DEFAULT_POLICY.auto_merge,
        description="The shepherd merges on its own once the pull request is ready.",
    )
    require_up_to_date: bool = Field(
        default=DEFAULT_POLICY.require_up_to_date,
        description="A branch behind its base is updated before it merges.",
    )
    count_stale_approvals: bool = Field(
        default=DEFAULT_POLICY.count_stale_approvals,
        description="An approval of an older head still counts (false: only approvals of "
        "the current head).",
    )

    def to_change(self) -> MergePolicyChange:
        return MergePolicyChange(
            required_approvals=self.required_approvals,
            required_checks=tuple(self.required_checks),
            method=check_method(self.method),
            auto_merge=self.auto_merge,
            require_up_to_date=self.require_up_to_date,
            count_stale_approvals=self.count_stale_approvals,
        )


class MergePolicyOut(BaseModel):
    repository: str = Field(examples=["octo/app"])
    required_approvals: int
    required_checks: list[str]
    method: str
    auto_merge: bool
    require_up_to_date: bool
    count_stale_approvals: bool
    default: bool = Field(description="No policy is stored: these are the defaults.")
    seed: bool = Field(description="From ORCHESTRATE_GITHUB_REPOSITORIES: always the default.")
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def of(cls, shown: RepositoryMergePolicy) -> MergePolicyOut:
        policy = shown.policy
        return cls(
            repository=shown.repository,
            required_approvals=policy.required_approvals,
            required_checks=list(policy.required_checks),
            method=policy.method.value,
            auto_merge=policy.auto_merge,
            require_up_to_date=policy.require_up_to_date,
            count_stale_approvals=policy.count_stale_approvals,
            default=shown.is_default,
            seed=shown.is_seed,
            updated_at=shown.updated_at,
            updated_by=shown.updated_by,
        )
