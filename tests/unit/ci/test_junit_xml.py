"""JUnit XML: files from junitparser's and Surefire's own test suites, and a report
written by a real Surefire run with re-runs (tests/fixtures/ci/)."""

from __future__ import annotations

import pytest

from orchestrate.ci.models import ReportFormat, TestStatus
from orchestrate.ci.parsing import ReportError, parse_report
from tests.unit.ci.fixtures import by_identity, junit, log, outcomes

JENKINS_TESTS = {
    "JUnitXmlReporter.constructor::should default path to an empty string": "failed",
    "JUnitXmlReporter.constructor::should default consolidate to true": "skipped",
    "JUnitXmlReporter.constructor::should default useDotNotation to true": "passed",
}


class TestShapes:
    @pytest.mark.parametrize(
        "name",
        [
            "junitparser-jenkins.xml",  # suites nested two deep
            "junitparser-normal.xml",  # a testsuites root
            "junitparser-no_suites_tag.xml",  # a bare testsuite root
        ],
    )
    def test_every_shape_gives_the_same_three_tests(self, name: str) -> None:
        report = parse_report(junit(name))

        assert report.format is ReportFormat.JUNIT
        assert outcomes(report.results) == JENKINS_TESTS
        failed = by_identity(report.results)[
            "JUnitXmlReporter.constructor::should default path to an empty string"
        ][0]
        assert (failed.message, failed.output, failed.duration) == (
            "test failure",
            "Assertion failed",
            0.006,
        )

    def test_properties_are_not_mistaken_for_tests(self) -> None:
        report = parse_report(junit("surefire-TEST-junit.twoTestCaseSuite.WrapperTestSuite.xml"))

        assert outcomes(report.results) == {
            "junit.twoTestCaseSuite.TestTwo::testTwo": "passed",
            "junit.twoTestCaseSuite.BasicTest::testSetUp": "passed",
        }
        assert {r.suite for r in report.results} == {"junit.twoTestCaseSuite.WrapperTestSuite"}

    def test_a_multi_line_message_gives_its_first_line(self) -> None:
        report = parse_report(junit("surefire-TEST-org.apache.maven.surefire.test.FailingTest.xml"))
        failed = by_identity(report.results)[
            "org.apache.maven.surefire.test.FailingTest::defaultTestValueIs_Value"
        ][0]

        assert failed.status is TestStatus.FAILED
        assert failed.message.startswith('Expected: "wrong"')
        assert "at org.junit.Assert.assertThat" in failed.output

    def test_an_error_element_is_an_error(self) -> None:
        [result] = parse_report(junit("surefire-TEST-surefire.MyTest.xml")).results

        assert (result.status, result.message, result.duration) == (
            TestStatus.ERROR,
            "this is different message",
            0.1,
        )

    def test_pytest_failure_without_text_keeps_its_message(self) -> None:
        [result] = parse_report(junit("junitparser-pytest_error.xml")).results

        assert (result.identity, result.message) == (
            "tests.test_cli::test_merge",
            "NameError: name 'file' is not defined",
        )


class TestRetries:
    def test_flaky_failures_then_a_pass_are_numbered_attempts(self) -> None:
        report = parse_report(junit("surefire-TEST-org.acme.FlakyTest.xml"))
        attempts = by_identity(report.results)["org.acme.FlakyTest::testFlaky"]

        assert [(a.status, a.retry) for a in attempts] == [
            (TestStatus.FAILED, 0),
            (TestStatus.FAILED, 1),
            (TestStatus.FAILED, 2),
            (TestStatus.ERROR, 3),
            (TestStatus.PASSED, 4),
        ]
        assert attempts[0].message == "expected: <1> but was: <0>"
        assert "Quarkus" in attempts[0].output  # the attempt's own system-out
        assert attempts[-1].duration == 0.034

    def test_a_real_surefire_run_with_reruns(self) -> None:
        """Written by maven-surefire-plugin 2.22 with rerunFailingTestsCount=2."""
        grouped = by_identity(parse_report(log("surefire-2.22-reruns.xml")).results)

        assert [(a.status, a.retry) for a in grouped["shop.CartTest::discounts"]] == [
            (TestStatus.FAILED, 0),
            (TestStatus.FAILED, 1),
            (TestStatus.FAILED, 2),
        ]
        assert [(a.status, a.retry) for a in grouped["shop.CartTest::crashes"]] == [
            (TestStatus.ERROR, 0),
            (TestStatus.ERROR, 1),
            (TestStatus.ERROR, 2),
        ]
        assert [(a.status, a.retry) for a in grouped["shop.CartTest::recovers"]] == [
            (TestStatus.FAILED, 0),
            (TestStatus.PASSED, 1),
        ]
        assert grouped["shop.CartTest::recovers"][0].message == (
            "first try fails expected:<2> but was:<1>"
        )
        assert grouped["shop.CartTest::pays"][0].message == "no payment sandbox"


class TestVariants:
    def test_mocha_junit_reporter_suites_give_the_file_to_their_cases(self) -> None:
        """Written by mocha 10 with mocha-junit-reporter 2: a suite per describe block."""
        results = parse_report(log("mocha-junit-reporter.xml")).results

        assert [(r.suite, r.name, r.status.value) for r in results] == [
            ("cart", "cart totals items", "passed"),
            ("discounts", "cart discounts applies ten percent", "failed"),
        ]
        assert {r.file for r in results} == {"/tmp/cip/mocha/test/cart.spec.js"}
        assert results[1].message == "discount applied  9 !== 8"
        assert "AssertionError [ERR_ASSERTION]: discount applied" in results[1].output

    def test_jest_junit_report_with_its_defaults(self) -> None:
        """Written by Jest 29 with jest-junit 16 (paths shortened)."""
        results = parse_report(log("jest-junit.xml")).results

        assert [(r.suite, r.name, r.status.value) for r in results] == [
            ("cart", "cart totals items", "passed"),
            ("cart", "cart discounts applies ten percent", "failed"),
            ("cart", "cart discounts stacks coupons", "skipped"),
            ("cart", "cart handles currencies", "passed"),  # a todo: jest-junit writes a case
            ("undefined", " pays", "failed"),
            ("undefined", " refunds", "passed"),
        ]
        assert results[1].message == "Error: expect(received).toBe(expected) // Object.is equality"
        assert "Expected: 8\nReceived: 9" in results[1].output

    def test_system_out_and_err_of_a_case_are_its_output(self) -> None:
        xml = (
            '<testsuite name="s"><testcase classname="C" name="t" time="1,234.5">'
            "<system-out>hello</system-out><system-err>warning</system-err></testcase></testsuite>"
        )

        [result] = parse_report(xml).results

        assert (result.output, result.duration) == ("hello\nwarning", 1234.5)

    def test_a_bad_time_attribute_gives_no_duration(self) -> None:
        [result] = parse_report('<testsuite><testcase name="t" time="n/a"/></testsuite>').results

        assert (result.name, result.duration) == ("t", None)

    def test_old_mac_line_endings_lose_nothing(self) -> None:
        xml = '<testsuite name="s">\r<testcase name="a"/>\r<testcase name="b"/>\r</testsuite>'

        assert [r.name for r in parse_report(xml).results] == ["a", "b"]

    def test_ansi_codes_in_messages_are_removed(self) -> None:
        xml = (
            '<testsuite><testcase name="t"><failure message="expected \x1b[31m1\x1b[39m">'
            "</failure></testcase></testsuite>"
        )

        [result] = parse_report(xml).results

        assert result.message == "expected 1"


class TestXunitNet:
    """xunit.net's own XML, written from its documented v2 format (no .NET here)."""

    def test_tests_are_read_with_xunits_own_junit_mapping(self) -> None:
        report = parse_report(log("xunit-net-v2.xml"))

        assert report.format is ReportFormat.JUNIT
        assert [(r.classname, r.name, r.status.value) for r in report.results] == [
            ("Shop.Tests.CartTests", "Shop.Tests.CartTests.Totals", "passed"),
            ("Shop.Tests.CartTests", "Shop.Tests.CartTests.Discounts(rate: 10)", "failed"),
            ("Shop.Tests.CartTests", "Shop.Tests.CartTests.Pays", "skipped"),
            ("Shop.Tests.CartTests", "Shop.Tests.CartTests.Later", "skipped"),
        ]
        assert {r.suite for r in report.results} == {"Test collection for Shop.Tests.CartTests"}

    def test_a_failure_has_its_message_trace_and_output(self) -> None:
        failed = parse_report(log("xunit-net-v2.xml")).results[1]

        assert failed.message == "Assert.Equal() Failure: Values differ"
        assert "CartTests.cs:line 21" in failed.output
        assert "computing discount" in failed.output
        assert failed.duration == 0.0125

    def test_a_skip_has_its_reason(self) -> None:
        assert parse_report(log("xunit-net-v2.xml")).results[2].message == "no payment sandbox"


class TestRefused:
    def test_entity_expansion_is_refused(self) -> None:
        bomb = (
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
            "<testsuite><testcase name='&lol2;'/></testsuite>"
        )

        with pytest.raises(ReportError, match="DTD or entities"):
            parse_report(bomb)

    def test_an_external_entity_is_refused(self) -> None:
        xxe = (
            '<?xml version="1.0"?><!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            "<testsuite><testcase name='&x;'/></testsuite>"
        )

        with pytest.raises(ReportError):
            parse_report(xxe)

    def test_malformed_xml_says_where(self) -> None:
        with pytest.raises(ReportError, match=r"malformed.*line 1"):
            parse_report("<testsuite><testcase name='t'></testsuite>")

    def test_another_xml_document_is_not_a_junit_report(self) -> None:
        with pytest.raises(ReportError, match="root is <project>"):
            parse_report("<project><modelVersion>4.0.0</modelVersion></project>")
