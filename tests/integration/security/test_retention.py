"""Retention of recorded scans: old finished scans go with their findings."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from orchestrate.app.retention import retention_plan
from orchestrate.auth.models import Actor
from orchestrate.core.retention import prune
from orchestrate.core.runtime import Runtime
from orchestrate.security import service
from tests.integration.security.test_records import a_report


async def test_scans_older_than_the_setting_go_with_their_findings(
    runtime: Runtime, admin: Actor
) -> None:
    now = runtime.clock.now()
    old = a_report(runtime)
    old = replace(old, started_at=now - timedelta(days=120), finished_at=now - timedelta(days=119))
    kept = await service.record_scan(runtime.uow(), a_report(runtime), actor=admin, source="cli")
    gone = await service.record_scan(runtime.uow(), old, actor=admin, source="cli")

    outcomes = await prune(runtime, retention_plan())

    [outcome] = [o for o in outcomes if o.rule == "security_scans"]
    assert (outcome.rows, outcome.error) == (1 + 4, None)  # the scan and its four findings
    listed = await service.list_scans(runtime.uow(read_only=True))
    assert [s.id for s in listed.items] == [kept.id]
    assert gone.id not in {s.id for s in listed.items}
    page = await service.list_findings(runtime.uow(read_only=True), kept.id)
    assert len(page.items) == 4
