"""The fake GitHub's routes for repositories and pull requests: open, list, read, close,
merge (with the head check), update-branch and compare, each validated as GitHub
validates it."""

from __future__ import annotations

from urllib.parse import unquote

from orchestrate.testing._github_http import (
    Answer,
    RestRequest,
    emit_pull_request,
    emit_push,
    error,
    invalid,
    pull_of,
    render_pull,
    render_repository,
    route,
)
from orchestrate.testing._github_state import (
    FakePullRequest,
    FakeRepository,
    GitHubState,
    now_iso,
    random_sha,
)

# -- repositories and pull requests ------------------------------------------------------------


@route("GET", "")
def get_repository(
    state: GitHubState, request: RestRequest, repository: FakeRepository, _: list[str]
) -> Answer:
    return Answer(200, render_repository(repository, request.origin))


@route("GET", "/pulls")
def list_pulls(
    state: GitHubState, request: RestRequest, repository: FakeRepository, _: list[str]
) -> Answer:
    wanted = request.query.get("state", "open")
    if wanted not in ("open", "closed", "all"):
        return invalid({"resource": "PullRequest", "field": "state", "code": "invalid"})
    head = request.query.get("head")
    found = [
        pull
        for pull in sorted(repository.pulls.values(), key=lambda p: -p.number)
        if wanted in ("all", pull.state)
        and (
            head is None
            or head.lower() == f"{repository.full_name.split('/')[0]}:{pull.head}".lower()
        )
        and request.query.get("base", pull.base) == pull.base
    ]
    page, per_page = (
        int(request.query.get("page", "1")),
        min(int(request.query.get("per_page", "30")), 100),
    )
    chosen = found[(page - 1) * per_page : page * per_page]
    return Answer(
        200, [render_pull(repository, pull, request.origin, full=False) for pull in chosen]
    )


@route("POST", "/pulls")
def create_pull(
    state: GitHubState, request: RestRequest, repository: FakeRepository, _: list[str]
) -> Answer:
    body = request.body if isinstance(request.body, dict) else {}
    missing = [
        name
        for name in ("head", "base", "title")
        if not isinstance(body.get(name), str) or not body[name]
    ]
    if missing:
        return invalid(
            *(
                {"resource": "PullRequest", "field": name, "code": "missing_field"}
                for name in missing
            )
        )
    head = body["head"].split(":", 1)[-1]
    if repository.head(head) is None:
        return invalid({"resource": "PullRequest", "field": "head", "code": "invalid"})
    if repository.head(body["base"]) is None:
        return invalid({"resource": "PullRequest", "field": "base", "code": "invalid"})
    for pull in repository.pulls.values():
        if pull.state == "open" and pull.head == head and pull.base == body["base"]:
            owner = repository.full_name.split("/")[0]
            return invalid(
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"A pull request already exists for {owner}:{head}.",
                }
            )
    pull = FakePullRequest(
        number=repository.next_number,
        id=state.next_id(),
        title=body["title"],
        body=body.get("body") or "",
        head=head,
        base=body["base"],
        draft=body.get("draft") is True,
        user=request.user,
    )
    repository.next_number += 1
    repository.pulls[pull.number] = pull
    emit_pull_request(state, repository, pull, request.user, "opened")
    return Answer(201, render_pull(repository, pull, request.origin))


@route("GET", r"/pulls/(?P<number>\d+)")
def get_pull(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = pull_of(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    return Answer(200, render_pull(repository, pull, request.origin))


@route("PATCH", r"/pulls/(?P<number>\d+)")
def update_pull(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = pull_of(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    body = request.body if isinstance(request.body, dict) else {}
    if body.get("state") not in (None, "open", "closed"):
        return invalid({"resource": "PullRequest", "field": "state", "code": "invalid"})
    if body.get("state") == "closed" and pull.state == "open":
        repository.head_of(pull)
        pull.state, pull.closed_at = "closed", now_iso()
        emit_pull_request(state, repository, pull, request.user, "closed")
    for name in ("title", "body"):
        if isinstance(body.get(name), str):
            setattr(pull, name, body[name])
    return Answer(200, render_pull(repository, pull, request.origin))


@route("PUT", r"/pulls/(?P<number>\d+)/merge")
def merge_pull(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = pull_of(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    body = request.body if isinstance(request.body, dict) else {}
    method = body.get("merge_method", "merge")
    if method not in ("merge", "squash", "rebase"):
        return invalid({"resource": "PullRequest", "field": "merge_method", "code": "invalid"})
    head_sha = repository.head_of(pull)
    repository.refresh_mergeable(pull)
    if pull.state != "open" or pull.draft or pull.mergeable is not True:
        return error(405, "Pull Request is not mergeable")
    if body.get("sha") is not None and body["sha"] != head_sha:
        return error(409, "Head branch was modified. Review and try the merge again.")
    title = body.get("commit_title") or f"Merge pull request #{pull.number} from {pull.head}"
    if repository.git is not None:
        sha = repository.git.merge(pull.base, pull.head, title, squash=method != "merge")
        if sha is None:
            return error(405, "Pull Request is not mergeable")
    else:
        sha = random_sha()
        repository.branches[pull.base] = sha
    pull.state, pull.merged, pull.merge_commit_sha = "closed", True, sha
    pull.merged_at = pull.closed_at = now_iso()
    emit_pull_request(state, repository, pull, request.user, "closed")
    return Answer(200, {"sha": sha, "merged": True, "message": "Pull Request successfully merged"})


@route("GET", r"/compare/(?P<basehead>.+)")
def compare(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    """How two commits or branches compare (``BASE...HEAD``): counts only, no commit list.
    Without git behind the repository nothing is ever behind."""
    base, separator, head = unquote(args[0]).partition("...")
    if not separator or not base or not head:
        return error(404, "Not Found")
    if repository.git is None:
        ahead, behind = (0 if base == head else 1), 0
    else:
        base_sha, head_sha = repository.git.resolve(base), repository.git.resolve(head)
        if base_sha is None or head_sha is None:
            return error(404, "Not Found")
        ahead = repository.git.count(base_sha, head_sha)
        behind = repository.git.count(head_sha, base_sha)
    status = {(0, 0): "identical", (1, 0): "ahead", (0, 1): "behind"}.get(
        (min(ahead, 1), min(behind, 1)), "diverged"
    )
    return Answer(
        200,
        {
            "url": f"{request.origin}/repos/{repository.full_name}/compare/{args[0]}",
            "status": status,
            "ahead_by": ahead,
            "behind_by": behind,
            "total_commits": ahead,
            "commits": [],
            "files": [],
        },
    )


@route("PUT", r"/pulls/(?P<number>\d+)/update-branch")
def update_branch(
    state: GitHubState, request: RestRequest, repository: FakeRepository, args: list[str]
) -> Answer:
    pull = pull_of(repository, args[0])
    if pull is None:
        return error(404, "Not Found")
    body = request.body if isinstance(request.body, dict) else {}
    head_sha = repository.head_of(pull)
    if body.get("expected_head_sha") not in (None, head_sha):
        return error(422, "expected head sha didn't match current head ref.")
    repository.refresh_mergeable(pull)
    if pull.state != "open" or pull.mergeable is False:
        return error(422, "merge conflict between base and head")
    if repository.git is not None:
        if (
            repository.git.merge(
                pull.head, pull.base, f"Merge branch '{pull.base}' into {pull.head}"
            )
            is None
        ):
            return error(422, "merge conflict between base and head")
    else:
        repository.branches[pull.head] = random_sha()
    emit_push(state, repository, pull.head, head_sha, request.user)
    url = f"{request.origin}/{repository.full_name}/pull/{pull.number}"
    return Answer(202, {"message": "Updating pull request branch.", "url": url})
