"""The real test runners these tests drive, found or skipped with the reason.

``.ci/run`` installs them (``make test-tools`` for the Node ones); on a machine without
one, its tests are skipped saying what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

import pytest

# Where ``make test-tools`` installs Jest, mocha and mocha-junit-reporter with npm.
NODE_TOOLS = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "orchestrate-test-tools"
    / "node"
)
# Debian's maven-repo-helper layout: plugins installed by apt, usable with ``mvn -o``.
DEBIAN_MAVEN_REPO = Path("/usr/share/maven-repo")
MAVEN_PLUGINS = ("maven-resources-plugin", "maven-compiler-plugin", "maven-surefire-plugin")


def require_executable(name: str, *, also: tuple[Path, ...] = (), install: str) -> str:
    """The path of ``name`` (on PATH or in one of ``also``), or skip the test."""
    found = shutil.which(name)
    if found is None:
        found = next((str(p / name) for p in also if (p / name).is_file()), None)
    if found is None:
        pytest.skip(f"{name} is not installed ({install})")
    return found


def require_node_tool(name: str) -> Path:
    """A Node tool installed by ``make test-tools``, or skip the test."""
    require_executable("node", install="apt-get install nodejs")
    tool = NODE_TOOLS / "node_modules" / ".bin" / name
    if not tool.exists():
        pytest.skip(f"{name} is not installed in {NODE_TOOLS} (run `make test-tools`)")
    return tool


def require_surefire() -> tuple[str, dict[str, str]]:
    """``mvn`` and the versions of the plugins Debian installed (for an offline build), or skip."""
    mvn = require_executable("mvn", install="apt-get install maven; .ci/run does it")
    versions = {name: installed_plugin(name) for name in MAVEN_PLUGINS}
    missing = [name for name, version in versions.items() if version is None]
    if missing or not (DEBIAN_MAVEN_REPO / "junit" / "junit").is_dir():
        pytest.skip(
            f"{', '.join(missing) or 'junit4'} not in {DEBIAN_MAVEN_REPO} (apt-get install "
            "libsurefire-java junit4 libmaven-compiler-plugin-java "
            "libmaven-resources-plugin-java; .ci/run does it)"
        )
    return mvn, {name: version for name, version in versions.items() if version is not None}


def installed_plugin(name: str) -> str | None:
    """The newest version of a Maven plugin whose jar Debian installed (others are poms)."""
    folder = DEBIAN_MAVEN_REPO / "org" / "apache" / "maven" / "plugins" / name
    versions = [jar.parent.name for jar in folder.glob(f"*/{name}-*.jar")]
    return max(versions, key=_version_key, default=None)


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(part) if part.isdigit() else -1 for part in version.split("."))


def run(
    argv: list[str], cwd: Path, env: Mapping[str, str] | None = None, timeout: float = 240
) -> str:
    """What the tool printed, stdout and stderr interleaved as on a CI log (cargo announces
    each test binary on stderr); a failing test run is expected, not an error."""
    completed = subprocess.run(
        argv,
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )
    return completed.stdout


def write_tree(root: Path, files: Mapping[str, str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return root
