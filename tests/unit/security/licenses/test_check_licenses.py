"""check_licenses on real metadata: dist-info folders, node_modules, Cargo's registry
cache and Go's module cache, all written into tmp_path."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

import pytest

from orchestrate.security.licenses import check_licenses, default_policy
from orchestrate.security.models import Category, Dependency, Ecosystem, Severity

MIT_TEXT = """MIT License

Copyright (c) 2024 Someone

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction...
"""
AGPL_TEXT = """                    GNU AFFERO GENERAL PUBLIC LICENSE
                       Version 3, 19 November 2007
"""


def _dep(
    ecosystem: Ecosystem,
    name: str,
    version: str | None = "1.0.0",
    *,
    licenses: tuple[str, ...] = (),
    source: str = "requirements.txt",
    line: int | None = 3,
) -> Dependency:
    return Dependency(
        ecosystem=ecosystem,
        name=name,
        version=version,
        source=source,
        line=line,
        licenses=licenses,
    )


def _dist_info(site: Path, name: str, version: str, *fields: str) -> None:
    folder = site / f"{name.replace('-', '_')}-{version}.dist-info"
    folder.mkdir(parents=True)
    lines = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}", *fields]
    (folder / "METADATA").write_text("\n".join(lines) + "\n\n")


def _by_package(findings: list) -> dict[str, tuple[str, str]]:  # type: ignore[type-arg]
    return {f.properties["package"]: (f.rule_id, f.properties["expression"]) for f in findings}


class TestLockfileMetadata:
    def test_a_denied_licence_from_the_lockfile_is_a_high_finding_at_its_line(
        self, tmp_path: Path
    ) -> None:
        dependency = _dep(
            Ecosystem.NPM,
            "mongo-thing",
            "2.1.0",
            licenses=("SSPL-1.0",),
            source="package-lock.json",
            line=120,
        )

        [finding] = check_licenses([dependency], default_policy(), root=tmp_path)

        assert finding.rule_id == "license/denied"
        assert finding.category is Category.LICENSE
        assert finding.severity is Severity.HIGH
        assert (finding.location.path, finding.location.start_line) == ("package-lock.json", 120)
        assert finding.properties["package"] == "mongo-thing"
        assert finding.properties["version"] == "2.1.0"
        assert finding.properties["expression"] == "SSPL-1.0"
        assert finding.properties["license_source"] == "lockfile package-lock.json"
        assert "SSPL-1.0" in finding.message

    def test_review_is_medium_unknown_is_low_and_allowed_is_silent(self, tmp_path: Path) -> None:
        dependencies = [
            _dep(Ecosystem.NPM, "copyleft", licenses=("GPL-3.0-or-later",)),
            _dep(Ecosystem.NPM, "mystery", licenses=("SEE LICENSE IN LICENSE.txt",)),
            _dep(Ecosystem.NPM, "fine", licenses=("MIT",)),
            _dep(Ecosystem.NPM, "dual", licenses=("MIT OR AGPL-3.0-only",)),
        ]

        findings = check_licenses(dependencies, default_policy(), root=tmp_path)

        assert {f.properties["package"]: (f.rule_id, f.severity) for f in findings} == {
            "copyleft": ("license/review", Severity.MEDIUM),
            "mystery": ("license/unknown", Severity.LOW),
        }

    def test_the_fingerprint_ignores_the_line_and_follows_the_version(self, tmp_path: Path) -> None:
        def one(version: str, line: int) -> str:
            dependency = _dep(
                Ecosystem.NPM, "copyleft", version, licenses=("GPL-3.0-only",), line=line
            )
            return check_licenses([dependency], default_policy(), root=tmp_path)[0].fingerprint

        assert one("1.0.0", 3) == one("1.0.0", 300)
        assert one("1.0.0", 3) != one("1.0.1", 3)


class TestInstalledPythonDistributions:
    def test_license_expression_then_license_then_classifiers(self, tmp_path: Path) -> None:
        site = tmp_path / "site-packages"
        _dist_info(site, "modern", "1.0.0", "License-Expression: AGPL-3.0-or-later")
        _dist_info(
            site,
            "classic",
            "1.0.0",
            "License: GNU LGPLv3",
            "Classifier: License :: OSI Approved :: GNU Lesser General Public License v3 (LGPLv3)",
        )
        _dist_info(
            site,
            "trove",
            "1.0.0",
            "Classifier: License :: OSI Approved :: GNU General Public License v2 (GPLv2)",
        )
        _dist_info(
            site,
            "vague",
            "1.0.0",
            "License: BSD",
            "Classifier: License :: OSI Approved :: BSD License",
        )
        _dist_info(site, "permissive", "1.0.0", "License: Apache 2.0")
        dependencies = [
            _dep(Ecosystem.PYPI, name)
            for name in ("modern", "Classic", "trove", "vague", "permissive")
        ]

        findings = check_licenses(
            dependencies, default_policy(), root=tmp_path, python_paths=[site]
        )

        assert _by_package(findings) == {
            "modern": ("license/denied", "AGPL-3.0-or-later"),
            "Classic": ("license/review", "LGPL-3.0-only"),
            "trove": ("license/review", "GPL-2.0-only"),
            "vague": ("license/unknown", ""),
        }
        vague = next(f for f in findings if f.properties["package"] == "vague")
        assert vague.properties["license_source"] == "installed metadata of vague 1.0.0"

    def test_a_license_field_holding_the_whole_text_is_recognised(self, tmp_path: Path) -> None:
        site = tmp_path / "site-packages"
        _dist_info(
            site, "texty", "2.0", "License: " + AGPL_TEXT.replace("\n", "\n        ") + "x" * 600
        )

        [finding] = check_licenses(
            [_dep(Ecosystem.PYPI, "texty", "2.0")],
            default_policy(),
            root=tmp_path,
            python_paths=[site],
        )

        assert (finding.rule_id, finding.properties["expression"]) == (
            "license/denied",
            "AGPL-3.0-only",
        )

    def test_a_package_that_is_not_installed_is_unknown(self, tmp_path: Path) -> None:
        site = tmp_path / "empty-site"
        site.mkdir()

        [finding] = check_licenses(
            [_dep(Ecosystem.PYPI, "ghost", None)],
            default_policy(),
            root=tmp_path,
            python_paths=[site],
        )

        assert finding.rule_id == "license/unknown"
        assert "not installed" in finding.properties["license_source"]

    def test_the_current_interpreters_distributions_are_read_by_default(
        self, tmp_path: Path
    ) -> None:
        # bandit is a dependency of ours: Apache-2.0, allowed. Under a policy that
        # denies Apache-2.0 it must be reported, which proves its metadata was read.
        from orchestrate.security.licenses import LicensePolicy

        strict = LicensePolicy(frozenset(), frozenset(), frozenset({"Apache-2.0"}))
        version = metadata.version("bandit")

        [finding] = check_licenses([_dep(Ecosystem.PYPI, "bandit", version)], strict, root=tmp_path)

        assert (finding.rule_id, finding.properties["expression"]) == (
            "license/denied",
            "Apache-2.0",
        )
        assert finding.properties["license_source"] == f"installed metadata of bandit {version}"


class TestNodeModules:
    def _package(self, root: Path, name: str, document: object) -> None:
        folder = root / "node_modules" / name
        folder.mkdir(parents=True)
        (folder / "package.json").write_text(json.dumps(document))

    def test_package_json_licence_fields_in_their_three_shapes(self, tmp_path: Path) -> None:
        self._package(tmp_path, "plain", {"name": "plain", "license": "GPL-3.0-only"})
        self._package(tmp_path, "@scope/object", {"license": {"type": "AGPL-3.0-only"}})
        self._package(
            tmp_path, "legacy", {"licenses": [{"type": "MPL-2.0"}, {"type": "AGPL-3.0-only"}]}
        )
        self._package(tmp_path, "fine", {"license": "ISC"})
        self._package(tmp_path, "broken", "not an object")
        names = ("plain", "@scope/object", "legacy", "fine", "broken", "absent")
        dependencies = [_dep(Ecosystem.NPM, n, source="package-lock.json") for n in names]

        findings = check_licenses(dependencies, default_policy(), root=tmp_path)

        assert _by_package(findings) == {
            "plain": ("license/review", "GPL-3.0-only"),
            "@scope/object": ("license/denied", "AGPL-3.0-only"),
            "legacy": ("license/review", "MPL-2.0 OR AGPL-3.0-only"),
            "broken": ("license/unknown", ""),
            "absent": ("license/unknown", ""),
        }

    def test_a_hostile_package_name_does_not_leave_node_modules(self, tmp_path: Path) -> None:
        (tmp_path / "etc").mkdir()
        (tmp_path / "etc" / "package.json").write_text(json.dumps({"license": "MIT"}))
        (tmp_path / "node_modules").mkdir()
        outside = tmp_path.parent / "outside-pkg"
        outside.mkdir(exist_ok=True)
        (outside / "package.json").write_text(json.dumps({"license": "MIT"}))
        (tmp_path / "node_modules" / "linked").symlink_to(outside)
        dependencies = [_dep(Ecosystem.NPM, "../etc"), _dep(Ecosystem.NPM, "linked")]

        findings = check_licenses(dependencies, default_policy(), root=tmp_path)

        assert [f.rule_id for f in findings] == ["license/unknown", "license/unknown"]


def test_crates_are_read_from_cargos_registry_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = tmp_path / "cargo" / "registry" / "src" / "index.crates.io-6f17d22bba15001f"
    (registry / "serde-1.0.200").mkdir(parents=True)
    (registry / "serde-1.0.200" / "Cargo.toml").write_text(
        '[package]\nname = "serde"\nversion = "1.0.200"\nlicense = "MIT OR Apache-2.0"\n'
    )
    (registry / "gplcrate-0.1.0").mkdir(parents=True)
    (registry / "gplcrate-0.1.0" / "Cargo.toml").write_text(
        '[package]\nname = "gplcrate"\nlicense = "GPL-3.0-or-later"\n'
    )
    (registry / "textcrate-0.2.0").mkdir(parents=True)
    (registry / "textcrate-0.2.0" / "Cargo.toml").write_text(
        '[package]\nname = "textcrate"\nlicense-file = "LICENSE"\n'
    )
    (registry / "textcrate-0.2.0" / "LICENSE").write_text(AGPL_TEXT)
    monkeypatch.setenv("CARGO_HOME", str(tmp_path / "cargo"))
    dependencies = [
        _dep(Ecosystem.CRATES_IO, "serde", "1.0.200", source="Cargo.lock"),
        _dep(Ecosystem.CRATES_IO, "gplcrate", "0.1.0", source="Cargo.lock"),
        _dep(Ecosystem.CRATES_IO, "textcrate", "0.2.0", source="Cargo.lock"),
        _dep(Ecosystem.CRATES_IO, "serde", "9.9.9", source="Cargo.lock"),
    ]

    findings = check_licenses(dependencies, default_policy(), root=tmp_path)

    assert sorted(
        (f.properties["package"], f.properties["version"], f.rule_id) for f in findings
    ) == [
        ("gplcrate", "0.1.0", "license/review"),
        ("serde", "9.9.9", "license/unknown"),
        ("textcrate", "0.2.0", "license/denied"),
    ]


def test_go_modules_are_recognised_from_the_license_text_in_the_module_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "gomod"
    # The module cache spells upper-case letters as "!" + lower case.
    (cache / "github.com" / "!burnt!sushi" / "toml@v1.3.2").mkdir(parents=True)
    (cache / "github.com" / "!burnt!sushi" / "toml@v1.3.2" / "COPYING").write_text(MIT_TEXT)
    (cache / "example.com" / "agpl@v0.1.0").mkdir(parents=True)
    (cache / "example.com" / "agpl@v0.1.0" / "LICENSE").write_text(AGPL_TEXT)
    (cache / "example.com" / "odd@v1.0.0").mkdir(parents=True)
    (cache / "example.com" / "odd@v1.0.0" / "LICENSE").write_text("All rights reserved.\n")
    monkeypatch.setenv("GOMODCACHE", str(cache))
    dependencies = [
        _dep(Ecosystem.GO, "github.com/BurntSushi/toml", "v1.3.2", source="go.sum"),
        _dep(Ecosystem.GO, "example.com/agpl", "v0.1.0", source="go.sum"),
        _dep(Ecosystem.GO, "example.com/odd", "v1.0.0", source="go.sum"),
        _dep(Ecosystem.GO, "example.com/../../etc", "v1.0.0", source="go.sum"),
    ]

    findings = check_licenses(dependencies, default_policy(), root=tmp_path)

    assert _by_package(findings) == {
        "example.com/agpl": ("license/denied", "AGPL-3.0-only"),
        "example.com/odd": ("license/unknown", ""),
        "example.com/../../etc": ("license/unknown", ""),
    }
