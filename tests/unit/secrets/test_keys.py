"""Where keys come from: a 0600 key file created on first use, or ORCHESTRATE_SECRET_KEY."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest
from pydantic import SecretStr

from orchestrate.core.errors import ConfigurationError
from orchestrate.core.settings import Settings
from orchestrate.secrets.crypto import SecretKey
from orchestrate.secrets.keys import key_file, load_key_ring, write_key_file


def settings_in(home: Path, secret_key: str | None = None) -> Settings:
    key = SecretStr(secret_key) if secret_key is not None else None
    return Settings(home=home, secret_key=key)


def test_the_key_file_is_created_on_first_use_readable_by_its_owner_only(tmp_path: Path) -> None:
    settings = settings_in(tmp_path / "home")
    assert load_key_ring(settings, create=False) is None

    ring = load_key_ring(settings, create=True)

    assert ring is not None
    assert stat.S_IMODE(key_file(settings).stat().st_mode) == 0o600
    again = load_key_ring(settings, create=True)
    assert again is not None
    assert again.current == ring.current


def create_at_once(settings: Settings, creators: int) -> tuple[list[str], list[Exception]]:
    """The current key id each of ``creators`` threads got, and their errors.

    Each thread opens the file on its own, as a separate process starting up would.
    """
    start = threading.Barrier(creators)
    key_ids: list[str] = []
    errors: list[Exception] = []

    def create() -> None:
        start.wait()
        try:
            ring = load_key_ring(settings, create=True)
            assert ring is not None
            key_ids.append(ring.current.id)
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=create) for _ in range(creators)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return key_ids, errors


def test_processes_creating_the_key_file_at_once_all_get_the_same_whole_key(
    tmp_path: Path,
) -> None:
    for attempt in range(25):
        settings = settings_in(tmp_path / f"home-{attempt}")

        key_ids, errors = create_at_once(settings, creators=8)

        assert errors == []
        assert len(key_ids) == 8
        assert len(set(key_ids)) == 1
        ring = load_key_ring(settings, create=False)
        assert ring is not None
        assert ring.current.id == key_ids[0]
        assert [p.name for p in settings.home.iterdir()] == ["secret.key"]
        assert stat.S_IMODE(key_file(settings).stat().st_mode) == 0o600


def test_a_relative_home_puts_the_key_file_under_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    load_key_ring(settings_in(Path(".orchestrate")), create=True)
    assert (tmp_path / ".orchestrate" / "secret.key").is_file()


def test_rewriting_the_key_file_keeps_the_order_and_the_mode(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    first, second = SecretKey.generate(), SecretKey.generate()
    load_key_ring(settings, create=True)

    write_key_file(settings, [second, first])

    ring = load_key_ring(settings, create=False)
    assert ring is not None
    assert ring.keys == (second, first)
    assert stat.S_IMODE(key_file(settings).stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["secret.key"]


def test_keys_from_the_environment_come_newest_first_and_no_file_is_made(tmp_path: Path) -> None:
    new, old = SecretKey.generate(), SecretKey.generate()
    settings = settings_in(tmp_path, f"{new.encoded()}, {old.encoded()}")

    ring = load_key_ring(settings, create=True)

    assert ring is not None
    assert ring.keys == (new, old)
    assert not key_file(settings).exists()


def test_an_emptied_key_file_is_an_error_that_says_to_restore_it(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    load_key_ring(settings, create=True)
    key_file(settings).write_text("# nothing\n")

    with pytest.raises(ConfigurationError, match="restore it"):
        load_key_ring(settings, create=False)
