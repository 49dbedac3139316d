"""The store keeps ciphertext only, under keys outside the database, and rotation loses nothing."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import text

from orchestrate.auth.models import Actor, Role
from orchestrate.core.errors import ConfigurationError, NotFound, PermissionDenied
from orchestrate.core.runtime import Runtime
from orchestrate.secrets import service as secrets
from orchestrate.secrets.crypto import SecretKey
from orchestrate.secrets.keys import key_file

PLAIN = "pl4in-Value-that-must-never-be-stored"


async def set_secret(runtime: Runtime, name: str, value: str) -> None:
    await secrets.set_secret(runtime.uow(), runtime.settings, name, value, Actor.local_cli())


async def raw_rows(runtime: Runtime) -> dict[str, tuple[str, bytes]]:
    async with runtime.uow(read_only=True) as uow:
        result = await uow.session.execute(text("SELECT name, key_id, ciphertext FROM secrets"))
        return {name: (key_id, bytes(blob)) for name, key_id, blob in result}


def files_under(root: Path) -> list[Path]:
    return [path for path in root.rglob("*") if path.is_file()]


class TestCiphertextOnly:
    async def test_no_file_under_the_home_or_the_database_holds_the_plain_value(
        self, runtime: Runtime, tmp_path: Path
    ) -> None:
        await set_secret(runtime, "DEPLOY_TOKEN", PLAIN)
        await set_secret(runtime, "DEPLOY_TOKEN", PLAIN + "-2")

        # tmp_path holds the home (key file) and, on SQLite, the database and its journal.
        files = files_under(tmp_path)
        assert key_file(runtime.settings) in files
        for path in files:
            assert PLAIN.encode() not in path.read_bytes(), path
        for _key_id, blob in (await raw_rows(runtime)).values():
            assert PLAIN.encode() not in blob
        values = await secrets.get_secret_values(
            runtime.uow(read_only=True), runtime.settings, ["DEPLOY_TOKEN"]
        )
        assert values == {"DEPLOY_TOKEN": PLAIN + "-2"}

    async def test_the_audit_log_and_events_name_the_secret_but_never_hold_its_value(
        self, runtime: Runtime
    ) -> None:
        await set_secret(runtime, "deploy_token", PLAIN)

        async with runtime.uow(read_only=True) as uow:
            audit = (await uow.session.execute(text("SELECT * FROM audit_log"))).all()
            events = (await uow.session.execute(text("SELECT * FROM events"))).all()
        assert any("DEPLOY_TOKEN" in str(row) for row in audit)
        assert any("DEPLOY_TOKEN" in str(row) for row in events)
        assert PLAIN not in str(audit) + str(events)


class TestReading:
    async def test_values_are_given_for_the_names_that_exist_only(self, runtime: Runtime) -> None:
        await set_secret(runtime, "ONE", "first-value")
        await set_secret(runtime, "TWO", "second-value")

        values = await secrets.get_secret_values(
            runtime.uow(read_only=True), runtime.settings, ["one", "TWO", "MISSING", "bad-name"]
        )

        assert values == {"ONE": "first-value", "TWO": "second-value"}
        assert await secrets.list_secret_names(runtime.uow(read_only=True)) == {"ONE", "TWO"}

    async def test_setting_again_replaces_the_value_and_keeps_the_creation_date(
        self, runtime: Runtime
    ) -> None:
        first = await secrets.set_secret(
            runtime.uow(), runtime.settings, "TOKEN", "old-value", Actor.local_cli()
        )
        second = await secrets.set_secret(
            runtime.uow(), runtime.settings, "TOKEN", "new-value", Actor.local_cli()
        )

        assert (first.is_new, second.is_new) == (True, False)
        assert second.secret.created_at == first.secret.created_at
        [listed] = await secrets.list_secrets(runtime.uow(read_only=True))
        assert listed == second.secret
        values = await secrets.get_secret_values(runtime.uow(), runtime.settings, ["TOKEN"])
        assert values == {"TOKEN": "new-value"}

    async def test_a_deleted_secret_is_gone_and_deleting_it_again_is_not_found(
        self, runtime: Runtime
    ) -> None:
        await set_secret(runtime, "TOKEN", "some-value")
        await secrets.delete_secret(runtime.uow(), runtime.settings, "token", Actor.local_cli())

        assert await secrets.list_secret_names(runtime.uow(read_only=True)) == set()
        with pytest.raises(NotFound, match="TOKEN"):
            await secrets.delete_secret(runtime.uow(), runtime.settings, "TOKEN", Actor.local_cli())

    async def test_only_an_admin_may_change_secrets(self, runtime: Runtime) -> None:
        operator = Actor(name="op", role=Role.OPERATOR, source="test")
        with pytest.raises(PermissionDenied):
            await secrets.set_secret(runtime.uow(), runtime.settings, "X_TOKEN", "v4lue", operator)
        with pytest.raises(PermissionDenied):
            await secrets.rotate_key(runtime.uow(), runtime.settings, operator)

    async def test_a_lost_key_file_is_a_configuration_error_naming_the_file(
        self, runtime: Runtime
    ) -> None:
        await set_secret(runtime, "TOKEN", "some-value")
        key_file(runtime.settings).unlink()

        with pytest.raises(ConfigurationError, match=r"secret\.key"):
            await secrets.get_secret_values(runtime.uow(), runtime.settings, ["TOKEN"])


class TestKeyRotation:
    async def test_rotation_changes_every_ciphertext_and_keeps_every_secret_readable(
        self, runtime: Runtime
    ) -> None:
        names = {f"SECRET_{n}": f"value-number-{n}" for n in range(5)}
        for name, value in names.items():
            await set_secret(runtime, name, value)
        before = await raw_rows(runtime)

        rotation = await secrets.rotate_key(runtime.uow(), runtime.settings, Actor.local_cli())

        after = await raw_rows(runtime)
        assert rotation.re_encrypted == 5
        assert {key_id for key_id, _ in after.values()} == {rotation.key_id}
        assert all(after[name][1] != before[name][1] for name in names)
        assert len(rotation.retired_key_ids) == 1
        assert rotation.retired_key_ids[0] == before["SECRET_0"][0]
        values = await secrets.get_secret_values(runtime.uow(), runtime.settings, names)
        assert values == names
        key_lines = [
            line
            for line in key_file(runtime.settings).read_text().splitlines()
            if not line.startswith("#")
        ]
        assert len(key_lines) == 1
        assert stat.S_IMODE(key_file(runtime.settings).stat().st_mode) == 0o600

    async def test_rotation_twice_in_a_row_still_reads_everything(self, runtime: Runtime) -> None:
        await set_secret(runtime, "TOKEN", "some-value")
        for _ in range(2):
            await secrets.rotate_key(runtime.uow(), runtime.settings, Actor.local_cli())
        values = await secrets.get_secret_values(runtime.uow(), runtime.settings, ["TOKEN"])
        assert values == {"TOKEN": "some-value"}

    async def test_with_keys_from_the_environment_rotation_moves_to_the_first_key(
        self, runtime: Runtime
    ) -> None:
        old, new = SecretKey.generate(), SecretKey.generate()
        runtime.settings = runtime.settings.model_copy(
            update={"secret_key": SecretStr(old.encoded())}
        )
        await set_secret(runtime, "TOKEN", "some-value")
        runtime.settings = runtime.settings.model_copy(
            update={"secret_key": SecretStr(f"{new.encoded()},{old.encoded()}")}
        )

        rotation = await secrets.rotate_key(runtime.uow(), runtime.settings, Actor.local_cli())

        assert (rotation.key_id, rotation.retired_key_ids) == (new.id, (old.id,))
        runtime.settings = runtime.settings.model_copy(
            update={"secret_key": SecretStr(new.encoded())}
        )
        values = await secrets.get_secret_values(runtime.uow(), runtime.settings, ["TOKEN"])
        assert values == {"TOKEN": "some-value"}
        assert not key_file(runtime.settings).exists()


class TestStaleKeys:
    """A process whose keys are older than the store's refuses to write instead of
    leaving a secret nobody else can read."""

    async def test_a_machine_with_an_old_copy_of_the_key_file_cannot_set_after_a_rotation(
        self, runtime: Runtime, tmp_path: Path
    ) -> None:
        await set_secret(runtime, "TOKEN", "some-value")
        other_home = tmp_path / "other-machine"
        other_home.mkdir()
        shutil.copy2(key_file(runtime.settings), other_home / "secret.key")
        other = runtime.settings.model_copy(update={"home": other_home})
        rotation = await secrets.rotate_key(runtime.uow(), runtime.settings, Actor.local_cli())
        before = await raw_rows(runtime)

        with pytest.raises(ConfigurationError) as refused:
            await secrets.set_secret(runtime.uow(), other, "NEW_TOKEN", "v4lue", Actor.local_cli())

        assert "TOKEN" in str(refused.value)
        assert rotation.key_id in str(refused.value)
        assert "copy its secret.key" in str(refused.value)
        assert await raw_rows(runtime) == before

    async def test_the_one_secret_whose_key_was_lost_can_be_set_again(
        self, runtime: Runtime
    ) -> None:
        await set_secret(runtime, "TOKEN", "some-value")
        key_file(runtime.settings).unlink()

        await set_secret(runtime, "TOKEN", "new-value")

        values = await secrets.get_secret_values(runtime.uow(), runtime.settings, ["TOKEN"])
        assert values == {"TOKEN": "new-value"}

    async def test_with_several_secrets_under_a_lost_key_the_refusal_names_them(
        self, runtime: Runtime
    ) -> None:
        await set_secret(runtime, "ONE", "first-value")
        await set_secret(runtime, "TWO", "second-value")
        key_file(runtime.settings).unlink()

        with pytest.raises(ConfigurationError, match=r"TWO .*delete those secrets"):
            await set_secret(runtime, "ONE", "new-value")
