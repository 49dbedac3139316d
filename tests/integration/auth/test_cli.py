"""``orchestrate token …`` and ``orchestrate audit list`` against a real database."""

from __future__ import annotations

import json

import pytest

from tests.integration.cli.support import Cli


def create(cli: Cli, name: str, role: str = "viewer") -> str:
    result = cli("token", "create", "--name", name, "--role", role)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def token_list(cli: Cli, *options: str) -> list[dict[str, object]]:
    result = cli("token", "list", "--json", *options)
    assert result.exit_code == 0, result.stderr
    listed: list[dict[str, object]] = json.loads(result.stdout)
    return listed


class TestTokenCreate:
    def test_the_new_token_is_the_only_thing_on_stdout(self, cli: Cli) -> None:
        result = cli("token", "create", "--name", "ci-bot", "--role", "operator")

        assert result.exit_code == 0
        lines = result.stdout.splitlines()
        assert len(lines) == 1
        assert lines[0].startswith("orc_")
        assert "ci-bot" in result.stderr
        assert "cannot be shown again" in result.stderr

    def test_the_token_is_listed_with_its_role_and_prefix_but_never_its_secret(
        self, cli: Cli
    ) -> None:
        secret = create(cli, "ci-bot", "operator")

        result = cli("token", "list", "--json")

        assert secret not in result.stdout
        [token] = json.loads(result.stdout)
        assert (token["name"], token["role"]) == ("ci-bot", "operator")
        assert secret.startswith(str(token["token_prefix"]))
        assert token["created_by"].startswith("cli:")

    def test_the_role_defaults_to_viewer(self, cli: Cli) -> None:
        create_result = cli("token", "create", "--name", "reader")

        assert create_result.exit_code == 0
        assert [t["role"] for t in token_list(cli)] == ["viewer"]

    def test_an_unknown_role_is_a_usage_error(self, cli: Cli) -> None:
        result = cli("token", "create", "--name", "x", "--role", "king")

        assert result.exit_code == 2
        assert result.stdout == ""
        assert token_list(cli) == []

    def test_an_invalid_name_is_refused_with_the_rule(self, cli: Cli) -> None:
        result = cli("token", "create", "--name", "has space")

        assert result.exit_code == 2
        assert result.stdout == ""
        assert "Invalid token name 'has space'" in result.stderr

    def test_a_second_active_token_with_the_same_name_is_refused(self, cli: Cli) -> None:
        create(cli, "ci-bot")

        result = cli("token", "create", "--name", "ci-bot")

        assert result.exit_code == 1
        assert result.stdout == ""
        assert "already exists" in result.stderr


class TestTokenListAndRevoke:
    def test_tokens_are_listed_newest_first(self, cli: Cli) -> None:
        for name in ("first", "second", "third"):
            create(cli, name)

        assert [t["name"] for t in token_list(cli)] == ["third", "second", "first"]

    def test_the_table_shows_names_and_roles(self, cli: Cli) -> None:
        create(cli, "ci-bot", "admin")

        result = cli("token", "list")

        assert result.exit_code == 0
        assert "ci-bot" in result.stdout
        assert "admin" in result.stdout

    def test_an_empty_list_says_so_on_stderr(self, cli: Cli) -> None:
        result = cli("token", "list")

        assert result.exit_code == 0
        assert result.stdout == ""
        assert "Nothing to show" in result.stderr

    def test_a_revoked_token_leaves_the_list_but_shows_with_all(self, cli: Cli) -> None:
        create(cli, "old")
        create(cli, "kept")

        result = cli("token", "revoke", "old")

        assert result.exit_code == 0
        assert "Revoked token 'old'" in result.stderr
        assert [t["name"] for t in token_list(cli)] == ["kept"]
        revoked = [t for t in token_list(cli, "--all") if t["name"] == "old"]
        assert revoked[0]["revoked_at"] is not None

    def test_a_revoked_name_can_be_used_again(self, cli: Cli) -> None:
        create(cli, "ci-bot")
        cli("token", "revoke", "ci-bot")

        secret = create(cli, "ci-bot")

        assert secret.startswith("orc_")
        assert [t["name"] for t in token_list(cli)] == ["ci-bot"]

    def test_revoking_an_unknown_name_fails_with_a_message(self, cli: Cli) -> None:
        result = cli("token", "revoke", "nobody")

        assert result.exit_code == 1
        assert "No active token named 'nobody'" in result.stderr
        assert "orchestrate token list" in result.stderr


class TestAuditList:
    def test_token_changes_are_audited_newest_first(self, cli: Cli) -> None:
        create(cli, "ci-bot")
        cli("token", "revoke", "ci-bot")

        result = cli("audit", "list", "--json")

        assert result.exit_code == 0
        records = json.loads(result.stdout)
        assert [r["action"] for r in records] == ["token.revoke", "token.create"]
        assert all(r["actor"].startswith("cli:") for r in records)
        assert all(r["source"].startswith("cli@") for r in records)
        assert records[0]["subject"] == records[1]["subject"]
        assert records[0]["details"] == {"name": "ci-bot"}
        assert records[1]["details"] == {"name": "ci-bot", "role": "viewer"}

    def test_records_can_be_filtered_by_action(self, cli: Cli) -> None:
        create(cli, "a")
        create(cli, "b")
        cli("token", "revoke", "a")

        result = cli("audit", "list", "--json", "--action", "token.create")

        records = json.loads(result.stdout)
        assert [r["details"]["name"] for r in records] == ["b", "a"]

    def test_the_limit_caps_the_number_of_records(self, cli: Cli) -> None:
        for name in ("a", "b", "c"):
            create(cli, name)

        records = json.loads(cli("audit", "list", "--json", "--limit", "2").stdout)

        assert [r["details"]["name"] for r in records] == ["c", "b"]

    @pytest.mark.parametrize("limit", ["0", "501", "many"])
    def test_an_invalid_limit_is_a_usage_error(self, cli: Cli, limit: str) -> None:
        assert cli("audit", "list", "--limit", limit).exit_code == 2

    def test_the_table_shows_who_did_what(self, cli: Cli) -> None:
        create(cli, "ci-bot")

        result = cli("audit", "list")

        assert "token.create" in result.stdout
        assert "cli:" in result.stdout
