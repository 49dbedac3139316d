"""The pipeline format: models, loading YAML with located problems, rules, graph, schema."""

from orchestrate.pipelines.spec.graph import (
    ancestors,
    dependents,
    find_cycle,
    find_cycles,
    needs_graph,
    topological_order,
)
from orchestrate.pipelines.spec.loader import (
    check_pipeline,
    load_pipeline,
    load_pipeline_file,
    parse_pipeline,
)
from orchestrate.pipelines.spec.models import (
    AgentInputs,
    ApprovalSpec,
    ConcurrencySpec,
    CronSchedule,
    GithubEventFilter,
    GitlabEventFilter,
    InputSpec,
    InputType,
    PipelineSpec,
    RetrySpec,
    StepKind,
    StepSpec,
    TriggersSpec,
)
from orchestrate.pipelines.spec.positions import SourceMap
from orchestrate.pipelines.spec.problems import PipelineInvalid, SpecProblem
from orchestrate.pipelines.spec.schema import pipeline_json_schema
from orchestrate.pipelines.spec.validation import validate_spec

__all__ = [
    "AgentInputs",
    "ApprovalSpec",
    "ConcurrencySpec",
    "CronSchedule",
    "GithubEventFilter",
    "GitlabEventFilter",
    "InputSpec",
    "InputType",
    "PipelineInvalid",
    "PipelineSpec",
    "RetrySpec",
    "SourceMap",
    "SpecProblem",
    "StepKind",
    "StepSpec",
    "TriggersSpec",
    "ancestors",
    "check_pipeline",
    "dependents",
    "find_cycle",
    "find_cycles",
    "load_pipeline",
    "load_pipeline_file",
    "needs_graph",
    "parse_pipeline",
    "pipeline_json_schema",
    "topological_order",
    "validate_spec",
]
