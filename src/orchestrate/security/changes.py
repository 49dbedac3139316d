"""What ``security scan --diff REF`` reads: the changes since a ref, as one unified diff.

``git diff REF`` shows the committed, staged and unstaged changes to tracked files; a
file not yet added is in none of them, yet it is exactly where a new secret sits before
a first commit. Untracked files (those ``.gitignore`` does not exclude) are therefore
appended as wholly added files. Paths are relative to the scanned folder, also when it
lies inside the repository.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.processes import start_process

MAX_UNTRACKED_BYTES = 5 * 1024 * 1024
"""An untracked file larger than this is left out (the tree scan's own default limit)."""


async def changes_since(root: Path, base: str) -> str:
    """The unified diff (no context lines) of ``root`` against ``base``, untracked files
    included as added."""
    if base.startswith("-"):
        raise ValidationFailed(f"A diff base is a git ref, not an option: {base!r}")
    tracked = await _git(
        root,
        ["diff", "--no-color", "--no-ext-diff", "--unified=0", "--relative", base, "--"],
        f"Cannot diff {root} against {base!r}",
    )
    listed = await _git(
        root,
        ["ls-files", "--others", "--exclude-standard", "-z", "--", "."],
        f"Cannot list the untracked files of {root}",
    )
    names = [name for name in listed.split(b"\0") if name]
    added = await asyncio.to_thread(_as_added, root, names)
    return tracked.decode("utf-8", "replace") + added


async def file_at(root: Path, base: str, name: str) -> str | None:
    """The text of ``root/name`` as it is at ``base`` (None when it is not there)."""
    if base.startswith("-"):
        raise ValidationFailed(f"A diff base is a git ref, not an option: {base!r}")
    code, out, _ = await _run_git(root, ["show", f"{base}:./{name}"])
    return out.decode("utf-8", "replace") if code == 0 else None


def _as_added(root: Path, names: list[bytes]) -> str:
    parts: list[str] = []
    for raw in names:
        name = raw.decode("utf-8", "surrogateescape")
        path = root / name
        try:
            if path.is_symlink() or not path.is_file():
                continue
            if path.stat().st_size > MAX_UNTRACKED_BYTES:
                continue
            data = path.read_bytes()
        except OSError:
            continue
        if b"\0" in data[:8192]:
            continue  # binary
        lines = data.decode("utf-8", "replace").splitlines()
        if not lines:
            continue
        parts.append(f"diff --git a/{name} b/{name}\nnew file mode 100644\n")
        parts.append(f"--- /dev/null\n+++ b/{name}\n@@ -0,0 +1,{len(lines)} @@\n")
        parts.extend(f"+{line}\n" for line in lines)
    return "".join(parts)


async def _git(root: Path, arguments: list[str], failure: str) -> bytes:
    code, out, err = await _run_git(root, arguments)
    if code != 0:
        message = err.decode("utf-8", "replace").strip()[:500]
        raise ValidationFailed(f"{failure}: {message}")
    return out


async def _run_git(root: Path, arguments: list[str]) -> tuple[int, bytes, bytes]:
    process = await start_process(
        ["git", "-C", str(root), *arguments],
        cwd=None,
        env=dict(os.environ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode or 0, out, err
