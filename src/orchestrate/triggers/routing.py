"""Which pipelines a GitHub delivery starts, and in words why the others do not.

Pure: a delivery's event name and payload in, verdicts out; no database, no network.
The filter keys follow GitHub Actions' ``on.<event>`` filters where GitHub has them
(``types`` is our ``actions``); ``docs/triggers.md`` is the user-facing description.
Decisions where GitHub is silent or needs more than the payload:

- ``branches`` and ``branches_ignore`` together (an error in GitHub): both apply, so an
  ignored branch never matches.
- ``paths`` and ``paths_ignore`` together: a changed file counts when ``paths`` selects
  it and ``paths_ignore`` does not; the filter matches when at least one file counts.
- A paths filter on an event whose payload has no file list (every event but push)
  does not match: GitHub asks its API for the pull request's diff; routing cannot.
  As in GitHub, path filters are not evaluated for tag pushes.
- ``labels`` for the ``labeled`` action looks at the label just added, so adding an
  unrelated label to an already labelled issue does not start the pipeline again; for
  other actions the issue or pull request must carry at least one of the labels.
  Label names compare exactly but case-insensitively, as GitHub treats them.
- A filter key the event cannot answer (``draft`` on a push, ``branches`` on an issue)
  does not match, with the reason, rather than being skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from orchestrate.core.errors import ValidationFailed
from orchestrate.pipelines.spec.models import GithubEventFilter, PipelineSpec
from orchestrate.triggers.globs import InvalidPattern, matches_any, only_negative

_HEADS = "refs/heads/"
_TAGS = "refs/tags/"
# Events whose payload names the branch a run of checks or workflows was for.
_RUN_OBJECTS = {
    "workflow_run": ("workflow_run",),
    "workflow_job": ("workflow_job",),
    "check_suite": ("check_suite",),
    "check_run": ("check_run", "check_suite"),
}
_CHANGED_FILES_SHOWN = 5


def _dig(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _listing(values: Sequence[str]) -> str:
    return "[" + ", ".join(values) + "]"


@dataclass(frozen=True)
class GithubEvent:
    """What routing needs from one delivery: its ``X-GitHub-Event``, action and payload."""

    name: str
    action: str | None
    payload: Mapping[str, Any]

    @property
    def pull_request(self) -> Mapping[str, Any] | None:
        """The pull request of pull_request* events (not of an issue comment on one)."""
        pull_request = self.payload.get("pull_request")
        return pull_request if isinstance(pull_request, Mapping) else None

    @property
    def ref(self) -> str | None:
        """The full Git ref: pushed ref, ``refs/pull/N/merge`` for pull requests, run branch."""
        if self.name == "push":
            return _text(self.payload.get("ref"))
        if self.name in ("create", "delete"):
            short = _text(self.payload.get("ref"))
            kind = self.payload.get("ref_type")
            if short is not None and kind in ("branch", "tag"):
                return (_HEADS if kind == "branch" else _TAGS) + short
            return None
        if self.pull_request is not None:
            number = self.pull_request.get("number")
            return f"refs/pull/{number}/merge" if isinstance(number, int) else None
        head_branch = self._run_head_branch
        return _HEADS + head_branch if head_branch is not None else None

    @property
    def tag(self) -> str | None:
        """The tag pushed, created or deleted."""
        ref = self.ref
        if self.name in ("push", "create", "delete") and ref and ref.startswith(_TAGS):
            return ref.removeprefix(_TAGS)
        return None

    @property
    def branch(self) -> str | None:
        """The branch ``branches`` filters match: the base branch of a pull request (as in
        GitHub Actions), the pushed branch, or the branch a workflow or check ran for."""
        if self.pull_request is not None:
            return self.base_branch
        ref = self.ref
        if self.name in ("push", "create", "delete"):
            return ref.removeprefix(_HEADS) if ref and ref.startswith(_HEADS) else None
        return self._run_head_branch

    @property
    def base_branch(self) -> str | None:
        return _text(_dig(self.pull_request, "base", "ref"))

    @property
    def head_branch(self) -> str | None:
        if self.pull_request is not None:
            return _text(_dig(self.pull_request, "head", "ref"))
        return self._run_head_branch

    @property
    def _run_head_branch(self) -> str | None:
        keys = _RUN_OBJECTS.get(self.name)
        return _text(_dig(self.payload, *keys, "head_branch")) if keys else None

    @property
    def repository(self) -> str | None:
        """``owner/name`` of the repository the delivery is about."""
        return _text(_dig(self.payload, "repository", "full_name"))

    @property
    def fork_repository(self) -> str | None:
        """The fork the work comes from, or None when it comes from the repository itself.

        A pull request (or a workflow run) is from a fork when its head repository is
        not the base repository; a deleted head repository counts as a fork. Any other
        delivery is from a fork when its repository is one.
        """
        if self.pull_request is not None:
            head = _dig(self.pull_request, "head", "repo")
            base = _dig(self.pull_request, "base", "repo")
            return _foreign(head, base)
        if self.name == "workflow_run":
            run = self.payload.get("workflow_run")
            return _foreign(_dig(run, "head_repository"), self.payload.get("repository"))
        if _dig(self.payload, "repository", "fork") is True:
            return self.repository or "a fork"
        return None

    @property
    def is_fork(self) -> bool:
        return self.fork_repository is not None

    @property
    def is_draft(self) -> bool | None:
        """The pull request's draft state; None when the event has no pull request."""
        if self.pull_request is None:
            return None
        return self.pull_request.get("draft") is True

    @cached_property
    def labels(self) -> tuple[str, ...] | None:
        """Label names of the pull request or issue; None when the event has neither."""
        item = self.pull_request or self.payload.get("issue")
        if not isinstance(item, Mapping):
            return None
        labels = item.get("labels")
        if not isinstance(labels, list):
            return ()
        return tuple(name for label in labels if (name := _text(_dig(label, "name"))))

    @property
    def added_label(self) -> str | None:
        """The label just added, for the ``labeled`` action."""
        if self.action != "labeled":
            return None
        return _text(_dig(self.payload, "label", "name"))

    @cached_property
    def changed_paths(self) -> tuple[str, ...] | None:
        """Files added, modified or removed by the pushed commits; None for other events.

        GitHub puts at most 2,048 commits in a push payload; files of later ones are
        not seen.
        """
        if self.name != "push":
            return None
        paths: set[str] = set()
        commits = self.payload.get("commits")
        for commit in commits if isinstance(commits, list) else ():
            for key in ("added", "modified", "removed"):
                files = _dig(commit, key)
                paths.update(path for path in files or () if isinstance(path, str))
        return tuple(sorted(paths))


def _foreign(head: Any, base: Any) -> str | None:
    head_name = _text(_dig(head, "full_name"))
    if head_name is None:
        return "a deleted repository"
    base_id, head_id = _dig(base, "id"), _dig(head, "id")
    if base_id is not None and head_id is not None:
        return head_name if base_id != head_id else None
    return head_name if head_name != _text(_dig(base, "full_name")) else None


def event_from_delivery(event_name: str, payload: Mapping[str, Any]) -> GithubEvent:
    """The routing view of a delivery: ``X-GitHub-Event`` and the parsed JSON body."""
    if not isinstance(payload, Mapping):
        raise ValidationFailed(
            f"The body of a GitHub '{event_name}' delivery must be a JSON object",
            event=event_name,
        )
    return GithubEvent(name=event_name, action=_text(payload.get("action")), payload=payload)


@dataclass(frozen=True)
class FilterVerdict:
    """Whether one ``on.github`` filter matches; ``reasons`` say why not, or what matched."""

    matched: bool
    reasons: list[str]


@dataclass(frozen=True)
class PipelineVerdict:
    """Whether a pipeline starts: it does when any of its ``on.github`` filters matches."""

    pipeline: str
    matched: bool
    reasons: list[str]


def match_filter(event: GithubEvent, filter: GithubEventFilter) -> FilterVerdict:
    """Check every key of the filter; all failing keys are reported, not just the first."""
    if event.name != filter.event:
        return FilterVerdict(False, [f"event '{event.name}' is not '{filter.event}'"])
    reasons: list[str] = []
    for check in _CHECKS:
        try:
            reasons.extend(check(event, filter))
        except InvalidPattern as error:
            reasons.append(f"{error.message}; fix it in the pipeline's on.github filter")
    if reasons:
        return FilterVerdict(False, reasons)
    return FilterVerdict(True, [_describe_match(event, filter)])


def route(event: GithubEvent, pipelines: Sequence[PipelineSpec]) -> list[PipelineVerdict]:
    """One verdict per pipeline that has ``on.github`` filters, ordered by pipeline name."""
    verdicts = []
    for pipeline in sorted(pipelines, key=lambda spec: spec.name):
        if not pipeline.on.github:
            continue
        matched = False
        reasons: list[str] = []
        for index, event_filter in enumerate(pipeline.on.github):
            verdict = match_filter(event, event_filter)
            matched = matched or verdict.matched
            reasons.extend(f"on.github[{index}]: {reason}" for reason in verdict.reasons)
        verdicts.append(PipelineVerdict(pipeline=pipeline.name, matched=matched, reasons=reasons))
    return verdicts


def _check_fork(event: GithubEvent, filter: GithubEventFilter) -> list[str]:
    fork = event.fork_repository
    if filter.forks or fork is None:
        return []
    if event.pull_request is not None:
        return [f"the pull request comes from a fork ({fork}) (set forks: true to allow)"]
    if event.name == "workflow_run":
        return [f"the workflow run comes from a fork ({fork}) (set forks: true to allow)"]
    return [f"the repository {fork} is a fork (set forks: true to allow)"]


def _check_action(event: GithubEvent, filter: GithubEventFilter) -> list[str]:
    if filter.actions is None:
        return []
    if event.action is None:
        return [
            f"the {event.name} event has no action, but the filter needs one of "
            f"{_listing(filter.actions)}"
        ]
    if event.action not in filter.actions:
        return [f"action '{event.action}' is not one of {_listing(filter.actions)}"]
    return []


def _check_refs(event: GithubEvent, filter: GithubEventFilter) -> list[str]:
    """``branches``, ``branches_ignore`` and ``tags``; GitHub: naming only branches
    excludes tag pushes, naming only tags excludes branch pushes."""
    has_branch_filter = filter.branches is not None or filter.branches_ignore is not None
    if not has_branch_filter and filter.tags is None:
        return []
    tag = event.tag
    if tag is not None:
        if filter.tags is None:
            return [f"tag '{tag}' was pushed but the filter names only branches (add tags)"]
        return _not_selected("tag", tag, "tags", filter.tags)
    branch, label = event.branch, "base branch" if event.pull_request else "branch"
    if branch is None:
        keys = [
            key
            for key in ("branches", "branches_ignore", "tags")
            if getattr(filter, key) is not None
        ]
        return [f"the {event.name} event has no branch or tag to match {', '.join(keys)}"]
    if not has_branch_filter:
        return [f"{label} '{branch}' is not a tag, and the filter names only tags"]
    reasons = []
    if filter.branches is not None:
        reasons += _not_selected(label, branch, "branches", filter.branches)
    if filter.branches_ignore is not None and matches_any(filter.branches_ignore, branch):
        reasons.append(
            f"{label} '{branch}' is in branches_ignore {_listing(filter.branches_ignore)}"
        )
    return reasons


def _check_base_branches(event: GithubEvent, filter: GithubEventFilter) -> list[str]:
    if filter.base_branches is None:
        return []
    base = event.base_branch
    if base is None:
        return [
            f"the {event.name} event has no pull request, so base_branches "
            f"{_listing(filter.base_branches)} cannot match"
        ]
    return _not_selected("base branch", base, "base_branches", filter.base_branches)


def _not_selected(label: str, value: str, key: str, patterns: Sequence[str]) -> list[str]:
    if matches_any(patterns, value):
        return []
    reason = f"{label} '{value}' is not in {key} {_listing(patterns)}"
    if only_negative(patterns):
        reason += f" (a list of only '!' patterns selects nothing; use {key}_ignore)"
    return [reason]


def _check_paths(event: GithubEvent, filter: GithubEventFilter) -> list[str]:
    if filter.paths is None and filter.paths_ignore is None:
        return []
    if event.name == "push" and event.tag is not None:
        return []  # GitHub: "Path filters are not evaluated for pushes of tags."
    keys = " and ".join(k for k in ("paths", "paths_ignore") if getattr(filter, k) is not None)
    changed = event.changed_paths
    if changed is None:
        return [
            f"the {event.name} event carries no list of changed files, so {keys} cannot "
            "match (only push payloads list them)"
        ]
    if not changed:
        return [f"the push changes no files, so {keys} cannot match"]
    selected = [p for p in changed if filter.paths is None or matches_any(filter.paths, p)]
    if not selected:
        assert filter.paths is not None  # selected is only empty when paths is set
        return [f"no changed file is in paths {_listing(filter.paths)} ({_files(changed)})"]
    ignore = filter.paths_ignore or []
    if all(matches_any(ignore, path) for path in selected):
        which = "every changed file in paths" if filter.paths is not None else "every changed file"
        return [f"{which} is in paths_ignore {_listing(ignore)} ({_files(selected)})"]
    return []


def _files(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:_CHANGED_FILES_SHOWN])
    hidden = len(paths) - _CHANGED_FILES_SHOWN
    return f"changed: {shown}" + (f" and {hidden} more" if hidden > 0 else "")


def _check_labels(event: GithubEvent, filter: GithubEventFilter) -> list[str]:
    if filter.labels is None:
        return []
    wanted = {label.casefold() for label in filter.labels}
    added = event.added_label
    if added is not None:
        if added.casefold() in wanted:
            return []
        return [f"the added label '{added}' is not in labels {_listing(filter.labels)}"]
    labels = event.labels
    if labels is None:
        return [f"the {event.name} event has no issue or pull request, so labels cannot match"]
    if any(label.casefold() in wanted for label in labels):
        return []
    item = "pull request" if event.pull_request is not None else "issue"
    return [f"the {item}'s labels {_listing(labels)} include none of {_listing(filter.labels)}"]


def _check_draft(event: GithubEvent, filter: GithubEventFilter) -> list[str]:
    if filter.draft is None:
        return []
    if event.is_draft is None:
        return [f"the {event.name} event has no pull request, so draft cannot match"]
    if event.is_draft != filter.draft:
        state = "is a draft" if event.is_draft else "is not a draft"
        return [f"the pull request {state} (the filter has draft: {str(filter.draft).lower()})"]
    return []


_CHECKS: tuple[Callable[[GithubEvent, GithubEventFilter], list[str]], ...] = (
    _check_fork,
    _check_action,
    _check_refs,
    _check_base_branches,
    _check_paths,
    _check_labels,
    _check_draft,
)


def _describe_match(event: GithubEvent, filter: GithubEventFilter) -> str:
    words = [f"matched event {event.name}"]
    if event.action is not None:
        words.append(f"action {event.action}")
    if event.tag is not None:
        words.append(f"on tag '{event.tag}'")
    elif event.pull_request is not None:
        words.append(f"from branch '{event.head_branch}' into '{event.base_branch}'")
    elif event.branch is not None:
        words.append(f"on branch '{event.branch}'")
    if event.repository is not None:
        words.append(f"in {event.repository}")
    if filter.forks and event.is_fork:
        words.append(f"from the fork {event.fork_repository}")
    return " ".join(words)
