"""``orchestrate story …`` and ``orchestrate epic …``.

Ids and BMAD keys are interchangeable wherever a story or epic is named
(``orchestrate story show 1.2``). Commands that create something print only the new
id on stdout, so scripts can capture it; ``--json`` prints the same objects as the API.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import typer

from orchestrate.auth.service import Actor
from orchestrate.cli.output import print_fields, print_json, print_table, say, say_styled
from orchestrate.cli.runtime import run_with_runtime
from orchestrate.core.errors import ValidationFailed
from orchestrate.stories import service
from orchestrate.stories.models import (
    UNSET,
    AcceptanceCriterion,
    EpicChanges,
    EpicStatus,
    Priority,
    StoryChanges,
    StoryDraft,
    StoryStatus,
    Unset,
)
from orchestrate.stories.schemas import (
    EpicOut,
    EpicWithStoriesOut,
    ImportSummaryOut,
    StoryOut,
)

_T = TypeVar("_T")

story_app = typer.Typer(help="Manage stories.", no_args_is_help=True)
epic_app = typer.Typer(help="Manage epics.", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON.")]
StoryRef = Annotated[str, typer.Argument(help="A story id or BMAD key such as 1.2.")]
EpicRef = Annotated[str, typer.Argument(help="An epic id or BMAD key such as 1.")]
Limit = Annotated[int, typer.Option(min=1, max=500, help="How many to show.")]
Criteria = Annotated[
    list[str] | None,
    typer.Option("--criterion", help="An acceptance criterion; repeat for several."),
]


@story_app.command("list")
def list_stories(
    status: Annotated[StoryStatus | None, typer.Option(help="Only this status.")] = None,
    epic: Annotated[str | None, typer.Option(help="Only this epic (id or key).")] = None,
    label: Annotated[str | None, typer.Option(help="Only stories with this label.")] = None,
    assignee: Annotated[str | None, typer.Option(help="Only this assignee.")] = None,
    limit: Limit = 50,
    json_output: JsonOption = False,
) -> None:
    """List stories, newest first."""
    page = run_with_runtime(
        lambda rt: service.list_stories(
            rt.uow(read_only=True),
            status=status,
            epic_id=epic,
            label=label,
            assignee=assignee,
            limit=limit,
        )
    )
    stories = [StoryOut.of(story) for story in page.items]
    if json_output:
        print_json(stories)
        return
    print_table(
        ["id", "key", "title", "status", "priority", "labels", "assignee"],
        ((s.id, s.key, s.title, s.status, s.priority, s.labels, s.assignee) for s in stories),
    )
    if page.next_cursor:
        say_styled("[dim]Showing the newest {limit}; pass --limit for more.[/dim]", limit=limit)


@story_app.command("show")
def show_story(ref: StoryRef, json_output: JsonOption = False) -> None:
    """Show one story with its acceptance criteria."""
    story = StoryOut.of(run_with_runtime(lambda rt: service.get_story(rt.uow(read_only=True), ref)))
    if json_output:
        print_json(story)
        return
    fields = story.model_dump(exclude={"acceptance_criteria", "description"})
    print_fields(list(fields.items()), title=f"Story {story.key or story.id}: {story.title}")
    if story.description:
        print(f"\n{story.description}")
    if story.acceptance_criteria:
        print("\nAcceptance criteria:")
        for item in story.acceptance_criteria:
            print(f"  [{'x' if item.done else ' '}] {item.text}")


@story_app.command("create")
def create_story(
    title: Annotated[str | None, typer.Option(help="What the story delivers.")] = None,
    description: Annotated[str | None, typer.Option(help="Details, in markdown.")] = None,
    epic: Annotated[str | None, typer.Option(help="The epic (id or key).")] = None,
    criteria: Criteria = None,
    labels: Annotated[
        list[str] | None, typer.Option("--label", help="A label; repeat for several.")
    ] = None,
    priority: Annotated[Priority | None, typer.Option(help="Default: medium.")] = None,
    assignee: Annotated[str | None, typer.Option(help="Who works on it.")] = None,
    from_file: Annotated[
        Path | None,
        typer.Option("--from-file", help="A markdown story file; options given here win."),
    ] = None,
) -> None:
    """Create a story in the backlog and print its id."""
    draft = _draft(title, from_file)
    draft = dataclasses.replace(
        draft,
        description=_pick(description, draft.description),
        epic_id=_pick(epic, draft.epic_id),
        acceptance_criteria=_pick(_criteria(criteria), draft.acceptance_criteria),
        labels=_pick(tuple(labels) if labels is not None else None, draft.labels),
        priority=_pick(priority, draft.priority),
        assignee=_pick(assignee, draft.assignee),
    )
    story = run_with_runtime(lambda rt: service.create_story(rt.uow(), draft, Actor.local_cli()))
    print(story.id, flush=True)
    say(f"Created story {story.id}: {story.title}")


@story_app.command("update")
def update_story(
    ref: StoryRef,
    status: Annotated[StoryStatus | None, typer.Option(help="Move to this status.")] = None,
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    epic: Annotated[str | None, typer.Option(help="Move to this epic; '' detaches.")] = None,
    priority: Annotated[Priority | None, typer.Option(help="A new priority.")] = None,
    assignee: Annotated[str | None, typer.Option(help="Assign; '' unassigns.")] = None,
    branch: Annotated[str | None, typer.Option(help="The work branch; '' clears.")] = None,
    pr_url: Annotated[str | None, typer.Option("--pr-url", help="The pull request.")] = None,
    add_labels: Annotated[
        list[str] | None, typer.Option("--add-label", help="Add a label; repeatable.")
    ] = None,
    remove_labels: Annotated[
        list[str] | None, typer.Option("--remove-label", help="Remove a label; repeatable.")
    ] = None,
    criteria: Annotated[
        list[str] | None,
        typer.Option("--criterion", help="Replace all acceptance criteria; repeatable."),
    ] = None,
    depends_on: Annotated[
        str | None,
        typer.Option(
            "--depends-on",
            help="Stories of the same epic it waits for, comma-separated ids or keys "
            "(replaces the list); '' clears.",
        ),
    ] = None,
) -> None:
    """Change a story; a status change must follow the story workflow."""
    changes = StoryChanges(
        status=_or_unset(status),
        title=_or_unset(title),
        description=_or_unset(description),
        epic_id=_or_unset(epic),
        priority=_or_unset(priority),
        assignee=_or_unset(assignee),
        branch=_or_unset(branch),
        pr_url=_or_unset(pr_url),
        acceptance_criteria=_or_unset(_criteria(criteria)),
        add_labels=tuple(add_labels or ()),
        remove_labels=tuple(remove_labels or ()),
        depends_on=_or_unset(_refs(depends_on)),
    )
    if changes.is_empty:
        raise ValidationFailed("Nothing to update: pass at least one option (see --help)")
    story = run_with_runtime(
        lambda rt: service.update_story(rt.uow(), ref, changes, Actor.local_cli())
    )
    say(f"Updated story {story.key or story.id} ({story.status.value}): {story.title}")


@story_app.command("delete")
def delete_story(ref: StoryRef) -> None:
    """Delete a story for good."""
    story = run_with_runtime(lambda rt: service.delete_story(rt.uow(), ref, Actor.local_cli()))
    say(f"Deleted story {story.key or story.id}: {story.title}")


@story_app.command("import")
def import_stories(
    path: Annotated[Path, typer.Argument(help="An epic markdown file or a folder of epic-*.md.")],
    json_output: JsonOption = False,
) -> None:
    """Import BMAD epics and stories; importing again updates them instead of duplicating."""
    summary = ImportSummaryOut.of(
        run_with_runtime(lambda rt: service.import_bmad(rt.uow(), path, Actor.local_cli()))
    )
    if json_output:
        print_json(summary)
        return
    print_fields(
        [
            ("files", len(summary.files)),
            ("epics created", summary.epics_created),
            ("epics updated", summary.epics_updated),
            ("epics unchanged", summary.epics_unchanged),
            ("stories created", summary.stories_created),
            ("stories updated", summary.stories_updated),
            ("stories unchanged", summary.stories_unchanged),
        ],
        title=f"Imported {path}",
    )


@epic_app.command("list")
def list_epics(limit: Limit = 50, json_output: JsonOption = False) -> None:
    """List epics, newest first, with their progress."""
    page = run_with_runtime(lambda rt: service.list_epics(rt.uow(read_only=True), limit=limit))
    epics = [EpicOut.of(epic) for epic in page.items]
    if json_output:
        print_json(epics)
        return
    print_table(
        ["id", "key", "title", "status", "stories", "done"],
        (
            (
                e.id,
                e.key,
                e.title,
                e.status,
                sum(e.story_counts.values()),
                e.story_counts[StoryStatus.DONE],
            )
            for e in epics
        ),
    )


@epic_app.command("show")
def show_epic(ref: EpicRef, json_output: JsonOption = False) -> None:
    """Show an epic and all its stories."""
    overview = EpicWithStoriesOut.of_overview(
        run_with_runtime(lambda rt: service.epic_overview(rt.uow(read_only=True), ref))
    )
    if json_output:
        print_json(overview)
        return
    fields = overview.model_dump(exclude={"stories", "description", "story_counts"})
    print_fields(
        list(fields.items()), title=f"Epic {overview.key or overview.id}: {overview.title}"
    )
    if overview.description:
        print(f"\n{overview.description}\n")
    keys = {s.id: s.key or s.id for s in overview.stories}
    print_table(
        ["id", "key", "title", "status", "assignee", "depends on"],
        (
            (s.id, s.key, s.title, s.status, s.assignee, [keys.get(d, d) for d in s.depends_on])
            for s in overview.stories
        ),
    )


@epic_app.command("create")
def create_epic(
    title: Annotated[str, typer.Option(help="What the epic delivers.")],
    description: Annotated[str, typer.Option(help="Why, in markdown.")] = "",
) -> None:
    """Create an epic and print its id."""
    epic = run_with_runtime(
        lambda rt: service.create_epic(rt.uow(), title, Actor.local_cli(), description=description)
    )
    print(epic.id, flush=True)
    say(f"Created epic {epic.id}: {epic.title}")


@epic_app.command("update")
def update_epic(
    ref: EpicRef,
    title: Annotated[str | None, typer.Option(help="A new title.")] = None,
    description: Annotated[str | None, typer.Option(help="A new description.")] = None,
    status: Annotated[EpicStatus | None, typer.Option(help="A new status.")] = None,
) -> None:
    """Change an epic's title, description or status."""
    changes = EpicChanges(
        title=_or_unset(title), description=_or_unset(description), status=_or_unset(status)
    )
    if changes.is_empty:
        raise ValidationFailed("Nothing to update: pass --title, --description or --status")
    epic = run_with_runtime(
        lambda rt: service.update_epic(rt.uow(), ref, changes, Actor.local_cli())
    )
    say(f"Updated epic {epic.key or epic.id} ({epic.status.value}): {epic.title}")


def _draft(title: str | None, from_file: Path | None) -> StoryDraft:
    if from_file is not None:
        draft = service.story_draft_from_file(from_file)
        return draft if title is None else dataclasses.replace(draft, title=title)
    if title is None:
        raise ValidationFailed("Pass --title, or --from-file with a story markdown file")
    return StoryDraft(title=title)


def _pick(value: _T | None, fallback: _T) -> _T:
    """The command-line value when one was given, else what the file said."""
    return fallback if value is None else value


def _or_unset(value: _T | None) -> _T | Literal[Unset.UNSET]:
    """Options left out keep the stored value."""
    return UNSET if value is None else value


def _refs(text: str | None) -> tuple[str, ...] | None:
    """``"1.1, 1.2"`` as refs; '' is the empty list, None leaves the field alone."""
    if text is None:
        return None
    return tuple(part.strip() for part in text.split(",") if part.strip())


def _criteria(texts: list[str] | None) -> tuple[AcceptanceCriterion, ...] | None:
    return None if texts is None else tuple(AcceptanceCriterion(text) for text in texts)
