"""Roles and permissions, token secrets and their hashes, token names."""

from __future__ import annotations

import hashlib

import pytest

from orchestrate.auth.models import (
    TOKEN_PREFIX,
    Actor,
    Permission,
    Role,
    display_prefix,
    generate_secret,
    hash_secret,
    validate_token_name,
)


class TestRoles:
    @pytest.mark.parametrize(
        ("role", "allowed"),
        [
            (Role.VIEWER, {Permission.READ}),
            (Role.OPERATOR, {Permission.READ, Permission.WRITE}),
            (Role.ADMIN, {Permission.READ, Permission.WRITE, Permission.ADMIN}),
        ],
    )
    def test_each_role_has_exactly_its_permissions(
        self, role: Role, allowed: set[Permission]
    ) -> None:
        assert {p for p in Permission if role.allows(p)} == allowed

    def test_roles_are_spelled_as_users_type_them(self) -> None:
        assert [r.value for r in Role] == ["admin", "operator", "viewer"]
        assert Role("operator") is Role.OPERATOR

    def test_the_local_cli_acts_as_an_admin_named_after_the_login(self) -> None:
        actor = Actor.local_cli()

        assert actor.role is Role.ADMIN
        assert actor.name.startswith("cli:")
        assert actor.source.startswith("cli@")

    def test_orchestrate_itself_acts_as_a_named_system_component(self) -> None:
        actor = Actor.system("bootstrap")

        assert (actor.name, actor.role) == ("system:bootstrap", Role.ADMIN)


class TestSecrets:
    def test_a_secret_is_recognisable_by_its_prefix_and_long_enough(self) -> None:
        secret = generate_secret()

        assert secret.startswith(TOKEN_PREFIX)
        assert len(secret) >= len(TOKEN_PREFIX) + 43  # 32 random bytes, base64url

    def test_secrets_are_never_repeated(self) -> None:
        assert len({generate_secret() for _ in range(2000)}) == 2000

    def test_a_secret_is_stored_as_its_sha256_hex_digest(self) -> None:
        secret = generate_secret()

        digest = hash_secret(secret)

        assert digest == hashlib.sha256(secret.encode()).hexdigest()
        assert len(digest) == 64
        assert secret not in digest

    def test_different_secrets_have_different_hashes(self) -> None:
        assert hash_secret("orc_a") != hash_secret("orc_b")
        assert hash_secret("orc_a") == hash_secret("orc_a")

    def test_the_displayed_prefix_reveals_only_a_few_random_characters(self) -> None:
        secret = generate_secret()

        shown = display_prefix(secret)

        assert shown == secret[: len(TOKEN_PREFIX) + 6]
        assert len(shown) == 10


class TestTokenNames:
    @pytest.mark.parametrize("name", ["ci-bot", "a", "Deploy.Bot_2", "x" * 100, "0day"])
    def test_acceptable_names(self, name: str) -> None:
        assert validate_token_name(name) is None

    @pytest.mark.parametrize(
        "name",
        [
            "",
            "-leading-dash",
            ".hidden",
            "has space",
            "x" * 101,
            "slash/name",
            "ünïcode",
            "semi;colon",
            "new\nline",
            "nul\x00",
            "ci-bot\n",
        ],
    )
    def test_unacceptable_names_get_a_reason(self, name: str) -> None:
        reason = validate_token_name(name)

        assert reason is not None
        assert "1-100 characters" in reason
