"""Every real GitHub payload read into a ``ForgeEvent``, and the typed parts automations use."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.forges import service as forges
from tests.support import GITHUB_WEBHOOKS, github_event

PAYLOAD_FILES = sorted(GITHUB_WEBHOOKS.glob("*/*.json"))


def real(relative: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((GITHUB_WEBHOOKS / relative).read_text())
    return document


@pytest.mark.parametrize("path", PAYLOAD_FILES, ids=lambda path: path.parent.name + "/" + path.name)
def test_every_real_payload_becomes_an_event_with_every_field_readable(path: Path) -> None:
    data = json.loads(path.read_text())

    event = github_event(path.parent.name, data)

    assert event.forge == "github"
    assert event.kind == path.parent.name
    assert event.action == data.get("action")
    facts = (event.ref, event.branch, event.tag, event.base_branch, event.head_branch)
    assert all(fact is None or isinstance(fact, str) for fact in facts)
    assert isinstance(event.is_fork, bool)
    assert event.is_draft in (None, True, False)
    assert event.labels is None or all(isinstance(label, str) for label in event.labels)
    assert event.changed_paths is None or isinstance(event.changed_paths, tuple)
    assert event.repository is None or "/" in event.repository
    assert event.payload == data


def test_a_pull_request_is_read_with_its_author_and_branches() -> None:
    event = github_event("pull_request", real("pull_request/opened.payload.json"))

    pull_request = event.pull_request
    assert pull_request is not None
    assert pull_request.number == 2
    assert pull_request.author == forges.Person("Codertocat", "OWNER")
    assert (pull_request.head_branch, pull_request.base_branch) == ("changes", "master")
    assert pull_request.head_sha == "ec26c3e57ca3a959ca5aad62de7213c562f8c821"
    assert event.ref == "refs/pull/2/merge"
    assert event.branch == "master"
    assert (event.issue, event.review, event.check) == (None, None, None)


def test_an_issue_is_read_with_its_author_and_the_sender() -> None:
    data = real("issues/opened.payload.json")

    event = github_event("issues", data)

    assert event.issue is not None
    assert event.issue.id == str(data["issue"]["id"])
    assert event.issue.title == data["issue"]["title"]
    assert event.issue.author.login == data["issue"]["user"]["login"]
    assert event.sender == data["sender"]["login"]


def test_a_review_is_read_with_its_state_and_author() -> None:
    data = real("pull_request_review/submitted.payload.json")

    event = github_event("pull_request_review", data)

    assert event.review is not None
    assert event.review.state == data["review"]["state"]
    assert event.review.author.association == data["review"]["author_association"]


def test_a_check_suite_names_its_conclusion_and_commit() -> None:
    data = real("check_suite/completed.payload.json")

    event = github_event("check_suite", data)

    assert event.check is not None
    assert event.check.conclusion == (data["check_suite"]["conclusion"] or "")
    assert event.check.head_sha == data["check_suite"]["head_sha"]


def test_odd_fields_are_left_empty_rather_than_raising() -> None:
    data = real("pull_request/opened.payload.json")
    data["pull_request"]["number"] = "two"
    data["pull_request"]["user"] = None
    data["pull_request"]["head"] = []

    event = github_event("pull_request", data)

    assert event.pull_request is not None
    assert event.pull_request.number is None
    assert event.pull_request.author == forges.Person(None, "OWNER")
    assert event.pull_request.head_sha == ""


def test_a_body_that_is_not_a_json_object_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="must be a JSON object"):
        github_event("push", [])  # type: ignore[arg-type]


def test_an_unknown_forge_is_refused() -> None:
    with pytest.raises(ValidationFailed, match="Unknown forge 'gitea'"):
        forges.event_from_delivery("gitea", "push", {})
