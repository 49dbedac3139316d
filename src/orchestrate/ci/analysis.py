"""Failure analysis of one CI run (pure): group the failures, name the likely cause,
say what to do next.

Failures are grouped by a normalised *signature*: the exception type and the shape of
the first line of the message, with what varies between runs (numbers, hex addresses,
UUIDs, temporary paths, timestamps, line numbers, quoted values) replaced by
placeholders. Each group's cause is, in this order:

1. ``infrastructure`` — its messages match an infrastructure pattern (out of memory,
   no space left, connection refused/reset, DNS, rate limit, runner lost, the job's own
   time limit, exit 137);
2. ``flaky`` — every test of the group passed on this tree SHA too, is quarantined, or
   is known flaky in the window;
3. ``new`` — a test of the group passed on an earlier tree SHA of the repository and
   fails since: the last passing SHA and the first failing one are named;
4. ``infrastructure`` again when nothing above explains it and the job's log shows an
   infrastructure signal;
5. otherwise ``regression`` (a real failure with nothing on record to compare it to).

The result renders as JSON (``FailureAnalysis.to_json``) and as the Markdown brief an
issue-fixer agent is handed (``brief.render_brief``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

from orchestrate.ci.models import TestResult

MAX_SIGNATURE_CHARS = 200
MAX_EXAMPLE_CHARS = 1_000
MAX_SIGNAL_LINE_CHARS = 300


class Cause(StrEnum):
    FLAKY = "flaky"
    NEW = "new"
    INFRASTRUCTURE = "infrastructure"
    REGRESSION = "regression"


# --- signatures -----------------------------------------------------------------------

_PLACEHOLDERS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b", re.I),
        "<uuid>",
    ),
    (
        re.compile(
            r"\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
        ),
        "<time>",
    ),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?\b"), "<time>"),
    (
        re.compile(
            r"(?:/private)?/var/folders/\S*|/(?:var/)?tmp/\S*|[A-Za-z]:\\Users\\[^\\\s]+"
            r"\\AppData\\Local\\Temp\\\S*|%TEMP%\\\S*"
        ),
        "<tmp>",
    ),
    (re.compile(r"\b0x[0-9a-f]+\b", re.I), "<hex>"),
    (re.compile(r"'[^'\n]*'"), "'<str>'"),
    (re.compile(r'"[^"\n]*"'), '"<str>"'),
    (re.compile(r"`[^`\n]*`"), "`<str>`"),
    (re.compile(r"\bline \d+", re.I), "line <n>"),
    (re.compile(r"(?<=\w):\d+(?::\d+)?\b"), ":<n>"),  # file.py:42, main.go:12:5
    (re.compile(r"\b[0-9a-f]{7,}\b", re.I), "<hex>"),
    (re.compile(r"(?<![\w<])-?\d+(?:\.\d+)?(?:e[+-]?\d+)?"), "<n>"),
)
_EXCEPTION = re.compile(
    r"\b((?:[A-Za-z_][\w]*\.)*[A-Z]\w*(?:Error|Exception|Failure|Fault|Exit|Interrupt|Timeout))\b"
)
_PANIC = re.compile(r"\bpanic(?:ked)?\b")
_SPACES = re.compile(r"\s+")


def first_line(result: TestResult) -> str:
    """The failure's reason: the message's first non-blank line, else the output's."""
    for text in (result.message, result.output):
        for line in text.splitlines():
            if line.strip():
                return line.strip()
    return ""


def _last_line(text: str) -> str:
    return next((line.strip() for line in reversed(text.splitlines()) if line.strip()), "")


def exception_type(text: str) -> str:
    found = _EXCEPTION.search(text)
    if found:
        return found.group(1).rsplit(".", 1)[-1]
    return "panic" if _PANIC.search(text) else ""


def normalise(text: str) -> str:
    """``text`` with what varies between runs replaced by placeholders."""
    for pattern, placeholder in _PLACEHOLDERS:
        text = pattern.sub(placeholder, text)
    return _SPACES.sub(" ", text).strip()


def signature(result: TestResult) -> str:
    """The failure's exception type and shape, e.g. ``AssertionError: assert <n> == <n>``."""
    line = first_line(result)
    # pytest's message is the bare assertion; its output ends "file.py:3: AssertionError"
    kind = exception_type(line) or exception_type(_last_line(result.output))
    kind = kind or (result.status.value if not line else "")
    shape = normalise(line)
    at = shape.find(kind) if kind else -1
    if 0 <= at <= 8:  # after a short prefix such as pytest's "E   "
        shape = shape[at + len(kind) :].lstrip(": ")
    text = f"{kind}: {shape}" if kind and shape else kind or shape or result.status.value
    return text[:MAX_SIGNATURE_CHARS]


# --- infrastructure -------------------------------------------------------------------

_INFRASTRUCTURE: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "out of memory",
        re.compile(
            r"\boom[- ]?kill|out of memory|cannot allocate memory|killed process \d+|"
            r"exit(?:ed)?(?: with)?(?: exit)?(?: code| status)?:? 137\b|signal: killed",
            re.I,
        ),
    ),
    ("no space left on device", re.compile(r"no space left on device|disk quota exceeded", re.I)),
    (
        "connection refused or reset",
        re.compile(
            r"connection (?:refused|reset|timed out)|ECONNREFUSED|ECONNRESET|ETIMEDOUT|"
            r"broken pipe",
            re.I,
        ),
    ),
    (
        "DNS failure",
        re.compile(
            r"temporary failure in name resolution|could not resolve host|"
            r"name or service not known|getaddrinfo (?:ENOTFOUND|EAI_AGAIN)|no such host",
            re.I,
        ),
    ),
    (
        "rate limit",
        re.compile(
            r"rate limit(?:ed| exceeded)?\b|too many requests|\b(?:HTTP|status) 429\b", re.I
        ),
    ),
    (
        "runner lost",
        re.compile(
            r"runner has received a shutdown signal|lost communication with the server|"
            r"runner .{0,80}(?:lost|went offline|did not respond)|"
            r"the hosted runner encountered an error",
            re.I,
        ),
    ),
    (
        "job timed out",
        re.compile(
            r"has exceeded the maximum execution time|execution took longer than|"
            r"job (?:timed out|exceeded (?:the )?(?:maximum )?(?:execution )?time)|"
            r"too long with no output|the job was canceled because it exceeded",
            re.I,
        ),
    ),
)


@dataclass(frozen=True)
class InfrastructureSignal:
    kind: str
    line: str


def infrastructure_signals(text: str, *, limit: int = 10) -> list[InfrastructureSignal]:
    """The lines of ``text`` (a job log, a failure's output) that show the CI environment
    failing, one per kind, in the order the kinds are listed."""
    found: list[InfrastructureSignal] = []
    lines = text.splitlines()
    for kind, pattern in _INFRASTRUCTURE:
        for line in lines:
            if pattern.search(line):
                found.append(InfrastructureSignal(kind, line.strip()[:MAX_SIGNAL_LINE_CHARS]))
                break
        if len(found) >= limit:
            break
    return found


# --- history --------------------------------------------------------------------------


@dataclass(frozen=True)
class TreeRecord:
    """How a test did on one earlier tree SHA of the repository."""

    tree_sha: str
    passed: bool
    failed: bool


@dataclass(frozen=True)
class TestHistory:
    """What the history knows of a failing test (trees before the analysed one, oldest first)."""

    __test__ = False

    identity: str
    is_quarantined: bool = False
    is_known_flaky: bool = False
    passed_on_this_sha: bool = False
    trees: tuple[TreeRecord, ...] = ()

    @property
    def is_flaky(self) -> bool:
        return self.passed_on_this_sha or self.is_quarantined or self.is_known_flaky

    def since_last_pass(self, tree_sha: str) -> tuple[str, str] | None:
        """(last passing SHA, first failing SHA after it) when it passed before; the
        first failing one is ``tree_sha`` unless it already failed on a tree between."""
        last_pass = max((i for i, tree in enumerate(self.trees) if tree.passed), default=None)
        if last_pass is None:
            return None
        after = self.trees[last_pass + 1 :]
        first_failing = next((tree.tree_sha for tree in after if tree.failed), tree_sha)
        return self.trees[last_pass].tree_sha, first_failing


# --- the analysis ---------------------------------------------------------------------


@dataclass(frozen=True)
class FailureGroup:
    signature: str
    exception_type: str
    cause: Cause
    tests: tuple[str, ...]
    example: str
    """The first test's failure message and output excerpt, as CI gave it (untrusted)."""
    evidence: str
    recommendation: str
    files: tuple[str, ...] = ()
    last_passing_sha: str | None = None
    first_failing_sha: str | None = None

    @property
    def is_actionable(self) -> bool:
        """A code change is the next action (not a re-run)."""
        return self.cause in (Cause.NEW, Cause.REGRESSION)


@dataclass(frozen=True)
class FailureAnalysis:
    repository: str
    tree_sha: str
    failed_tests: int
    groups: tuple[FailureGroup, ...]
    infrastructure: tuple[InfrastructureSignal, ...]
    """Signals of the job's log (not of one test): they explain groups nothing else does."""

    @property
    def next_action(self) -> str:
        if not self.groups:
            return "nothing failed: no action"
        if any(group.is_actionable for group in self.groups):
            return "fix"
        return "re-run"

    def to_json(self) -> dict[str, Any]:
        return {
            "repository": self.repository,
            "tree_sha": self.tree_sha,
            "failed_tests": self.failed_tests,
            "next_action": self.next_action,
            "infrastructure": [asdict(signal) for signal in self.infrastructure],
            "groups": [
                {**asdict(group), "tests": list(group.tests), "files": list(group.files)}
                for group in self.groups
            ],
        }


def analyze(
    repository: str,
    tree_sha: str,
    failures: Sequence[TestResult],
    histories: Mapping[str, TestHistory],
    log_text: str = "",
) -> FailureAnalysis:
    """Group ``failures`` (failed tries of one run) and explain each group."""
    failing = [result for result in failures if result.status.is_failure]
    by_signature: dict[str, list[TestResult]] = {}
    for result in failing:
        by_signature.setdefault(signature(result), []).append(result)
    job_signals = tuple(infrastructure_signals(log_text)) if log_text else ()
    groups = [
        _group(sig, results, histories, tree_sha, job_signals)
        for sig, results in by_signature.items()
    ]
    order = {Cause.NEW: 0, Cause.REGRESSION: 1, Cause.INFRASTRUCTURE: 2, Cause.FLAKY: 3}
    groups.sort(key=lambda group: (order[group.cause], -len(group.tests), group.signature))
    tests = {result.identity for result in failing}
    return FailureAnalysis(repository, tree_sha, len(tests), tuple(groups), job_signals)


def _group(
    sig: str,
    results: list[TestResult],
    histories: Mapping[str, TestHistory],
    tree_sha: str,
    job_signals: Sequence[InfrastructureSignal],
) -> FailureGroup:
    tests = tuple(dict.fromkeys(result.identity for result in results))
    files = tuple(dict.fromkeys(result.file for result in results if result.file))
    first = results[0]
    example = "\n".join(part for part in (first.message, first.output) if part)
    common: dict[str, Any] = {
        "signature": sig,
        "exception_type": exception_type(first_line(first))
        or exception_type(_last_line(first.output)),
        "tests": tests,
        "example": example[:MAX_EXAMPLE_CHARS],
        "files": files,
    }
    own = infrastructure_signals("\n".join(f"{r.message}\n{r.output}" for r in results), limit=1)
    if own:
        return _infrastructure(common, own[0], "the failure message")
    known = [histories.get(test, TestHistory(test)) for test in tests]
    if all(history.is_flaky for history in known):
        return FailureGroup(
            cause=Cause.FLAKY,
            evidence="; ".join(_flaky_evidence(history) for history in known),
            recommendation="Re-run the failed jobs. These tests are flaky: a code change "
            "for this failure is not needed (fix the flakiness separately).",
            **common,
        )
    for history in known:
        since = history.since_last_pass(tree_sha)
        if since is not None:
            last_passing, first_failing = since
            return FailureGroup(
                cause=Cause.NEW,
                evidence=f"{history.identity} passed at tree {last_passing} and fails since "
                f"tree {first_failing}",
                recommendation=f"Fix the code: look at what changed between tree "
                f"{last_passing} and {first_failing}; failing: {', '.join(tests)}; "
                f"signature: {sig}",
                last_passing_sha=last_passing,
                first_failing_sha=first_failing,
                **common,
            )
    if job_signals:
        return _infrastructure(common, job_signals[0], "the job's log")
    return FailureGroup(
        cause=Cause.REGRESSION,
        evidence="no passing run of these tests on record and no sign of flakiness or "
        "infrastructure trouble",
        recommendation=f"Investigate and fix: {', '.join(tests)} fail with {sig}",
        **common,
    )


def _infrastructure(
    common: dict[str, Any], signal: InfrastructureSignal, where: str
) -> FailureGroup:
    return FailureGroup(
        cause=Cause.INFRASTRUCTURE,
        evidence=f"{signal.kind} in {where}: {signal.line}",
        recommendation=f"Re-run the job: the CI environment failed ({signal.kind}), not "
        "the code. If it repeats, fix the runner or the service the tests reach.",
        **common,
    )


def _flaky_evidence(history: TestHistory) -> str:
    if history.passed_on_this_sha:
        return f"{history.identity} also passed on this tree SHA"
    if history.is_quarantined:
        return f"{history.identity} is quarantined as flaky"
    return f"{history.identity} both passed and failed on the same tree SHA in the window"
