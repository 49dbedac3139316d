"""One attempt of a step, as the first transaction of ``execution`` prepares it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrate.pipelines.spec.models import PipelineSpec, StepKind, StepSpec


@dataclass(frozen=True)
class Attempt:
    """What the first transaction hands to the work between the two.

    ``context`` holds no secrets: they are fetched just before the process starts
    (``shell_steps``) and live only in its environment and its masker.
    """

    run_id: str
    step_row_id: str
    key: str
    number: int
    kind: StepKind
    workspace: Path
    repo: Path | None
    log_path: Path
    context: dict[str, Any]
    step: StepSpec
    spec: PipelineSpec
    created_by: str
    """Who started the run (``token:ci-bot``); agent steps act in their name."""
