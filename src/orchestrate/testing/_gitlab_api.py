"""The fake GitLab's REST endpoints (API v4): a request in, GitLab's answer out.

Parameters are read as GitLab's Grape API reads them: the query string and the JSON
body merged, ``"true"``/``"false"`` as booleans. Status codes and messages are GitLab's
where Orchestrate reacts to them (409 on a second open merge request for the same
branches, 405/409/422 on merges, 401 on a second approval, 404 on unapproving).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from orchestrate.testing import _gitlab_ci as ci
from orchestrate.testing._gitlab_http_types import Call, Reply
from orchestrate.testing._gitlab_state import (
    ApiError,
    JsonObject,
    MergeRequest,
    Project,
    User,
    World,
    detailed_merge_status,
    discussion_json,
    job_json,
    merge_request_json,
    new_sha,
    note_json,
    now,
    pipeline_json,
)

_LIST_STATES = {"opened", "closed", "merged", "locked"}


def handle(world: World, call: Call) -> Reply:
    try:
        return _route(world, call)
    except ApiError as error:
        return Reply(error.status, {"message": error.message})


def _route(world: World, call: Call) -> Reply:
    o = world.origin
    match (call.method, *call.segments):
        case ("GET", "user"):
            return Reply(200, call.user.json(o))
        case ("GET", "version"):
            return Reply(200, {"version": "17.5.0", "revision": "fake"})
        case ("GET", "projects", ref):
            return Reply(200, world.project(ref).json(o))
        case ("GET", "projects", ref, "repository", "branches", branch):
            project = world.project(ref)
            if branch not in project.branches:
                raise ApiError(404, "404 Branch Not Found")
            return Reply(200, {"name": branch, "commit": {"id": project.branches[branch]}})
        case ("GET", "projects", ref, "merge_requests"):
            return _list_merge_requests(world, call, world.project(ref))
        case ("POST", "projects", ref, "merge_requests"):
            return _create_merge_request(world, call, world.project(ref))
        case (_, "projects", ref, "merge_requests", iid, *rest):
            project = world.project(ref)
            return _merge_request_route(world, call, project, world.merge_request(project, iid))
        case ("GET", "projects", ref, "pipelines"):
            return _list_pipelines(world, call, world.project(ref))
        case ("POST", "projects", ref, "pipeline"):
            return ci.create_pipeline(world, call, world.project(ref))
        case ("POST", "projects", ref, "pipelines", pipeline_id, "retry"):
            return ci.retry_pipeline(world, world.project(ref), pipeline_id)
        case ("POST", "projects", ref, "pipelines", pipeline_id, "cancel"):
            return ci.cancel_pipeline(world, world.project(ref), pipeline_id)
        case ("POST", "projects", ref, "jobs", job_id, "retry"):
            return ci.retry_job(world, world.project(ref), job_id)
        case ("GET", "projects", ref, "pipelines", pipeline_id, "test_report"):
            return ci.test_report(world.project(ref), pipeline_id)
        case ("GET", "projects", ref, "pipelines", pipeline_id, *rest):
            return _pipeline_route(world, call, world.project(ref), pipeline_id, rest)
        case ("GET", "projects", ref, "jobs", job_id, *rest):
            project = world.project(ref)
            job = project.find_job(int(job_id)) if job_id.isdigit() else None
            if job is None:
                raise ApiError(404, "404 Not found")
            if rest == ["trace"]:
                return Reply(200, job.trace)
            pipeline = next(p for p in project.pipelines if p.id == job.pipeline_id)
            return Reply(200, job_json(o, project, pipeline, job))
    raise ApiError(404, "404 Not Found")


def _merge_request_route(world: World, call: Call, project: Project, mr: MergeRequest) -> Reply:
    o = world.origin
    rest = call.segments[4:]
    match (call.method, *rest):
        case ("GET",):
            if _flag(call.params.get("include_rebase_in_progress")):
                return Reply(200, _with_rebase_state(world, project, mr))
            data = merge_request_json(o, project, mr)
            if _flag(call.params.get("include_diverged_commits_count")):
                data["diverged_commits_count"] = project.commits_since(
                    mr.target_branch, mr.base_sha
                )
            return Reply(200, data)
        case ("PUT",):
            return Reply(200, _update_merge_request(world, project, mr, call.params))
        case ("PUT", "merge"):
            return Reply(200, _merge(world, project, mr, call.params))
        case ("PUT", "rebase"):
            if mr.state != "opened":
                raise ApiError(405, "405 Method Not Allowed")
            mr.rebase_polls_left = 1 + world.rebase_polls
            mr.merge_error = None
            return Reply(202, {"rebase_in_progress": True})
        case ("GET", "notes"):
            notes = sorted(mr.notes, key=lambda note: note.id)
            if call.params.get("sort", "desc") == "desc":
                notes.reverse()
            return _page(call, [note_json(o, mr, note) for note in notes], world.origin)
        case ("POST", "notes"):
            discussion = world.add_note(mr, call.user, _body(call.params))
            return Reply(201, note_json(o, mr, discussion.notes[0]))
        case ("GET", "discussions"):
            return _page(call, [discussion_json(o, mr, d) for d in mr.discussions], world.origin)
        case ("POST", "discussions"):
            position = call.params.get("position")
            if position is not None:
                _check_position(mr, position)
            discussion = world.add_note(
                mr, call.user, _body(call.params), resolvable=True, position=position
            )
            return Reply(201, discussion_json(o, mr, discussion))
        case (_, "discussions", discussion_id, *more):
            return _discussion_route(world, call, mr, discussion_id, more)
        case ("GET", "approvals"):
            return Reply(200, _approvals(world, mr, call.user))
        case ("POST", "approve"):
            return Reply(201, _approve(world, project, mr, call))
        case ("POST", "unapprove"):
            if call.user not in mr.approved_by:
                raise ApiError(404, "404 Not Found")
            mr.approved_by.remove(call.user)
            world.add_note(mr, call.user, "unapproved this merge request", system=True)
            return Reply(201, _approvals(world, mr, call.user))
        case ("GET", "reviewers"):
            reviewers = [
                {"user": user.json(o), "state": state, "created_at": mr.created_at}
                for user, state in mr.reviewer_states.values()
            ]
            return Reply(200, reviewers)
    raise ApiError(404, "404 Not Found")


def _with_rebase_state(world: World, project: Project, mr: MergeRequest) -> JsonObject:
    if mr.rebase_polls_left > 0:
        mr.rebase_polls_left -= 1
        if mr.rebase_polls_left == 0:
            _finish_rebase(world, project, mr)
    data = merge_request_json(world.origin, project, mr)
    data["rebase_in_progress"] = mr.rebase_in_progress
    return data


def _finish_rebase(world: World, project: Project, mr: MergeRequest) -> None:
    if mr.has_conflicts:
        mr.merge_error = (
            "Rebase failed: Rebase locally, resolve all conflicts, then push the branch."
        )
        return
    mr.base_sha = project.branches.get(mr.target_branch, mr.base_sha)
    world.push(project, mr.source_branch)


def _discussion_route(
    world: World, call: Call, mr: MergeRequest, discussion_id: str, more: list[str]
) -> Reply:
    o = world.origin
    discussion = next((d for d in mr.discussions if d.id == discussion_id), None)
    if discussion is None:
        raise ApiError(404, "404 Discussion Not Found")
    match (call.method, *more):
        case ("GET",):
            return Reply(200, discussion_json(o, mr, discussion))
        case ("POST", "notes"):
            first = discussion.notes[0]
            reply = world.add_note(mr, call.user, _body(call.params)).notes[0]
            mr.discussions.pop()  # the reply joins this discussion, not a new one
            reply.type, reply.resolvable = first.type or "DiscussionNote", first.resolvable
            reply.resolved = discussion.resolved
            discussion.notes.append(reply)
            discussion.individual_note = False
            return Reply(201, note_json(o, mr, reply))
        case ("PUT",):
            if not discussion.resolvable:
                raise ApiError(400, "400 Bad request - discussion is not resolvable")
            resolved = _flag(call.params.get("resolved"))
            for note in discussion.notes:
                if note.resolvable:
                    note.resolved = resolved
                    note.resolved_by = call.user if resolved else None
            return Reply(200, discussion_json(o, mr, discussion))
    raise ApiError(404, "404 Not Found")


def _pipeline_route(
    world: World, call: Call, project: Project, pipeline_id: str, rest: list[str]
) -> Reply:
    pipeline = next((p for p in project.pipelines if str(p.id) == pipeline_id), None)
    if pipeline is None:
        raise ApiError(404, "404 Not found")
    if rest == ["jobs"]:
        retried = _flag(call.params.get("include_retried"))
        jobs = [job for job in pipeline.jobs if retried or not job.retried]
        return _page(
            call, [job_json(world.origin, project, pipeline, job) for job in jobs], world.origin
        )
    if not rest:
        return Reply(200, pipeline_json(world.origin, project, pipeline))
    raise ApiError(404, "404 Not Found")


def _list_merge_requests(world: World, call: Call, project: Project) -> Reply:
    state = call.params.get("state", "all")
    found = [
        mr
        for mr in sorted(project.merge_requests.values(), key=lambda mr: -mr.iid)
        if (state == "all" or state not in _LIST_STATES or mr.state == state)
        and call.params.get("source_branch", mr.source_branch) == mr.source_branch
        and call.params.get("target_branch", mr.target_branch) == mr.target_branch
    ]
    return _page(
        call, [merge_request_json(world.origin, project, mr) for mr in found], world.origin
    )


def _create_merge_request(world: World, call: Call, project: Project) -> Reply:
    params = call.params
    for name in ("source_branch", "target_branch", "title"):
        if not params.get(name):
            raise ApiError(400, f"{name} is missing")
    mr = world.open_merge_request(
        project,
        call.user,
        source_branch=str(params["source_branch"]),
        target_branch=str(params["target_branch"]),
        title=str(params["title"]),
        description=str(params.get("description") or ""),
        labels=_labels(params.get("labels")),
    )
    return Reply(201, merge_request_json(world.origin, project, mr))


def _update_merge_request(
    world: World, project: Project, mr: MergeRequest, params: Mapping[str, Any]
) -> JsonObject:
    if "title" in params:
        mr.title = str(params["title"])
    if "description" in params:
        mr.description = str(params["description"])
    if "labels" in params:
        mr.labels = _labels(params["labels"])
    for label in _labels(params.get("add_labels")):
        if label not in mr.labels:
            mr.labels.append(label)
    for label in _labels(params.get("remove_labels")):
        if label in mr.labels:
            mr.labels.remove(label)
    event = params.get("state_event")
    if event == "close" and mr.state == "opened":
        mr.state = "closed"
    elif event == "reopen" and mr.state == "closed":
        mr.state = "opened"
    mr.updated_at = now()
    return merge_request_json(world.origin, project, mr)


def _merge(
    world: World, project: Project, mr: MergeRequest, params: Mapping[str, Any]
) -> JsonObject:
    status = detailed_merge_status(project, mr)
    if status in ("not_open", "draft_status", "discussions_not_resolved", "ci_must_pass"):
        raise ApiError(405, "405 Method Not Allowed")
    sha = params.get("sha")
    if sha and sha != mr.sha:
        raise ApiError(409, f"SHA does not match HEAD of source branch: {mr.sha}")
    if mr.has_conflicts:
        raise ApiError(422, "Branch cannot be merged")
    mr.squash = _flag(params.get("squash"))
    mr.merge_params = dict(params)
    if mr.squash:
        mr.squash_commit_sha = new_sha()
    mr.merge_commit_sha = None if project.merge_method == "ff" else new_sha()
    world.push(project, mr.target_branch, mr.merge_commit_sha or mr.squash_commit_sha or mr.sha)
    mr.state = "merged"
    mr.updated_at = now()
    return merge_request_json(world.origin, project, mr)


def _approve(world: World, project: Project, mr: MergeRequest, call: Call) -> JsonObject:
    sha = call.params.get("sha")
    if sha and sha != mr.sha:
        raise ApiError(409, f"SHA does not match HEAD of source branch: {mr.sha}")
    if call.user in mr.approved_by:
        raise ApiError(401, "401 Unauthorized")
    mr.approved_by.append(call.user)
    world.add_note(mr, call.user, "approved this merge request", system=True)
    return _approvals(world, mr, call.user)


def _approvals(world: World, mr: MergeRequest, user: User) -> JsonObject:
    return {
        "id": mr.id,
        "iid": mr.iid,
        "title": mr.title,
        "state": mr.state,
        "approved": bool(mr.approved_by),
        "approvals_required": 0,
        "approvals_left": 0,
        "user_has_approved": user in mr.approved_by,
        "user_can_approve": user not in mr.approved_by,
        "approved_by": [{"user": approver.json(world.origin)} for approver in mr.approved_by],
    }


def _list_pipelines(world: World, call: Call, project: Project) -> Reply:
    found = [
        pipeline
        for pipeline in project.pipelines
        if call.params.get("sha", pipeline.sha) == pipeline.sha
        and call.params.get("ref", pipeline.ref) == pipeline.ref
        and call.params.get("status", pipeline.status) == pipeline.status
    ]
    found.sort(key=lambda pipeline: pipeline.id, reverse=call.params.get("sort") != "asc")
    return _page(call, [pipeline_json(world.origin, project, p) for p in found], world.origin)


def _check_position(mr: MergeRequest, position: Any) -> None:
    refs = {"base_sha": mr.base_sha, "start_sha": mr.base_sha, "head_sha": mr.sha}
    complete = isinstance(position, dict) and all(
        position.get(name) == sha for name, sha in refs.items()
    )
    if not complete or not (position.get("new_line") or position.get("old_line")):
        raise ApiError(
            400,
            '400 Bad request - Note {:line_code=>["can\'t be blank", "must be a valid '
            'line code"], :position=>["is incomplete"]}',
        )


def _page(call: Call, items: list[Any], origin: str) -> Reply:
    """One page of ``items`` with GitLab's pagination headers and ``Link``."""
    per_page = max(1, min(100, _integer(call.params.get("per_page"), 20)))
    page = max(1, _integer(call.params.get("page"), 1))
    total_pages = max(1, -(-len(items) // per_page))
    headers = {
        "X-Page": str(page),
        "X-Per-Page": str(per_page),
        "X-Total": str(len(items)),
        "X-Total-Pages": str(total_pages),
        "X-Next-Page": str(page + 1) if page < total_pages else "",
        "X-Prev-Page": str(page - 1) if page > 1 else "",
    }
    if page < total_pages:
        query = {key: str(value) for key, value in call.params.items() if _scalar(value)}
        query |= {"page": str(page + 1), "per_page": str(per_page)}
        headers["Link"] = f'<{origin}{call.path}?{urlencode(query)}>; rel="next"'
    start = (page - 1) * per_page
    return Reply(200, items[start : start + per_page], headers)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool)


def _integer(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1", "yes"))


def _labels(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(label).strip() for label in value if str(label).strip()]
    if isinstance(value, str):
        return [label.strip() for label in value.split(",") if label.strip()]
    return []


def _body(params: Mapping[str, Any]) -> str:
    body = params.get("body")
    if not isinstance(body, str) or not body.strip():
        raise ApiError(400, "body is missing")
    return body


__all__ = ["Call", "Reply", "handle"]
