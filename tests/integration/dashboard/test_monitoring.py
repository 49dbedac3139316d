"""The Monitoring page: health by component, SVG charts, live alerts with their
acknowledgement, silences made and ended from forms, budgets (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from orchestrate.auth.models import Actor, Role
from orchestrate.core.events import record_event
from orchestrate.core.runtime import Runtime
from orchestrate.costs import service as costs
from orchestrate.monitoring.alerts import service as alerts
from orchestrate.monitoring.alerts.models import Alert, AlertState
from orchestrate.pipelines.events import RunFailed
from tests.integration.dashboard.conftest import SignIn
from tests.integration.monitoring.jobs import queued_job

pytestmark = pytest.mark.asyncio

RULES = """\
rules:
  - name: pipeline-failures
    metric: pipeline_runs_failed
    window: 1h
    condition: "> 0"
    for: 0s
    severity: critical
    labels: {team: platform}
    annotations: {summary: "{{ $value }} pipeline runs failed"}
"""


async def firing_alert(runtime: Runtime, admin: Actor) -> Alert:
    """An alert fired the way a worker fires it: a rule, a failed run, an evaluation."""
    await alerts.apply_rules(runtime.uow(), "alerts.yml", RULES, admin)
    async with runtime.uow() as uow:
        record_event(uow, RunFailed(subject="run_1", pipeline="deploy", from_="running"))
        await uow.commit()
    await alerts.evaluate(runtime)
    [alert] = (await alerts.list_alerts(runtime.uow(read_only=True), state=AlertState.FIRING)).items
    return alert


class TestPage:
    async def test_the_page_shows_health_charts_alerts_and_budgets(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await firing_alert(runtime, admin)
        await queued_job(runtime, kind="test.waiting")
        await costs.set_budget(runtime.uow(), costs.BudgetSpec(limit_usd=Decimal("10")), admin)
        browser = await sign_in(Role.VIEWER)

        page = await browser.get("/ui/monitoring")

        assert page.status_code == 200
        html = page.text
        assert '<a href="/ui/monitoring" aria-current="page">Monitoring</a>' in html
        assert html.count('<svg class="chart"') == 3
        assert "Cost per day, last 14 days" in html
        assert "Failure rate per hour" in html
        assert "test.waiting: 1 waiting" in html  # the queue chart's bar
        assert "pipeline-failures" in html
        assert "1 pipeline runs failed" in html
        assert "team=platform" in html
        assert ">firing<" in html
        assert "Database</dt>" in html
        assert "Scheduler</dt>" in html
        assert "<td>global</td><td>monthly</td>" in html  # the budget

    async def test_a_viewer_sees_no_buttons_nor_the_silence_form(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        await firing_alert(runtime, admin)
        await alerts.create_silence(runtime.uow(), ["team=platform"], timedelta(hours=1), admin)
        browser = await sign_in(Role.VIEWER)

        html = (await browser.get("/ui/monitoring")).text

        assert "Acknowledge</button>" not in html
        assert ">End</button>" not in html
        assert 'action="/ui/monitoring/silences"' not in html
        assert "team=platform" in html  # the silence is listed all the same


class TestActions:
    async def test_an_operator_acknowledges_an_alert(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        alert = await firing_alert(runtime, admin)
        browser = await sign_in(Role.OPERATOR)
        assert "Acknowledge</button>" in (await browser.get("/ui/monitoring")).text

        answer = await browser.post(f"/ui/monitoring/alerts/{alert.id}/acknowledge")

        assert answer.status_code == 303
        assert answer.headers["location"] == "/ui/monitoring"
        stored = await alerts.get_alert(runtime.uow(read_only=True), alert.id)
        assert stored.acknowledged_by == "token:test-operator"
        html = (await browser.get("/ui/monitoring")).text
        assert "Acknowledged alert pipeline-failures" in html
        assert "by token:test-operator" in html

    async def test_an_operator_silences_alerts_and_ends_the_silence(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        browser = await sign_in(Role.OPERATOR)

        made = await browser.post(
            "/ui/monitoring/silences",
            {"matchers": "team=platform, severity=~crit.*", "duration": "2h", "comment": "deploy"},
        )

        assert made.status_code == 303
        [silence] = await alerts.list_silences(runtime.uow(read_only=True))
        assert [str(m) for m in silence.matchers] == ["team=platform", "severity=~crit.*"]
        assert silence.ends_at - silence.starts_at == timedelta(hours=2)
        assert silence.comment == "deploy"
        html = (await browser.get("/ui/monitoring")).text
        assert f'action="/ui/monitoring/silences/{silence.id}/end"' in html

        ended = await browser.post(f"/ui/monitoring/silences/{silence.id}/end")

        assert ended.status_code == 303
        assert await alerts.list_silences(runtime.uow(read_only=True)) == []

    async def test_a_silence_with_a_bad_matcher_or_duration_is_refused_and_stores_nothing(
        self, runtime: Runtime, sign_in: SignIn
    ) -> None:
        browser = await sign_in(Role.OPERATOR)

        bad_matcher = await browser.post(
            "/ui/monitoring/silences", {"matchers": "no operator", "duration": "2h"}
        )
        bad_duration = await browser.post(
            "/ui/monitoring/silences", {"matchers": "team=platform", "duration": "soon"}
        )

        assert bad_matcher.status_code == 422
        assert bad_duration.status_code == 422
        assert "soon" in bad_duration.text
        assert await alerts.list_silences(runtime.uow(read_only=True), include_expired=True) == []

    async def test_a_viewer_and_a_post_without_csrf_are_refused(
        self, runtime: Runtime, admin: Actor, sign_in: SignIn
    ) -> None:
        alert = await firing_alert(runtime, admin)
        viewer = await sign_in(Role.VIEWER)
        operator = await sign_in(Role.OPERATOR)
        target = f"/ui/monitoring/alerts/{alert.id}/acknowledge"

        assert (await viewer.post(target)).status_code == 403
        assert (await operator.http.post(target, data={})).status_code == 403
        assert (
            await viewer.post("/ui/monitoring/silences", {"matchers": "a=b", "duration": "1h"})
        ).status_code == 403
        stored = await alerts.get_alert(runtime.uow(read_only=True), alert.id)
        assert stored.acknowledged_at is None
        assert await alerts.list_silences(runtime.uow(read_only=True)) == []
