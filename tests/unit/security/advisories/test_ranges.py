"""OSV range evaluation exactly as the OSV schema specifies it."""

from __future__ import annotations

import pytest

from orchestrate.security.advisories.ranges import (
    AffectedPackage,
    EventKind,
    RangeEvent,
    Verdict,
    VersionRange,
    first_fix_above,
    verdict,
)
from orchestrate.security.models import Ecosystem

A, N, U = Verdict.AFFECTED, Verdict.NOT_AFFECTED, Verdict.UNKNOWN


def entry(*ranges: VersionRange, versions: tuple[str, ...] = ()) -> AffectedPackage:
    return AffectedPackage("PyPI", "pkg", ranges=ranges, versions=versions)


def span(*events: tuple[str, str], kind: str = "ECOSYSTEM") -> VersionRange:
    return VersionRange(kind, tuple(RangeEvent(EventKind(k), v) for k, v in events))


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.1", A), ("1.9.9", A), ("2.0", N), ("2.0.post1", N), ("2.0rc1", A), ("3.0", N)],
)
def test_introduced_zero_and_fixed(version: str, expected: Verdict) -> None:
    package = entry(span(("introduced", "0"), ("fixed", "2.0")))

    assert verdict(package, Ecosystem.PYPI, version) is expected


@pytest.mark.parametrize(
    ("version", "expected"), [("1.4", A), ("1.5", A), ("1.5.1", N), ("0.9", N)]
)
def test_last_affected_includes_that_version(version: str, expected: Verdict) -> None:
    package = entry(span(("introduced", "1.0"), ("last_affected", "1.5")))

    assert verdict(package, Ecosystem.PYPI, version) is expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.5", N), ("1.0", A), ("1.2", N), ("2.5", N), ("3.0", A), ("3.1", N)],
)
def test_events_are_sorted_before_they_are_walked(version: str, expected: Verdict) -> None:
    package = entry(  # given out of order, as some databases write them
        span(("fixed", "3.1"), ("introduced", "3.0"), ("fixed", "1.2"), ("introduced", "1.0"))
    )

    assert verdict(package, Ecosystem.PYPI, version) is expected


def test_any_of_several_ranges_affects() -> None:
    package = entry(
        span(("introduced", "1.0"), ("fixed", "1.1")),
        span(("introduced", "2.0"), ("fixed", "2.1")),
    )

    assert [verdict(package, Ecosystem.PYPI, v) for v in ("1.0", "1.5", "2.0", "2.1")] == [
        A, N, A, N,
    ]  # fmt: skip


def test_an_open_range_affects_every_later_version() -> None:
    package = entry(span(("introduced", "1.0")))

    assert verdict(package, Ecosystem.PYPI, "99.0") is A


def test_the_versions_list_affects_even_without_ranges() -> None:
    package = entry(versions=("1.0.0", "1.0.1"))

    assert verdict(package, Ecosystem.PYPI, "1.0.1") is A
    assert verdict(package, Ecosystem.PYPI, "1.0") is A  # the same release as 1.0.0
    assert verdict(package, Ecosystem.PYPI, "1.0.2") is N


def test_a_limit_caps_the_range() -> None:
    package = entry(span(("introduced", "1.0"), ("limit", "1.5")))

    assert verdict(package, Ecosystem.PYPI, "1.4") is A
    assert verdict(package, Ecosystem.PYPI, "1.6") is N


def test_git_ranges_are_ignored() -> None:
    package = entry(span(("introduced", "abc123"), ("fixed", "def456"), kind="GIT"))

    assert verdict(package, Ecosystem.PYPI, "1.0") is N


def test_an_installed_version_that_does_not_parse_is_unknown() -> None:
    package = entry(span(("introduced", "0"), ("fixed", "2.0")))

    assert verdict(package, Ecosystem.PYPI, "not a version") is U


def test_an_event_that_does_not_parse_is_unknown_not_safe() -> None:
    package = entry(span(("introduced", "0"), ("fixed", "garbage!")))

    assert verdict(package, Ecosystem.PYPI, "1.0") is U


def test_semver_ranges_order_prereleases() -> None:
    package = AffectedPackage(
        "npm", "x", ranges=(span(("introduced", "0"), ("fixed", "4.17.21"), kind="SEMVER"),)
    )

    assert verdict(package, Ecosystem.NPM, "4.17.21-beta.1") is A
    assert verdict(package, Ecosystem.NPM, "4.17.21") is N


def test_go_ranges_without_v_match_go_sum_versions_with_v_and_pseudo_versions() -> None:
    fixed = "0.0.0-20211202192323-5770296d904e"
    package = AffectedPackage(
        "Go",
        "golang.org/x/crypto",
        ranges=(span(("introduced", "0"), ("fixed", fixed), kind="SEMVER"),),
    )

    assert verdict(package, Ecosystem.GO, "v0.0.0-20210921155107-089bfa567519") is A
    assert verdict(package, Ecosystem.GO, "v0.0.0-20220314234659-1baeb1ce4c0b") is N
    assert verdict(package, Ecosystem.GO, "v0.1.0") is N


class TestFirstFix:
    def test_the_bump_clears_every_advisory(self) -> None:
        first = entry(span(("introduced", "0"), ("fixed", "3.1.3")))
        second = entry(span(("introduced", "0"), ("fixed", "3.1.4")))

        assert first_fix_above([first], Ecosystem.PYPI, "3.1.2") == "3.1.3"
        assert first_fix_above([first, second], Ecosystem.PYPI, "3.1.2") == "3.1.4"

    def test_a_fix_that_another_range_reintroduces_is_passed_over(self) -> None:
        package = entry(
            span(("introduced", "0"), ("fixed", "1.1")),
            span(("introduced", "1.1"), ("fixed", "1.3")),
        )

        assert first_fix_above([package], Ecosystem.PYPI, "1.0") == "1.3"

    def test_only_fixes_above_the_installed_version_count(self) -> None:
        package = entry(
            span(("introduced", "1.0"), ("fixed", "1.2")),
            span(("introduced", "2.0"), ("fixed", "2.4")),
        )

        assert first_fix_above([package], Ecosystem.PYPI, "2.1") == "2.4"

    def test_no_fix_when_the_range_is_open(self) -> None:
        package = entry(span(("introduced", "0"), ("last_affected", "5.0")))

        assert first_fix_above([package], Ecosystem.PYPI, "4.0") is None
