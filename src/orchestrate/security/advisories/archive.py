"""OSV records read out of an export: a zip (``all.zip``, one JSON file per record) or
a folder of ``.json``/``.yaml``/``.yml`` records (a clone of an advisory database).

Exports are hostile input. From a zip we only ever read members into memory, never
extract, so member names cannot escape anywhere; each member is read through a bounded
decompressing reader (a header that lies about its size gains nothing), members above
``max_member_bytes`` or of other types are skipped and counted, and more than
``max_members`` entries stop the import. A folder is walked without following symbolic
links and without entering ``.git``. YAML goes through ``core.bounded_yaml``.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ruamel.yaml.error import YAMLError

from orchestrate.core.bounded_yaml import YamlLimits, load_bounded
from orchestrate.core.errors import ValidationFailed

RECORD_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    max_member_bytes: int = 4 * 1024 * 1024
    max_members: int = 2_000_000


DEFAULT_LIMITS = ArchiveLimits()


@dataclass(frozen=True, slots=True)
class Document:
    """One member's parsed content, or why it was skipped (``content`` is then None)."""

    name: str
    content: object = None
    skipped: str | None = None


def read_documents(path: Path, limits: ArchiveLimits = DEFAULT_LIMITS) -> Iterator[Document]:
    """Every record document of the export at ``path`` (a zip file or a folder)."""
    if path.is_dir():
        yield from _folder(path, limits)
    elif path.is_file() and zipfile.is_zipfile(path):
        yield from _zip(path, limits)
    elif path.is_file() and path.suffix.lower() in RECORD_SUFFIXES:
        yield _parse(path.name, _read_bounded_file(path, limits))
    else:
        raise ValidationFailed(
            f"{path} is not an OSV export: give a zip (such as OSV's all.zip), a folder "
            "of .json/.yaml records, or one record file.",
            path=str(path),
        )


def _zip(path: Path, limits: ArchiveLimits) -> Iterator[Document]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ValidationFailed(f"{path} is not a readable zip: {error}", path=str(path)) from error
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            raise ValidationFailed(
                f"{path} holds {len(members)} entries, more than the {limits.max_members} an "
                "OSV export may have; check that it is the export you meant.",
                path=str(path),
            )
        for member in members:
            if member.is_dir():
                continue
            name = member.filename
            if PurePosixPath(name).suffix.lower() not in RECORD_SUFFIXES:
                yield Document(name, skipped="not a .json or .yaml record")
                continue
            if member.file_size > limits.max_member_bytes:
                yield Document(name, skipped=f"larger than {limits.max_member_bytes} bytes")
                continue
            try:
                with archive.open(member) as stream:
                    data = stream.read(limits.max_member_bytes + 1)
            except (zipfile.BadZipFile, OSError, NotImplementedError, RuntimeError) as error:
                yield Document(name, skipped=f"unreadable: {error}")
                continue
            if len(data) > limits.max_member_bytes:
                yield Document(name, skipped=f"larger than {limits.max_member_bytes} bytes")
                continue
            yield _parse(name, data)


def _folder(root: Path, limits: ArchiveLimits) -> Iterator[Document]:
    seen = 0
    for directory, subdirectories, files in os.walk(root, followlinks=False):
        subdirectories[:] = sorted(d for d in subdirectories if d != ".git")
        for file_name in sorted(files):
            if PurePosixPath(file_name).suffix.lower() not in RECORD_SUFFIXES:
                continue
            seen += 1
            if seen > limits.max_members:
                raise ValidationFailed(
                    f"{root} holds more than {limits.max_members} record files; check that "
                    "it is the advisory database you meant.",
                    path=str(root),
                )
            file_path = Path(directory) / file_name
            name = file_path.relative_to(root).as_posix()
            if file_path.is_symlink():
                yield Document(name, skipped="a symbolic link")
                continue
            data = _read_bounded_file(file_path, limits)
            if data is None:
                yield Document(name, skipped=f"larger than {limits.max_member_bytes} bytes")
                continue
            yield _parse(name, data)


def _read_bounded_file(path: Path, limits: ArchiveLimits) -> bytes | None:
    with path.open("rb") as stream:
        data = stream.read(limits.max_member_bytes + 1)
    return None if len(data) > limits.max_member_bytes else data


def _parse(name: str, data: bytes | None) -> Document:
    if data is None:
        return Document(name, skipped="too large")
    try:
        if name.lower().endswith(".json"):
            return Document(name, json.loads(data))
        text = data.decode("utf-8")
        return Document(name, load_bounded(text, typ="safe", limits=_yaml_limits(len(data))))
    except (ValueError, RecursionError, YAMLError) as error:  # JSONDecodeError, UnicodeError
        return Document(name, skipped=f"not valid: {str(error).splitlines()[0][:200]}")


def _yaml_limits(size: int) -> YamlLimits:
    return YamlLimits(max_bytes=max(size, 1), max_depth=64, max_nodes=200_000)
