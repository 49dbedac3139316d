"""``orchestrate pr …``: list, show, create, merge the pull requests of agent runs."""

from __future__ import annotations

from typing import Annotated

import typer

from orchestrate.auth.service import Actor
from orchestrate.cli.output import print_fields, print_json, print_table, say
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.delivery import service
from orchestrate.delivery.schemas import PullRequestDetailOut, PullRequestOut, ShepherdMoveOut

pr_app = typer.Typer(
    help="Pull requests of agent runs: list, show, open for an agent, merge, shepherd.",
    no_args_is_help=True,
)

NumberArgument = Annotated[
    int, typer.Argument(help="The pull request's number.", min=1, max=2**31 - 1)
]
RepoOption = Annotated[str, typer.Option("--repo", help="The repository, OWNER/NAME.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
_LIST_LIMIT = 500


@pr_app.command("list")
def list_pull_requests(
    repo: Annotated[str | None, typer.Option("--repo", help="Only this OWNER/NAME.")] = None,
    json_output: JsonOption = False,
) -> None:
    """Pull requests Orchestrate opened, newest first."""
    page = run_with_runtime(
        lambda rt: service.list_pull_requests(
            rt.uow(read_only=True), repository=repo, limit=_LIST_LIMIT
        )
    )
    found = [PullRequestOut.of(p) for p in page.items]
    if json_output:
        print_json(found)
        return
    print_table(
        ["number", "repository", "state", "branch", "story", "agent", "url"],
        (
            (p.number, p.repository, _state(p), p.branch, p.story_id, p.agent_id, p.url)
            for p in found
        ),
    )


@pr_app.command("show")
def show(number: NumberArgument, repo: RepoOption, json_output: JsonOption = False) -> None:
    """One pull request, refreshed from its forge with its checks and reviews."""
    view = PullRequestDetailOut.of_view(
        run_with_runtime(lambda rt: service.show_pull_request(rt.uow(), rt.settings, repo, number))
    )
    if json_output:
        print_json(view)
        return
    checks, reviews = view.checks, view.reviews
    print_fields(
        [
            ("title", view.title),
            ("url", view.url),
            ("state", _state(view)),
            ("branch", f"{view.branch} → {view.base}"),
            ("head", view.head_sha),
            ("mergeable", view.mergeable),
            (
                "checks",
                f"{checks.succeeded} passed, {checks.failed} failed, {checks.pending} pending"
                + (f" (failing: {', '.join(checks.failing)})" if checks.failing else ""),
            ),
            (
                "reviews",
                f"{reviews.approved} approved, {reviews.changes_requested} requested changes",
            ),
            ("shepherd", _shepherd(view)),
            ("story", view.story_id),
            ("agent", view.agent_id),
            ("opened", view.opened_at),
            ("merged", view.merged_at),
        ],
        title=f"{view.repository}#{view.number}",
    )
    if not view.fresh:
        say(f"As last recorded: the forge could not be asked ({view.stale_reason}).")


@pr_app.command("create")
def create(
    agent_id: Annotated[str, typer.Argument(help="A completed agent run.")],
    draft: Annotated[
        bool | None,
        typer.Option("--draft/--ready", help="Open as a draft (default: ORCHESTRATE_PR_DRAFT)."),
    ] = None,
    json_output: JsonOption = False,
) -> None:
    """Push a completed agent's branch and open its pull request (once)."""
    opened = run_with_runtime(
        lambda rt: service.open_for_agent(
            rt.uow(), rt.settings, agent_id, Actor.local_cli(), draft=draft
        )
    )
    out = PullRequestOut.of(opened.pull_request)
    if json_output:
        print_json(out)
        return
    how = "Opened" if opened.is_new else "Already open:"
    say(f"{how} {out.repository}#{out.number} from {out.branch}: {out.url}")


@pr_app.command("merge")
def merge(
    number: NumberArgument,
    repo: RepoOption,
    method: Annotated[
        service.MergeMethod | None,
        typer.Option("--method", help="Replaces the merge policy's method for this merge."),
    ] = None,
) -> None:
    """Merge through the forge if the repository's merge policy says it is ready; else
    say why (or the forge's reason for refusing) and exit 1."""
    merged = run_with_runtime(
        lambda rt: service.merge_pull_request(
            rt.uow(), rt.settings, repo, number, Actor.local_cli(), method=method
        )
    )
    say(f"Merged {merged.repository}#{merged.number} at {merged.head_sha[:12]}.")


@pr_app.command("shepherd")
def shepherd(number: NumberArgument, repo: RepoOption, json_output: JsonOption = False) -> None:
    """Have the shepherd look at the pull request now (a worker makes the move); a
    shepherd stopped at a bound is set going again."""
    pull = PullRequestOut.of(
        run_with_runtime(
            lambda rt: service.request_look_by_number(rt.uow(), repo, number, Actor.local_cli())
        )
    )
    if json_output:
        print_json(pull)
        return
    say(
        f"The shepherd will look at {pull.repository}#{pull.number} "
        f"(last: {_shepherd(pull)}); see 'orchestrate pr moves {pull.number} --repo {repo}'."
    )


@pr_app.command("moves")
def moves(number: NumberArgument, repo: RepoOption, json_output: JsonOption = False) -> None:
    """The shepherd's moves on the pull request, oldest first."""
    found = [
        ShepherdMoveOut.of(move)
        for move in run_with_runtime(
            lambda rt: service.list_moves(rt.uow(read_only=True), repo, number)
        )
    ]
    if json_output:
        print_json(found)
        return
    print_table(
        ["started", "move", "head", "status", "agent", "cost", "reason"],
        (
            (m.started_at, m.kind, m.head_sha[:12], m.status, m.agent_id, m.cost_usd, m.reason)
            for m in found
        ),
    )


def _shepherd(pull_request: PullRequestOut) -> str:
    status = pull_request.shepherd
    if status.move is None:
        return status.state
    return f"{status.state}: {status.move} ({status.reason})"


def _state(pull_request: PullRequestOut) -> str:
    return f"{pull_request.state} (draft)" if pull_request.draft else pull_request.state
