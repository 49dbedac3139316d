"""Epics and stories: the backlog agents work from, and the BMAD markdown it is read from.

Use cases live in ``service`` (the capability's API for other capabilities), the HTTP
routes in ``api`` and the commands in ``cli``; they are not imported here, so that
importing this package stays light. What is re-exported are the domain types their
arguments and results are made of.
"""

from orchestrate.stories.models import (
    UNSET,
    AcceptanceCriterion,
    Epic,
    EpicChanges,
    EpicOutline,
    EpicOverview,
    EpicStatus,
    ImportSummary,
    Priority,
    Story,
    StoryChanges,
    StoryDraft,
    StoryOutline,
    StoryStatus,
)

__all__ = [
    "UNSET",
    "AcceptanceCriterion",
    "Epic",
    "EpicChanges",
    "EpicOutline",
    "EpicOverview",
    "EpicStatus",
    "ImportSummary",
    "Priority",
    "Story",
    "StoryChanges",
    "StoryDraft",
    "StoryOutline",
    "StoryStatus",
]
