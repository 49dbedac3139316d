"""Each peer in a virtual environment of its own, made once under the user's cache.

The peers pin versions of pydantic, SQLAlchemy, uvicorn and others that need not agree
with ours, so they never enter our ``.venv``: each gets
``~/.cache/orchestrate-bench-peers/<peer>`` (``$XDG_CACHE_HOME`` is honoured), created
with ``python -m venv`` from the interpreter running the benchmark and filled with
``pip install <peer>==<pin>``. A venv whose peer already has the pinned version is
reused as it is; a missing or different version is (re)installed.

    .venv/bin/python bench/peers/_venvs.py [pgqueuer] [huey] [prefect]

makes them ahead of a benchmark (all three without arguments); the benchmarks call
``ensure`` themselves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

INSTALL_TIMEOUT_SECONDS = 1800  # prefect and its dependencies are ~250 MB


@dataclass(frozen=True)
class Peer:
    distribution: str
    version: str
    extras: tuple[str, ...] = ()

    @property
    def requirement(self) -> str:
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        return f"{self.distribution}{extras}=={self.version}"


PEERS = {
    # asyncpg is the driver of its documented consumer (AsyncpgDriver); uvloop, which
    # `pgq run` uses, is one of its own dependencies.
    "pgqueuer": Peer("pgqueuer", "1.6.0", extras=("asyncpg",)),
    "huey": Peer("huey", "3.5.4"),
    # brings its server, SQLite and PostgreSQL (asyncpg) support along
    "prefect": Peer("prefect", "3.9.1"),
}


def venv_dir(name: str) -> Path:
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "orchestrate-bench-peers" / name


def installed_version(python: Path, distribution: str) -> str | None:
    if not python.exists():
        return None
    probe = f"import importlib.metadata as m; print(m.version({distribution!r}))"
    done = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, timeout=60)
    return done.stdout.strip() if done.returncode == 0 else None


def ensure(name: str) -> Path:
    """The python of ``name``'s venv, with the pinned version installed."""
    peer = PEERS[name]
    venv = venv_dir(name)
    python = venv / "bin" / "python"
    if installed_version(python, peer.distribution) == peer.version:
        return python
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    print(f"Installing {peer.requirement} into {venv}", file=sys.stderr, flush=True)
    command = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*command, peer.requirement], check=True, timeout=INSTALL_TIMEOUT_SECONDS)
    found = installed_version(python, peer.distribution)
    if found != peer.version:
        raise RuntimeError(f"{venv} has {peer.distribution} {found}, not {peer.version}")
    return python


def main() -> None:
    for name in sys.argv[1:] or list(PEERS):
        if name not in PEERS:
            raise SystemExit(f"Unknown peer {name!r}; one of {', '.join(PEERS)}")
        print(f"{name}: {ensure(name)}")


if __name__ == "__main__":
    main()
