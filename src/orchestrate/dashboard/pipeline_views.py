"""How pipelines and runs look on a page: the step graphs, triggers in words, the
trigger form's fields, and anchors for steps. Shared by ``pages/pipelines.py`` and
``pages/runs.py``; pure, so the pages stay thin.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from orchestrate.dashboard.dag import DagLayout, DagNode, layout
from orchestrate.pipelines import service as pipelines
from orchestrate.pipelines.spec import GithubEventFilter, InputSpec, InputType, PipelineSpec

STEP_TONE = {
    pipelines.StepStatus.SUCCESS: "good",
    pipelines.StepStatus.FAILURE: "bad",
    pipelines.StepStatus.CANCELLED: "bad",
    pipelines.StepStatus.WAITING: "warn",
    pipelines.StepStatus.RUNNING: "busy",
    pipelines.StepStatus.QUEUED: "busy",
}
"""The CSS class (``svg.dag`` rules in app.css) of a step's state in the graph."""

LOGGED_KINDS = frozenset({"run", "agent"})
"""Steps that write a log file (an approval or a child pipeline has none)."""


MANUAL_TRIGGER = "By hand: this page, orchestrate pipeline trigger, or the API"


def triggers_of(spec: PipelineSpec, *, with_manual: bool = True) -> list[str]:
    """``on:`` in words, one line per trigger; every pipeline can also be run by hand."""
    lines = [_forge_trigger("GitHub", entry) for entry in spec.on.github]
    lines += [_forge_trigger("GitLab", entry) for entry in spec.on.gitlab]
    lines += [f"Schedule: cron {s.cron} ({s.timezone})" for s in spec.on.schedule]
    return [*lines, MANUAL_TRIGGER] if with_manual else lines


def _forge_trigger(forge: str, entry: GithubEventFilter) -> str:
    text = f"{forge}: {entry.event}"
    for label, values in (
        ("actions", entry.actions),
        ("branches", entry.branches),
        ("not branches", entry.branches_ignore),
        ("tags", entry.tags),
        ("paths", entry.paths),
        ("labels", entry.labels),
        ("repositories", entry.repositories),
    ):
        if values:
            text += f"; {label} {', '.join(values)}"
    return text


def definition_graph(spec: PipelineSpec) -> DagLayout:
    """The steps of a pipeline as defined, each linking to its row of the steps table."""
    return layout(
        [
            DagNode(
                step.id,
                step.display_name,
                tuple(step.needs),
                detail=step.kind.value,
                href=f"#def-{step.id}",
            )
            for step in spec.steps
        ]
    )


def run_graph(detail: pipelines.RunDetail, anchors: Mapping[str, str]) -> DagLayout:
    """The steps of a run coloured by state; a matrix step shows its step's own state."""
    steps = {step.key: step for step in detail.run.steps}
    nodes = []
    for definition in detail.spec.steps:
        step = steps.get(definition.id)
        status = step.status if step is not None else pipelines.StepStatus.PENDING
        nodes.append(
            DagNode(
                definition.id,
                definition.display_name,
                tuple(definition.needs),
                tone=STEP_TONE.get(status, ""),
                detail=status.value.replace("_", " "),
                href=f"#{anchors[definition.id]}" if definition.id in anchors else None,
            )
        )
    return layout(nodes)


def waiting_approvers(detail: pipelines.RunDetail) -> dict[str, list[str]]:
    """Who may decide each approval step that waits, by step key."""
    waiting = {}
    for step in detail.run.steps:
        approval = detail.spec.step(step.step_id).approval
        if step.status is pipelines.StepStatus.WAITING and approval is not None:
            waiting[step.key] = list(approval.approvers)
    return waiting


def graph_description(dag: DagLayout) -> str:
    """The graph in words for a screen reader: each step, its state and what it needs."""
    parts = []
    for placed in dag.nodes:
        node = placed.node
        text = f"{node.label} ({node.detail})" if node.detail else node.label
        if node.needs:
            text += f" after {', '.join(node.needs)}"
        parts.append(text)
    return "; ".join(parts) + "."


def step_anchors(steps: Sequence[pipelines.StepRun]) -> dict[str, str]:
    """A unique element id for each step key (matrix keys hold any character)."""
    anchors: dict[str, str] = {}
    taken: set[str] = set()
    for index, step in enumerate(steps):
        anchor = "step-" + re.sub(r"[^A-Za-z0-9_-]", "_", step.key)
        if anchor in taken:
            anchor = f"{anchor}-{index}"
        taken.add(anchor)
        anchors[step.key] = anchor
    return anchors


@dataclass(frozen=True)
class InputField:
    """One control of the trigger form, built from a declared input."""

    name: str
    html_id: str
    kind: str
    description: str
    is_required: bool
    options: list[str]
    value: str
    error: str | None = None

    @property
    def form_name(self) -> str:
        return f"input.{self.name}"

    @property
    def help_id(self) -> str:
        return f"{self.html_id}-help"

    @property
    def error_id(self) -> str:
        return f"{self.html_id}-error"

    @property
    def described_by(self) -> str:
        """The ids of the description and the error under the control, for screen readers."""
        ids = [self.help_id] if self.description else []
        return " ".join([*ids, self.error_id] if self.error else ids)


def input_fields(
    spec: PipelineSpec,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> list[InputField]:
    """The form's fields: what was sent (after a refusal) or else each default."""
    fields = []
    for index, (name, declared) in enumerate(spec.inputs.items()):
        value = values[name] if values is not None and name in values else _shown(declared)
        fields.append(
            InputField(
                name=name,
                html_id=f"input-{index}",
                kind=declared.type.value,
                description=declared.description,
                is_required=declared.required,
                options=list(declared.options or []),
                value=value,
                error=(errors or {}).get(name),
            )
        )
    return fields


def _shown(declared: InputSpec) -> str:
    default = declared.default
    if default is None:
        return ""
    if isinstance(default, bool):
        return "true" if default else "false"
    if declared.type is InputType.JSON and not isinstance(default, str):
        return json.dumps(default)
    return str(default)


def submitted_inputs(
    form: Mapping[str, str], spec: PipelineSpec
) -> tuple[dict[str, str], dict[str, str]]:
    """The form's values by input name (all of them, to show again), and those to send:
    an empty field is left out, so the input's default applies (or "required" is said)."""
    sent = {name: form.get(f"input.{name}", "") for name in spec.inputs}
    return sent, {name: value for name, value in sent.items() if value != ""}
