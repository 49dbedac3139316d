"""Rotation racing writers and readers in other threads loses no secret and fails no read.

Each thread has its own engine (its own connections, and on SQLite its own write
gate), as a separate process or worker would: only the database and the key file
coordinate them.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from orchestrate.auth.models import Actor
from orchestrate.core.db import create_database
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import Settings
from orchestrate.secrets import service as secrets
from orchestrate.secrets.keys import key_file

WRITERS = 3
NAMES_PER_WRITER = 4
WRITES_PER_WRITER = 40
MIN_ROTATIONS = 5

pytestmark = pytest.mark.slow


class Racers:
    """Threads, each running one coroutine on its own event loop and database engine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.errors: list[BaseException] = []
        self._threads: list[threading.Thread] = []

    def start(self, work: Callable[[Runtime], Coroutine[Any, Any, None]]) -> None:
        thread = threading.Thread(target=self._run, args=(work,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def join(self) -> None:
        for thread in self._threads:
            thread.join(timeout=240)
            assert not thread.is_alive(), "a racing thread did not finish"

    def _run(self, work: Callable[[Runtime], Coroutine[Any, Any, None]]) -> None:
        async def main() -> None:
            database = create_database(self.settings.database_url_value)
            try:
                await work(Runtime(settings=self.settings, database=database))
            finally:
                await database.dispose()

        try:
            asyncio.run(main())
        except BaseException as error:  # reported by the test, with every other failure
            self.errors.append(error)


def expected_values() -> dict[str, str]:
    """What each secret holds once every writer is done: its writer's last write to it."""
    last: dict[str, str] = {}
    for writer in range(WRITERS):
        for write in range(WRITES_PER_WRITER):
            last[f"W{writer}_S{write % NAMES_PER_WRITER}"] = f"value-{writer}-{write}"
    return last


def test_secrets_set_during_rotations_all_stay_readable(settings: Settings) -> None:
    racers = Racers(settings)
    writing, writers_done = threading.Event(), threading.Event()
    finished_writers: list[int] = []
    rotations: list[str] = []
    read_failures: list[BaseException] = []
    actor = Actor.local_cli()

    def writer(number: int) -> Callable[[Runtime], Coroutine[Any, Any, None]]:
        async def work(runtime: Runtime) -> None:
            try:
                for write in range(WRITES_PER_WRITER):
                    name = f"W{number}_S{write % NAMES_PER_WRITER}"
                    value = f"value-{number}-{write}"
                    await secrets.set_secret(runtime.uow(), settings, name, value, actor)
                    writing.set()
            finally:
                finished_writers.append(number)
                if len(finished_writers) == WRITERS:
                    writers_done.set()

        return work

    async def rotator(runtime: Runtime) -> None:
        writing.wait(timeout=60)
        while not writers_done.is_set() or len(rotations) < MIN_ROTATIONS:
            rotation = await secrets.rotate_key(runtime.uow(), settings, actor)
            rotations.append(rotation.key_id)

    async def reader(runtime: Runtime) -> None:
        names = list(expected_values())
        while not writers_done.is_set():
            try:
                await secrets.get_secret_values(runtime.uow(read_only=True), settings, names)
            except Exception as error:
                read_failures.append(error)
                return

    for number in range(WRITERS):
        racers.start(writer(number))
    racers.start(rotator)
    racers.start(reader)
    racers.join()

    assert racers.errors == []
    assert read_failures == []
    assert len(set(rotations)) == len(rotations) >= MIN_ROTATIONS
    asyncio.run(_assert_every_secret_decrypts(settings, expected_values()))


async def _assert_every_secret_decrypts(settings: Settings, expected: dict[str, str]) -> None:
    runtime = Runtime(settings=settings, database=create_database(settings.database_url_value))
    try:
        values = await secrets.get_secret_values(runtime.uow(read_only=True), settings, expected)
        assert values == expected
        # Nothing lingers in the key file for a secret it no longer needs, either.
        rotation = await secrets.rotate_key(runtime.uow(), settings, Actor.local_cli())
        assert rotation.re_encrypted == len(expected)
        key_lines = [
            line for line in key_file(settings).read_text().splitlines() if line[:1] != "#"
        ]
        assert len(key_lines) == 1
    finally:
        await runtime.close()
