"""Version ordering per ecosystem: PEP 440, semver prereleases, Go pseudo-versions."""

from __future__ import annotations

import itertools

import pytest

from orchestrate.security.advisories.versions import (
    parse_go,
    parse_pep440,
    parse_semver,
    parse_version,
    same_version,
)
from orchestrate.security.models import Ecosystem


def ordered(parse: object, *versions: str) -> None:
    assert callable(parse)
    parsed = [parse(version) for version in versions]
    assert all(version is not None for version in parsed), versions
    for lower, higher in itertools.pairwise(parsed):
        assert lower < higher, (lower, higher)


class TestPep440:
    def test_dev_pre_release_post_and_local_versions_sort_as_pep_440_says(self) -> None:
        ordered(
            parse_pep440,
            "1.0.dev0",
            "1.0a1",
            "1.0b2",
            "1.0rc1",
            "1.0",
            "1.0+local.1",
            "1.0.post1.dev0",
            "1.0.post1",
            "1.1",
        )

    def test_epochs_and_trailing_zeros(self) -> None:
        ordered(parse_pep440, "2.0", "1!0.1")
        assert parse_pep440("1.0") == parse_pep440("1.0.0")

    def test_a_non_pep_440_version_is_unknown(self) -> None:
        assert parse_pep440("not-a-version") is None
        assert parse_pep440("1" * 300) is None


class TestSemver:
    def test_prereleases_sort_before_the_release_as_semver_specifies(self) -> None:
        ordered(
            parse_semver,
            "1.0.0-alpha",
            "1.0.0-alpha.1",
            "1.0.0-alpha.beta",
            "1.0.0-beta",
            "1.0.0-beta.2",
            "1.0.0-beta.11",
            "1.0.0-rc.1",
            "1.0.0",
            "1.0.1",
            "1.10.0",
        )

    def test_build_metadata_is_ignored(self) -> None:
        assert parse_semver("1.0.0+build.1") == parse_semver("1.0.0+build.2")
        assert parse_semver("1.0.0+build.1") == parse_semver("1.0.0")

    def test_npm_and_crates_use_semver_and_reject_non_semver(self) -> None:
        assert parse_version(Ecosystem.NPM, "4.17.21") == parse_semver("4.17.21")
        assert parse_version(Ecosystem.CRATES_IO, "0.2") is None
        assert parse_version(Ecosystem.NPM, "latest") is None


class TestGo:
    def test_pseudo_versions_sort_as_go_orders_them(self) -> None:
        ordered(
            parse_go,
            "v0.0.0-20191109021931-daa7c04131f5",
            "v0.0.0-20211202192323-5770296d904e",
            "v0.1.0",
            "v1.2.3-pre",
            "v1.2.3-pre.0.20191109021931-daa7c04131f5",
            "v1.2.3-pre.1",
            "v1.2.3",
            "v1.2.4-0.20191109021931-daa7c04131f5",
            "v1.2.4-alpha",
            "v1.2.4",
        )

    def test_incompatible_is_build_metadata(self) -> None:
        assert parse_go("v2.0.0+incompatible") == parse_go("v2.0.0")
        ordered(parse_go, "v2.0.0+incompatible", "v2.1.0+incompatible")

    def test_osv_writes_go_versions_without_the_v(self) -> None:
        assert parse_go("0.7.0") == parse_go("v0.7.0")
        assert parse_go("v1") == parse_go("v1.0.0")

    def test_same_version_compares_parsed_versions(self) -> None:
        assert same_version(Ecosystem.PYPI, "1.0", "1.0.0")
        assert not same_version(Ecosystem.PYPI, "1.0", "1.0.post1")
        assert same_version(Ecosystem.GO, "v1.2.3", "1.2.3")


@pytest.mark.parametrize("text", ["", "v", "1.2.3.4.5-", "\x00", "v1.2.3-" + "a" * 400])
def test_garbage_is_unknown_in_every_ecosystem(text: str) -> None:
    for ecosystem in (Ecosystem.NPM, Ecosystem.CRATES_IO, Ecosystem.GO):
        assert parse_version(ecosystem, text) is None
