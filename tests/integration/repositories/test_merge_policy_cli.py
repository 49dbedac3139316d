"""``orchestrate repo policy NAME``: shows the policy without options, changes what the
options name, refuses bad values with exit 2, and leaves seeds at the default."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from tests.integration.cli.support import Cli
from tests.integration.repositories.git_repositories import work_tree


def policy_json(cli: Cli, *args: str, env: Mapping[str, str | None] | None = None) -> Any:
    result = cli("repo", "policy", *args, "--json", env=env)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def register(cli: Cli) -> None:
    work_tree(cli.workdir / "app")
    assert cli("repo", "add", "app", "--name", "octo/app").exit_code == 0


def test_without_options_it_shows_the_default_policy(cli: Cli) -> None:
    register(cli)

    shown = cli("repo", "policy", "octo/app")

    assert shown.exit_code == 0, shown.output
    assert "Merge policy of octo/app" in shown.output
    assert "every reported check" in shown.output
    assert "squash" in shown.output
    assert policy_json(cli, "octo/app")["default"] is True


def test_options_change_only_what_they_name(cli: Cli) -> None:
    register(cli)
    policy_json(cli, "octo/app", "--method", "merge", "--auto-merge")

    changed = policy_json(
        cli, "Octo/App", "--approvals", "2", "--require-check", "test", "--require-check", "lint"
    )

    assert {key: changed[key] for key in (
        "required_approvals", "required_checks", "method", "auto_merge", "default"
    )} == {
        "required_approvals": 2, "required_checks": ["test", "lint"], "method": "merge",
        "auto_merge": True, "default": False,
    }  # fmt: skip


def test_all_checks_clears_the_named_ones_and_flags_turn_off(cli: Cli) -> None:
    register(cli)
    policy_json(cli, "octo/app", "--require-check", "test", "--up-to-date", "--auto-merge")

    changed = policy_json(
        cli,
        "octo/app",
        "--all-checks",
        "--no-up-to-date",
        "--no-auto-merge",
        "--no-stale-approvals",
    )

    assert changed["required_checks"] == []
    assert (changed["require_up_to_date"], changed["auto_merge"]) == (False, False)
    assert changed["count_stale_approvals"] is False


def test_bad_values_exit_2_with_a_message_and_change_nothing(cli: Cli) -> None:
    register(cli)

    for args, message in (
        (["--method", "octopus"], "Unknown merge method 'octopus'"),
        (["--approvals", "99"], "Required approvals must be between 0 and 20"),
        (["--require-check", " "], "Invalid check name"),
        (["--require-check", "x", "--all-checks"], "not both"),
    ):
        result = cli("repo", "policy", "octo/app", *args)
        assert result.exit_code == 2, result.output
        assert message in result.output

    assert policy_json(cli, "octo/app")["default"] is True


def test_an_unknown_repository_exits_1_naming_repo_list(cli: Cli) -> None:
    result = cli("repo", "policy", "octo/nope")

    assert result.exit_code == 1
    assert "see 'orchestrate repo list'" in result.output


def test_a_seed_repository_shows_the_default_and_cannot_change_it(cli: Cli) -> None:
    seeded = work_tree(cli.workdir / "seeded")
    env = {"ORCHESTRATE_GITHUB_REPOSITORIES": json.dumps({"octo/seeded": str(seeded)})}

    shown = policy_json(cli, "octo/seeded", env=env)
    refused = cli("repo", "policy", "octo/seeded", "--approvals", "2", env=env)

    assert (shown["seed"], shown["default"]) == (True, True)
    assert refused.exit_code == 1
    assert "register it with 'orchestrate repo add' to change it" in refused.output
