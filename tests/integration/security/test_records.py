"""Recorded scans on both databases: stored whole, read back the same, listed, pruned."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from orchestrate.auth.models import Actor
from orchestrate.core.errors import NotFound, ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.security import service
from orchestrate.security.formats import OutputFormat
from orchestrate.security.models import Category, Severity
from orchestrate.security.report import ScanReport
from orchestrate.security.sarif import ToolNotice
from tests.unit.security.findings import (
    dependency_finding,
    license_finding,
    sast_finding,
    secret_finding,
)


def a_report(runtime: Runtime, **changes: object) -> ScanReport:
    now = runtime.clock.now()
    base = ScanReport(
        root="/src/shop",
        categories=frozenset(Category),
        fail_on=Severity.HIGH,
        started_at=now - timedelta(seconds=3),
        finished_at=now,
        new=(dependency_finding(), secret_finding(), license_finding()),
        baselined=(sast_finding(),),
        notices=(ToolNotice("semgrep", "semgrep is not installed; SAST ran Bandit only"),),
        has_baseline=True,
        dependency_count=40,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


async def test_a_recorded_scan_reads_back_as_the_same_report(
    runtime: Runtime, admin: Actor
) -> None:
    report = a_report(runtime)

    scan = await service.record_scan(
        runtime.uow(), report, actor=admin, source="cli", repository="acme/shop"
    )
    again = await service.stored_report(runtime.uow(read_only=True), scan.id)

    assert scan.status == "completed"
    assert not scan.passed
    assert (scan.new_count, scan.failing_count, scan.baselined_count) == (3, 2, 1)
    assert set(again.new) == set(report.new)
    assert again.baselined == report.baselined
    assert again.notices == report.notices
    assert again.failing == tuple(f for f in again.new if f.severity.at_least(Severity.HIGH))
    assert (await service.get_scan(runtime.uow(read_only=True), scan.id)) == scan


async def test_findings_are_listed_most_severe_first_filtered_and_paged(
    runtime: Runtime, admin: Actor
) -> None:
    scan = await service.record_scan(runtime.uow(), a_report(runtime), actor=admin, source="cli")
    uow = runtime.uow(read_only=True)

    everything = await service.list_findings(uow, scan.id)
    new_high = await service.list_findings(uow, scan.id, state="new", min_severity=Severity.HIGH)
    first = await service.list_findings(uow, scan.id, limit=2)
    rest = await service.list_findings(uow, scan.id, limit=2, cursor=first.next_cursor)

    assert [f.finding.rule_id for f in everything.items] == [
        "secrets/github-pat",
        "license/denied",
        "osv/GHSA-j8r2-6x86-q33q",
        "bandit/B602",
    ]
    assert [f.state for f in everything.items] == ["new", "new", "new", "baselined"]
    assert [f.finding.rule_id for f in new_high.items] == ["secrets/github-pat", "license/denied"]
    assert [f.id for f in first.items + rest.items] == [f.id for f in everything.items]
    assert rest.next_cursor is None
    assert everything.items[2].finding.fix == dependency_finding().fix


async def test_scans_are_listed_newest_first_and_the_latest_is_found(
    runtime: Runtime, admin: Actor
) -> None:
    older = await service.record_scan(
        runtime.uow(), a_report(runtime), actor=admin, source="cli", repository="acme/shop"
    )
    later = a_report(runtime, started_at=runtime.clock.now() + timedelta(minutes=1))
    newer = await service.record_scan(
        runtime.uow(), later, actor=admin, source="api", repository="acme/web"
    )
    uow = runtime.uow(read_only=True)

    listed = await service.list_scans(uow)
    shop = await service.list_scans(uow, repository="acme/shop")
    paged = await service.list_scans(uow, limit=1)
    second = await service.list_scans(uow, limit=1, cursor=paged.next_cursor)

    assert [s.id for s in listed.items] == [newer.id, older.id]
    assert [s.id for s in shop.items] == [older.id]
    assert [s.id for s in paged.items + second.items] == [newer.id, older.id]
    assert (await service.latest_scan(uow)).id == newer.id
    assert (await service.latest_scan(uow, repository="acme/shop")).id == older.id


async def test_unknown_scans_and_cursors_are_clear_errors(runtime: Runtime) -> None:
    uow = runtime.uow(read_only=True)

    with pytest.raises(NotFound, match="security scan"):
        await service.get_scan(uow, "scan_nope")
    with pytest.raises(NotFound, match="run `security scan` first"):
        await service.latest_scan(uow)
    with pytest.raises(NotFound):
        await service.list_findings(uow, "scan_nope")
    with pytest.raises(ValidationFailed, match="cursor"):
        await service.list_findings(uow, "scan_nope", cursor="'; drop")


async def test_a_queued_scan_is_filled_or_failed_with_an_event(
    runtime: Runtime, admin: Actor
) -> None:
    async with runtime.uow() as uow:
        queued = await service.queue_scan(
            uow,
            root="/src/shop",
            repository="acme/shop",
            categories=frozenset({Category.SECRET}),
            fail_on=Severity.HIGH,
            actor=admin,
            source="api",
        )
        await uow.commit()
    assert (await service.get_scan(runtime.uow(read_only=True), queued.id)).status == "queued"

    async with runtime.uow() as uow:
        done = await service.finish_queued_scan(uow, queued, a_report(runtime))
        await uow.commit()

    stored = await service.get_scan(runtime.uow(read_only=True), queued.id)
    assert stored == done
    assert stored.status == "completed"
    assert stored.new_count == 3


async def test_every_format_renders_from_a_stored_scan(runtime: Runtime, admin: Actor) -> None:
    scan = await service.record_scan(runtime.uow(), a_report(runtime), actor=admin, source="cli")

    for output in OutputFormat:
        text = await service.render_stored_report(runtime.uow(read_only=True), scan.id, output)
        assert "github-pat" in text
        assert "ghp_" + "A" * 36 not in text
