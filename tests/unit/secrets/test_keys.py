"""Where keys come from: a 0600 key file created on first use, or ORCHESTRATE_SECRET_KEY."""

from __future__ import annotations

import stat
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
