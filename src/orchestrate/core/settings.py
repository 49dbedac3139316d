"""Settings from ``ORCHESTRATE_*`` environment variables and an optional ``orchestrate.toml``.

Precedence, highest first: explicit arguments, environment, ``orchestrate.toml`` in the
working directory (or the file named by ``ORCHESTRATE_CONFIG``), built-in defaults. The
TOML file uses the setting names without the prefix (``port = 9000``).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from orchestrate.core.durations import EXAMPLES, normalise_period, parse_period
from orchestrate.core.errors import ConfigurationError

ENV_PREFIX = "ORCHESTRATE_"
CONFIG_FILE_ENV = "ORCHESTRATE_CONFIG"
DEFAULT_CONFIG_FILE = "orchestrate.toml"

RETENTION_SETTINGS = (
    "retention_runs",
    "retention_agents",
    "retention_deliveries",
    "retention_events",
    "retention_schedule_fires",
    "retention_audit",
    "retention_jobs",
    "retention_sessions",
    "retention_costs",
    "retention_notifications",
    "retention_alerts",
    "retention_ci_results",
    "retention_security_scans",
)
"""The ``ORCHESTRATE_RETENTION_*`` settings: how long each kind of finished data is kept."""


class SandboxMode(StrEnum):
    BUBBLEWRAP = "bubblewrap"
    NONE = "none"


class LogFormat(StrEnum):
    AUTO = "auto"
    JSON = "json"
    CONSOLE = "console"


def config_file_path() -> Path:
    """The TOML file settings are read from (it need not exist)."""
    return Path(os.environ.get(CONFIG_FILE_ENV, DEFAULT_CONFIG_FILE))


class Settings(BaseSettings):
    """Everything an Orchestrate process can be configured with."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    home: Path = Field(
        default=Path(".orchestrate"),
        description="Directory for the SQLite database, logs and artifacts; a relative "
        "path is resolved against the working directory once, when settings are read.",
    )
    database_url: SecretStr | None = Field(
        default=None,
        description="SQLAlchemy URL; defaults to a SQLite file in the home directory.",
    )
    database_pool_size: int = Field(
        default=20,
        ge=1,
        le=500,
        description="PostgreSQL connections one process keeps open and uses at most.",
    )
    host: str = Field(default="127.0.0.1", description="Address `serve` listens on.")
    port: int = Field(default=8080, ge=1, le=65535, description="Port `serve` listens on.")
    log_level: str = Field(default="info", description="debug, info, warning or error.")
    log_format: LogFormat = Field(
        default=LogFormat.AUTO, description="json, console, or auto (console on a terminal)."
    )
    worker_concurrency: int = Field(
        default=32, ge=1, le=1024, description="Jobs one worker process runs at the same time."
    )
    worker_batch_size: int = Field(
        default=32, ge=1, le=500, description="Jobs claimed per database round trip."
    )
    job_lease_seconds: float = Field(
        default=30.0, gt=0, description="How long a claimed job stays owned without a heartbeat."
    )
    worker_heartbeat_seconds: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description=(
            "How often a worker records that it is alive (GET /api/monitoring/health calls "
            "it stale after three intervals without one)."
        ),
    )
    job_retry_base_seconds: float = Field(
        default=2.0, gt=0, description="First retry delay; doubles each attempt, with jitter."
    )
    job_retry_max_seconds: float = Field(
        default=600.0, gt=0, description="Upper bound of a retry delay."
    )
    worker_metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port on which `orchestrate worker` serves its own /metrics; none: off.",
    )
    worker_metrics_host: str = Field(
        default="127.0.0.1", description="Address the worker's /metrics listens on."
    )
    worker_poll_max_seconds: float = Field(
        default=1.0, gt=0, description="Longest sleep of an idle worker between queue checks."
    )
    shutdown_grace_seconds: float = Field(
        default=2.0,
        ge=0,
        le=3600,
        description=(
            "On SIGTERM, how long running jobs may finish before they are stopped and "
            "handed back to the queue for another worker."
        ),
    )
    default_provider: str = Field(
        default="anthropic",
        description="Language-model provider for agents: anthropic, openai or replay.",
    )
    default_model: str = Field(
        default="claude-sonnet-4-6", description="Model agents use unless their type says."
    )
    max_concurrent_agents: int = Field(
        default=4, ge=1, le=256, description="Agents one worker process runs at the same time."
    )
    max_sub_agents: int = Field(
        default=32,
        ge=0,
        le=1000,
        description="Sub-agents one agent may start in all (spawn_agent calls beyond are "
        "refused to the model).",
    )
    epic_run_stuck_minutes: int = Field(
        default=60,
        ge=1,
        le=7 * 24 * 60,
        description="An epic run blocks a story when nothing moved on it for this many "
        "minutes (epic run --stuck-minutes).",
    )
    epic_run_max_attempts: int = Field(
        default=3,
        ge=1,
        le=20,
        description="Developer agents an epic run starts on one story before it blocks the "
        "story (epic run --max-attempts).",
    )
    epic_run_poll_seconds: float = Field(
        default=30.0,
        gt=0,
        le=3600,
        description="How often an epic run checks its stories' pull requests and agents "
        "(agent ends wake it at once).",
    )
    max_agent_depth: int = Field(
        default=4,
        ge=1,
        le=32,
        description="Levels of sub-agents below a top-level agent (1: children only).",
    )
    approval_tools: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Tools that wait for a human 'agent approve' (comma-separated, e.g. bash,git).",
    )
    pricing: dict[str, dict[str, Decimal]] = Field(
        default_factory=dict,
        description="USD per million tokens by model, overriding the built-in table: "
        '{"model": {"input": 3, "output": 15, "cache_read": 0.3, "cache_write": 3.75}}.',
    )
    bash_timeout_seconds: float = Field(
        default=600.0, gt=0, description="Default time limit of one bash tool call."
    )
    tool_output_limit: int = Field(
        default=30_000, ge=1000, description="Characters of tool output sent back to the model."
    )
    pipeline_kill_grace_seconds: float = Field(
        default=5.0,
        gt=0,
        description="Seconds a timed-out or cancelled pipeline step gets between SIGTERM "
        "and SIGKILL of its process group.",
    )
    pipeline_step_timeout_seconds: float = Field(
        default=6 * 3600.0,
        gt=0,
        description="Time limit of a pipeline step that sets no 'timeout' of its own.",
    )
    retention_runs: str = Field(
        default="30d",
        description="How long finished pipeline runs (their steps and step logs) are kept: "
        "30d, 12h, 90m, 2w, or off to keep them forever.",
    )
    retention_agents: str = Field(
        default="30d",
        description="How long finished agent runs (their transcript, provider and tool "
        "calls, leftover workspace) are kept; or off.",
    )
    retention_deliveries: str = Field(
        default="14d",
        description="How long processed and failed webhook deliveries (with their body) "
        "are kept; or off.",
    )
    retention_events: str = Field(
        default="14d",
        description="How long events of the event log are kept; or off.",
    )
    retention_schedule_fires: str = Field(
        default="30d",
        description="How long the record of each schedule fire is kept; or off.",
    )
    retention_audit: str = Field(
        default="365d",
        description="How long audit records are kept; or off.",
    )
    retention_sessions: str = Field(
        default="7d",
        description="How long dashboard sessions are kept after they ended (expired, "
        "signed out or revoked); or off.",
    )
    retention_alerts: str = Field(
        default="30d",
        description="How long resolved alerts and ended silences are kept; or off.",
    )
    alert_evaluation_seconds: float = Field(
        default=10.0,
        ge=0.5,
        le=3600,
        description="How often alert rules are evaluated when no event arrives (events "
        "that feed a rule's metric evaluate them at once).",
    )
    retention_costs: str = Field(
        default="400d",
        description="How long the cost ledger keeps each model call's entry (cost reports "
        "reach back this far; budgets only need the current month); or off.",
    )
    retention_notifications: str = Field(
        default="30d",
        description="How long the notification log keeps each attempt at a send (what "
        "`notify log` shows, and what tells a resolve whether its group was notified); or off.",
    )
    retention_ci_results: str = Field(
        default="90d",
        description="How long the CI test history keeps each recorded test report and "
        "its per-test results (`ci flaky` reads its window from them); quarantine "
        "states are kept; or off.",
    )
    retention_security_scans: str = Field(
        default="90d",
        description="How long recorded security scans and their findings are kept "
        "(`security report` and /api/security read them); or off.",
    )
    ci_flaky_window: str = Field(
        default="30d",
        description="The window of test history `ci flaky`, quarantine decisions and "
        "failure analysis read (30d, 2w, 72h).",
    )
    ci_quarantine_min_runs: int = Field(
        default=20,
        ge=1,
        le=100_000,
        description="Runs of a test within the window before it may be quarantined.",
    )
    ci_quarantine_flaky_rate: float = Field(
        default=0.05,
        gt=0,
        le=1,
        description="A flaky test is quarantined when this fraction of its runs in the "
        "window failed on a tree SHA where it also passed (or see the disruption rate).",
    )
    ci_quarantine_disruption_rate: float = Field(
        default=0.02,
        gt=0,
        le=1,
        description="A flaky test is quarantined when its flaky failures disrupted this "
        "fraction of the repository's test runs in the window (or see the flaky rate).",
    )
    ci_release_after_passes: int = Field(
        default=10,
        ge=1,
        le=10_000,
        description="Consecutive clean passes (no failed try) that release a quarantined test.",
    )
    retention_jobs: str = Field(
        default="7d",
        description="How long succeeded and cancelled jobs are kept (dead ones stay "
        "until retried); or off.",
    )
    github_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret GitHub signs webhook deliveries with; several, comma-separated, "
        "while rotating (a delivery signed with any of them is accepted).",
    )
    github_webhook_insecure: bool = Field(
        default=False,
        description="Accept unsigned webhook deliveries when no secret is set (local trials "
        "only: anyone who can reach the server can then start pipelines).",
    )
    github_repositories: dict[str, Path] = Field(
        default_factory=dict,
        description="The seed of the repository registry (orchestrate repo add): local "
        'clones of GitHub repositories, {"owner/name": "/path/to/clone"} (JSON), merged in '
        "whenever the registry is read.",
    )
    github_api_url: str = Field(
        default="https://api.github.com",
        description="GitHub's REST API base URL: https://HOST/api/v3 for GitHub Enterprise "
        "Server, or a fake forge's address in tests.",
    )
    github_token: SecretStr | None = Field(
        default=None,
        description="Token Orchestrate calls GitHub with; wins over the stored secret "
        "GITHUB_TOKEN, and a GitHub App (github_app_id) wins over both.",
    )
    github_app_id: str | None = Field(
        default=None,
        description="A GitHub App's id: Orchestrate then acts as the app's installation.",
    )
    github_app_private_key: SecretStr | None = Field(
        default=None,
        description="The GitHub App's private key (PEM); else the stored secret "
        "GITHUB_APP_PRIVATE_KEY.",
    )
    github_app_installation_id: int | None = Field(
        default=None,
        ge=1,
        description="The app installation to act as; by default the one installed on each "
        "repository's owner, looked up once.",
    )
    forge_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Time limit of one HTTP call to a forge."
    )
    forge_retry_attempts: int = Field(
        default=5,
        ge=1,
        le=20,
        description="Tries of a forge call that fails to connect or gets 502, 503 or 504.",
    )
    forge_retry_base_seconds: float = Field(
        default=1.0,
        ge=0,
        description="Backoff before the second try of a failed forge call; doubles each "
        "try, with full jitter.",
    )
    forge_retry_max_seconds: float = Field(
        default=30.0, ge=0, description="Upper bound of one backoff between forge call tries."
    )
    forge_rate_limit_max_wait_seconds: float = Field(
        default=300.0,
        ge=0,
        description="Longest wait for a forge's rate limit to reset (retry-after or "
        "x-ratelimit-reset); a call that would wait longer fails, saying when to retry.",
    )
    automation_pr_shepherd: bool = Field(
        default=True,
        description="Start a pr-shepherd agent when a pull request (not from a fork) is "
        "opened or reopened.",
    )
    automation_review_fixer: bool = Field(
        default=True,
        description="Start an issue-fixer agent when a review requests changes.",
    )
    automation_ci_fixer: bool = Field(
        default=True,
        description="Start an issue-fixer agent when checks or a workflow run fail or time "
        "out (one per repository and commit).",
    )
    automation_issue_stories: bool = Field(
        default=True,
        description="Create a story from an issue opened, or labelled with automation_issue_label.",
    )
    automation_issue_develop: bool = Field(
        default=False,
        description="Also start a story developer on each story made from an issue, in the "
        "repository's registered clone: its pull request is then shepherded to merge "
        "(the whole loop, docs/shepherd.md).",
    )
    automation_issue_developer_type: str = Field(
        default="story-developer",
        description="The agent type automation_issue_develop starts.",
    )
    automation_issue_label: str = Field(
        default="orchestrate",
        min_length=1,
        description="The issue label that makes a story of an existing issue.",
    )

    sandbox: SandboxMode = Field(
        default=SandboxMode.BUBBLEWRAP,
        description="How agent bash, agent git and pipeline run steps are confined: "
        "bubblewrap (default), or none (unconfined: only for machines that run nothing "
        "untrusted; shown as a warning everywhere).",
    )
    sandbox_read_only_paths: Annotated[list[Path], NoDecode] = Field(
        default_factory=list,
        description="Extra host directories sandboxed commands may read (comma-separated), "
        "e.g. a toolchain installed under a home directory.",
    )
    sandbox_path: str = Field(
        default="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        description="PATH inside the sandbox; add a toolchain's bin directory here and the "
        "directory itself to sandbox_read_only_paths.",
    )
    sandbox_max_processes: int = Field(
        default=512, ge=16, description="Processes one sandboxed command may run at once."
    )
    sandbox_max_file_bytes: int = Field(
        default=4 * 1024**3, ge=1024**2, description="Largest file a sandboxed command may write."
    )
    sandbox_max_cpu_seconds: int = Field(
        default=6 * 3600, ge=1, description="CPU seconds one sandboxed command may use."
    )
    sandbox_network_deny: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Networks a sandbox with network: true may not reach (comma-separated "
        "addresses or CIDRs), besides the always denied metadata services and this "
        "machine's own addresses; e.g. 10.0.0.0/8,172.16.0.0/12,192.168.0.0/16.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description="Key(s) encrypting the secret store, comma-separated, newest first; "
        "by default a key file created (mode 0600) in the home directory.",
    )
    github_trusted_associations: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["OWNER", "MEMBER", "COLLABORATOR"],
        description="author_association values whose pull requests, reviews and issues "
        "the built-in automations act on (comma-separated).",
    )
    gitlab_url: str = Field(
        default="https://gitlab.com",
        description="Address of the GitLab instance (gitlab.com or self-managed); the API "
        "is under /api/v4 of it.",
    )
    gitlab_token: SecretStr | None = Field(
        default=None,
        description="GitLab access token (scope api) Orchestrate acts with on merge "
        "requests; when unset, the stored secret GITLAB_TOKEN is used.",
    )
    gitlab_webhook_secret: SecretStr | None = Field(
        default=None,
        description="Secret token of the GitLab webhook (sent as X-Gitlab-Token); several, "
        "comma-separated, while rotating (a delivery with any of them is accepted).",
    )
    gitlab_webhook_insecure: bool = Field(
        default=False,
        description="Accept GitLab deliveries without a token when no secret is set (local "
        "trials only: anyone who can reach the server can then start pipelines).",
    )
    gitlab_trusted_users: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="GitLab usernames whose merge requests, notes and issues the built-in "
        "automations act on (comma-separated); GitLab's payloads say nothing of a "
        "person's role, so nobody is trusted unless listed.",
    )
    ci_provider: str = Field(
        default="github",
        description="The CI platform `orchestrate ci` commands and /api/ci use when none is "
        "named: github, gitlab or circleci (docs/ci.md).",
    )
    ci_repository: str | None = Field(
        default=None,
        description="The repository (GitHub owner/name, GitLab group/project, CircleCI "
        "gh/org/repo) `orchestrate ci` commands use when --repo is left out.",
    )
    ci_github_api_url: str | None = Field(
        default=None,
        description="GitHub Actions' REST API base URL; by default github_api_url "
        "(https://HOST/api/v3 for GitHub Enterprise Server).",
    )
    ci_github_token_secret: str = Field(
        default="GITHUB_TOKEN",
        min_length=1,
        description="Name of the stored secret holding the token GitHub Actions is called "
        "with (scopes repo and workflow); github_token is used when it is not stored.",
    )
    ci_gitlab_url: str | None = Field(
        default=None,
        description="Address of the GitLab instance whose CI is read; by default gitlab_url.",
    )
    ci_gitlab_token_secret: str = Field(
        default="GITLAB_TOKEN",
        min_length=1,
        description="Name of the stored secret holding the GitLab token (scope api) for CI; "
        "gitlab_token is used when it is not stored.",
    )
    ci_circleci_url: str = Field(
        default="https://circleci.com",
        description="CircleCI's address (the API is under /api/v2 and /api/v1.1 of it): "
        "circleci.com or a CircleCI server.",
    )
    ci_circleci_token_secret: str = Field(
        default="CIRCLECI_TOKEN",
        min_length=1,
        description="Name of the stored secret holding the CircleCI personal API token.",
    )
    ci_trigger_timeout_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How long `ci trigger` looks for the run a dispatch started (GitHub "
        "answers a dispatch without it; CircleCI creates workflows after the pipeline).",
    )
    security_osv_url: str = Field(
        default="https://osv-vulnerabilities.storage.googleapis.com",
        description="Where `security db update` fetches the OSV exports from: "
        "{security_osv_url}/{ecosystem}/all.zip, as OSV publishes them (a mirror for "
        "air-gapped setups; `security db import` reads a downloaded zip or folder).",
    )
    security_osv_ecosystems: str = Field(
        default="PyPI,npm,crates.io,Go",
        description="The OSV ecosystems `security db update` fetches (comma-separated).",
    )
    security_semgrep_path: str | None = Field(
        default=None,
        description="The semgrep program SAST runs; by default `semgrep` on PATH, then the "
        "one `make security-tools` installs (docs/security.md).",
    )
    security_license_policy: Path | None = Field(
        default=None,
        description="A licence policy file (allowed, denied and review lists of SPDX "
        "identifiers); by default the built-in policy (docs/security.md).",
    )
    security_fail_on: Literal["info", "low", "medium", "high", "critical"] = Field(
        default="high",
        description="The severity at or above which `security scan` and `scan:` steps "
        "fail when new findings remain: info, low, medium, high or critical.",
    )
    security_upload_sarif: bool = Field(
        default=False,
        description="Upload each repository scan's SARIF to GitHub code scanning through "
        "the forge (needs the github token's security_events scope).",
    )
    pr_draft: bool = Field(
        default=False,
        description="Open the pull requests of completed agent runs as drafts "
        "(`pr create --draft` overrides it for one).",
    )
    pr_labels: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Labels added to every pull request Orchestrate opens, besides "
        "`orchestrate` (comma-separated).",
    )
    shepherd_enabled: bool = Field(
        default=True,
        description="Shepherd every pull request Orchestrate opened (and any carrying the "
        "`orchestrate` label) from review to merge (docs/shepherd.md).",
    )
    shepherd_poll_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often the shepherd looks at a pull request that is waiting, "
        "besides whenever a webhook tells it something changed.",
    )
    shepherd_max_attempts: int = Field(
        default=10,
        ge=1,
        description="Moves that act on one pull request before a person must look.",
    )
    shepherd_max_attempts_per_head: int = Field(
        default=2,
        ge=1,
        description="Moves of one kind on one head commit before a person must look.",
    )
    shepherd_budget_usd: Decimal | None = Field(
        default=None,
        ge=0,
        description="Dollars the fixers of one pull request may spend in all (unset: no "
        "bound but each agent's own).",
    )
    shepherd_fixer_type: str = Field(
        default="issue-fixer",
        description="The agent type that fixes review comments and failing checks.",
    )
    shepherd_conflict_type: str = Field(
        default="conflict-resolver",
        description="The agent type that resolves conflicts with the base branch.",
    )
    changeset_poll_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How often a change set that is merging asks again whether its next "
        "pull requests may merge.",
    )
    api_max_body_bytes: int = Field(
        default=1024**2, ge=1024, description="Largest JSON request body the API accepts."
    )
    webhook_max_body_bytes: int = Field(
        default=25 * 1024**2, ge=1024, description="Largest webhook delivery accepted."
    )
    dashboard_session_hours: float = Field(
        default=12,
        gt=0,
        le=24 * 90,
        description="How long a dashboard sign-in lasts without use; each use extends it.",
    )
    max_streams_per_token: int = Field(
        default=16,
        ge=1,
        le=10_000,
        description="Most live streams (event stream, followed logs) one API token may "
        "hold open at once in serve; the next gets a 429 until one ends.",
    )

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        # Pipeline steps and agents run in their workspace, not in the directory the
        # process started in: a relative home (the default) would point somewhere else
        # there ($ORCHESTRATE_OUTPUT, logs) and in every path stored in the database.
        return value.expanduser().resolve()

    @field_validator("gitlab_url", mode="after")
    @classmethod
    def _gitlab_base_url(cls, value: str) -> str:
        # python-gitlab appends /api/v4 itself: a URL copied with it would double it.
        url = value.strip().rstrip("/").removesuffix("/api/v4").rstrip("/")
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"must be an http(s) URL such as https://gitlab.com (got {value!r})")
        return url

    @field_validator(
        "approval_tools",
        "github_trusted_associations",
        "gitlab_trusted_users",
        "pr_labels",
        mode="before",
    )
    @classmethod
    def _split_tool_names(cls, value: object) -> object:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    @field_validator("sandbox_network_deny", mode="before")
    @classmethod
    def _split_networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, list):
            for part in value:
                try:
                    ipaddress.ip_network(str(part).strip(), strict=False)
                except ValueError:
                    raise ValueError(f"{part!r} is not an IP address or network") from None
        return value

    @field_validator("sandbox_read_only_paths", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        if isinstance(value, str):
            return [Path(part.strip()) for part in value.split(",") if part.strip()]
        return value

    @field_validator("github_trusted_associations", mode="after")
    @classmethod
    def _upper_associations(cls, value: list[str]) -> list[str]:
        return [association.upper() for association in value]

    @field_validator(*RETENTION_SETTINGS, mode="before")
    @classmethod
    def _retention_period(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError(f"use {EXAMPLES}, or off (got {value!r}, not text)")
        return normalise_period(value)

    @field_validator("ci_flaky_window", mode="before")
    @classmethod
    def _ci_window(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError(f"use {EXAMPLES} (got {value!r}, not text)")
        return normalise_period(value, allow_off=False)

    @field_validator("log_level")
    @classmethod
    def _known_log_level(cls, value: str) -> str:
        level = value.lower()
        if level not in {"debug", "info", "warning", "error"}:
            raise ValueError("must be one of debug, info, warning, error")
        return level

    @model_validator(mode="after")
    def _retry_bounds(self) -> Settings:
        if self.job_retry_max_seconds < self.job_retry_base_seconds:
            raise ValueError("job_retry_max_seconds must be >= job_retry_base_seconds")
        return self

    def retention_period(self, setting: str) -> timedelta | None:
        """The age after which a retention rule prunes (``retention_runs`` …); None: off."""
        if setting not in RETENTION_SETTINGS:
            raise KeyError(f"{setting!r} is not a retention setting")
        return parse_period(str(getattr(self, setting)))

    @property
    def github_webhook_secrets(self) -> list[str]:
        """The configured webhook secrets in clear, in the order given (empty when none)."""
        if self.github_webhook_secret is None:
            return []
        raw = self.github_webhook_secret.get_secret_value()
        return [secret.strip() for secret in raw.split(",") if secret.strip()]

    @property
    def gitlab_webhook_secrets(self) -> list[str]:
        """The configured GitLab webhook tokens in clear, in the order given (empty when none)."""
        if self.gitlab_webhook_secret is None:
            return []
        raw = self.gitlab_webhook_secret.get_secret_value()
        return [secret.strip() for secret in raw.split(",") if secret.strip()]

    @property
    def database_url_value(self) -> str:
        """The database URL in clear, defaulting to ``<home>/orchestrate.db``."""
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{self.home / 'orchestrate.db'}"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_file_path())
        return (init_settings, env_settings, toml)


def load_settings(**overrides: Any) -> Settings:
    """Read settings, turning any invalid value into one clear ``ConfigurationError``."""
    _refuse_replaced_settings()
    try:
        return Settings(**overrides)
    except ValidationError as error:
        raise ConfigurationError(_describe(error), errors=error.errors()) from None
    except (OSError, ValueError) as error:  # an unreadable or malformed orchestrate.toml
        raise ConfigurationError(
            f"Cannot read settings file {config_file_path()}: {error}"
        ) from None


_REPLACED = {
    f"{ENV_PREFIX}JOB_RETENTION_DAYS": (
        f"{ENV_PREFIX}RETENTION_JOBS",
        "a duration: write 7d for 7, off for 0 (docs/retention.md)",
    ),
}


def _refuse_replaced_settings() -> None:
    """A setting that no longer exists must not be ignored silently: the user asked for
    something, and would get the default instead."""
    for old, (new, how) in _REPLACED.items():
        if old in os.environ and new not in os.environ:
            raise ConfigurationError(f"{old} was replaced by {new}, {how}; unset {old}")


def _describe(error: ValidationError) -> str:
    file_keys = _file_keys()
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "settings"
        env_name = f"{ENV_PREFIX}{field.upper()}"
        # Name the setting where the user wrote it: a typo in the file is not an env var.
        if env_name not in os.environ and field in file_keys:
            env_name = f"{env_name} ('{field}' in {config_file_path()})"
        given = item.get("input")
        shown = "" if isinstance(given, Mapping) else f" (got {given!r})"
        problems.append(f"Invalid setting {env_name}: {item['msg']}{shown}")
    return "; ".join(problems)


def _file_keys() -> set[str]:
    path = config_file_path()
    if not path.is_file():
        return set()
    return set(TomlConfigSettingsSource(Settings, toml_file=path)().keys())


def setting_sources(settings: Settings) -> dict[str, str]:
    """Where each setting's effective value came from: env, file or default."""
    file_keys = _file_keys()
    path = config_file_path()
    sources = {}
    for name in Settings.model_fields:
        if f"{ENV_PREFIX}{name.upper()}" in os.environ:
            sources[name] = "env"
        elif name in file_keys:
            sources[name] = f"file:{path}"
        else:
            sources[name] = "default"
    return sources
