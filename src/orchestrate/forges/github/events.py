"""A GitHub event payload read into the forge-neutral ``ForgeEvent``.

Payloads are hostile JSON: every accessor tolerates a missing key or a value of the
wrong type and answers None rather than raising, so one odd delivery never breaks
routing or the built-in automations that read the same fields. What GitHub puts where
(checked against the real payloads in ``tests/fixtures/github-webhooks``):

- the ref: ``ref`` of a push; ``ref`` and ``ref_type`` of create/delete;
  ``refs/pull/N/merge`` for pull request events; the ``head_branch`` of the workflow
  run, workflow job, check suite or check run;
- a fork: the pull request's head repository is not its base repository (a deleted
  head repository counts as a fork), a workflow run's head repository is not the
  repository, or the repository itself is a fork;
- an association (``author_association``) on the pull request, review, issue and
  comment, never on ``sender``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from orchestrate.core.errors import ValidationFailed
from orchestrate.forges.models import (
    CheckRun,
    ForgeEvent,
    Issue,
    Person,
    PullRequest,
    Review,
)

FORGE = "github"

_HEADS = "refs/heads/"
_TAGS = "refs/tags/"
# Events whose payload names the branch a run of checks or workflows was for.
_RUN_OBJECTS = {
    "workflow_run": ("workflow_run",),
    "workflow_job": ("workflow_job",),
    "check_suite": ("check_suite",),
    "check_run": ("check_run", "check_suite"),
}


def dig(data: Any, *keys: str) -> Any:
    """``data[k1][k2]…``, or None as soon as a level is missing or not an object."""
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def text(value: Any) -> str | None:
    """The value if it is a string; payload fields GitHub documents as strings can be null."""
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class GithubPayload:
    """Safe accessors over one delivery: its ``X-GitHub-Event``, action and payload."""

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
            return text(self.payload.get("ref"))
        if self.name in ("create", "delete"):
            short = text(self.payload.get("ref"))
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
        return text(dig(self.pull_request, "base", "ref"))

    @property
    def head_branch(self) -> str | None:
        if self.pull_request is not None:
            return text(dig(self.pull_request, "head", "ref"))
        return self._run_head_branch

    @property
    def _run_head_branch(self) -> str | None:
        keys = _RUN_OBJECTS.get(self.name)
        return text(dig(self.payload, *keys, "head_branch")) if keys else None

    @property
    def repository(self) -> str | None:
        """``owner/name`` of the repository the delivery is about."""
        return text(dig(self.payload, "repository", "full_name"))

    @property
    def fork_repository(self) -> str | None:
        """The fork the work comes from, or None when it comes from the repository itself.

        A pull request (or a workflow run) is from a fork when its head repository is
        not the base repository; a deleted head repository counts as a fork. Any other
        delivery is from a fork when its repository is one.
        """
        if self.pull_request is not None:
            head = dig(self.pull_request, "head", "repo")
            base = dig(self.pull_request, "base", "repo")
            return _foreign(head, base)
        if self.name == "workflow_run":
            run = self.payload.get("workflow_run")
            return _foreign(dig(run, "head_repository"), self.payload.get("repository"))
        if dig(self.payload, "repository", "fork") is True:
            return self.repository or "a fork"
        return None

    @cached_property
    def labels(self) -> tuple[str, ...] | None:
        """Label names of the pull request or issue; None when the event has neither."""
        item = self.pull_request or self.payload.get("issue")
        if not isinstance(item, Mapping):
            return None
        labels = item.get("labels")
        if not isinstance(labels, list):
            return ()
        return tuple(name for label in labels if (name := text(dig(label, "name"))))

    @property
    def added_label(self) -> str | None:
        """The label just added, for the ``labeled`` action."""
        if self.action != "labeled":
            return None
        return text(dig(self.payload, "label", "name"))

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
                files = dig(commit, key)
                paths.update(path for path in files or () if isinstance(path, str))
        return tuple(sorted(paths))


def _foreign(head: Any, base: Any) -> str | None:
    head_name = text(dig(head, "full_name"))
    if head_name is None:
        return "a deleted repository"
    base_id, head_id = dig(base, "id"), dig(head, "id")
    if base_id is not None and head_id is not None:
        return head_name if base_id != head_id else None
    return head_name if head_name != text(dig(base, "full_name")) else None


def _person(item: Any) -> Person:
    """The author of a pull request, review, issue or comment object of a payload."""
    return Person(text(dig(item, "user", "login")), text(dig(item, "author_association")))


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pull_request(data: Mapping[str, Any] | None) -> PullRequest | None:
    if data is None:
        return None
    return PullRequest(
        number=_int(data.get("number")),
        title=text(data.get("title")) or "",
        url=text(data.get("html_url")) or "",
        author=_person(data),
        head_branch=text(dig(data, "head", "ref")),
        head_sha=text(dig(data, "head", "sha")) or "",
        base_branch=text(dig(data, "base", "ref")),
        draft=data.get("draft") is True,
    )


def _issue(data: Any) -> Issue | None:
    if not isinstance(data, Mapping):
        return None
    return Issue(
        id=str(data.get("id")),
        number=_int(data.get("number")),
        title=text(data.get("title")) or "",
        body=text(data.get("body")) or "",
        url=text(data.get("html_url")) or "",
        author=_person(data),
    )


def _review(data: Any) -> Review | None:
    if not isinstance(data, Mapping):
        return None
    return Review(
        id=str(data.get("id")),
        state=text(data.get("state")) or "",
        body=text(data.get("body")) or "",
        url=text(data.get("html_url")) or "",
        author=_person(data),
    )


def _check(name: str, payload: Mapping[str, Any]) -> CheckRun | None:
    if name not in _RUN_OBJECTS:
        return None
    run = payload.get(name)
    return CheckRun(
        name=text(dig(run, "name")) or text(dig(run, "app", "name")) or name,
        conclusion=text(dig(run, "conclusion")) or "",
        head_sha=text(dig(run, "head_sha")) or "",
        url=text(dig(run, "html_url")) or text(dig(run, "url")) or "",
    )


def to_forge_event(
    event_name: str, payload: Mapping[str, Any], *, delivery_id: str | None = None
) -> ForgeEvent:
    """The forge-neutral event of a delivery: ``X-GitHub-Event`` and the parsed JSON body."""
    if not isinstance(payload, Mapping):
        raise ValidationFailed(
            f"The body of a GitHub '{event_name}' delivery must be a JSON object",
            event=event_name,
        )
    read = GithubPayload(name=event_name, action=text(payload.get("action")), payload=payload)
    return ForgeEvent(
        forge=FORGE,
        kind=read.name,
        action=read.action,
        repository=read.repository,
        payload=payload,
        delivery_id=delivery_id,
        sender=text(dig(payload, "sender", "login")),
        ref=read.ref,
        tag=read.tag,
        branch=read.branch,
        base_branch=read.base_branch,
        head_branch=read.head_branch,
        fork_repository=read.fork_repository,
        labels=read.labels,
        added_label=read.added_label,
        changed_paths=read.changed_paths,
        pull_request=_pull_request(read.pull_request),
        issue=_issue(payload.get("issue")),
        review=_review(payload.get("review")),
        check=_check(read.name, payload),
    )
