"""Which format a report is in, from its first lines.

Rules, first match wins (on the cleaned text, looking at the first 256 KiB):

1. it starts with ``<`` (after an XML declaration or comments) → JUnit XML;
2. a line that is a JSON object with ``Action`` → go test JSON; a text starting with
   ``{`` and holding ``testResults`` → Jest JSON;
3. a pytest marker: ``=== test session starts ===``, ``=== short test summary info ===``
   or a verbose ``path.py::test PASSED`` line → pytest;
4. a go test marker: ``=== RUN``, ``--- PASS:``/``--- FAIL:`` or an ``ok  pkg 0.01s``
   line → go;
5. a libtest line (``test a::b ... ok``, ``running 3 tests``) or a nextest status
   line (``PASS [   0.004s] …``) → cargo;
6. a Jest file line (`` PASS  src/cart.test.js``) or its ``Tests:`` summary → jest.

Nothing matched → :class:`ReportError`: say ``--format`` instead.
"""

from __future__ import annotations

import re

from orchestrate.ci.models import ReportFormat

_HEAD_CHARS = 256 * 1024
_XML_START = re.compile(r"^\s*(?:<\?xml[^>]*\?>\s*)?(?:<!--.*?-->\s*)*<", re.DOTALL)
_GO_EVENT = re.compile(r'^\{[^\n]*"Action" *:', re.MULTILINE)
_PYTEST = re.compile(
    r"^=+ (?:test session starts|short test summary info|FAILURES|ERRORS) =+$"
    r"|^\S+\.py::\S+ (?:PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b",
    re.MULTILINE,
)
_GO = re.compile(
    r"^=== RUN[ \t]+\S|^[ \t]*--- (?:PASS|FAIL|SKIP): \S+ \([\d.]+s\)$"
    r"|^(?:ok|FAIL)[ \t]+\S+[ \t]+[\d.]+s$",
    re.MULTILINE,
)
_CARGO = re.compile(
    r"^test \S.* \.\.\. (?:ok|FAILED|ignored)|^running \d+ tests?$"
    r"|^[ \t]*(?:TRY \d+ )?(?:PASS|FAIL) \[ *[\d.]+s\] ",
    re.MULTILINE,
)
_JEST = re.compile(
    r"^ ?(?:PASS|FAIL) {1,2}\S+\.[jt]sx?\b"
    r"|^Tests:[ \t]+(?:\d+ (?:failed|passed|skipped|todo|total),? ?)+$",
    re.MULTILINE,
)
_TEXT_RULES = (
    (ReportFormat.PYTEST, _PYTEST),
    (ReportFormat.GO, _GO),
    (ReportFormat.CARGO, _CARGO),
    (ReportFormat.JEST, _JEST),
)


def is_go_json(text: str) -> bool:
    """Whether ``text`` is ``go test -json`` events (other lines may be mixed in)."""
    return _GO_EVENT.search(text[:_HEAD_CHARS]) is not None


def detect_format(text: str) -> ReportFormat | None:
    """The format ``text`` (already cleaned) is in, or None when no rule matches."""
    head = text[:_HEAD_CHARS]
    if _XML_START.match(head):
        return ReportFormat.JUNIT
    if is_go_json(head):  # a build error may come before the first event
        return ReportFormat.GO
    if head.lstrip().startswith("{") and ('"testResults"' in head or '"numTotalTests"' in head):
        return ReportFormat.JEST
    for report_format, pattern in _TEXT_RULES:
        if pattern.search(head):
            return report_format
    return None
