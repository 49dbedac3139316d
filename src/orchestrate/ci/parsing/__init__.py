"""Test reports and logs read into per-test results (``models.TestResult``).

``parse_report(data, fmt)`` is the one entry point: it decodes and cleans the input
(ANSI escapes, runner timestamps, carriage-return overwrites), detects the format when
asked for ``auto``, and hands the text to the format's parser. Anything it cannot read
raises :class:`ReportError` (a ``ValidationFailed``), never another exception.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from orchestrate.ci.models import ReportFormat, TestResult
from orchestrate.ci.parsing.cargo_output import parse_cargo
from orchestrate.ci.parsing.detect import detect_format, is_go_json
from orchestrate.ci.parsing.go_output import parse_go, parse_go_json
from orchestrate.ci.parsing.jest_output import parse_jest, parse_jest_json
from orchestrate.ci.parsing.junit_xml import parse_junit
from orchestrate.ci.parsing.pytest_output import parse_pytest
from orchestrate.ci.parsing.report import MAX_REPORT_BYTES, ParsedReport, ReportError
from orchestrate.ci.parsing.text import clean_text, decode

__all__ = [
    "MAX_REPORT_BYTES",
    "ParsedReport",
    "ReportError",
    "clean_text",
    "detect_format",
    "parse_report",
    "read_report",
]

# Characters XML 1.0 forbids; reporters sometimes copy them from a test's output.
_XML_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def parse_report(data: bytes | str, fmt: ReportFormat = ReportFormat.AUTO) -> ParsedReport:
    """Every test result ``data`` holds, read as ``fmt`` (detected when ``auto``)."""
    size = len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "replace"))
    if size > MAX_REPORT_BYTES:
        raise ReportError(
            f"The report is {size:,} bytes, over the {MAX_REPORT_BYTES:,}-byte limit; "
            "split it or pass only the failing job's log."
        )
    raw = decode(data)
    is_xml = fmt is ReportFormat.JUNIT or (fmt is ReportFormat.AUTO and raw.lstrip()[:1] == "<")
    text = clean_text(raw, is_xml=is_xml)
    if fmt is ReportFormat.AUTO:
        detected = detect_format(text)
        if detected is None:
            raise ReportError(
                "The format of this report was not recognised (JUnit XML, pytest, Jest, "
                "cargo test/nextest or go test output); name it with --format."
            )
        fmt = detected
    return ParsedReport(format=fmt, results=tuple(_parse(text, fmt)))


def read_report(path: Path, fmt: ReportFormat = ReportFormat.AUTO) -> ParsedReport:
    """The report in the file at ``path``; its size is checked before it is read."""
    try:
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise ReportError(
                f"{path} is {size:,} bytes, over the {MAX_REPORT_BYTES:,}-byte limit of a "
                "report; split it or pass only the failing job's log."
            )
        data = path.read_bytes()
    except IsADirectoryError:
        raise ReportError(f"{path} is a directory; give the report file itself.") from None
    except FileNotFoundError:
        raise ReportError(f"There is no file {path}.") from None
    except OSError as error:
        raise ReportError(f"{path} could not be read: {error.strerror or error}.") from None
    return parse_report(data, fmt)


def _parse(text: str, fmt: ReportFormat) -> list[TestResult]:
    if fmt is ReportFormat.JUNIT:
        return parse_junit(_XML_FORBIDDEN.sub("", text))
    if fmt is ReportFormat.PYTEST:
        return parse_pytest(text)
    if fmt is ReportFormat.CARGO:
        return parse_cargo(text)
    if fmt is ReportFormat.GO:
        return parse_go_json(text) if is_go_json(text) else parse_go(text)
    if fmt is ReportFormat.JEST:
        return _parse_jest_json(text) if text.lstrip().startswith("{") else parse_jest(text)
    raise ReportError(f"No parser for the format {fmt.value!r}.")


def _parse_jest_json(text: str) -> list[TestResult]:
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ReportError(f"The Jest JSON report is malformed: {error}.") from None
    return parse_jest_json(document)
