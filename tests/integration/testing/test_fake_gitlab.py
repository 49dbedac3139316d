"""The fake GitLab answers the real python-gitlab as GitLab would, where clients react."""

from __future__ import annotations

from collections.abc import Iterator

import gitlab as gitlab_lib
import pytest
from gitlab.exceptions import GitlabAuthenticationError, GitlabCreateError

from orchestrate.testing import FakeGitLab

REPO = "team/app"


@pytest.fixture
def fake() -> Iterator[FakeGitLab]:
    with FakeGitLab() as server:
        server.add_project(REPO, branches={"feature": None})
        yield server


def api(fake: FakeGitLab, token: str | None = None) -> gitlab_lib.Gitlab:
    return gitlab_lib.Gitlab(fake.url, private_token=token or fake.token)


def test_a_request_without_a_known_token_is_unauthorized(fake: FakeGitLab) -> None:
    with pytest.raises(GitlabAuthenticationError):
        api(fake, token="nope").projects.get(REPO)


def test_the_token_says_who_acts(fake: FakeGitLab) -> None:
    fake.add_user("alice", "glpat-alice")
    client = api(fake, token="glpat-alice")
    client.auth()

    assert client.user is not None
    assert client.user.username == "alice"


def test_a_diff_comment_on_another_version_of_the_diff_is_refused(fake: FakeGitLab) -> None:
    iid = fake.open_merge_request(REPO, "feature")
    mr = api(fake).projects.get(REPO, lazy=True).mergerequests.get(iid)
    refs = dict(mr.diff_refs)
    position = {"position_type": "text", "new_path": "a.py", "new_line": 1, **refs}
    fake.push(REPO, "feature")

    with pytest.raises(GitlabCreateError) as refused:
        mr.discussions.create({"body": "Stale", "position": position})

    assert refused.value.response_code == 400
    assert fake.discussions(REPO, iid) == []


def test_a_reply_stays_in_its_discussion(fake: FakeGitLab) -> None:
    iid = fake.open_merge_request(REPO, "feature")
    discussion_id = fake.add_note(REPO, iid, "Why?", author="alice", resolvable=True)
    mr = api(fake).projects.get(REPO, lazy=True).mergerequests.get(iid, lazy=True)

    mr.discussions.get(discussion_id, lazy=True).notes.create({"body": "Because."})

    (discussion,) = fake.discussions(REPO, iid)
    assert [note["body"] for note in discussion["notes"]] == ["Why?", "Because."]


def test_a_rebase_is_in_progress_until_polled(fake: FakeGitLab) -> None:
    iid = fake.open_merge_request(REPO, "feature")
    fake.set_rebase_polls(1)
    project = api(fake).projects.get(REPO, lazy=True)
    before = fake.merge_request(REPO, iid)["sha"]

    project.mergerequests.get(iid, lazy=True).rebase()
    first = project.mergerequests.get(iid, include_rebase_in_progress=True)
    second = project.mergerequests.get(iid, include_rebase_in_progress=True)

    assert (first.rebase_in_progress, first.sha) == (True, before)
    assert second.rebase_in_progress is False
    assert second.sha != before
