"""The expression contexts a step sees: inputs, env, steps, needs, trigger, pipeline, run,
matrix, and for a ``run:`` step's process its secrets.

Contexts are built from stored rows only, so evaluating the same step again after a
crash gives the same values.
"""

from __future__ import annotations

from typing import Any

from orchestrate.pipelines._store import LoadedRun
from orchestrate.pipelines.expressions import evaluate_value, interpolate, to_string
from orchestrate.pipelines.models import StepStatus
from orchestrate.pipelines.spec.models import StepSpec
from orchestrate.pipelines.tables import PipelineStepRow


def run_context(loaded: LoadedRun) -> dict[str, Any]:
    """The contexts every expression of a run may use (``env`` is the pipeline's)."""
    run = loaded.run
    context: dict[str, Any] = {
        "inputs": dict(run.inputs),
        "trigger": run.trigger,
        "pipeline": {"name": run.pipeline, "description": loaded.spec.description},
        "run": {
            "id": run.id,
            "number": run.number,
            "workspace": run.workspace_path or "",
            "trigger": run.trigger_kind,
            "created_by": run.created_by,
        },
        "steps": _finished_steps(loaded),
        "needs": {},
        "matrix": {},
        "env": {},
        "secrets": {},  # filled only for a step's process (``with_secrets``)
    }
    context["env"] = _evaluated_env(loaded.spec.env, context)
    return context


def step_context(
    loaded: LoadedRun, step: StepSpec, row: PipelineStepRow | None = None
) -> dict[str, Any]:
    """The contexts of one step (or matrix instance): its needs, matrix values and env."""
    context = run_context(loaded)
    context["needs"] = {
        need: _step_view(loaded.steps[need], with_result=True)
        for need in step.needs
        if need in loaded.steps
    }
    context["matrix"] = dict(row.matrix) if row is not None and row.matrix else {}
    context["env"] = {**context["env"], **_evaluated_env(step.env, context)}
    return context


def with_secrets(
    context: dict[str, Any],
    pipeline_env: dict[str, Any],
    step_env: dict[str, Any],
    secrets: dict[str, str],
) -> dict[str, Any]:
    """The step's contexts with its secrets; ``env`` is evaluated again so it can read them.

    Secrets never enter a context that is built from stored rows and cached or shown:
    only the one a step's process is started from, just before it starts.
    """
    if not secrets:
        return context
    context = {**context, "secrets": dict(secrets), "env": {}}
    context["env"] = _evaluated_env(pipeline_env, context)
    context["env"] = {**context["env"], **_evaluated_env(step_env, context)}
    return context


def step_environment(context: dict[str, Any]) -> dict[str, str]:
    """``env`` as process environment variables (GitHub's string conversion)."""
    return {name: to_string(value) for name, value in context["env"].items()}


def _evaluated_env(env: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
    return {
        name: interpolate(value, context) if isinstance(value, str) else value
        for name, value in env.items()
    }


def _finished_steps(loaded: LoadedRun) -> dict[str, Any]:
    return {
        row.step_id: _step_view(row, with_result=False)
        for row in loaded.base_rows()
        if StepStatus(row.status).is_terminal
    }


def _step_view(row: PipelineStepRow, *, with_result: bool) -> dict[str, Any]:
    status = StepStatus(row.status)
    conclusion = row.conclusion or (row.status if status.is_terminal else None)
    if with_result:
        return {"result": conclusion, "outputs": dict(row.outputs)}
    return {"outputs": dict(row.outputs), "outcome": row.status, "conclusion": conclusion}


def render(value: Any, context: dict[str, Any]) -> Any:
    """A YAML value with its ``${{ }}`` expressions evaluated (``with:``, matrix values)."""
    return evaluate_value(value, context)
