"""Hostile exports: huge members, too many members, non-record members, bombs."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from orchestrate.core.errors import ValidationFailed
from orchestrate.security.advisories.archive import ArchiveLimits, read_documents

RECORD = {"id": "X-1", "modified": "2024-01-01T00:00:00Z"}


def make_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def test_records_are_read_from_a_zip_and_other_members_skipped(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "all.zip",
        {
            "X-1.json": json.dumps(RECORD).encode(),
            "README.md": b"# not a record",
            "../../etc/evil.json": json.dumps(RECORD | {"id": "X-2"}).encode(),
            "broken.json": b"{not json",
        },
    )

    documents = list(read_documents(archive))

    by_name = {d.name: d for d in documents}
    assert by_name["X-1.json"].content == RECORD
    assert by_name["README.md"].skipped == "not a .json or .yaml record"
    assert by_name["broken.json"].skipped is not None
    assert by_name["../../etc/evil.json"].content == RECORD | {"id": "X-2"}  # read, never written
    assert not (tmp_path.parent / "etc").exists()


def test_a_member_larger_than_the_limit_is_skipped_without_decompressing_it(tmp_path: Path) -> None:
    bomb = b"{" + b" " * (50 * 1024 * 1024) + b"}"  # 50 MiB of spaces compress to ~50 KiB
    archive = make_zip(
        tmp_path / "all.zip", {"bomb.json": bomb, "X-1.json": json.dumps(RECORD).encode()}
    )

    documents = list(read_documents(archive, ArchiveLimits(max_member_bytes=1024 * 1024)))

    assert [d.skipped is None for d in documents] == [False, True]
    assert "larger than" in (documents[0].skipped or "")


def test_a_member_whose_header_lies_about_its_size_is_still_bounded(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "all.zip", {"big.json": b"[" + b"1," * 600_000 + b"1]"})
    with zipfile.ZipFile(archive, "a") as handle:
        handle.getinfo("big.json").file_size = 10  # what a hostile header would say
    limits = ArchiveLimits(max_member_bytes=100_000)

    documents = list(read_documents(archive, limits))

    assert documents[0].content is None


def test_too_many_members_stop_the_import(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "all.zip", {f"X-{n}.json": b"{}" for n in range(50)})

    with pytest.raises(ValidationFailed, match="50 entries"):
        list(read_documents(archive, ArchiveLimits(max_members=10)))


def test_a_folder_of_records_skips_git_and_symbolic_links(tmp_path: Path) -> None:
    (tmp_path / "vulns" / "requests").mkdir(parents=True)
    (tmp_path / "vulns" / "requests" / "PYSEC-1.yaml").write_text(
        "id: PYSEC-1\nmodified: '2024-01-01T00:00:00Z'\n"
    )
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "X.json").write_text("{}")
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    outside.write_text(json.dumps(RECORD))
    (tmp_path / "vulns" / "link.json").symlink_to(outside)

    documents = list(read_documents(tmp_path))

    assert [(d.name, d.skipped) for d in documents] == [
        ("vulns/link.json", "a symbolic link"),
        ("vulns/requests/PYSEC-1.yaml", None),
    ]
    assert documents[1].content == {"id": "PYSEC-1", "modified": "2024-01-01T00:00:00Z"}


def test_a_yaml_alias_bomb_record_is_skipped(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for level in range(1, 9):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * 9)}]")
    (tmp_path / "BOMB.yaml").write_text("\n".join(lines) + "\n")

    [document] = list(read_documents(tmp_path))

    assert document.content is None
    assert document.skipped is not None


def test_a_path_that_is_no_export_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")

    with pytest.raises(ValidationFailed, match="not an OSV export"):
        list(read_documents(tmp_path / "notes.txt"))
