"""Running the retention rules: batch by batch, in short transactions, idempotently.

The same function serves the hourly background job and ``orchestrate db prune``. Each
batch reads its candidates in a read-only transaction, then checks what is still
needed and deletes in one short write transaction, then removes the deleted rows'
files. Running it twice at once is harmless: the second delete of a row deletes
nothing, and file removal tolerates what is already gone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import structlog

from orchestrate.core.durations import OFF, normalise_period, parse_period
from orchestrate.core.errors import ConfigurationError, ValidationFailed
from orchestrate.core.retention.rules import Keeper, Key, Retention, RetentionRule
from orchestrate.core.runtime import Runtime
from orchestrate.core.settings import RETENTION_SETTINGS, Settings
from orchestrate.core.uow import UnitOfWork

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RetentionPlan:
    """Every rule the application has, in the order they run, and every keeper."""

    rules: tuple[RetentionRule, ...] = ()
    keepers: tuple[Keeper, ...] = field(default=())

    @classmethod
    def of(cls, declarations: Iterable[Retention]) -> RetentionPlan:
        """Merge the capabilities' declarations; a name clash or a stray keeper is refused."""
        rules: list[RetentionRule] = []
        keepers: list[Keeper] = []
        for declared in declarations:
            rules.extend(declared.rules)
            keepers.extend(declared.keepers)
        names = [rule.name for rule in rules]
        clashes = sorted({name for name in names if names.count(name) > 1})
        if clashes:
            raise ConfigurationError(f"Two retention rules are named {', '.join(clashes)}")
        for rule in rules:
            if rule.setting not in RETENTION_SETTINGS:
                raise ConfigurationError(
                    f"Retention rule {rule.name!r} names {rule.setting!r}, which is not "
                    "an ORCHESTRATE_RETENTION_* setting"
                )
        for keeper in keepers:
            if keeper.rule not in names:
                raise ConfigurationError(
                    f"A keeper ({keeper.why}) guards the retention rule {keeper.rule!r}, "
                    "which does not exist"
                )
        return cls(rules=tuple(rules), keepers=tuple(keepers))

    def keepers_of(self, rule: RetentionRule) -> list[Keeper]:
        return [keeper for keeper in self.keepers if keeper.rule == rule.name]


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule removed (or, in a dry run, would remove)."""

    rule: str
    setting: str
    removes: str
    age: str
    """The period applied: the setting's (``30d``), ``--older-than``'s, or ``off``."""
    cutoff: datetime | None
    """Rows finished before this instant were pruned; None when the rule is off."""
    rows: int = 0
    files: int = 0
    batches: int = 0
    dry_run: bool = False
    error: str | None = None
    """Why the rule stopped early (the other rules ran regardless)."""

    @property
    def is_off(self) -> bool:
        return self.cutoff is None


async def prune(
    runtime: Runtime,
    plan: RetentionPlan,
    *,
    older_than: str | None = None,
    dry_run: bool = False,
    batch_size: int | None = None,
) -> list[RuleOutcome]:
    """Run every rule of ``plan`` once, to the end; what each removed, in plan order.

    ``older_than`` (``30d``…) replaces the age of every rule that is on; a rule whose
    setting is ``off`` stays off. ``dry_run`` counts what would go and changes
    nothing. ``batch_size`` overrides every rule's own (tests use it to see batching).
    A rule that fails is logged and reported in its outcome's ``error``; the batches it
    committed stay done, and the rules after it still run.
    """
    override = _override(older_than)
    now = runtime.clock.now()
    outcomes: list[RuleOutcome] = []
    for rule in plan.rules:
        age_text, age = _age(runtime.settings, rule, override)
        if age is None:
            outcomes.append(_off(rule, dry_run))
            continue
        cutoff = now - age
        run = _Run(age_text, dry_run, batch_size or rule.batch_size)
        try:
            outcome = await _run_rule(runtime, rule, plan.keepers_of(rule), cutoff, run)
        except Exception as error:  # one broken rule must not stop the others for good
            log.exception("retention_rule_failed", rule=rule.name)
            outcome = RuleOutcome(
                rule.name,
                rule.setting,
                rule.removes,
                age_text,
                cutoff,
                dry_run=dry_run,
                error=f"{type(error).__name__}: {error}",
            )
        _log(outcome)
        outcomes.append(outcome)
    return outcomes


def _override(older_than: str | None) -> tuple[str, timedelta] | None:
    if older_than is None:
        return None
    try:
        text = normalise_period(older_than, allow_off=False)
        age = parse_period(text, allow_off=False)
    except ValueError as error:
        raise ValidationFailed(f"--older-than: {error}", older_than=older_than) from None
    assert age is not None
    return text, age


def _age(
    settings: Settings, rule: RetentionRule, override: tuple[str, timedelta] | None
) -> tuple[str, timedelta | None]:
    configured = settings.retention_period(rule.setting)
    if configured is None:
        return OFF, None
    if override is not None:
        return override
    return str(getattr(settings, rule.setting)), configured


def _off(rule: RetentionRule, dry_run: bool) -> RuleOutcome:
    return RuleOutcome(rule.name, rule.setting, rule.removes, OFF, None, dry_run=dry_run)


@dataclass(frozen=True)
class _Run:
    age: str
    dry_run: bool
    batch_size: int


async def _run_rule(
    runtime: Runtime,
    rule: RetentionRule,
    keepers: Sequence[Keeper],
    cutoff: datetime,
    run: _Run,
) -> RuleOutcome:
    rows = files = batches = 0
    after: Key | None = None
    while True:
        async with runtime.uow(read_only=True) as reader:
            keys = await rule.candidates(reader, cutoff, after=after, limit=run.batch_size)
            if run.dry_run and keys:
                rows += len(await _unneeded(reader, rule, keepers, keys))
        if keys and not run.dry_run:
            removed, cleaned = await _delete_batch(runtime.uow(), rule, keepers, keys, cutoff)
            rows, files = rows + removed, files + cleaned
        if keys:
            batches += 1
            after = keys[-1]
        if len(keys) < run.batch_size:
            break
    return RuleOutcome(
        rule.name, rule.setting, rule.removes, run.age, cutoff, rows, files, batches, run.dry_run
    )


async def _delete_batch(
    uow: UnitOfWork,
    rule: RetentionRule,
    keepers: Sequence[Keeper],
    keys: Sequence[Key],
    cutoff: datetime,
) -> tuple[int, int]:
    """One short write transaction: what is still needed is kept, the rest deleted."""
    async with uow:
        doomed = await _unneeded(uow, rule, keepers, keys)
        if not doomed:
            return 0, 0
        deleted = await rule.delete(uow, doomed, cutoff)
        await uow.commit()
    files = 0
    if deleted.cleanup is not None:
        try:
            files = await deleted.cleanup()
        except Exception:  # the rows are gone; a file that cannot go is logged, not fatal
            log.exception("retention_cleanup_failed", rule=rule.name)
    return deleted.rows, files


async def _unneeded(
    uow: UnitOfWork, rule: RetentionRule, keepers: Sequence[Keeper], keys: Sequence[Key]
) -> list[Key]:
    needed = await rule.still_needed(uow, keys)
    for keeper in keepers:
        remaining = [key for key in keys if key not in needed]
        if not remaining:
            break
        needed |= await keeper.keep(uow, remaining)
    return [key for key in keys if key not in needed]


def _log(outcome: RuleOutcome) -> None:
    if outcome.dry_run or outcome.error is not None:
        return
    level = log.info if outcome.rows or outcome.files else log.debug
    level(
        "retention_pruned",
        rule=outcome.rule,
        rows=outcome.rows,
        files=outcome.files,
        batches=outcome.batches,
        older_than=outcome.age,
        cutoff=outcome.cutoff.isoformat() if outcome.cutoff else None,
    )
