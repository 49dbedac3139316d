"""Repositories: their names, where their work tree is, and where they came from.

A repository is known by ``OWNER/NAME`` as its forge spells it (``octo/app``). Names
compare case-insensitively, as GitHub and GitLab treat them, so ``Octo/App`` and
``octo/app`` are one repository; the spelling first registered is the one shown.

A registered repository comes from one of two places:

- the registry table (``orchestrate repo add``): a path used as it is, or a URL cloned
  into ``$ORCHESTRATE_HOME/repositories/<owner>/<name>`` (``is_cloned``);
- the seed, the setting ``ORCHESTRATE_GITHUB_REPOSITORIES`` (``{"owner/name": path}``),
  merged in whenever the registry is read (``is_seed``). A registered entry of the
  same name wins over the seed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Final

from orchestrate.core.errors import ValidationFailed

SEED_SETTING: Final = "ORCHESTRATE_GITHUB_REPOSITORIES"
NAME_MAX_LENGTH: Final = 200
DEFAULT_REMOTE: Final = "origin"

# Owners and names on GitHub and GitLab: letters, digits, '.', '-' and '_'; a part may
# not be '.' or '..' (it becomes a directory of the clone cache) nor start with '-'.
_PART = r"[A-Za-z0-9_][A-Za-z0-9._-]{0,99}"
_NAME = re.compile(rf"({_PART})/({_PART})")
_REMOTE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._/-]{0,99}")
_BRANCH_FORBIDDEN = re.compile(r"[\s~^:?*\[\\]|\.\.|@\{|//|/\.|\.lock$|^/|/$|\.$")


class Forge(StrEnum):
    """Where a repository's pull requests and issues live."""

    GITHUB = "github"
    GITLAB = "gitlab"


class EdgeSource(StrEnum):
    """How a dependency between two repositories is known."""

    DECLARED = "declared"
    DETECTED = "detected"


@dataclass(frozen=True)
class Repository:
    """One registered repository, from the table or from the seed setting.

    ``path`` is the work tree agents start from. ``url`` is what was cloned (a cloned
    repository) or the remote's URL when it was registered (a path); ``None`` for a
    repository without that remote and for seeds. ``default_branch`` is ``None`` only
    for a seed whose branch could not be read.
    """

    name: str
    forge: Forge
    path: Path
    remote: str
    default_branch: str | None
    url: str | None = None
    is_cloned: bool = False
    is_seed: bool = False
    depends_on: tuple[str, ...] = ()
    created_at: datetime | None = None

    @property
    def key(self) -> str:
        return name_key(self.name)


@dataclass(frozen=True)
class NewRepository:
    """What ``repo add`` asks for; ``source`` is a local path or a URL to clone."""

    source: str
    name: str
    forge: Forge = Forge.GITHUB
    remote: str = DEFAULT_REMOTE
    default_branch: str | None = None
    depends_on: tuple[str, ...] = ()


@dataclass(frozen=True)
class Evidence:
    """Why a detected edge exists: which manifest of the dependent names what."""

    manifest: str
    dependency: str


@dataclass(frozen=True)
class Edge:
    """``repository`` depends on ``depends_on``; merge and release ``depends_on`` first."""

    repository: str
    depends_on: str
    source: EdgeSource
    evidence: tuple[Evidence, ...] = ()


@dataclass(frozen=True)
class RepositoryGraph:
    """The dependency graph of every registered repository.

    ``order`` lists every repository, dependencies before their dependents; the
    members of a cycle cannot be ordered, so they stand together (by name) where the
    cycle as a whole belongs, and ``cycles`` names each such group.
    """

    nodes: tuple[str, ...]
    edges: tuple[Edge, ...]
    order: tuple[str, ...]
    cycles: tuple[tuple[str, ...], ...] = field(default=())
    warnings: tuple[str, ...] = field(default=())

    @property
    def has_cycles(self) -> bool:
        return bool(self.cycles)


def name_key(name: str) -> str:
    """The case-insensitive identity of ``owner/name``."""
    return name.casefold()


def check_name(name: str) -> str:
    """``name`` stripped, or ``ValidationFailed`` saying what a name looks like."""
    candidate = name.strip()
    match = _NAME.fullmatch(candidate)
    if match is None or any(part in {".", ".."} for part in match.groups()):
        raise ValidationFailed(
            f"Invalid repository name {name!r}: use OWNER/NAME as the forge spells it "
            "(letters, digits, '.', '-', '_'), e.g. octo/app",
            field="name",
            name=name,
        )
    return candidate


def owner_and_name(name: str) -> tuple[str, str]:
    owner, _, repository = check_name(name).partition("/")
    return owner, repository


def check_forge(forge: str) -> Forge:
    try:
        return Forge(forge.strip().lower())
    except ValueError:
        known = ", ".join(f.value for f in Forge)
        raise ValidationFailed(
            f"Unknown forge {forge!r}: use one of {known}", field="forge", forge=forge
        ) from None


def check_remote(remote: str) -> str:
    if not _REMOTE.fullmatch(remote) or ".." in remote:
        raise ValidationFailed(
            f"Invalid remote name {remote!r}: use a git remote name such as origin",
            field="remote",
            remote=remote,
        )
    return remote


def check_branch(branch: str) -> str:
    """``branch`` unchanged when git would accept it as a branch name."""
    if not branch or branch.startswith("-") or _BRANCH_FORBIDDEN.search(branch):
        raise ValidationFailed(
            f"Invalid branch name {branch!r}: use a git branch name such as main",
            field="default_branch",
            branch=branch,
        )
    return branch
