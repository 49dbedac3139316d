"""The webhook delivery pages: the list with its filters, one delivery with its headers,
payload and routing, and redelivering it (SQLite and PostgreSQL).

Deliveries arrive as GitHub sends them: signed posts to ``/webhooks/github``, processed
by the worker's jobs.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from orchestrate.auth.models import Actor, Role
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.pipelines import service as pipelines
from orchestrate.triggers import service as triggers
from tests.integration.dashboard.conftest import Browser, SignIn
from tests.integration.triggers.test_deliveries import work
from tests.integration.triggers.test_receiver import SECRET, body_of, deliver

pytestmark = pytest.mark.asyncio

REPOSITORY = "octo/hello"
ON_MAIN = f"""\
name: on-main
on:
  github:
    - event: push
      repositories: [{REPOSITORY}]
      branches: [main]
steps:
  - id: greet
    run: echo hi
"""
ON_RELEASE = ON_MAIN.replace("on-main", "on-release").replace("[main]", "[release]")


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", database_url=db_url, github_webhook_secret=SECRET)


def push(branch: str = "main", **more: object) -> bytes:
    return body_of({"ref": f"refs/heads/{branch}", "repository": {"full_name": REPOSITORY}, **more})


async def received(browser: Browser, body: bytes, event: str = "push") -> str:
    """Deliver ``body`` as GitHub would; the stored delivery's id (``whd_…``)."""
    answer = await deliver(browser.http, body, event)
    assert answer.status_code == 202, answer.text
    stored: str = answer.json()["id"]
    return stored


async def register(runtime: Runtime, admin: Actor, *specs: str) -> None:
    for spec in specs:
        await pipelines.register_pipeline(runtime.uow(), pipelines.PipelineSource(spec), admin)


async def status_of(runtime: Runtime, key: str) -> triggers.DeliveryStatus:
    return (await triggers.get_delivery(runtime.uow(read_only=True), key)).status


class TestList:
    async def test_the_list_shows_deliveries_and_filters_them(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        browser = await sign_in(Role.VIEWER)
        pushed = await received(browser, push())
        await work(runtime)
        opened = await received(
            browser,
            body_of({"action": "opened", "repository": {"full_name": REPOSITORY}}),
            "issues",
        )

        everything = await browser.get("/ui/webhooks")
        assert everything.status_code == 200
        assert f'href="/ui/webhooks/{pushed}"' in everything.text
        assert f'href="/ui/webhooks/{opened}"' in everything.text
        assert "issues.opened" in everything.text
        assert 'data-live="webhook."' in everything.text  # refreshed live

        pushes = await browser.get("/ui/webhooks?event=push")
        assert pushes.status_code == 200
        assert pushed in pushes.text
        assert opened not in pushes.text

        waiting = await browser.get("/ui/webhooks?status=received")
        assert opened in waiting.text
        assert pushed not in waiting.text

        on_gitlab = await browser.get("/ui/webhooks?forge=gitlab")
        assert on_gitlab.status_code == 200
        assert "No deliveries match these filters" in on_gitlab.text

    @pytest.mark.parametrize(
        ("query", "words"),
        [("status=lost", "Unknown delivery status"), ("forge=bitbucket", "Unknown forge")],
    )
    async def test_an_unknown_filter_value_is_a_422_page(
        self, sign_in: SignIn, query: str, words: str
    ) -> None:
        browser = await sign_in(Role.VIEWER)

        bad = await browser.get(f"/ui/webhooks?{query}")

        assert bad.status_code == 422
        assert bad.headers["content-type"].startswith("text/html")
        assert words in bad.text

    async def test_the_list_pages_fifty_at_a_time(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)
        first_received = await received(browser, push())
        for _ in range(50):
            await received(browser, push())

        first = await browser.get("/ui/webhooks")
        assert first.text.count('href="/ui/webhooks/whd_') == 50
        assert first_received not in first.text  # newest first: the oldest is on page two
        found = re.search(r'href="\?cursor=([^"]+)" rel="next"', first.text)
        assert found
        second = await browser.get(f"/ui/webhooks?cursor={found.group(1)}")

        assert second.text.count('href="/ui/webhooks/whd_') == 1
        assert first_received in second.text


class TestDetail:
    async def test_a_processed_delivery_shows_its_headers_payload_routing_and_runs(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await register(runtime, admin, ON_MAIN, ON_RELEASE)
        browser = await sign_in(Role.VIEWER)
        key = await received(browser, push(after="abc123"))
        await work(runtime)
        [run] = (await pipelines.list_runs(runtime.uow(read_only=True))).items

        page = await browser.get(f"/ui/webhooks/{key}")

        assert page.status_code == 200
        text = page.text
        assert "x-github-event" in text.lower()
        assert "GitHub-Hookshot" in text  # the user agent: a header that matters
        assert "x-hub-signature" not in text.lower()  # never stored
        assert "&#34;after&#34;: &#34;abc123&#34;" in text  # pretty JSON, escaped
        assert f'href="/ui/runs/{run.id}"' in text  # what it started
        # the routing, recorded and as it would be now: on-main matched, on-release did not
        assert text.count('badge-good">matched') == 2
        assert "branch &#39;main&#39;" in text
        assert "on-release" in text
        assert "Redeliver" not in text  # a viewer gets no control
        assert f'data-live="{key}"' in text  # its status events refresh it

    async def test_routing_now_follows_the_pipelines_registered_now(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        browser = await sign_in(Role.VIEWER)
        key = await received(browser, push())
        await work(runtime)
        await register(runtime, admin, ON_MAIN)  # registered after it was processed

        page = await browser.get(f"/ui/webhooks/{key}")

        assert "No pipeline is registered, so none could match." in page.text  # then
        assert page.text.count('badge-good">matched') == 1  # now

    async def test_a_large_payload_is_cut_with_the_whole_one_a_link_away(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        browser = await sign_in(Role.VIEWER)
        body = push(filler="x" * 100_000)
        key = await received(browser, body)

        page = await browser.get(f"/ui/webhooks/{key}")
        assert "only the beginning is shown here" in page.text
        assert "x" * 100_000 not in page.text
        whole = await browser.get(f"/ui/webhooks/{key}/payload.json")

        assert whole.status_code == 200
        assert whole.headers["content-type"].startswith("application/json")
        assert whole.headers["x-content-type-options"] == "nosniff"
        assert whole.content == body  # exactly as GitHub sent (and signed) it

    async def test_a_delivery_is_found_by_the_forges_delivery_id_too(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)
        answer = await deliver(browser.http, push(), delivery_id="gh-delivery-7")

        page = await browser.get("/ui/webhooks/gh-delivery-7")

        assert page.status_code == 200
        assert answer.json()["id"] in page.text

    async def test_an_unknown_delivery_is_a_404_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.VIEWER)

        for path in ("/ui/webhooks/whd_nope", "/ui/webhooks/whd_nope/payload.json"):
            missing = await browser.get(path)
            assert missing.status_code == 404
            assert missing.headers["content-type"].startswith("text/html")

    async def test_a_payload_needs_a_session(self, sign_in: SignIn, api: httpx.AsyncClient) -> None:
        key = await received(await sign_in(Role.VIEWER), push())

        refused = await api.get(f"/ui/webhooks/{key}/payload.json")

        assert refused.status_code == 303
        assert refused.headers["location"].startswith("/ui/login")


class TestRedeliver:
    async def test_an_operator_redelivers_a_processed_delivery(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await register(runtime, admin, ON_MAIN)
        browser = await sign_in(Role.OPERATOR)
        key = await received(browser, push())
        await work(runtime)
        page = await browser.get(f"/ui/webhooks/{key}")
        assert f'action="/ui/webhooks/{key}/redeliver"' in page.text

        again = await browser.post(f"/ui/webhooks/{key}/redeliver")

        assert (again.status_code, again.headers["location"]) == (303, f"/ui/webhooks/{key}")
        assert await status_of(runtime, key) is triggers.DeliveryStatus.RECEIVED
        assert (
            "queued to be processed again (job " in (await browser.get(f"/ui/webhooks/{key}")).text
        )
        await work(runtime)
        assert len((await pipelines.list_runs(runtime.uow(read_only=True))).items) == 2

    async def test_a_delivery_still_being_processed_is_not_redelivered(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        browser = await sign_in(Role.OPERATOR)
        key = await received(browser, push())  # received: its job has not run

        refused = await browser.post(f"/ui/webhooks/{key}/redeliver")

        assert refused.status_code == 409
        assert "a job is already on it" in refused.text

    async def test_a_viewer_and_a_post_without_csrf_are_refused(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        viewer = await sign_in(Role.VIEWER)
        operator = await sign_in(Role.OPERATOR)
        key = await received(viewer, push())
        await work(runtime)

        assert (await viewer.post(f"/ui/webhooks/{key}/redeliver")).status_code == 403
        forged = await operator.http.post(f"/ui/webhooks/{key}/redeliver", data={})
        assert forged.status_code == 403
        assert await status_of(runtime, key) is triggers.DeliveryStatus.PROCESSED

    async def test_redelivering_an_unknown_delivery_is_a_404_page(self, sign_in: SignIn) -> None:
        browser = await sign_in(Role.OPERATOR)

        missing = await browser.post("/ui/webhooks/whd_nope/redeliver")

        assert missing.status_code == 404
        assert missing.headers["content-type"].startswith("text/html")
