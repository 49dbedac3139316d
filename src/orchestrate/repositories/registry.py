"""Reading the registry: the table's rows and the seed setting, merged when read.

The seed (``ORCHESTRATE_GITHUB_REPOSITORIES``, ``{"owner/name": "/path/to/clone"}``) is
never copied into the table. It is merged in on every read, so changing the setting
takes effect at the next read and no stale copy outlives it; a registered repository
of the same name (case-insensitively) takes its place. Seeds are GitHub repositories
with the remote ``origin``; they cannot be removed with ``repo remove`` (edit the
setting), but they can be ends of declared dependencies.

:class:`RepositoryIndex` is the registry as other capabilities consult it on hot paths
(webhook routing): one read of the table, no git.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from orchestrate.core.errors import NotFound
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork
from orchestrate.repositories import _store as store
from orchestrate.repositories.models import (
    DEFAULT_REMOTE,
    Forge,
    Repository,
    name_key,
)
from orchestrate.repositories.tables import RepositoryRow

CACHE_DIR_NAME = "repositories"


@dataclass(frozen=True)
class RepositoryIndex:
    """Every registered repository, for lookups by name (case-insensitive)."""

    repositories: tuple[Repository, ...] = ()

    def names(self, forge: Forge | str | None = None) -> list[str]:
        """The names of the repositories on ``forge`` (all of them without one)."""
        return [r.name for r in self.repositories if forge is None or r.forge.value == forge]

    def find(self, name: str, forge: Forge | str | None = None) -> Repository | None:
        """The repository ``name`` (case-insensitive), on ``forge`` when one is given."""
        wanted = name_key(name)
        return next(
            (
                r
                for r in self.repositories
                if r.key == wanted and (forge is None or r.forge.value == forge)
            ),
            None,
        )

    def at_path(self, path: Path) -> Repository | None:
        """The repository whose work tree is ``path`` (both resolved), if one is registered."""
        wanted = path.expanduser().resolve()
        return next((r for r in self.repositories if r.path.resolve() == wanted), None)

    def local_clone(self, name: str, forge: Forge | str | None = None) -> Path | None:
        """The work tree agents start from for ``name``, if it is registered."""
        found = self.find(name, forge)
        return None if found is None else found.path


def cache_root(settings: Settings) -> Path:
    """Where URLs are cloned: ``$ORCHESTRATE_HOME/repositories``."""
    return settings.home / CACHE_DIR_NAME


def seeded(settings: Settings) -> list[Repository]:
    """The repositories of the seed setting, as GitHub repositories."""
    return [
        Repository(
            name=name.strip(),
            forge=Forge.GITHUB,
            path=path,
            remote=DEFAULT_REMOTE,
            default_branch=None,
            is_seed=True,
        )
        for name, path in settings.github_repositories.items()
    ]


def seed_index(settings: Settings) -> RepositoryIndex:
    """The seed alone, as an index (what the registry holds before anything is added)."""
    return RepositoryIndex(tuple(_merged([], settings, [])))


def to_repository(row: RepositoryRow, depends_on: Sequence[str] = ()) -> Repository:
    return Repository(
        name=row.name,
        forge=Forge(row.forge),
        path=Path(row.path),
        remote=row.remote,
        default_branch=row.default_branch,
        url=row.url,
        is_cloned=row.is_cloned,
        depends_on=tuple(depends_on),
        created_at=row.created_at,
    )


async def read_registry(uow: UnitOfWork, settings: Settings) -> list[Repository]:
    """Every registered repository, seeds merged in, by name key (``uow`` entered)."""
    rows = await store.all_rows(uow)
    declared = await store.all_dependencies(uow)
    return _merged(rows, settings, declared)


def _merged(
    rows: Iterable[RepositoryRow], settings: Settings, declared: Sequence[tuple[str, str]]
) -> list[Repository]:
    found: dict[str, Repository] = {}
    for seed in seeded(settings):
        found.setdefault(seed.key, seed)
    for row in rows:
        found[row.name_key] = to_repository(row)
    names = {key: repository.name for key, repository in found.items()}
    merged: list[Repository] = []
    for key in sorted(found):
        depends_on = tuple(
            names[target] for source, target in declared if source == key and target in names
        )
        merged.append(replace(found[key], depends_on=depends_on))
    return merged


def require(index: RepositoryIndex, name: str) -> Repository:
    """``name`` from ``index``, or ``NotFound`` pointing at ``repo list``."""
    found = index.find(name.strip())
    if found is None:
        raise NotFound(
            f"No repository named {name.strip()!r} is registered; see 'orchestrate repo list'",
            name=name,
        )
    return found
