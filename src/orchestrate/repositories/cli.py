"""``orchestrate repo …``: add, list, show, remove, depend, undepend, graph, policy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.cli.output import print_fields, print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.errors import ValidationFailed
from orchestrate.repositories import service
from orchestrate.repositories.schemas import GraphOut, MergePolicyOut, RepositoryOut

repo_app = typer.Typer(
    help="Register the repositories agents work on, and see how they depend on each other.",
    no_args_is_help=True,
)

NameArgument = Annotated[str, typer.Argument(help="The repository, OWNER/NAME.")]
OnOption = Annotated[str, typer.Option("--on", help="The repository it depends on, OWNER/NAME.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]


@repo_app.command("add")
def add(
    source: Annotated[str, typer.Argument(help="A path in a git work tree, or a URL to clone.")],
    name: Annotated[str, typer.Option("--name", help="OWNER/NAME as the forge spells it.")],
    forge: Annotated[str, typer.Option(help="github or gitlab.")] = "github",
    remote: Annotated[str, typer.Option(help="The git remote to push to.")] = "origin",
    default_branch: Annotated[
        str | None, typer.Option(help="Detected when left out (the remote's HEAD).")
    ] = None,
    depends_on: Annotated[
        list[str] | None,
        typer.Option("--depends-on", help="A registered repository it needs (repeatable)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Register a work tree as it is, or clone a URL into the home's cache and register that."""
    request = service.NewRepository(
        source=service.absolute_source(source, Path.cwd()),
        name=name,
        forge=service.check_forge(forge),
        remote=remote,
        default_branch=default_branch,
        depends_on=tuple(depends_on or ()),
    )
    added = RepositoryOut.of(
        run_with_runtime(
            lambda rt: service.add_repository(rt.uow(), rt.settings, request, Actor.local_cli())
        )
    )
    if json_output:
        print_json(added)
        return
    how = "Cloned and registered" if added.cloned else "Registered"
    say(f"{how} {added.name} at {added.path} (default branch {added.default_branch}).")


@repo_app.command("list")
def list_repositories(json_output: JsonOption = False) -> None:
    """Registered repositories, those of ORCHESTRATE_GITHUB_REPOSITORIES included."""
    found = [
        RepositoryOut.of(r)
        for r in run_with_runtime(
            lambda rt: service.list_repositories(rt.uow(read_only=True), rt.settings)
        )
    ]
    if json_output:
        print_json(found)
        return
    print_table(
        ["name", "forge", "default branch", "path", "from", "depends on"],
        (
            (r.name, r.forge, r.default_branch, r.path, _origin(r), ", ".join(r.depends_on))
            for r in found
        ),
    )


@repo_app.command("show")
def show(name: NameArgument, json_output: JsonOption = False) -> None:
    """One repository: its work tree, remote, default branch and declared dependencies."""
    found = RepositoryOut.of(
        run_with_runtime(
            lambda rt: service.get_repository(rt.uow(read_only=True), rt.settings, name)
        )
    )
    if json_output:
        print_json(found)
        return
    print_fields(
        [
            ("forge", found.forge),
            ("path", found.path),
            ("remote", found.remote),
            ("url", found.url),
            ("default branch", found.default_branch),
            ("from", _origin(found)),
            ("depends on", ", ".join(found.depends_on)),
            ("added", found.created_at),
        ],
        title=found.name,
    )


@repo_app.command("remove")
def remove(name: NameArgument) -> None:
    """Forget a repository; its clone is deleted only if Orchestrate made it."""
    removal = run_with_runtime(
        lambda rt: service.remove_repository(rt.uow(), rt.settings, name, Actor.local_cli())
    )
    removed = removal.repository
    if removal.clone_removed:
        say(f"Removed {removed.name} and its clone {removed.path}.")
    else:
        say(f"Removed {removed.name}; its work tree {removed.path} is left as it is.")


@repo_app.command("depend")
def depend(name: NameArgument, on: OnOption) -> None:
    """Declare that NAME depends on another registered repository."""
    changed = run_with_runtime(
        lambda rt: service.declare_dependency(rt.uow(), rt.settings, name, on, Actor.local_cli())
    )
    say(f"{changed.name} depends on: {', '.join(changed.depends_on)} (declared).")


@repo_app.command("undepend")
def undepend(name: NameArgument, on: OnOption) -> None:
    """Forget a dependency declared with `repo depend` (detected ones come from manifests)."""
    changed = run_with_runtime(
        lambda rt: service.remove_dependency(rt.uow(), rt.settings, name, on, Actor.local_cli())
    )
    rest = ", ".join(changed.depends_on) or "nothing"
    say(f"{changed.name} no longer depends on {on}; declared: {rest}.")


@repo_app.command("graph")
def graph(json_output: JsonOption = False) -> None:
    """Dependencies between repositories, declared and detected from their manifests."""
    found = GraphOut.of(
        run_with_runtime(lambda rt: service.repository_graph(rt.uow(read_only=True), rt.settings))
    )
    if json_output:
        print_json(found)
        return
    print_table(
        ["repository", "depends on", "source", "evidence"],
        (
            (
                edge.repository,
                edge.depends_on,
                edge.source,
                "; ".join(f"{e.manifest}: {e.dependency}" for e in edge.evidence),
            )
            for edge in found.edges
        ),
    )
    say(f"Order (dependencies first): {' → '.join(found.order) or 'no repositories'}")
    for cycle in found.cycles:
        say(f"Cycle: {' → '.join([*cycle, cycle[0]])} (these cannot be ordered)")
    for warning in found.warnings:
        say(f"Warning: {warning}")


def _origin(repository: RepositoryOut) -> str:
    if repository.seed:
        return "ORCHESTRATE_GITHUB_REPOSITORIES"
    return "cloned" if repository.cloned else "path"


@repo_app.command("policy")
def policy(
    name: NameArgument,
    approvals: Annotated[
        int | None, typer.Option("--approvals", help="Approvals by trusted reviewers needed.")
    ] = None,
    require_check: Annotated[
        list[str] | None,
        typer.Option(
            "--require-check",
            help="A check that must succeed (repeatable; replaces the list). Without any, "
            "every reported check must pass.",
        ),
    ] = None,
    all_checks: Annotated[
        bool,
        typer.Option("--all-checks", help="Require no named check: every reported one must pass."),
    ] = False,
    method: Annotated[str | None, typer.Option("--method", help="merge, squash or rebase.")] = None,
    auto_merge: Annotated[
        bool | None,
        typer.Option("--auto-merge/--no-auto-merge", help="Merge on its own once ready."),
    ] = None,
    up_to_date: Annotated[
        bool | None,
        typer.Option(
            "--up-to-date/--no-up-to-date", help="Update a branch behind its base before merging."
        ),
    ] = None,
    stale_approvals: Annotated[
        bool | None,
        typer.Option(
            "--stale-approvals/--no-stale-approvals",
            help="Count approvals given on an older head.",
        ),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Show a repository's merge policy, or change what the options name."""
    if all_checks and require_check:
        raise ValidationFailed("Give --require-check or --all-checks, not both")
    checks = () if all_checks else None if require_check is None else tuple(require_check)
    change = service.MergePolicyChange(
        required_approvals=approvals,
        required_checks=checks,
        method=None if method is None else service.check_merge_method(method),
        auto_merge=auto_merge,
        require_up_to_date=up_to_date,
        count_stale_approvals=stale_approvals,
    )
    if change.is_empty:
        shown = run_with_runtime(
            lambda rt: service.get_merge_policy(rt.uow(read_only=True), rt.settings, name)
        )
    else:
        shown = run_with_runtime(
            lambda rt: service.change_merge_policy(
                rt.uow(), rt.settings, name, change, Actor.local_cli()
            )
        )
    found = MergePolicyOut.of(shown)
    if json_output:
        print_json(found)
        return
    print_fields(
        [
            ("approvals", found.required_approvals),
            ("checks", ", ".join(found.required_checks) or "every reported check"),
            ("method", found.method),
            ("auto-merge", "on" if found.auto_merge else "off"),
            ("up to date", "required" if found.require_up_to_date else "not required"),
            ("stale approvals", "count" if found.count_stale_approvals else "do not count"),
            ("from", _policy_origin(found)),
        ],
        title=f"Merge policy of {found.repository}",
    )


def _policy_origin(found: MergePolicyOut) -> str:
    if found.seed:
        return "default (a seed repository: register it with repo add to change it)"
    if found.default:
        return "default"
    return f"set by {found.updated_by} at {found.updated_at}"
