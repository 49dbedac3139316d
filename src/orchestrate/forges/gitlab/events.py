"""A GitLab event payload read into the forge-neutral ``ForgeEvent``.

Payloads are hostile JSON: every accessor tolerates a missing key or a value of the
wrong type and answers None rather than raising. What GitLab puts where (checked
against the documented examples in ``tests/fixtures/gitlab-webhooks``):

- the kind: GitLab's ``X-Gitlab-Event`` without ``Hook``, in snake case, as its
  ``object_kind`` spells it (``merge_request``, ``note``, ``pipeline``, ``push``,
  ``tag_push``, ``issue``, ``job`` for GitLab's ``build``); a system hook's
  ``object_kind`` decides for it;
- the action, in GitHub's past tense so pipelines read alike: a merge request's or
  issue's ``object_attributes.action`` (``open`` → ``opened``, ``update`` →
  ``updated``, or ``labeled`` when the update added labels, ``merge`` → ``merged``,
  ``approved``…), ``created`` for a note, ``completed`` for a finished pipeline or job
  (else its status: ``running``, ``pending``…), a release's ``created``/``updated``/
  ``deleted``, a deployment's status, none for pushes;
- the repository: ``project.path_with_namespace``;
- people: GitLab says nothing of anyone's role (no ``author_association``); ``user`` is
  who acted. The author of a merge request or issue is known only when they are who
  acted (``author_id`` equals ``user.id``), else left None;
- a fork: a merge request (or its pipeline) whose source project is not its target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from orchestrate.core.errors import ValidationFailed
from orchestrate.forges.models import CheckRun, ForgeEvent, Issue, Person, PullRequest, Review

FORGE = "gitlab"

_HEADS = "refs/heads/"
_TAGS = "refs/tags/"
_KINDS = {
    "Push Hook": "push",
    "Tag Push Hook": "tag_push",
    "Issue Hook": "issue",
    "Confidential Issue Hook": "confidential_issue",
    "Note Hook": "note",
    "Confidential Note Hook": "confidential_note",
    "Merge Request Hook": "merge_request",
    "Wiki Page Hook": "wiki_page",
    "Pipeline Hook": "pipeline",
    "Job Hook": "job",
    "Deployment Hook": "deployment",
    "Release Hook": "release",
}
_OBJECT_KINDS = {"build": "job"}
_ACTIONS = {
    "open": "opened",
    "reopen": "reopened",
    "close": "closed",
    "merge": "merged",
    "update": "updated",
    "approved": "approved",
    "unapproved": "unapproved",
    "approval": "approval_added",
    "unapproval": "approval_removed",
    "create": "created",
}
_FINISHED = {"success": "success", "failed": "failure", "canceled": "cancelled"}
_FINISHED |= {"skipped": "skipped", "manual": "action_required"}
_SLUG = re.compile(r"[^a-z0-9]+")


def dig(data: Any, *keys: str) -> Any:
    """``data[k1][k2]…``, or None as soon as a level is missing or not an object."""
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _id(value: Any) -> str:
    """An id GitLab sends as a number or a string; anything else is no id ("")."""
    if isinstance(value, str):
        return value[:100]
    number = _int(value)
    return "" if number is None else str(number)


def kind_of(event_header: str, payload: Mapping[str, Any]) -> str:
    """The event's kind from ``X-Gitlab-Event`` (a system hook's from ``object_kind``)."""
    known = _KINDS.get(event_header.strip())
    if known is not None:
        return known
    object_kind = text(payload.get("object_kind")) or text(payload.get("event_name"))
    name = object_kind or event_header.removesuffix(" Hook")
    slug = _SLUG.sub("_", name.lower()).strip("_")[:100] or "unknown"
    return _OBJECT_KINDS.get(slug, slug)


def action_of(kind: str, payload: Mapping[str, Any]) -> str | None:
    """The event's action in past tense (see the module); None for pushes and the like."""
    attributes = payload.get("object_attributes")
    if kind in ("merge_request", "issue", "confidential_issue"):
        raw = text(dig(attributes, "action"))
        if raw == "update" and _added_labels(payload):
            return "labeled"
        return _ACTIONS.get(raw, raw) if raw else None
    if kind in ("note", "confidential_note"):
        raw = text(dig(attributes, "action")) or "create"
        return "edited" if raw == "update" else _ACTIONS.get(raw, raw)
    if kind in ("pipeline", "job"):
        status = _status(kind, payload)
        if status is None:
            return None
        return "completed" if status in _FINISHED else status
    if kind == "release":
        raw = text(payload.get("action"))
        return {"create": "created", "update": "updated", "delete": "deleted"}.get(raw or "", raw)
    if kind == "deployment":
        return text(payload.get("status"))
    return None


def repository_of(payload: Mapping[str, Any]) -> str | None:
    """``group/project`` of the project the delivery is about."""
    return text(dig(payload, "project", "path_with_namespace"))


def _status(kind: str, payload: Mapping[str, Any]) -> str | None:
    if kind == "job":
        return text(payload.get("build_status"))
    return text(dig(payload, "object_attributes", "status"))


def _label_titles(labels: Any) -> tuple[str, ...]:
    if not isinstance(labels, list):
        return ()
    return tuple(title for label in labels if (title := text(dig(label, "title"))))


def _added_labels(payload: Mapping[str, Any]) -> tuple[str, ...]:
    """Labels an update added (``changes.labels``), in the order GitLab lists them."""
    change = dig(payload, "changes", "labels")
    before = set(_label_titles(dig(change, "previous")))
    return tuple(t for t in _label_titles(dig(change, "current")) if t not in before)


def _actor(payload: Mapping[str, Any]) -> str | None:
    return text(dig(payload, "user", "username")) or text(payload.get("user_username"))


def _authored(payload: Mapping[str, Any], item: Any) -> Person:
    """The author of ``item`` when they are who acted (GitLab gives only an author id)."""
    author_id, user_id = _int(dig(item, "author_id")), _int(dig(payload, "user", "id"))
    if author_id is not None and author_id == user_id:
        return Person(_actor(payload))
    return Person()


def _merge_request(payload: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The merge request of a merge request event, or of a note or pipeline about one."""
    data = payload.get("object_attributes") if kind == "merge_request" else None
    if data is None and kind in ("note", "confidential_note", "pipeline"):
        data = payload.get("merge_request")
    return data if isinstance(data, Mapping) else None


def _pull_request(payload: Mapping[str, Any], data: Mapping[str, Any] | None) -> PullRequest | None:
    if data is None:
        return None
    draft = data.get("draft") is True or data.get("work_in_progress") is True
    return PullRequest(
        number=_int(data.get("iid")),
        title=text(data.get("title")) or "",
        url=text(data.get("url")) or "",
        author=_authored(payload, data),
        head_branch=text(data.get("source_branch")),
        head_sha=text(dig(data, "last_commit", "id")) or "",
        base_branch=text(data.get("target_branch")),
        draft=draft,
    )


def _fork(data: Mapping[str, Any] | None) -> str | None:
    if data is None:
        return None
    source, target = _int(data.get("source_project_id")), _int(data.get("target_project_id"))
    if source is None or target is None or source == target:
        return None
    name = text(dig(data, "source", "path_with_namespace"))
    return name or f"project {source}"


def _issue(payload: Mapping[str, Any], kind: str) -> Issue | None:
    if kind in ("issue", "confidential_issue"):
        data = payload.get("object_attributes")
    elif kind in ("note", "confidential_note"):
        data = payload.get("issue")
    else:
        return None
    if not isinstance(data, Mapping):
        return None
    return Issue(
        id=_id(data.get("id")),
        number=_int(data.get("iid")),
        title=text(data.get("title")) or "",
        body=text(data.get("description")) or "",
        url=text(data.get("url")) or "",
        author=_authored(payload, data) if kind != "note" else Person(),
    )


def _review(payload: Mapping[str, Any], kind: str) -> Review | None:
    """A comment on a merge request's diff (a ``DiffNote``, with a position): a thread."""
    note = payload.get("object_attributes")
    if kind != "note" or not isinstance(note, Mapping):
        return None
    if text(note.get("noteable_type")) != "MergeRequest":
        return None
    if note.get("type") != "DiffNote" and not isinstance(note.get("position"), Mapping):
        return None
    return Review(
        id=_id(note.get("discussion_id")) or _id(note.get("id")),
        state="commented",
        body=text(note.get("note")) or "",
        url=text(note.get("url")) or "",
        author=Person(_actor(payload)),
    )


def _check(payload: Mapping[str, Any], kind: str, head_sha: str | None) -> CheckRun | None:
    status = _status(kind, payload)
    if kind not in ("pipeline", "job") or status is None or status not in _FINISHED:
        return None
    if kind == "job":
        name = text(payload.get("build_name")) or "job"
        job_id = _int(payload.get("build_id"))
        web = text(dig(payload, "project", "web_url"))
        url = f"{web}/-/jobs/{job_id}" if web and job_id is not None else ""
    else:
        attributes = payload.get("object_attributes")
        pipeline_id = _int(dig(attributes, "id"))
        name = text(dig(attributes, "name")) or f"pipeline {pipeline_id or ''}".strip()
        url = text(dig(attributes, "url")) or ""
    return CheckRun(
        name=name, conclusion=_FINISHED.get(status, ""), head_sha=head_sha or "", url=url
    )


def _refs(payload: Mapping[str, Any], kind: str) -> tuple[str | None, str | None, str | None]:
    """The full ref, the tag and the branch the event is for."""
    if kind in ("push", "tag_push"):
        ref = text(payload.get("ref"))
    elif kind in ("pipeline", "job"):
        attributes = payload.get("object_attributes") if kind == "pipeline" else payload
        short = text(dig(attributes, "ref"))
        is_tag = dig(attributes, "tag") is True
        if short is None or short.startswith("refs/"):
            ref = short
        else:
            ref = (_TAGS if is_tag else _HEADS) + short
    else:
        return None, None, None
    if ref is None:
        return None, None, None
    tag = ref.removeprefix(_TAGS) if ref.startswith(_TAGS) else None
    branch = ref.removeprefix(_HEADS) if ref.startswith(_HEADS) else None
    return ref, tag, branch


def _changed_paths(payload: Mapping[str, Any], kind: str) -> tuple[str, ...] | None:
    """Files added, modified or removed by the pushed commits; None for other events.

    GitLab lists at most 20 commits in a push payload (``total_commits_count`` says how
    many there were); files of the others are not seen.
    """
    if kind != "push":
        return None
    paths: set[str] = set()
    commits = payload.get("commits")
    for commit in commits if isinstance(commits, list) else ():
        for key in ("added", "modified", "removed"):
            files = dig(commit, key)
            if isinstance(files, list):
                paths.update(path for path in files if isinstance(path, str))
    return tuple(sorted(paths))


def _sha(payload: Mapping[str, Any], kind: str) -> str | None:
    if kind == "pipeline":
        return text(dig(payload, "object_attributes", "sha"))
    if kind == "job":
        return text(payload.get("sha"))
    return None


def to_forge_event(
    kind: str, payload: Mapping[str, Any], *, delivery_id: str | None = None
) -> ForgeEvent:
    """The forge-neutral event of a stored GitLab delivery of ``kind`` (see ``kind_of``)."""
    if not isinstance(payload, Mapping):
        raise ValidationFailed(
            f"The body of a GitLab '{kind}' delivery must be a JSON object", event=kind
        )
    action = action_of(kind, payload)
    merge_request = _merge_request(payload, kind)
    pull_request = _pull_request(payload, merge_request)
    fork = _fork(merge_request)
    ref, tag, branch = _refs(payload, kind)
    head_branch = branch
    if pull_request is not None:
        ref = f"refs/merge-requests/{pull_request.number}/head" if kind != "pipeline" else ref
        branch = pull_request.base_branch if kind != "pipeline" else branch
        head_branch = pull_request.head_branch if fork is None else None
        if kind == "pipeline" and branch is None and fork is None:
            branch = pull_request.head_branch  # a merge request pipeline's ref is not a branch
    labels: tuple[str, ...] | None = None
    if kind in ("merge_request", "issue", "confidential_issue"):
        labels = _label_titles(payload.get("labels") or dig(payload, "object_attributes", "labels"))
    elif pull_request is not None and kind != "pipeline":
        labels = _label_titles(dig(merge_request, "labels"))
    added = _added_labels(payload) if action == "labeled" else ()
    return ForgeEvent(
        forge=FORGE,
        kind=kind,
        action=action,
        repository=repository_of(payload),
        payload=payload,
        delivery_id=delivery_id,
        sender=_actor(payload),
        ref=ref,
        tag=tag,
        branch=branch,
        base_branch=pull_request.base_branch if pull_request is not None else None,
        head_branch=head_branch,
        fork_repository=fork,
        labels=labels,
        added_label=added[0] if added else None,
        changed_paths=_changed_paths(payload, kind),
        pull_request=pull_request,
        issue=_issue(payload, kind),
        review=_review(payload, kind),
        check=_check(payload, kind, _sha(payload, kind)),
    )
