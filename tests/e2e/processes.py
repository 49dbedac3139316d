"""Real `orchestrate` processes for the end-to-end tests: serve, one-shot commands, SSE.

One place starts ``orchestrate serve`` and waits for ``/api/health``, so every e2e test
starts it the same way, gives it the same time to come up and reports the same error
(with serve's own stderr) when it does not.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import httpx

from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.core.uow import UnitOfWork

T = TypeVar("T")

ORCHESTRATE = [sys.executable, "-m", "orchestrate"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env(home: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any ORCHESTRATE_ setting, plus ``settings``.

    ``settings`` are given without their prefix: ``clean_env(home, LOG_LEVEL="warning")``.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRATE_")}
    env["ORCHESTRATE_HOME"] = str(home)
    env.update({f"ORCHESTRATE_{name}": value for name, value in settings.items()})
    return env


def engine_env(home: Path, engine_name: str, database_url: str, **settings: str) -> dict[str, str]:
    """``clean_env`` for the parametrised engine: PostgreSQL's URL when it is PostgreSQL,
    else nothing, so SQLite is the default file inside the home, as a user gets it."""
    env = clean_env(home, **settings)
    if engine_name == "postgresql":
        env["ORCHESTRATE_DATABASE_URL"] = database_url
    return env


def cli(
    env: dict[str, str], *args: str, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """One `orchestrate` command run to its end; never raises on a non-zero exit."""
    return subprocess.run(
        [*ORCHESTRATE, *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def read_database(env: dict[str, str], read: Callable[[UnitOfWork], Awaitable[T]]) -> T:
    """One read, in this process, of the database the commands run under ``env`` use.

    For polling: a look through a CLI subprocess costs a Python start-up (about 0.4 s of
    CPU), and on a 2-core machine back-to-back looks starve the very processes the test
    is waiting for.
    """

    async def main() -> T:
        settings = Settings(
            home=Path(env["ORCHESTRATE_HOME"]),
            database_url=env.get("ORCHESTRATE_DATABASE_URL"),
        )
        runtime = Runtime.open(settings)
        try:
            return await read(runtime.uow(read_only=True))
        finally:
            await runtime.close()

    return asyncio.run(main())


def create_token(env: dict[str, str], name: str, role: str) -> str:
    created = cli(env, "token", "create", "--name", name, "--role", role)
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


class Server:
    """``orchestrate serve`` in the background, healthy once the constructor returns.

    ``port`` is passed as ``--port``; without it the port comes from the environment
    (``ORCHESTRATE_PORT``), as a user's shell would set it. ``command`` replaces the
    ``python -m orchestrate`` prefix (the README test runs the installed ``orchestrate``).
    """

    def __init__(
        self,
        env: dict[str, str],
        port: int | None = None,
        *,
        args: Sequence[str] = (),
        command: Sequence[str] = ORCHESTRATE,
        cwd: Path | None = None,
        ready_within: float = 60,
    ) -> None:
        self.env = env
        argv = [*command, "serve", *args]
        if port is not None:
            argv += ["--port", str(port)]
        else:
            port = int(env["ORCHESTRATE_PORT"])
        self.url = f"http://127.0.0.1:{port}"
        self._output = _Output()
        self.process = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=self._output.stdout, stderr=self._output.stderr
        )
        try:
            self._wait_healthy(ready_within)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, ready_within: float) -> None:
        deadline = time.monotonic() + ready_within
        with httpx.Client(timeout=1) as http:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise AssertionError(f"serve exited early: {self._output.read()[1]}")
                try:
                    if http.get(f"{self.url}/api/health").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
        raise AssertionError(f"serve did not answer /api/health within {ready_within:g} s")

    def stop(self) -> tuple[int, str, str]:
        """SIGTERM (if still running), then its exit code, stdout and stderr."""
        return _stop(self.process, self._output)


class Background:
    """Any other `orchestrate` command (a worker, say) running in the background."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        self._output = _Output()
        self.process = subprocess.Popen(
            [*ORCHESTRATE, *args], env=env, stdout=self._output.stdout, stderr=self._output.stderr
        )

    def stop(self) -> tuple[int, str, str]:
        """SIGTERM (if still running), then its exit code, stdout and stderr."""
        return _stop(self.process, self._output)


class _Output:
    """A background process's stdout and stderr, in files rather than pipes.

    Nobody reads a background process's pipes while the test runs; a chatty serve
    would fill a 64 KiB pipe and block on its next log line.
    """

    def __init__(self) -> None:
        # They live as long as the process; _stop closes them.
        self.stdout = tempfile.TemporaryFile()  # noqa: SIM115
        self.stderr = tempfile.TemporaryFile()  # noqa: SIM115

    def read(self) -> tuple[str, str]:
        return _read(self.stdout), _read(self.stderr)


def _read(file: Any) -> str:
    file.seek(0)
    return str(file.read().decode(errors="replace"))


def _stop(process: subprocess.Popen[bytes], output: _Output) -> tuple[int, str, str]:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    stdout, stderr = output.read()
    output.stdout.close()
    output.stderr.close()
    return process.returncode, stdout, stderr


def sse(lines: Iterator[str]) -> Iterator[dict[str, Any]]:
    """The events of a Server-Sent Events stream as they arrive (comments skipped)."""
    event: dict[str, Any] = {}
    for line in lines:
        if not line:
            if "data" in event:
                yield event
            event = {}
        elif not line.startswith(":"):
            name, _, value = line.partition(": ")
            event[name] = json.loads(value) if name == "data" else value
