"""Builders of OSV records and exports for the database tests."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parents[3] / "fixtures" / "security"
OSV = FIXTURES / "osv"
LOCKFILES = FIXTURES / "lockfiles"


def record(
    advisory_id: str,
    *,
    name: str = "pkg",
    ecosystem: str = "PyPI",
    modified: str = "2024-01-01T00:00:00Z",
    fixed: str = "2.0",
    introduced: str = "0",
    **extra: Any,
) -> dict[str, Any]:
    return {
        "id": advisory_id,
        "modified": modified,
        "summary": f"summary of {advisory_id}",
        "affected": [
            {
                "package": {"ecosystem": ecosystem, "name": name},
                "ranges": [
                    {"type": "ECOSYSTEM", "events": [{"introduced": introduced}, {"fixed": fixed}]}
                ],
            }
        ],
        **extra,
    }


def write_zip(path: Path, records: list[dict[str, Any]]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in records:
            archive.writestr(f"{item['id']}.json", json.dumps(item))
    return path


def fixture_export(tmp_path: Path) -> Path:
    """The OSV fixture folder as a zip, as OSV publishes exports."""
    target = tmp_path / "fixtures.zip"
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(OSV.iterdir()):
            archive.write(path, path.name)
    return target


def copy_folder(tmp_path: Path) -> Path:
    target = tmp_path / "advisory-database"
    shutil.copytree(OSV, target)
    return target
