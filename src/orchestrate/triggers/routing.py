"""Which pipelines a GitHub or GitLab delivery starts, and in words why the others do not.

A GitHub delivery is matched against the pipelines' ``on.github`` entries, a GitLab one
against their ``on.gitlab`` entries, with the same keys and the same rules below (a
GitLab event's kind and action are those of ``forges/gitlab/events.py``).

Pure: a delivery's event in, verdicts out; no database, no network.
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
- Every filter is bound to repositories (``repositories.py``): its ``repositories:``
  patterns, or else the repositories Orchestrate manages, which the caller passes in
  as ``managed`` so that routing stays pure.

``ForgeEvent`` and ``event_from_delivery`` live in ``github_event.py`` and are
re-exported here, where callers have always found them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

from orchestrate.forges.service import ForgeEvent
from orchestrate.pipelines.spec import GithubEventFilter, GitlabEventFilter, PipelineSpec
from orchestrate.triggers.globs import InvalidPattern, matches_any, only_negative
from orchestrate.triggers.repositories import check_repository, describe_binding

__all__ = [
    "FilterVerdict",
    "PipelineVerdict",
    "match_filter",
    "route",
]

_CHANGED_FILES_SHOWN = 5


def _listing(values: Sequence[str]) -> str:
    return "[" + ", ".join(values) + "]"


@dataclass(frozen=True)
class FilterVerdict:
    """Whether one ``on.github`` filter matches; ``reasons`` say why not, or what matched."""

    matched: bool
    reasons: list[str]


@dataclass(frozen=True)
class PipelineVerdict:
    """Whether a pipeline starts: it does when any of its filters for the forge matches."""

    pipeline: str
    matched: bool
    reasons: list[str]


def match_filter(
    event: ForgeEvent, filter: GithubEventFilter, *, managed: Collection[str] = ()
) -> FilterVerdict:
    """Check every key of the filter; all failing keys are reported, not just the first.

    ``managed`` names the repositories Orchestrate manages (``owner/name``): a filter
    without ``repositories:`` matches only those, and nothing when it is empty.
    """
    if event.kind != filter.event:
        return FilterVerdict(False, [f"event '{event.kind}' is not '{filter.event}'"])
    reasons: list[str] = []
    for check in (lambda e, f: check_repository(e, f, managed), *_CHECKS):
        try:
            reasons.extend(check(event, filter))
        except InvalidPattern as error:
            key = "gitlab" if isinstance(filter, GitlabEventFilter) else "github"
            reasons.append(f"{error.message}; fix it in the pipeline's on.{key} filter")
    if reasons:
        return FilterVerdict(False, reasons)
    return FilterVerdict(True, [_describe_match(event, filter)])


def route(
    event: ForgeEvent, pipelines: Sequence[PipelineSpec], *, managed: Collection[str] = ()
) -> list[PipelineVerdict]:
    """One verdict per pipeline that has filters for the event's forge (``on.github`` or
    ``on.gitlab``), ordered by pipeline name.

    ``managed``: see :func:`match_filter`; the default, none, is the safe one.
    """
    key = "gitlab" if event.forge == "gitlab" else "github"
    verdicts = []
    for pipeline in sorted(pipelines, key=lambda spec: spec.name):
        filters: Sequence[GithubEventFilter] = (
            pipeline.on.gitlab if key == "gitlab" else pipeline.on.github
        )
        if not filters:
            continue
        matched = False
        reasons: list[str] = []
        for index, event_filter in enumerate(filters):
            verdict = match_filter(event, event_filter, managed=managed)
            matched = matched or verdict.matched
            reasons.extend(f"on.{key}[{index}]: {reason}" for reason in verdict.reasons)
        verdicts.append(PipelineVerdict(pipeline=pipeline.name, matched=matched, reasons=reasons))
    return verdicts


def _check_fork(event: ForgeEvent, filter: GithubEventFilter) -> list[str]:
    fork = event.fork_repository
    if filter.forks or fork is None:
        return []
    if event.pull_request is not None:
        return [f"the pull request comes from a fork ({fork}) (set forks: true to allow)"]
    if event.kind in ("workflow_run", "pipeline"):
        return [
            f"the {event.kind.replace('_', ' ')} comes from a fork ({fork}) "
            "(set forks: true to allow)"
        ]
    return [f"the repository {fork} is a fork (set forks: true to allow)"]


def _check_action(event: ForgeEvent, filter: GithubEventFilter) -> list[str]:
    if filter.actions is None:
        return []
    if event.action is None:
        return [
            f"the {event.kind} event has no action, but the filter needs one of "
            f"{_listing(filter.actions)}"
        ]
    if event.action not in filter.actions:
        return [f"action '{event.action}' is not one of {_listing(filter.actions)}"]
    return []


def _check_refs(event: ForgeEvent, filter: GithubEventFilter) -> list[str]:
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
        return [f"the {event.kind} event has no branch or tag to match {', '.join(keys)}"]
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


def _check_base_branches(event: ForgeEvent, filter: GithubEventFilter) -> list[str]:
    if filter.base_branches is None:
        return []
    base = event.base_branch
    if base is None:
        return [
            f"the {event.kind} event has no pull request, so base_branches "
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


def _check_paths(event: ForgeEvent, filter: GithubEventFilter) -> list[str]:
    if filter.paths is None and filter.paths_ignore is None:
        return []
    if event.kind in ("push", "tag_push") and event.tag is not None:
        return []  # GitHub: "Path filters are not evaluated for pushes of tags."
    keys = " and ".join(k for k in ("paths", "paths_ignore") if getattr(filter, k) is not None)
    changed = event.changed_paths
    if changed is None:
        return [
            f"the {event.kind} event carries no list of changed files, so {keys} cannot "
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


def _check_labels(event: ForgeEvent, filter: GithubEventFilter) -> list[str]:
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
        return [f"the {event.kind} event has no issue or pull request, so labels cannot match"]
    if any(label.casefold() in wanted for label in labels):
        return []
    item = "pull request" if event.pull_request is not None else "issue"
    return [f"the {item}'s labels {_listing(labels)} include none of {_listing(filter.labels)}"]


def _check_draft(event: ForgeEvent, filter: GithubEventFilter) -> list[str]:
    if filter.draft is None:
        return []
    if event.is_draft is None:
        return [f"the {event.kind} event has no pull request, so draft cannot match"]
    if event.is_draft != filter.draft:
        state = "is a draft" if event.is_draft else "is not a draft"
        return [f"the pull request {state} (the filter has draft: {str(filter.draft).lower()})"]
    return []


_CHECKS: tuple[Callable[[ForgeEvent, GithubEventFilter], list[str]], ...] = (
    _check_fork,
    _check_action,
    _check_refs,
    _check_base_branches,
    _check_paths,
    _check_labels,
    _check_draft,
)


def _describe_match(event: ForgeEvent, filter: GithubEventFilter) -> str:
    words = [f"matched event {event.kind}"]
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
    words.append(f"({describe_binding(filter)})")
    return " ".join(words)
