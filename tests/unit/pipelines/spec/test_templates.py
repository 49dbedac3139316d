"""The shipped templates: listed, readable, and valid pipelines."""

from __future__ import annotations

from datetime import timedelta

import pytest
from ruamel.yaml import YAML

from orchestrate.core.errors import NotFound
from orchestrate.pipelines.catalog import Template, list_templates, template_text
from orchestrate.pipelines.spec import StepKind, check_pipeline, load_pipeline

NAMES = ["ci", "nightly-maintenance", "release", "story"]


def test_the_four_templates_are_listed_by_name() -> None:
    assert [template.name for template in list_templates()] == NAMES


def test_a_templates_description_is_the_one_in_its_yaml() -> None:
    for template in list_templates():
        document = YAML(typ="safe").load(template_text(template.name))
        assert template == Template(template.name, document["description"])
        assert template.description


@pytest.mark.parametrize("name", NAMES)
def test_every_template_loads_without_problems(name: str) -> None:
    text = template_text(name)

    assert check_pipeline(text, f"{name}.yml") == []
    assert load_pipeline(text).name == name


@pytest.mark.parametrize("name", NAMES)
def test_every_template_explains_itself_in_comments(name: str) -> None:
    assert template_text(name).startswith("# ")


def test_an_unknown_template_names_the_closest_and_all_available() -> None:
    with pytest.raises(NotFound) as caught:
        template_text("nightly")

    assert caught.value.message == (
        "There is no pipeline template 'nightly'. Did you mean 'nightly-maintenance'? "
        "Available: ci, nightly-maintenance, release, story."
    )
    assert caught.value.context["available"] == NAMES


def test_ci_fixes_failing_tests_with_an_agent_then_tests_again() -> None:
    spec = load_pipeline(template_text("ci"))

    test, fix, retest = spec.step("test"), spec.step("fix"), spec.step("retest")
    assert spec.inputs["test_command"].default == "make test"
    assert test.continue_on_error is True
    assert (fix.agent, fix.needs, fix.if_) == (
        "issue-fixer",
        ["test"],
        "steps.test.outcome == 'failure'",
    )
    assert "${{ steps.test.outputs.summary }}" in fix.agent_inputs().task
    assert retest.needs == ["fix"]
    assert retest.kind is StepKind.RUN


def test_story_develops_reviews_and_waits_for_approval() -> None:
    spec = load_pipeline(template_text("story"))

    assert spec.inputs["story"].required is True
    assert spec.step("develop").agent == "story-developer"
    assert spec.step("develop").with_["story"] == "${{ inputs.story }}"
    assert spec.step("review").agent == "code-reviewer"
    assert "${{ needs.develop.outputs.branch }}" in spec.step("review").agent_inputs().task
    approval = spec.step("approve").approval
    assert approval is not None
    assert (approval.approvers, approval.timeout, approval.on_timeout) == (
        ["admin"],
        timedelta(days=3),
        "reject",
    )


def test_nightly_maintenance_runs_on_a_schedule_in_parallel() -> None:
    spec = load_pipeline(template_text("nightly-maintenance"))

    assert spec.on.schedule[0].cron == "0 3 * * *"
    assert spec.concurrency is not None
    parallel = [step for step in spec.steps if not step.needs]
    assert len(parallel) >= 3
    assert any(step.kind is StepKind.AGENT for step in parallel)


def test_release_tests_builds_approves_then_publishes_one_at_a_time() -> None:
    spec = load_pipeline(template_text("release"))

    assert spec.inputs["version"].required is True
    assert spec.concurrency is not None
    assert spec.concurrency.group == "release"
    assert spec.step_ids == ["test", "build", "approve", "tag", "publish"]
    assert "$ORCHESTRATE_OUTPUT" in (spec.step("build").run or "")
    assert spec.step("approve").kind is StepKind.APPROVAL
