"""The offline OSV database on both engines: import, upsert, withdrawal, matching."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.runtime import Runtime
from orchestrate.security.advisories import (
    _store,
    database_status,
    find_vulnerabilities,
    import_osv,
)
from orchestrate.security.dependencies import read_dependencies, read_file
from orchestrate.security.models import (
    Category,
    Dependency,
    DependencyBump,
    Ecosystem,
    Severity,
    fingerprint,
)
from tests.integration.security.advisories.osv_builders import (
    LOCKFILES,
    copy_folder,
    fixture_export,
    record,
    write_zip,
)


async def found_for(
    runtime: Runtime, dependencies: list[Dependency]
) -> dict[tuple[str, str, str], str]:
    findings = await find_vulnerabilities(runtime.uow(read_only=True), dependencies)
    return {
        (f.properties["package"], f.properties["version"], f.rule_id): f.properties.get(
            "fixed_version", "-"
        )
        for f in findings
    }


class TestImport:
    async def test_a_zip_and_a_folder_of_json_and_yaml_import_the_same_records(
        self, runtime: Runtime, tmp_path: Path
    ) -> None:
        from_zip = await import_osv(runtime.uow(), fixture_export(tmp_path))
        from_folder = await import_osv(runtime.uow(), copy_folder(tmp_path))

        assert (from_zip.records, from_zip.inserted, from_zip.skipped) == (10, 10, 0)
        assert (from_folder.records, from_folder.inserted, from_folder.unchanged) == (10, 0, 10)

    async def test_status_counts_live_advisories_per_ecosystem(
        self, runtime: Runtime, tmp_path: Path
    ) -> None:
        await import_osv(runtime.uow(), fixture_export(tmp_path))

        status = await database_status(runtime.uow(read_only=True))

        assert (status.advisories, status.withdrawn) == (10, 1)
        assert dict(status.per_ecosystem) == {"Go": 2, "PyPI": 4, "crates.io": 1, "npm": 2}
        assert status.last_import is not None
        assert status.last_import.records == 10

    async def test_only_the_newest_import_rows_are_kept(
        self, runtime: Runtime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(_store, "IMPORTS_KEPT", 2)
        for number in range(4):
            export = write_zip(tmp_path / f"{number}.zip", [record(f"X-{number}")])
            await import_osv(runtime.uow(), export, source=f"import {number}")

        status = await database_status(runtime.uow(read_only=True))

        assert status.last_import is not None
        assert status.last_import.source == "import 3"
        async with runtime.uow(read_only=True) as uow:
            assert [row["source"] for row in await _store.imports(uow)] == ["import 3", "import 2"]

    async def test_an_empty_database_says_so(self, runtime: Runtime) -> None:
        status = await database_status(runtime.uow(read_only=True))

        assert status.is_empty
        assert status.last_import is None

    async def test_reimport_replaces_a_record_only_when_it_is_newer(
        self, runtime: Runtime, tmp_path: Path
    ) -> None:
        old = write_zip(tmp_path / "old.zip", [record("X-1", fixed="2.0")])
        new = write_zip(
            tmp_path / "new.zip", [record("X-1", fixed="3.0", modified="2024-06-01T00:00:00Z")]
        )
        dependency = Dependency(Ecosystem.PYPI, "pkg", "2.5", "requirements.txt")

        await import_osv(runtime.uow(), old)
        assert await found_for(runtime, [dependency]) == {}
        updated = await import_osv(runtime.uow(), new)
        assert await found_for(runtime, [dependency]) == {("pkg", "2.5", "osv/X-1"): "3.0"}
        stale = await import_osv(runtime.uow(), old)

        assert (updated.updated, stale.unchanged) == (1, 1)
        assert await found_for(runtime, [dependency]) == {("pkg", "2.5", "osv/X-1"): "3.0"}

    async def test_a_record_withdrawn_later_stops_matching(
        self, runtime: Runtime, tmp_path: Path
    ) -> None:
        dependency = Dependency(Ecosystem.PYPI, "pkg", "1.0", "requirements.txt")
        await import_osv(runtime.uow(), write_zip(tmp_path / "a.zip", [record("X-1")]))
        assert len(await found_for(runtime, [dependency])) == 1

        withdrawn = record("X-1", modified="2024-02-01T00:00:00Z", withdrawn="2024-02-01T00:00:00Z")
        await import_osv(runtime.uow(), write_zip(tmp_path / "b.zip", [withdrawn]))

        assert await found_for(runtime, [dependency]) == {}

    async def test_bad_members_are_skipped_with_reasons_and_the_rest_imported(
        self, runtime: Runtime, tmp_path: Path
    ) -> None:
        export = write_zip(tmp_path / "all.zip", [record("X-1"), {"id": "X-2"}])

        summary = await import_osv(runtime.uow(), export)

        assert (summary.inserted, summary.skipped) == (1, 1)
        assert summary.skipped_reasons == ("X-2.json: record X-2 has no valid 'modified' time",)

    async def test_a_path_that_is_no_export_changes_nothing(
        self, runtime: Runtime, tmp_path: Path
    ) -> None:
        (tmp_path / "notes.txt").write_text("hello")

        with pytest.raises(ValidationFailed):
            await import_osv(runtime.uow(), tmp_path / "notes.txt")

        assert (await database_status(runtime.uow(read_only=True))).is_empty


class TestMatching:
    async def test_every_fixture_lockfile_matches_its_known_advisories(
        self, runtime: Runtime, tmp_path: Path
    ) -> None:
        await import_osv(runtime.uow(), fixture_export(tmp_path))

        found = await found_for(runtime, read_dependencies(LOCKFILES))

        assert found == {
            # requirements.txt: Jinja2 3.1.2, requests 2.28.1, PyYAML 5.3.1
            ("jinja2", "3.1.2", "osv/GHSA-h5c8-rqwp-cp95"): "3.1.3",
            ("jinja2", "3.1.2", "osv/GHSA-h75v-3vvj-5mfj"): "3.1.4",
            ("requests", "2.28.1", "osv/PYSEC-2023-74"): "2.31.0",
            ("pyyaml", "5.3.1", "osv/PYSEC-2021-142"): "5.4b1",
            # poetry.lock, uv.lock, Pipfile.lock
            ("requests", "2.28.2", "osv/PYSEC-2023-74"): "2.31.0",
            ("jinja2", "3.1.3", "osv/GHSA-h75v-3vvj-5mfj"): "3.1.4",
            ("pyyaml", "5.3", "osv/PYSEC-2021-142"): "5.4b1",
            # package-lock v1/v2/v3 and both yarn.locks
            ("lodash", "4.17.15", "osv/GHSA-35jh-r3h4-6jhm"): "4.17.21",
            ("lodash", "4.17.15", "osv/GHSA-p6mc-m468-83gw"): "4.17.19",
            ("lodash", "4.17.10", "osv/GHSA-35jh-r3h4-6jhm"): "4.17.21",
            ("lodash", "4.17.10", "osv/GHSA-p6mc-m468-83gw"): "4.17.19",
            ("lodash", "4.17.20", "osv/GHSA-35jh-r3h4-6jhm"): "4.17.21",
            ("lodash", "4.17.19", "osv/GHSA-35jh-r3h4-6jhm"): "4.17.21",
            # Cargo.lock and go.sum (a pseudo-version below a pseudo-version fix)
            ("time", "0.1.45", "osv/RUSTSEC-2020-0071"): "0.2.23",
            ("golang.org/x/net", "v0.5.0", "osv/GO-2023-1571"): "0.7.0",
            (
                "golang.org/x/crypto",
                "v0.0.0-20210921155107-089bfa567519",
                "osv/GO-2022-0968",
            ): "0.0.0-20211202192323-5770296d904e",
        }

    async def test_a_finding_carries_location_severity_aliases_and_the_bump_for_all_advisories(
        self, runtime: Runtime, tmp_path: Path
    ) -> None:
        await import_osv(runtime.uow(), fixture_export(tmp_path))
        root = LOCKFILES / "requirements"
        dependencies = read_file(root / "requirements.txt", root)

        findings = await find_vulnerabilities(runtime.uow(read_only=True), dependencies)

        jinja = [f for f in findings if f.properties["package"] == "jinja2"]
        assert [f.rule_id for f in jinja] == ["osv/GHSA-h5c8-rqwp-cp95", "osv/GHSA-h75v-3vvj-5mfj"]
        first = jinja[0]
        assert first.category is Category.DEPENDENCY
        assert first.tool == "osv"
        assert first.severity is Severity.MEDIUM
        assert (first.location.path, first.location.start_line) == ("requirements.txt", 6)
        assert first.properties["aliases"] == "CVE-2024-22195"
        assert first.properties["fixed_version"] == "3.1.3"
        assert first.fix == DependencyBump(
            Ecosystem.PYPI, "jinja2", "3.1.2", "3.1.4", "requirements.txt"
        )
        assert first.fingerprint == fingerprint(
            "osv/GHSA-h5c8-rqwp-cp95", "PyPI", "jinja2", "3.1.2", "requirements.txt"
        )
        pyyaml = next(f for f in findings if f.properties["package"] == "pyyaml")
        assert pyyaml.severity is Severity.CRITICAL

    async def test_an_unparseable_version_is_reported_unknown_not_safe(
        self, runtime: Runtime, tmp_path: Path
    ) -> None:
        await import_osv(runtime.uow(), fixture_export(tmp_path))
        odd = Dependency(Ecosystem.PYPI, "requests", "latest-and-greatest", "requirements.txt")

        [finding] = await find_vulnerabilities(runtime.uow(read_only=True), [odd])

        assert finding.properties["match"] == "unknown"
        assert finding.severity is Severity.INFO
        assert finding.fix is None

    async def test_the_same_version_twice_in_one_lockfile_is_one_finding(
        self, runtime: Runtime, tmp_path: Path
    ) -> None:
        await import_osv(runtime.uow(), fixture_export(tmp_path))
        copies = [
            Dependency(Ecosystem.NPM, "lodash", "4.17.20", "package-lock.json", line=line)
            for line in (40, 12)
        ]

        findings = await find_vulnerabilities(runtime.uow(read_only=True), copies)

        assert [(f.rule_id, f.location.start_line) for f in findings] == [
            ("osv/GHSA-35jh-r3h4-6jhm", 40)
        ]
        assert (findings[0].properties["dev"], findings[0].properties["direct"]) == (
            "false",
            "unknown",
        )

    async def test_many_dependencies_are_matched_in_batches(
        self, runtime: Runtime, tmp_path: Path
    ) -> None:
        await import_osv(
            runtime.uow(),
            write_zip(
                tmp_path / "a.zip", [record(f"X-{n}", name=f"pkg{n}") for n in range(0, 1200, 7)]
            ),
        )
        dependencies = [
            Dependency(Ecosystem.PYPI, f"pkg{n}", "1.0", "requirements.txt") for n in range(1200)
        ]

        findings = await find_vulnerabilities(runtime.uow(read_only=True), dependencies)

        assert len(findings) == len(range(0, 1200, 7))
