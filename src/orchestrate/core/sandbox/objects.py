"""Move git objects a sandboxed command wrote into the repository's shared object store.

Inside the sandbox a worktree's ``objects/`` is a private directory, with the shared
store as a read-only alternate: a command can add objects but never delete or replace
one the user's repository holds. Once the command has ended, what it added is adopted
here, by the server, on git's own terms and nothing else's:

- a loose object is decompressed and hashed; only one whose content matches its name
  is copied, so a command cannot plant content under a name some later commit of the
  user's will take as already stored;
- a pack is copied and indexed by ``git index-pack --strict``, which computes every
  object's name from its content and checks its links, as it does for a fetch;
- everything is read through directory descriptors opened with ``O_NOFOLLOW``: a
  symbolic link the command left in its store leads nowhere.

The private copies are deleted afterwards, so each command starts with an empty store.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import zlib
from pathlib import Path
from typing import BinaryIO

import structlog

from orchestrate.core.sandbox.host_git import run_git

log = structlog.get_logger(__name__)

_FANOUT = re.compile(r"[0-9a-f]{2}")
_LOOSE_NAME = re.compile(r"[0-9a-f]{38}|[0-9a-f]{62}")
_PACK_NAME = re.compile(r"pack-[0-9a-f]{40,64}\.pack")
_OBJECT_TYPES = {b"blob", b"tree", b"commit", b"tag"}
_CHUNK = 1024 * 1024
_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW


class _Rejected(Exception):
    """A file in the private store that is not a well-formed object of its name."""


def adopt_objects(private: Path, shared: Path, *, max_object_bytes: int) -> int:
    """Copy the valid objects of ``private`` into ``shared``; returns how many were new."""
    try:
        store = os.open(private, _DIRECTORY_FLAGS)
    except OSError:
        return 0  # missing, or replaced by a link: nothing to adopt
    try:
        adopted = 0
        for entry in os.scandir(store):
            if _FANOUT.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                adopted += _adopt_fanout(store, entry.name, shared, max_object_bytes)
            elif entry.name == "pack" and entry.is_dir(follow_symlinks=False):
                adopted += _adopt_packs(store, shared)
        return adopted
    finally:
        os.close(store)


def _adopt_fanout(store: int, prefix: str, shared: Path, max_object_bytes: int) -> int:
    directory = os.open(prefix, _DIRECTORY_FLAGS, dir_fd=store)
    adopted = 0
    try:
        for entry in os.scandir(directory):
            if _LOOSE_NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                try:
                    adopted += _adopt_loose(
                        directory, prefix, entry.name, shared / prefix, max_object_bytes
                    )
                except (_Rejected, OSError, zlib.error) as error:
                    log.warning(
                        "sandbox_object_rejected", name=prefix + entry.name, reason=str(error)
                    )
            with contextlib.suppress(OSError):
                os.unlink(entry.name, dir_fd=directory)
    finally:
        os.close(directory)
    return adopted


def _adopt_loose(directory: int, prefix: str, name: str, target: Path, limit: int) -> int:
    """Verify one loose object while copying it; link it into place if it is new."""
    final = target / name
    if final.exists():
        return 0
    # Copied next to the fan-out directories first: nothing appears there unverified.
    temporary = target.parent / f"tmp_obj_{secrets.token_hex(8)}"
    source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=directory)
    try:
        with os.fdopen(source, "rb", closefd=False) as reader, temporary.open("xb") as writer:
            digest = _copy_verifying(reader, writer, len(prefix + name), limit)
        if digest != prefix + name:
            raise _Rejected(f"its content hashes to {digest}")
        temporary.chmod(0o444)
        target.mkdir(exist_ok=True)
        try:
            os.link(temporary, final)
        except FileExistsError:
            return 0
        return 1
    finally:
        os.close(source)
        temporary.unlink(missing_ok=True)


def _copy_verifying(reader: BinaryIO, writer: BinaryIO, name_length: int, limit: int) -> str:
    """Copy compressed bytes while hashing what they decompress to; return the hex name."""
    hasher = hashlib.sha1(usedforsecurity=False) if name_length == 40 else hashlib.sha256()
    inflater = zlib.decompressobj()
    header = b""
    total = 0
    while chunk := reader.read(_CHUNK):
        writer.write(chunk)
        data = inflater.decompress(chunk, _CHUNK)  # bounded: a small file may inflate hugely
        while data:
            total += len(data)
            if total > limit + 64:
                raise _Rejected(f"it inflates past {limit} bytes")
            if b"\0" not in header:
                header += data[:64]
            hasher.update(data)
            data = inflater.decompress(inflater.unconsumed_tail, _CHUNK)
    if not inflater.eof or inflater.unused_data:
        raise _Rejected("its compressed data is cut short or followed by more")
    kind, _, size = header.partition(b"\0")[0].partition(b" ")
    if kind not in _OBJECT_TYPES or not size.isdigit():
        raise _Rejected("it has no valid object header")
    if total - len(kind) - len(size) - 2 != int(size):
        raise _Rejected("its length differs from its header")
    return hasher.hexdigest()


def _adopt_packs(store: int, shared: Path) -> int:
    directory = os.open("pack", _DIRECTORY_FLAGS, dir_fd=store)
    adopted = 0
    try:
        for entry in os.scandir(directory):
            if _PACK_NAME.fullmatch(entry.name) and entry.is_file(follow_symlinks=False):
                try:
                    adopted += _adopt_pack(directory, entry.name, shared)
                except (_Rejected, OSError) as error:
                    log.warning("sandbox_pack_rejected", name=entry.name, reason=str(error))
            with contextlib.suppress(OSError):
                os.unlink(entry.name, dir_fd=directory)
    finally:
        os.close(directory)
    return adopted


def _adopt_pack(directory: int, name: str, shared: Path) -> int:
    """Copy a pack next to the shared ones and let git index it from its content."""
    packs = shared / "pack"
    packs.mkdir(exist_ok=True)
    temporary = packs / f"tmp_pack_{secrets.token_hex(8)}.pack"
    index = temporary.with_suffix(".idx")
    source = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=directory)
    try:
        with os.fdopen(source, "rb", closefd=False) as reader, temporary.open("xb") as writer:
            while chunk := reader.read(_CHUNK):
                writer.write(chunk)
        checksum = _index_pack(shared.parent, temporary, index)
        final = packs / f"pack-{checksum}"
        if final.with_suffix(".pack").exists():
            return 0
        temporary.chmod(0o444)
        index.chmod(0o444)
        # The index goes last: git only looks at packs that have one.
        os.rename(temporary, final.with_suffix(".pack"))
        os.rename(index, final.with_suffix(".idx"))
        return 1
    finally:
        os.close(source)
        temporary.unlink(missing_ok=True)
        index.unlink(missing_ok=True)


def _index_pack(git_dir: Path, pack: Path, index: Path) -> str:
    result = run_git(
        git_dir, "index-pack", "--strict", "--no-rev-index", "-o", str(index), str(pack)
    )
    checksum = result.stdout.strip().split("\t")[-1]
    if result.returncode != 0 or not re.fullmatch(r"[0-9a-f]{40,64}", checksum):
        raise _Rejected(result.stderr.strip() or f"git index-pack exited {result.returncode}")
    return checksum
