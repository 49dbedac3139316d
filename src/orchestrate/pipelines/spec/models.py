"""The pipeline format as typed models: what a YAML file may say, and nothing more.

Every model forbids unknown keys, so a typo is an error with a line number instead of
a silently ignored setting. Where GitHub Actions has the same setting, the hyphenated
spelling (``continue-on-error``, ``cancel-in-progress``, ``max-parallel``, …) is
accepted too. The JSON Schema published for editors is generated from these models.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$"
STEP_ID_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]{0,99}$"

_DURATION = re.compile(r"^\s*(?:(\d+)d)?\s*(?:(\d+)h)?\s*(?:(\d+)m)?\s*(?:(\d+)s)?\s*$")


def parse_duration(value: Any) -> Any:
    """``90`` (seconds), ``"90s"``, ``"10m"``, ``"1h30m"``, ``"3d"`` → ``timedelta``, else as is.

    Days are there for approvals, which wait for people ("timeout: 3d").
    """
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string such as '10m' or '1h30m'")
    if isinstance(value, int | float):
        if value <= 0:
            raise ValueError("a duration must be positive")
        return timedelta(seconds=value)
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.isdigit():
            return parse_duration(int(stripped))
        match = _DURATION.match(stripped)
        if not stripped or match is None or not any(match.groups()):
            raise ValueError(
                f"{value!r} is not a duration; write seconds (90) or '90s', '10m', '1h30m', '3d'"
            )
        days, hours, minutes, seconds = (int(group or 0) for group in match.groups())
        total = timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)
        if total <= timedelta(0):
            raise ValueError("a duration must be positive")
        return total
    return value


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [
        f"{days}d" if days else "",
        f"{hours}h" if hours else "",
        f"{minutes}m" if minutes else "",
    ]
    parts.append(f"{seconds}s" if seconds or not any(parts) else "")
    return "".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "description": "seconds"},
                {
                    "type": "string",
                    "pattern": r"^\s*(\d+|(\d+d)?\s*(\d+h)?\s*(\d+m)?\s*(\d+s)?)\s*$",
                },
            ],
            "description": "Seconds, or a string such as '90s', '10m', '1h30m' or '3d'.",
        }
    ),
]

EnvValue = str | int | float | bool


def _as_list(value: Any) -> Any:
    """GitHub Actions accepts ``needs: build`` for ``needs: [build]``; so do we."""
    return [value] if isinstance(value, str) else value


StringList = Annotated[
    list[str],
    BeforeValidator(_as_list),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}},
            ]
        }
    ),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class InputType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    CHOICE = "choice"
    JSON = "json"


class InputSpec(_Strict):
    """One input a trigger may (or must) give the pipeline."""

    type: InputType = InputType.STRING
    description: str = ""
    required: bool = False
    default: Any = None
    options: list[str] | None = Field(
        default=None, description="The allowed values of a 'choice' input."
    )

    @model_validator(mode="after")
    def _choice_has_options(self) -> InputSpec:
        if self.type is InputType.CHOICE and not self.options:
            raise ValueError("a 'choice' input needs 'options'")
        if self.type is not InputType.CHOICE and self.options is not None:
            raise ValueError("'options' only applies to inputs of type 'choice'")
        return self


class ConcurrencySpec(_Strict):
    """At most one run of a group runs and one waits; a newer waiting run replaces the older."""

    group: str = Field(
        description="An expression naming the group, e.g. 'deploy-${{ inputs.env }}'."
    )
    cancel_in_progress: bool = Field(
        default=False,
        validation_alias=AliasChoices("cancel_in_progress", "cancel-in-progress"),
        description="Cancel the running run of the group instead of waiting for it.",
    )


def _concurrency_shorthand(value: Any) -> Any:
    return {"group": value} if isinstance(value, str) else value


class GithubEventFilter(_Strict):
    """Which GitHub deliveries start the pipeline (acted on by the triggers capability)."""

    event: str
    actions: StringList | None = None
    branches: StringList | None = None
    branches_ignore: StringList | None = Field(
        default=None, validation_alias=AliasChoices("branches_ignore", "branches-ignore")
    )
    tags: StringList | None = None
    paths: StringList | None = None
    paths_ignore: StringList | None = Field(
        default=None, validation_alias=AliasChoices("paths_ignore", "paths-ignore")
    )
    labels: StringList | None = None
    base_branches: StringList | None = Field(
        default=None, validation_alias=AliasChoices("base_branches", "base-branches")
    )
    draft: bool | None = None
    forks: bool = False
    repositories: StringList | None = Field(
        default=None,
        description=(
            "The repositories ('owner/name', globs allowed) whose deliveries may start the "
            "pipeline. Without it, only the repositories Orchestrate manages (the "
            "repository registry: orchestrate repo add, and ORCHESTRATE_GITHUB_REPOSITORIES) "
            "match, and nothing when none is registered."
        ),
    )

    @field_validator("repositories")
    @classmethod
    def _owner_and_name(cls, value: list[str] | None) -> list[str] | None:
        # Kept in step with orchestrate.triggers.repositories, which this module cannot
        # import (triggers depends on pipelines); routing re-checks stored pipelines.
        if value is None:
            return None
        if not value:
            raise ValueError(
                "'repositories' is empty, so the entry would match nothing: list owner/name "
                "patterns, or remove it to match the repositories Orchestrate manages"
            )
        part = r"[A-Za-z0-9._\-*?+\[\]\\]+"
        for entry in value:
            if not re.fullmatch(rf"!?{part}/{part}", entry):
                raise ValueError(
                    f"repositories entry {entry!r} is not owner/name (globs allowed: "
                    "'octo/*', '*/app', '!octo/sandbox')"
                )
        return value


GITLAB_EVENTS = (
    "merge_request",
    "note",
    "pipeline",
    "job",
    "push",
    "tag_push",
    "issue",
    "confidential_issue",
    "confidential_note",
    "wiki_page",
    "deployment",
    "release",
)
"""The GitLab event kinds an ``on: gitlab`` entry may name: GitLab's ``X-Gitlab-Event``
without ``Hook``, in snake case (``Job Hook`` is ``job``); kept in step with
``orchestrate.forges.gitlab.events``, which this module cannot import."""


class GitlabEventFilter(GithubEventFilter):
    """Which GitLab deliveries start the pipeline: the keys of ``on: github``, with GitLab's
    event kinds (``merge_request``, ``pipeline``…) and ``group/project`` repositories."""

    repositories: StringList | None = Field(
        default=None,
        description=(
            "The projects ('group/project' or 'group/subgroup/project', globs allowed) whose "
            "deliveries may start the pipeline. Without it, only the repositories "
            "Orchestrate manages on GitLab (orchestrate repo add --forge gitlab) match."
        ),
    )

    @field_validator("event")
    @classmethod
    def _known_event(cls, value: str) -> str:
        if value in GITLAB_EVENTS:
            return value
        spelled = re.sub(r"[^a-z0-9]+", "_", value.lower().removesuffix(" hook")).strip("_")
        if spelled in GITLAB_EVENTS or spelled == "build":
            hint = "job" if spelled == "build" else spelled
            raise ValueError(f"GitLab event {value!r} is spelled '{hint}' here")
        raise ValueError(f"unknown GitLab event {value!r}; one of {', '.join(GITLAB_EVENTS)}")

    @field_validator("repositories")
    @classmethod
    def _owner_and_name(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        if not value:
            raise ValueError(
                "'repositories' is empty, so the entry would match nothing: list group/project "
                "patterns, or remove it to match the repositories Orchestrate manages"
            )
        part = r"[A-Za-z0-9._\-*?+\[\]\\]+"
        for entry in value:
            if not re.fullmatch(rf"!?{part}(/{part})+", entry):
                raise ValueError(
                    f"repositories entry {entry!r} is not group/project (globs allowed: "
                    "'team/*', 'team/**', '!team/sandbox')"
                )
        return value


class CronSchedule(_Strict):
    cron: str
    timezone: str = "UTC"


class TriggersSpec(_Strict):
    """``on:``: the events that start the pipeline besides the CLI and the API."""

    github: list[GithubEventFilter] = Field(default_factory=list)
    gitlab: list[GitlabEventFilter] = Field(default_factory=list)
    schedule: list[CronSchedule] = Field(default_factory=list)


class RetrySpec(_Strict):
    """Try a failing step again: ``attempts`` in total, waiting ``backoff * factor**n``."""

    attempts: int = Field(default=3, ge=1, le=100)
    backoff: Duration = timedelta(seconds=10)
    factor: float = Field(default=2.0, ge=1.0, le=10.0)
    max_backoff: Duration = Field(
        default=timedelta(minutes=10),
        validation_alias=AliasChoices("max_backoff", "max-backoff"),
    )

    def delay_before(self, attempt: int) -> timedelta:
        """How long to wait before try number ``attempt`` (2 is the first retry)."""
        delay = self.backoff * (self.factor ** max(attempt - 2, 0))
        return min(delay, self.max_backoff)


class ApprovalSpec(_Strict):
    """A person must approve before the pipeline goes on; waits without holding a worker."""

    approvers: StringList = Field(min_length=1, description="Token names allowed to approve.")
    required: int = Field(default=1, ge=1)
    timeout: Duration | None = None
    on_timeout: Literal["reject", "approve"] = Field(
        default="reject", validation_alias=AliasChoices("on_timeout", "on-timeout")
    )

    @model_validator(mode="after")
    def _enough_approvers(self) -> ApprovalSpec:
        if self.required > len(self.approvers):
            raise ValueError(
                f"'required' is {self.required} but only {len(self.approvers)} "
                "approver(s) are named"
            )
        return self


class CiStepSpec(_Strict):
    """A workflow on a CI platform: trigger it, wait (without holding a worker) for its
    conclusion. Every string may be an expression."""

    workflow: str = Field(
        default="",
        description=(
            "GitHub Actions: the workflow's file name (ci.yml) or id. GitLab and CircleCI "
            "run every workflow of the pipeline they create: leave it empty."
        ),
    )
    ref: str = Field(min_length=1, description="The branch or tag to run on.")
    provider: str | None = Field(
        default=None,
        description="github, gitlab or circleci; else the setting ORCHESTRATE_CI_PROVIDER.",
    )
    repository: str | None = Field(
        default=None,
        description=(
            "owner/name (GitHub), group/project (GitLab), gh/org/repo (CircleCI); else "
            "the setting ORCHESTRATE_CI_REPOSITORY."
        ),
    )
    inputs: dict[str, EnvValue] = Field(
        default_factory=dict,
        description=(
            "workflow_dispatch inputs (GitHub), pipeline variables (GitLab), pipeline "
            "parameters (CircleCI)."
        ),
    )
    poll: Duration = Field(
        default=timedelta(seconds=10),
        description="How often the run's state is read while it runs.",
    )

    def strings(self) -> Iterator[tuple[tuple[str, ...], str]]:
        """Each string that may hold expressions, with its path under ``ci``."""
        for key in ("workflow", "ref", "provider", "repository"):
            value = getattr(self, key)
            if isinstance(value, str):
                yield (key,), value
        for name, value in self.inputs.items():
            if isinstance(value, str):
                yield ("inputs", name), value

    @field_validator("poll")
    @classmethod
    def _poll_range(cls, value: timedelta) -> timedelta:
        if not timedelta(seconds=1) <= value <= timedelta(hours=1):
            raise ValueError("'poll' is between 1s and 1h")
        return value


class ScanStepSpec(_Strict):
    """A security scan of the run's workspace: secrets, SAST, vulnerable dependencies and
    licences, offline; the step fails when new findings at or above ``fail_on`` remain
    (not in the baseline, not suppressed). Every string may be an expression."""

    path: str = Field(default=".", description="What to scan, relative to the workspace.")
    scanners: StringList = Field(
        default_factory=list,
        description="Any of secrets, sast, deps, licenses; all four when left out.",
    )
    fail_on: str | None = Field(
        default=None,
        description=(
            "info, low, medium, high or critical; else the setting "
            "ORCHESTRATE_SECURITY_FAIL_ON (high)."
        ),
    )
    baseline: str | None = Field(
        default=None,
        description="A baseline file (`security baseline`), relative to the workspace.",
    )
    diff: str | None = Field(
        default=None,
        description=(
            "A git ref (a pull request's base): secrets are looked for only in the "
            "changes since it, with .orchestrate-secrets.toml as it is there, so a "
            "change cannot loosen the rules that judge it."
        ),
    )

    def strings(self) -> Iterator[tuple[tuple[str, ...], str]]:
        """Each string that may hold expressions, with its path under ``scan``."""
        yield ("path",), self.path
        for key in ("fail_on", "baseline", "diff"):
            value = getattr(self, key)
            if isinstance(value, str):
                yield (key,), value

    @field_validator("scanners")
    @classmethod
    def _known_scanners(cls, value: list[str]) -> list[str]:
        unknown = [name for name in value if name not in SCANNER_NAMES]
        if unknown:
            raise ValueError(
                f"unknown scanner {unknown[0]!r}; use any of {', '.join(SCANNER_NAMES)}"
            )
        return value


SCANNER_NAMES = ("secrets", "sast", "deps", "licenses")


class AgentInputs(_Strict):
    """``with:`` of an agent step."""

    task: str
    story: str | None = None
    force: bool | str | None = None
    """Take the story over from the agent active on it (an expression may give it)."""
    repo: str | None = None
    base_ref: str | None = None
    provider: str | None = None
    model: str | None = None
    max_cost_usd: float | str | None = None
    max_turns: int | str | None = None


def _validate_agent_inputs(with_: dict[str, Any]) -> None:
    """Check ``with:`` of an agent step, reporting errors under ``with`` so they get its line.

    A ValidationError raised inside a validator is merged into the outer one with its own
    locations, which would point at ``task`` of the step instead of ``with.task``.
    """
    try:
        AgentInputs.model_validate(with_)
    except ValidationError as error:
        details: list[InitErrorDetails] = [
            {
                "type": detail["type"],
                "loc": ("with", *detail["loc"]),
                "input": detail["input"],
                "ctx": detail.get("ctx", {}),
            }
            for detail in error.errors(include_url=False)
        ]
        raise ValidationError.from_exception_data("StepSpec", details) from None


class StepKind(StrEnum):
    RUN = "run"
    AGENT = "agent"
    APPROVAL = "approval"
    PIPELINE = "pipeline"
    CI = "ci"
    SCAN = "scan"


MATRIX_RESERVED = frozenset({"include", "exclude", "max_parallel", "max-parallel"})


class StepSpec(_Strict):
    """One node of the pipeline graph; exactly one of run, agent, approval, pipeline, ci,
    scan."""

    id: str = Field(pattern=STEP_ID_PATTERN)
    name: str | None = None
    needs: StringList = Field(default_factory=list)
    if_: str | bool | None = Field(default=None, alias="if")
    env: dict[str, EnvValue] = Field(default_factory=dict)
    timeout: Duration | None = None
    retry: RetrySpec | None = None
    continue_on_error: bool | str = Field(
        default=False,
        validation_alias=AliasChoices("continue_on_error", "continue-on-error"),
    )
    matrix: dict[str, Any] | None = Field(
        default=None,
        description=(
            "Run the step once per combination of values; 'include', 'exclude' and "
            "'max_parallel' as in GitHub Actions' strategy."
        ),
    )
    run: str | None = None
    working_directory: str | None = Field(
        default=None, validation_alias=AliasChoices("working_directory", "working-directory")
    )
    network: bool = Field(
        default=False,
        description=(
            "Give a run step outbound network access (user-mode networking; the host's "
            "loopback, its database and Orchestrate's API stay unreachable). Off by default."
        ),
    )
    agent: str | None = None
    approval: ApprovalSpec | None = None
    pipeline: str | None = None
    ci: CiStepSpec | None = None
    scan: ScanStepSpec | None = None
    with_: dict[str, Any] = Field(default_factory=dict, alias="with")

    @property
    def kind(self) -> StepKind:
        for kind in StepKind:
            if getattr(self, kind.value) is not None:
                return kind
        raise AssertionError("validated steps have a kind")  # pragma: no cover

    @property
    def display_name(self) -> str:
        return self.name or self.id

    @property
    def max_attempts(self) -> int:
        return self.retry.attempts if self.retry else 1

    def agent_inputs(self) -> AgentInputs:
        return AgentInputs.model_validate(self.with_)

    @model_validator(mode="after")
    def _exactly_one_kind(self) -> StepSpec:
        kinds = [kind.value for kind in StepKind if getattr(self, kind.value) is not None]
        if len(kinds) != 1:
            found = ", ".join(kinds) if kinds else "none"
            raise ValueError(
                "a step needs exactly one of run, agent, approval, pipeline, ci, scan "
                f"(found: {found})"
            )
        if self.with_ and self.kind not in (StepKind.AGENT, StepKind.PIPELINE):
            raise ValueError("'with' only applies to agent and pipeline steps")
        if self.kind is StepKind.AGENT:
            _validate_agent_inputs(self.with_)
        if self.working_directory is not None and self.kind is not StepKind.RUN:
            raise ValueError("'working_directory' only applies to run steps")
        return self

    @field_validator("matrix")
    @classmethod
    def _matrix_shape(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        for key, entry in value.items():
            if key in ("include", "exclude"):
                if not isinstance(entry, list) or not all(isinstance(i, dict) for i in entry):
                    raise ValueError(f"matrix '{key}' is a list of mappings")
            elif key in ("max_parallel", "max-parallel"):
                if isinstance(entry, bool) or not isinstance(entry, int) or entry < 1:
                    raise ValueError("matrix 'max_parallel' is a positive integer")
            elif not isinstance(entry, list | str):
                raise ValueError(
                    f"matrix '{key}' is a list of values (or an expression giving one)"
                )
        if not any(key not in MATRIX_RESERVED for key in value) and "include" not in value:
            raise ValueError("a matrix needs at least one variable or an 'include' list")
        return value


class PipelineSpec(_Strict):
    """A whole pipeline file."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    on: TriggersSpec = Field(default_factory=TriggersSpec)
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    env: dict[str, EnvValue] = Field(default_factory=dict)
    concurrency: Annotated[ConcurrencySpec | None, BeforeValidator(_concurrency_shorthand)] = None
    timeout: Duration | None = None
    steps: list[StepSpec] = Field(min_length=1)

    def step(self, step_id: str) -> StepSpec:
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(step_id)

    @property
    def step_ids(self) -> list[str]:
        return [step.id for step in self.steps]
