"""What is wrong with a pipeline file, said the way compilers say it: ``file:line:column``.

Kept apart from the loader so the rule checks (``validation``) and the loader can both
produce problems without importing each other.
"""

from __future__ import annotations

import difflib
from dataclasses import asdict, dataclass
from typing import Any

from orchestrate.core.errors import ValidationFailed


@dataclass(frozen=True)
class SpecProblem:
    """One problem at one place of a pipeline file; ``line`` and ``column`` count from 1."""

    file: str
    line: int
    column: int
    message: str
    hint: str | None = None

    def __str__(self) -> str:
        text = f"{self.file}:{self.line}:{self.column}: {self.message}"
        return f"{text} (hint: {self.hint})" if self.hint else text

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class PipelineInvalid(ValidationFailed):
    """A pipeline file has problems; every one found is listed, not just the first."""

    title = "Invalid pipeline"

    def __init__(self, problems: list[SpecProblem]) -> None:
        self.problems = list(problems)
        message = "\n".join(str(problem) for problem in self.problems)
        super().__init__(message, problems=[p.as_dict() for p in self.problems])


def did_you_mean(word: str, choices: list[str], what: str) -> str | None:
    """'Did you mean 'test'?' for a near miss; otherwise the list of what exists."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"Did you mean '{close[0]}'?"
    return f"{what}: {', '.join(choices)}" if choices else None
