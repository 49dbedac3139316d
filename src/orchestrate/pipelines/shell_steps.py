"""A ``run:`` step's attempt: its script, environment and masker, then the process.

Three safety rules meet here. Every ``${{ }}`` of the script reaches bash as an
environment variable, never as script text (``expressions.shell_script``), so a
pull-request title cannot become a command. The process starts from an explicit
environment (the pipeline's and step's ``env:``, the expression variables, ``CI`` and
the ``ORCHESTRATE_*`` of the step), never from the worker's, which holds database
URLs and keys. And the values of the secrets the step reads, plus what it registers
with ``::add-mask::``, are replaced by ``***`` in its log, its log events, its outputs
and its error before anything is stored or streamed.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from orchestrate.core.errors import OrchestrateError, ValidationFailed
from orchestrate.core.events import record_event
from orchestrate.core.jobs import JobContext
from orchestrate.core.masking import Masker, process_masker
from orchestrate.core.sandbox import SandboxPolicy
from orchestrate.pipelines._store import find_step
from orchestrate.pipelines.attempt import Attempt
from orchestrate.pipelines.contexts import step_environment, with_secrets
from orchestrate.pipelines.engine import Outcome
from orchestrate.pipelines.events import StepLogged
from orchestrate.pipelines.expressions import ExpressionError, interpolate
from orchestrate.pipelines.expressions.shell_script import (
    ShellScript,
    prepare_script,
    script_environment,
)
from orchestrate.pipelines.kinds import AttemptRef
from orchestrate.pipelines.models import StepStatus
from orchestrate.pipelines.secret_use import step_secrets
from orchestrate.pipelines.steps.outputs import read_outputs
from orchestrate.pipelines.steps.shell import ShellCommand, ShellResult, run_shell
from orchestrate.pipelines.workspace import ensure_workspace


async def run_shell_step(job: JobContext[AttemptRef], attempt: Attempt) -> Outcome:
    """Run the attempt's script to its end; the outcome is already masked."""
    step = attempt.step
    assert step.run is not None
    masker = process_masker().child()
    try:
        secrets = await step_secrets(
            job.runtime.uow(read_only=True), job.runtime.settings, attempt.spec, step
        )
        masker.add_all(secrets.values())
        context = with_secrets(attempt.context, attempt.spec.env, step.env, secrets)
        script = prepare_script(step.run)
        variables = script_environment(script, step.run, context)
        cwd = await ensure_workspace(attempt.workspace, attempt.repo)
        if step.working_directory:
            cwd = cwd / interpolate(step.working_directory, attempt.context)
    except ExpressionError as error:
        return Outcome(StepStatus.FAILURE, error=masker.mask(f"run: {error}"))
    except OrchestrateError as error:
        return Outcome(StepStatus.FAILURE, error=masker.mask(str(error)))
    env = _process_env(attempt, context, variables)
    outcome = await _run(job, attempt, script, env, cwd, masker)
    return Outcome(
        outcome.status,
        {name: masker.mask(value) for name, value in outcome.outputs.items()},
        masker.mask(outcome.error) if outcome.error else outcome.error,
    )


async def _run(
    job: JobContext[AttemptRef],
    attempt: Attempt,
    script: ShellScript,
    env: dict[str, str],
    cwd: Path,
    masker: Masker,
) -> Outcome:
    settings = job.runtime.settings
    step = attempt.step
    output_file = attempt.log_path.with_suffix(f".{attempt.number}.outputs")
    output_file.parent.mkdir(parents=True, exist_ok=True)
    output_file.write_text("")
    _log_header(attempt, script)
    command = ShellCommand(
        script=script.text,
        env={**env, "ORCHESTRATE_OUTPUT": str(output_file)},
        cwd=cwd,
        timeout=step.timeout.total_seconds()
        if step.timeout
        else settings.pipeline_step_timeout_seconds,
        kill_grace=settings.pipeline_kill_grace_seconds,
        log_path=attempt.log_path,
        network=step.network,
        masker=masker,
        sandbox=SandboxPolicy.from_settings(settings),
        workspace=attempt.workspace,
        output_file=output_file,
    )
    if not await asyncio.to_thread(cwd.is_dir):
        return Outcome(StepStatus.FAILURE, error=f"working directory {cwd} does not exist")
    result = await run_shell(
        command,
        on_log=lambda lines: _publish_log(job, attempt, [masker.mask(line) for line in lines]),
        should_cancel=lambda: _cancel_requested(job, attempt),
    )
    try:
        outputs = read_outputs(output_file)
    except ValidationFailed as error:
        return Outcome(StepStatus.FAILURE, error=str(error))
    finally:
        output_file.unlink(missing_ok=True)
    return _shell_outcome(result, outputs, command.timeout)


def _shell_outcome(result: ShellResult, outputs: dict[str, str], timeout: float) -> Outcome:
    if result.cancelled:
        return Outcome(StepStatus.CANCELLED, outputs)
    if result.timed_out:
        return Outcome(StepStatus.FAILURE, outputs, f"timed out after {timeout:g}s")
    if result.exit_code != 0:
        return Outcome(StepStatus.FAILURE, outputs, f"exited with code {result.exit_code}")
    return Outcome(StepStatus.SUCCESS, outputs)


def _process_env(
    attempt: Attempt, context: dict[str, Any], variables: dict[str, str]
) -> dict[str, str]:
    """The step's whole environment: nothing comes from the worker's ``os.environ``.

    The sandbox adds ``PATH`` (``ORCHESTRATE_SANDBOX_PATH``), an empty ``HOME``,
    ``LANG`` and ``TERM`` (unconfined: the host's four); a step's own ``env:`` wins.
    """
    return {
        "CI": "true",
        "ORCHESTRATE_RUN_ID": attempt.run_id,
        "ORCHESTRATE_STEP": attempt.key,
        "ORCHESTRATE_STEP_ATTEMPT": str(attempt.number),
        "ORCHESTRATE_WORKSPACE": str(attempt.workspace),
        **step_environment(context),
        **variables,
    }


def _log_header(attempt: Attempt, script: ShellScript) -> None:
    """The attempt's first log lines: which expression each variable of the script holds.

    A reader of the log sees ``"${ORCHESTRATE_EXPR_1}"`` in the script; the header says
    it is ``${{ trigger.pull_request.title }}`` without printing the value.
    """
    with attempt.log_path.open("a", encoding="utf-8") as log_file:
        log_file.write(f"── {attempt.key}: attempt {attempt.number} ──\n")
        for variable, expression in script.variables.items():
            log_file.write(f"   ${variable} = ${{{{ {expression} }}}}\n")


async def _publish_log(job: JobContext[AttemptRef], attempt: Attempt, lines: list[str]) -> None:
    """Log lines become events too, so the dashboard and ``--follow`` see them live."""
    async with job.uow() as uow:
        record_event(
            uow,
            StepLogged(
                subject=attempt.run_id, step=attempt.key, attempt=attempt.number, lines=lines[-500:]
            ),
        )
        await uow.commit()


async def _cancel_requested(job: JobContext[AttemptRef], attempt: Attempt) -> bool:
    async with job.runtime.uow(read_only=True) as uow:
        row = await find_step(uow, attempt.step_row_id)
        return row is None or row.cancel_requested
