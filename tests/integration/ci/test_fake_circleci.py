"""The fake CircleCI speaks CircleCI's wire format: checked with plain httpx."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from orchestrate.testing import CircleJob, CircleTest, FakeCircleCI

SLUG = "gh/acme/app"


@pytest.fixture
def fake() -> Iterator[FakeCircleCI]:
    with FakeCircleCI() as circleci:
        circleci.add_project(SLUG, branches=("main",))
        circleci.set_config(
            SLUG, {"build": [CircleJob("test", "failed", "boom\n", (CircleTest("t", "failure"),))]}
        )
        yield circleci


def _get(fake: FakeCircleCI, path: str, **params: str) -> httpx.Response:
    return httpx.get(fake.url + path, params=params, headers={"Circle-Token": fake.token})


def test_every_api_request_needs_the_token(fake: FakeCircleCI) -> None:
    response = httpx.get(f"{fake.url}/api/v2/project/{SLUG}/pipeline")

    assert response.status_code == 401
    assert response.json() == {"message": "You must log in first."}


def test_pipelines_page_with_a_next_page_token(fake: FakeCircleCI) -> None:
    for _ in range(25):
        fake.add_pipeline(SLUG)

    first = _get(fake, f"/api/v2/project/{SLUG}/pipeline").json()
    second = _get(
        fake, f"/api/v2/project/{SLUG}/pipeline", **{"page-token": first["next_page_token"]}
    ).json()

    assert len(first["items"]) == 20
    assert len(second["items"]) == 5
    assert second["next_page_token"] is None
    assert [p["number"] for p in first["items"]][:2] == [25, 24]
    assert set(first["items"][0]["vcs"]) >= {"branch", "revision"}


def test_the_v1_job_points_at_signed_output_on_another_host(fake: FakeCircleCI) -> None:
    workflow = fake.workflows_of(fake.add_pipeline(SLUG))[0]
    fake.advance_workflow(workflow, "completed")
    job = _get(fake, f"/api/v2/workflow/{workflow}/job").json()["items"][0]

    details = _get(fake, f"/api/v1.1/project/github/acme/app/{job['job_number']}").json()
    output_url = details["steps"][0]["actions"][0]["output_url"]
    unsigned = httpx.get(output_url.split("?")[0])
    signed = httpx.get(output_url)

    assert httpx.URL(output_url).port != httpx.URL(fake.url).port
    assert unsigned.status_code == 403
    assert signed.json()[0]["message"] == "boom\n"
    assert (job["status"], details["status"]) == ("failed", "failed")


def test_rerunning_a_running_workflow_is_refused(fake: FakeCircleCI) -> None:
    workflow = fake.workflows_of(fake.add_pipeline(SLUG))[0]

    response = httpx.post(
        f"{fake.url}/api/v2/workflow/{workflow}/rerun",
        json={"from_failed": True},
        headers={"Circle-Token": fake.token},
    )

    assert response.status_code == 400


def test_cancelling_a_workflow_answers_202_and_cancels_its_unfinished_jobs(
    fake: FakeCircleCI,
) -> None:
    workflow = fake.workflows_of(fake.add_pipeline(SLUG))[0]
    headers = {"Circle-Token": fake.token}

    response = httpx.post(f"{fake.url}/api/v2/workflow/{workflow}/cancel", headers=headers)
    unknown = httpx.post(f"{fake.url}/api/v2/workflow/nope/cancel", headers=headers)
    shown = _get(fake, f"/api/v2/workflow/{workflow}").json()
    jobs = _get(fake, f"/api/v2/workflow/{workflow}/job").json()["items"]

    assert (response.status_code, response.json()) == (202, {"message": "Accepted."})
    assert unknown.status_code == 404
    assert shown["status"] == "canceled"
    assert shown["stopped_at"] is not None
    assert [job["status"] for job in jobs] == ["canceled"]
