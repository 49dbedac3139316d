"""Adopting a sandboxed command's git objects: only well-formed objects under their own name."""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import pytest

from orchestrate.core.sandbox.objects import adopt_objects
from tests.integration.core.sandbox.conftest import git, make_repository


@pytest.fixture
def shared(tmp_path: Path) -> Path:
    return make_repository(tmp_path / "repo") / ".git" / "objects"


@pytest.fixture
def private(tmp_path: Path) -> Path:
    store = tmp_path / "private"
    store.mkdir()
    return store


def loose(store: Path, body: bytes, *, kind: bytes = b"blob", name: str | None = None) -> str:
    raw = kind + b" " + str(len(body)).encode() + b"\0" + body
    name = name or hashlib.sha1(raw, usedforsecurity=False).hexdigest()
    (store / name[:2]).mkdir(exist_ok=True)
    (store / name[:2] / name[2:]).write_bytes(zlib.compress(raw))
    return name


def test_a_valid_object_is_adopted_and_its_private_copy_removed(
    shared: Path, private: Path
) -> None:
    name = loose(private, b"new work\n")

    adopted = adopt_objects(private, shared, max_object_bytes=1024)

    assert adopted == 1
    assert git(shared.parent, "cat-file", "-p", name) == "new work\n"
    assert (shared / name[:2] / name[2:]).stat().st_mode & 0o777 == 0o444
    assert not (private / name[:2] / name[2:]).exists()


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda store: loose(store, b"x", name="ab" * 20), id="false name"),
        pytest.param(lambda store: loose(store, b"x", kind=b"virus"), id="unknown type"),
        pytest.param(
            lambda store: _write(store, "cd" * 20, zlib.compress(b"blob 9\0short")),
            id="length differs from header",
        ),
        pytest.param(
            lambda store: _write(store, "ef" * 20, zlib.compress(b"blob 1\0x")[:-3]),
            id="cut short",
        ),
        pytest.param(lambda store: _write(store, "01" * 20, b"not zlib"), id="not compressed"),
    ],
)
def test_a_malformed_object_is_dropped(shared: Path, private: Path, forge: object) -> None:
    assert callable(forge)
    forge(private)
    before = sorted(path.name for path in shared.rglob("*"))

    adopted = adopt_objects(private, shared, max_object_bytes=1024)

    assert adopted == 0
    assert sorted(path.name for path in shared.rglob("*")) == before
    assert not any(path.is_file() for path in private.rglob("*"))


def test_an_object_inflating_past_the_limit_is_dropped(shared: Path, private: Path) -> None:
    name = loose(private, b"\0" * 10_000_000)  # 10 MB of zeros compress to ~10 kB

    assert adopt_objects(private, shared, max_object_bytes=1024 * 1024) == 0
    assert not (shared / name[:2] / name[2:]).exists()


def test_links_in_the_private_store_are_not_followed(
    shared: Path, private: Path, tmp_path: Path
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / ("ab" * 19)).write_text("keep me")
    (private / "ab").symlink_to(victim)
    first = next(shared.glob("[0-9a-f][0-9a-f]"))
    (private / first.name).symlink_to(first)  # adopting would unlink the real objects
    (private / "pack").symlink_to(victim)

    adopt_objects(private, shared, max_object_bytes=1024)

    assert (victim / ("ab" * 19)).read_text() == "keep me"
    assert any(first.iterdir())


def test_a_missing_or_linked_store_adopts_nothing(shared: Path, tmp_path: Path) -> None:
    link = tmp_path / "linked"
    link.symlink_to(shared)

    assert adopt_objects(tmp_path / "absent", shared, max_object_bytes=1024) == 0
    assert adopt_objects(link, shared, max_object_bytes=1024) == 0
    assert any(shared.glob("[0-9a-f][0-9a-f]/*"))


def _write(store: Path, name: str, data: bytes) -> str:
    (store / name[:2]).mkdir(exist_ok=True)
    (store / name[:2] / name[2:]).write_bytes(data)
    return name
