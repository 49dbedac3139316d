"""The four scanners behind ``security scan``, each a ``scan.Scanner``.

Each adapts one engine (``secrets``, ``sast``, ``advisories`` with ``dependencies``,
``licenses``) to the scan: it runs file-reading work in a thread, turns an engine's
"could not run" into a notice (or an error when the user asked for that scanner by
name), and declares its rules for SARIF.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrate.core.errors import ValidationFailed
from orchestrate.core.uow import UnitOfWork
from orchestrate.security import advisories, dependencies, licenses, sast, secrets
from orchestrate.security.changes import changes_since, file_at
from orchestrate.security.models import Category, Dependency
from orchestrate.security.sarif import RuleDescriptor, ToolNotice
from orchestrate.security.scan import Scanner, ScannerResult, ScanTarget, SecretSource


async def read_dependencies(root: Path, exclude: tuple[str, ...]) -> Sequence[Dependency]:
    """Every dependency the tree's lockfiles and manifests name (read in a thread)."""
    found = await asyncio.to_thread(dependencies.read_dependencies, root)
    skipped = set(exclude)
    return [dependency for dependency in found if dependency.source not in skipped]


@dataclass(frozen=True)
class SecretScanner:
    category: Category = Category.SECRET

    async def scan(self, uow: UnitOfWork, target: ScanTarget) -> ScannerResult:
        del uow
        request = target.request
        notices: list[ToolNotice] = []
        if request.secret_source is SecretSource.DIFF:
            config, notice = await _config_of_base(target.root, request.diff_base or "HEAD")
            notices += [notice] if notice else []
        else:
            config = await asyncio.to_thread(secrets.load_secrets_config, target.root)
        if request.secret_source is SecretSource.HISTORY:
            found = await asyncio.to_thread(
                secrets.scan_git_history, target.root, config, exclude_paths=target.exclude
            )
        elif request.secret_source is SecretSource.DIFF:
            diff = await changes_since(target.root, request.diff_base or "HEAD")
            found = await asyncio.to_thread(
                secrets.scan_diff, diff, config, exclude_paths=target.exclude
            )
        else:
            found = await asyncio.to_thread(
                secrets.scan_tree, target.root, config, exclude_paths=target.exclude
            )
        return ScannerResult(findings=list(found), notices=notices, rules=_secret_rules(config))


async def _config_of_base(root: Path, base: str) -> tuple[secrets.SecretsConfig, ToolNotice | None]:
    """The secret scanner's configuration as the diff's base has it.

    A change must not loosen the rules that judge it: a pull request that adds a secret
    could otherwise allowlist its path, stop-word it or disable the rule in the same
    commit and pass a ``scan:`` gate. A change to the file itself takes effect for the
    changes after it. Said in a notice when the scanned tree's file differs.
    """
    name = secrets.CONFIG_FILE
    text = await file_at(root, base, name)
    config = secrets.parse_secrets_config(text, f"{name} at {base}")
    current = await asyncio.to_thread(_read_text, root / name)
    if current == text:
        return config, None
    return config, ToolNotice(
        secrets.TOOL,
        f"{name} differs from its version at {base}: the diff is scanned with the "
        f"version at {base}, so a change cannot loosen the rules that judge it",
        "note",
    )


def _read_text(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _secret_rules(config: secrets.SecretsConfig) -> dict[str, RuleDescriptor]:
    """The built-in rules and the project's own (``.orchestrate-secrets.toml``), so each
    finding's rule is described in SARIF."""
    return {
        f"secrets/{rule.id}": RuleDescriptor(
            id=f"secrets/{rule.id}",
            title=rule.title,
            description=rule.description,
            severity=rule.severity,
            category=Category.SECRET,
            help_text=rule.help_text,
            help_uri=rule.help_uri,
            tags=("secret",),
        )
        for rule in (*secrets.RULES, *config.custom_rules)
    }


@dataclass(frozen=True)
class SastScanner:
    category: Category = Category.SAST

    async def scan(self, uow: UnitOfWork, target: ScanTarget) -> ScannerResult:
        del uow
        result = await asyncio.to_thread(
            sast.scan_sast,
            target.root,
            semgrep_path=target.settings.security_semgrep_path,
            exclude=target.exclude,
        )
        notices = [
            ToolNotice(
                notice.tool,
                f"{notice.path}: {notice.message}" if notice.path else notice.message,
                "warning" if notice.kind is sast.NoticeKind.FILE_SKIPPED else "error",
            )
            for notice in result.notices
        ]
        if Category.SAST in target.request.explicit and not any(
            run.ran for run in result.tool_runs
        ):
            raise ValidationFailed(
                "No SAST tool could run: " + "; ".join(n.message for n in notices)
            )
        return ScannerResult(findings=list(result.findings), notices=notices)


@dataclass(frozen=True)
class DependencyScanner:
    category: Category = Category.DEPENDENCY

    async def scan(self, uow: UnitOfWork, target: ScanTarget) -> ScannerResult:
        status = await advisories.database_status(uow)
        if status.is_empty:
            message = (
                "Dependency vulnerabilities were not checked: the OSV database is empty "
                "(`orchestrate security db import PATH` or `security db update`)."
            )
            if Category.DEPENDENCY in target.request.explicit:
                raise ValidationFailed(message)
            return ScannerResult(notices=[ToolNotice("osv", message, "error")])
        found = await advisories.find_vulnerabilities(uow, target.dependencies)
        return ScannerResult(findings=list(found))


@dataclass(frozen=True)
class LicenseScanner:
    category: Category = Category.LICENSE

    async def scan(self, uow: UnitOfWork, target: ScanTarget) -> ScannerResult:
        del uow
        policy = await asyncio.to_thread(
            licenses.load_license_policy, target.settings.security_license_policy
        )
        found = await asyncio.to_thread(
            licenses.check_licenses, target.dependencies, policy, root=target.root
        )
        return ScannerResult(findings=list(found))


def default_scanners() -> list[Scanner]:
    return [SecretScanner(), SastScanner(), DependencyScanner(), LicenseScanner()]
