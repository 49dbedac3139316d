"""JUnit XML reports as test runners write them, for the CLI and API tests."""

from __future__ import annotations


def junit(*cases: tuple[str, str], suite: str = "pytest") -> str:
    """A Surefire/pytest-style JUnit XML report: ``(name, "passed"|"failed"|"error"|"skipped")``."""
    body = []
    for name, status in cases:
        inner = {
            "passed": "",
            "failed": '<failure message="AssertionError: assert 41 == 42">'
            "def test():\n&gt;       assert total() == 42\nE       assert 41 == 42</failure>",
            "error": '<error message="ConnectionRefusedError: [Errno 111] Connection refused">'
            '  File "shop/db.py", line 12, in connect</error>',
            "skipped": '<skipped message="needs network"/>',
        }[status]
        body.append(
            f'<testcase classname="tests.test_shop" name="{name}" time="0.012">{inner}</testcase>'
        )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<testsuites>'
        f'<testsuite name="{suite}" tests="{len(cases)}">{"".join(body)}</testsuite></testsuites>\n'
    )
