"""``orchestrate pipeline …``: write, check and register pipeline definitions.

The commands about runs (trigger, follow, approve, cancel, re-run) live in
``cli_runs.py`` and are mounted on the same sub-app at the bottom of this module.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from orchestrate.cli.output import print_fields, print_json, print_table, say, stdout
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.errors import ValidationFailed
from orchestrate.core.identity import Actor
from orchestrate.pipelines import catalog, cli_runs
from orchestrate.pipelines.schemas import PipelineOut, ProblemOut, TemplateOut
from orchestrate.pipelines.spec.loader import parse_pipeline
from orchestrate.pipelines.spec.schema import pipeline_json_schema
from orchestrate.pipelines.spec.script_notes import script_notes

if TYPE_CHECKING:  # the service loads only when a command runs: `pipeline validate` stays quick
    from orchestrate.pipelines.service import PipelineSource

pipeline_app = typer.Typer(help="Define, run and follow durable pipelines.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
RepoOption = Annotated[
    Path | None,
    typer.Option(
        help="Git repository the pipeline belongs to (its runs get a worktree of it). "
        "Default: the repository whose .orchestrate/pipelines/ holds the file."
    ),
]
_SUFFIXES = (".yml", ".yaml")


@pipeline_app.command("list")
def list_pipelines(json_output: JsonOption = False) -> None:
    """List registered pipelines."""
    from orchestrate.pipelines import service

    pipelines = [
        PipelineOut.of(p)
        for p in run_with_runtime(lambda rt: service.list_pipelines(rt.uow(read_only=True)))
    ]
    if json_output:
        print_json(pipelines)
        return
    print_table(
        ["name", "version", "steps", "updated", "description"],
        ((p.name, p.version, len(p.steps), p.updated_at, p.description) for p in pipelines),
    )


@pipeline_app.command("show")
def show(
    name: str,
    source: Annotated[bool, typer.Option("--source", help="Print the YAML as registered.")] = False,
    json_output: JsonOption = False,
) -> None:
    """Show a pipeline: its steps with their kinds and needs, inputs and triggers."""
    from orchestrate.pipelines import service

    pipeline = PipelineOut.of(
        run_with_runtime(lambda rt: service.get_pipeline(rt.uow(read_only=True), name))
    )
    if json_output:
        print_json(pipeline)
        return
    if source:
        sys.stdout.write(pipeline.source)
        return
    print_fields(
        [
            ("name", pipeline.name),
            ("description", pipeline.description),
            ("version", pipeline.version),
            ("file", pipeline.source_path),
            ("repository", pipeline.repo_path),
            ("inputs", _describe_inputs(pipeline.inputs)),
            ("triggers", _describe_triggers(pipeline.triggers)),
            ("updated", pipeline.updated_at),
        ],
        title=f"Pipeline {pipeline.name}",
    )
    print_table(
        ["step", "kind", "needs", "if"],
        ((s.id, s.kind, s.needs, s.if_) for s in pipeline.steps),
    )


@pipeline_app.command("create")
def create(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A pipeline YAML.")],
    repo: RepoOption = None,
) -> None:
    """Register a pipeline from a file, or update the one of that name."""
    from orchestrate.pipelines import service

    source = _source(file, repo)
    pipeline = run_with_runtime(
        lambda rt: service.register_pipeline(rt.uow(), source, Actor.local_cli())
    )
    say(f"Pipeline {pipeline.name}: version {pipeline.version}")


@pipeline_app.command("apply")
def apply(
    directory: Annotated[
        Path, typer.Argument(exists=True, file_okay=False, help="e.g. .orchestrate/pipelines")
    ],
    repo: RepoOption = None,
) -> None:
    """Register every *.yml / *.yaml of a folder: all of them, or none if one has a problem."""
    from orchestrate.pipelines import service

    files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix in _SUFFIXES)
    if not files:
        raise ValidationFailed(f"No *.yml or *.yaml files in {directory}")
    sources = [_source(file, repo) for file in files]
    pipelines = run_with_runtime(
        lambda rt: service.apply_sources(rt.uow(), sources, Actor.local_cli())
    )
    for pipeline in pipelines:
        say(f"Pipeline {pipeline.name}: version {pipeline.version}")


@pipeline_app.command("delete")
def delete(name: str) -> None:
    """Delete a pipeline definition (its runs stay)."""
    from orchestrate.pipelines import service

    run_with_runtime(lambda rt: service.delete_pipeline(rt.uow(), name, Actor.local_cli()))
    say(f"Deleted pipeline {name}")


@pipeline_app.command("validate")
def validate(
    files: Annotated[list[Path], typer.Argument(help="Pipeline files to check.")],
    json_output: JsonOption = False,
) -> None:
    """Check pipeline files; prints FILE:LINE:COLUMN: problem, exits 2 if any has one.

    Notes and warnings (where a ``run:`` script reads its ``${{ }}`` differently than
    it looks) are printed too but do not fail. The check is offline: it cannot tell
    whether a ``secrets.NAME`` exists; registering the pipeline does.
    """
    checked = [(file, *_problems(file)) for file in files]
    results = [(file, problems) for file, problems, _ in checked]
    if json_output:
        print_json(
            [
                {"file": str(file), "ok": not problems, "problems": problems, "notes": notes}
                for file, problems, notes in checked
            ]
        )
    else:
        for file, problems, notes in checked:
            for problem in sorted([*problems, *notes], key=lambda p: (p.line, p.column)):
                stdout.print(_problem_line(problem), markup=False, highlight=False)
            if not problems:
                stdout.print(f"ok {file}", markup=False, highlight=False)
    bad = [file for file, problems in results if problems]
    if bad:
        count = sum(len(problems) for _, problems in results)
        say(f"{count} problem(s) in {len(bad)} of {len(results)} file(s)")
        raise typer.Exit(2)


@pipeline_app.command("schema")
def schema() -> None:
    """Print the JSON Schema of the pipeline format (for editors and linters)."""
    sys.stdout.write(json.dumps(pipeline_json_schema(), indent=2) + "\n")


@pipeline_app.command("templates")
def templates(json_output: JsonOption = False) -> None:
    """List the pipeline templates 'pipeline init' can start from."""
    shipped = [TemplateOut.of(t) for t in catalog.list_templates()]
    if json_output:
        print_json(shipped)
        return
    print_table(["template", "description"], ((t.name, t.description) for t in shipped))


@pipeline_app.command("init")
def init(
    template: Annotated[str, typer.Option("--template", "-t", help="See 'pipeline templates'.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Start a pipeline from a template."""
    text = catalog.template_text(template)
    if output is None:
        sys.stdout.write(text)
        return
    if output.exists() and not force:
        raise ValidationFailed(f"{output} already exists; pass --force to overwrite it")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    say(f"Wrote {output}; register it with: orchestrate pipeline create {output}")


def _source(file: Path, repo: Path | None) -> PipelineSource:
    from orchestrate.pipelines import service

    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValidationFailed(f"{file} is not UTF-8 text") from None
    return service.PipelineSource(text, str(file), repo if repo is not None else _repo_of(file))


def _repo_of(path: Path) -> Path | None:
    """The repository whose ``.orchestrate/pipelines/`` holds ``path``, if it is in one."""
    folder = path.resolve() if path.is_dir() else path.resolve().parent
    if folder.name != "pipelines" or folder.parent.name != ".orchestrate":
        return None
    top = folder.parent.parent
    return top if (top / ".git").exists() else None


def _problems(file: Path) -> tuple[list[ProblemOut], list[ProblemOut]]:
    """The file's problems, and its notes (which only a valid file gets)."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) else "not UTF-8 text"
        message = f"cannot read: {reason}"
        return [ProblemOut(file=str(file), line=1, column=1, message=message)], []
    spec, problems, where = parse_pipeline(text, str(file))
    notes = script_notes(spec, where) if spec is not None and not problems else []
    return [ProblemOut.of(p) for p in problems], [ProblemOut.of(n) for n in notes]


def _problem_line(problem: ProblemOut) -> str:
    text = f"{problem.file}:{problem.line}:{problem.column}: {problem.message}"
    return f"{text} (hint: {problem.hint})" if problem.hint else text


def _describe_inputs(inputs: dict[str, Any]) -> str:
    parts = []
    for name, declared in inputs.items():
        default = declared.get("default")
        required = " required" if declared.get("required") else ""
        parts.append(
            f"{name} ({declared.get('type', 'string')}{required}"
            + (f", default {default!r}" if default is not None else "")
            + ")"
        )
    return ", ".join(parts) or "-"


def _describe_triggers(triggers: dict[str, Any]) -> str:
    parts = [f"github {item['event']}" for item in triggers.get("github", [])]
    parts += [f"gitlab {item['event']}" for item in triggers.get("gitlab", [])]
    parts += [
        f"schedule {item['cron']} ({item.get('timezone', 'UTC')})"
        for item in triggers.get("schedule", [])
    ]
    return ", ".join(parts) or "manual only"


for _name, _command in cli_runs.COMMANDS:
    pipeline_app.command(_name)(_command)
