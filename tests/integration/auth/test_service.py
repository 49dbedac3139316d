"""The auth service on a real database: tokens, authentication, bootstrap, audit."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from orchestrate.auth import service as auth
from orchestrate.auth.models import Actor, Role, hash_secret
from orchestrate.auth.tables import ApiTokenRow, AuditRecordRow
from orchestrate.core.clock import FrozenClock
from orchestrate.core.errors import (
    AuthenticationFailed,
    Conflict,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from orchestrate.core.runtime import Runtime

ADMIN = Actor(name="test:alice", role=Role.ADMIN, source="198.51.100.4")
OPERATOR = Actor(name="test:olga", role=Role.OPERATOR, source="198.51.100.5")


async def token_rows(runtime: Runtime) -> list[ApiTokenRow]:
    async with runtime.uow(read_only=True) as uow:
        return list(await uow.session.scalars(select(ApiTokenRow)))


async def audit_rows(runtime: Runtime) -> list[AuditRecordRow]:
    async with runtime.uow(read_only=True) as uow:
        return list(await uow.session.scalars(select(AuditRecordRow).order_by(AuditRecordRow.id)))


class TestCreateToken:
    async def test_only_the_hash_of_the_secret_is_stored(self, runtime: Runtime) -> None:
        issued = await auth.create_token(runtime.uow(), "ci-bot", Role.OPERATOR, ADMIN)

        [row] = await token_rows(runtime)
        assert row.token_hash == hash_secret(issued.secret)
        stored = [str(getattr(row, c.key)) for c in ApiTokenRow.__table__.columns]
        assert not any(issued.secret in value for value in stored)
        assert issued.secret.startswith(row.token_prefix)

    async def test_the_token_records_who_created_it_and_when(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        issued = await auth.create_token(frozen_runtime.uow(), "ci-bot", Role.VIEWER, ADMIN)

        assert issued.token.created_by == "test:alice"
        assert issued.token.created_at == clock.now()
        assert issued.token.id.startswith("tok_")
        assert issued.token.is_active

    async def test_a_name_in_use_is_refused_and_nothing_is_audited(self, runtime: Runtime) -> None:
        await auth.create_token(runtime.uow(), "ci-bot", Role.VIEWER, ADMIN)

        with pytest.raises(Conflict, match="already exists"):
            await auth.create_token(runtime.uow(), "ci-bot", Role.ADMIN, ADMIN)

        assert len(await token_rows(runtime)) == 1
        assert [r.action for r in await audit_rows(runtime)] == ["token.create"]

    async def test_an_invalid_name_is_refused(self, runtime: Runtime) -> None:
        with pytest.raises(ValidationFailed, match="Invalid token name"):
            await auth.create_token(runtime.uow(), "no spaces please", Role.VIEWER, ADMIN)

        assert await token_rows(runtime) == []

    @pytest.mark.parametrize("role", [Role.OPERATOR, Role.VIEWER])
    async def test_only_admins_issue_tokens(self, runtime: Runtime, role: Role) -> None:
        actor = Actor(name="test:someone", role=role, source="x")

        with pytest.raises(PermissionDenied):
            await auth.create_token(runtime.uow(), "sneaky", Role.ADMIN, actor)

        assert await token_rows(runtime) == []


class TestListAndRevoke:
    async def test_tokens_are_listed_newest_first_without_revoked_ones(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        for name in ("one", "two", "three"):
            await auth.create_token(frozen_runtime.uow(), name, Role.VIEWER, ADMIN)
            clock.advance(timedelta(seconds=1))
        await auth.revoke_token(frozen_runtime.uow(), "two", ADMIN)

        active = await auth.list_tokens(frozen_runtime.uow(read_only=True))
        everything = await auth.list_tokens(frozen_runtime.uow(), include_revoked=True)

        assert [t.name for t in active] == ["three", "one"]
        assert [t.name for t in everything] == ["three", "two", "one"]

    async def test_revoking_records_the_time_and_returns_the_token(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        await auth.create_token(frozen_runtime.uow(), "ci-bot", Role.VIEWER, ADMIN)
        clock.advance(timedelta(hours=1))

        revoked = await auth.revoke_token(frozen_runtime.uow(), "ci-bot", ADMIN)

        assert revoked.revoked_at == clock.now()
        assert not revoked.is_active

    async def test_revoking_an_unknown_name_is_not_found(self, runtime: Runtime) -> None:
        with pytest.raises(NotFound, match="No active token named 'ghost'"):
            await auth.revoke_token(runtime.uow(), "ghost", ADMIN)

    async def test_revoking_twice_is_not_found_the_second_time(self, runtime: Runtime) -> None:
        await auth.create_token(runtime.uow(), "ci-bot", Role.VIEWER, ADMIN)
        await auth.revoke_token(runtime.uow(), "ci-bot", ADMIN)

        with pytest.raises(NotFound):
            await auth.revoke_token(runtime.uow(), "ci-bot", ADMIN)

    async def test_operators_cannot_revoke(self, runtime: Runtime) -> None:
        await auth.create_token(runtime.uow(), "ci-bot", Role.VIEWER, ADMIN)

        with pytest.raises(PermissionDenied):
            await auth.revoke_token(runtime.uow(), "ci-bot", OPERATOR)

        assert [t.name for t in await auth.list_tokens(runtime.uow())] == ["ci-bot"]


class TestAuthenticate:
    async def test_a_valid_token_stands_for_its_name_role_and_the_callers_address(
        self, runtime: Runtime
    ) -> None:
        issued = await auth.create_token(runtime.uow(), "ci-bot", Role.OPERATOR, ADMIN)

        actor = await auth.authenticate(
            runtime.uow(read_only=True), runtime.uow(), issued.secret, "203.0.113.9"
        )

        assert actor == Actor(name="token:ci-bot", role=Role.OPERATOR, source="203.0.113.9")

    @pytest.mark.parametrize("secret", ["", "orc_made_up_token_value", "Bearer x"])
    async def test_an_unknown_token_is_refused(self, runtime: Runtime, secret: str) -> None:
        await auth.create_token(runtime.uow(), "ci-bot", Role.OPERATOR, ADMIN)

        with pytest.raises(AuthenticationFailed):
            await auth.authenticate(runtime.uow(read_only=True), runtime.uow(), secret, "x")

    async def test_a_revoked_token_is_refused(self, runtime: Runtime) -> None:
        issued = await auth.create_token(runtime.uow(), "ci-bot", Role.ADMIN, ADMIN)
        await auth.revoke_token(runtime.uow(), "ci-bot", ADMIN)

        with pytest.raises(AuthenticationFailed, match="revoked"):
            await auth.authenticate(runtime.uow(read_only=True), runtime.uow(), issued.secret, "x")

    async def test_last_use_is_recorded_at_most_once_a_minute(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        issued = await auth.create_token(frozen_runtime.uow(), "ci-bot", Role.VIEWER, ADMIN)
        rt = frozen_runtime

        async def use_and_read_last_used() -> object:
            await auth.authenticate(rt.uow(read_only=True), rt.uow(), issued.secret, "x")
            [token] = await auth.list_tokens(rt.uow(read_only=True))
            return token.last_used_at

        first_use = clock.now()
        assert await use_and_read_last_used() == first_use
        clock.advance(timedelta(seconds=30))
        assert await use_and_read_last_used() == first_use
        clock.advance(timedelta(seconds=31))
        assert await use_and_read_last_used() == clock.now()


class TestBootstrap:
    async def test_a_fresh_installation_gets_one_admin_token(self, runtime: Runtime) -> None:
        issued = await auth.create_bootstrap_token(runtime.uow())

        assert issued is not None
        assert (issued.token.name, issued.token.role) == ("admin", Role.ADMIN)
        actor = await auth.authenticate(
            runtime.uow(read_only=True), runtime.uow(), issued.secret, "x"
        )
        assert actor.role is Role.ADMIN
        [record] = await audit_rows(runtime)
        assert (record.actor, record.action) == ("system:bootstrap", "token.create")

    async def test_a_second_start_issues_nothing(self, runtime: Runtime) -> None:
        await auth.create_bootstrap_token(runtime.uow())

        assert await auth.create_bootstrap_token(runtime.uow()) is None
        assert len(await token_rows(runtime)) == 1

    async def test_an_installation_with_any_usable_token_issues_nothing(
        self, runtime: Runtime
    ) -> None:
        await auth.create_token(runtime.uow(), "reader", Role.VIEWER, ADMIN)

        assert await auth.create_bootstrap_token(runtime.uow()) is None

    async def test_when_every_token_was_revoked_a_new_admin_token_is_issued(
        self, runtime: Runtime
    ) -> None:
        await auth.create_token(runtime.uow(), "old", Role.ADMIN, ADMIN)
        await auth.revoke_token(runtime.uow(), "old", ADMIN)

        assert await auth.create_bootstrap_token(runtime.uow()) is not None


class TestAudit:
    async def test_every_token_change_is_recorded_with_actor_subject_source_and_time(
        self, frozen_runtime: Runtime, clock: FrozenClock
    ) -> None:
        issued = await auth.create_token(frozen_runtime.uow(), "ci-bot", Role.OPERATOR, ADMIN)
        clock.advance(timedelta(minutes=3))
        await auth.revoke_token(frozen_runtime.uow(), "ci-bot", ADMIN)

        page = await auth.list_audit(frozen_runtime.uow(read_only=True))

        assert [(r.action, r.actor, r.subject, r.source, r.created_at) for r in page.items] == [
            ("token.revoke", "test:alice", issued.token.id, "198.51.100.4", clock.now()),
            (
                "token.create",
                "test:alice",
                issued.token.id,
                "198.51.100.4",
                clock.now() - timedelta(minutes=3),
            ),
        ]
        assert page.next_cursor is None

    async def test_pages_follow_each_other_without_gaps_or_repeats(self, runtime: Runtime) -> None:
        for n in range(7):
            await auth.create_token(runtime.uow(), f"t{n}", Role.VIEWER, ADMIN)

        seen: list[str] = []
        cursor: str | None = None
        pages = 0
        while True:
            page = await auth.list_audit(runtime.uow(read_only=True), limit=3, cursor=cursor)
            seen += [r.details["name"] for r in page.items]
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor

        assert seen == [f"t{n}" for n in reversed(range(7))]
        assert pages == 3

    async def test_a_full_last_page_has_no_next_cursor(self, runtime: Runtime) -> None:
        for n in range(4):
            await auth.create_token(runtime.uow(), f"t{n}", Role.VIEWER, ADMIN)

        first = await auth.list_audit(runtime.uow(read_only=True), limit=2)
        second = await auth.list_audit(
            runtime.uow(read_only=True), limit=2, cursor=first.next_cursor
        )

        assert len(second.items) == 2
        assert second.next_cursor is None

    async def test_records_can_be_filtered_by_actor_action_and_subject(
        self, runtime: Runtime
    ) -> None:
        one = await auth.create_token(runtime.uow(), "one", Role.VIEWER, ADMIN)
        await auth.create_token(
            runtime.uow(), "two", Role.VIEWER, Actor("test:bob", Role.ADMIN, "y")
        )
        await auth.revoke_token(runtime.uow(), "one", ADMIN)

        async def actions(
            actor: str | None = None, action: str | None = None, subject: str | None = None
        ) -> list[tuple[str, str]]:
            page = await auth.list_audit(
                runtime.uow(read_only=True), actor=actor, action=action, subject=subject
            )
            return [(r.action, r.details["name"]) for r in page.items]

        assert await actions(actor="test:bob") == [("token.create", "two")]
        assert await actions(action="token.revoke") == [("token.revoke", "one")]
        assert await actions(subject=one.token.id) == [
            ("token.revoke", "one"),
            ("token.create", "one"),
        ]
        assert await actions(actor="test:alice", action="token.create") == [("token.create", "one")]
        assert await actions(actor="nobody") == []

    async def test_filters_and_cursors_combine(self, runtime: Runtime) -> None:
        for n in range(5):
            await auth.create_token(runtime.uow(), f"t{n}", Role.VIEWER, ADMIN)
            await auth.revoke_token(runtime.uow(), f"t{n}", ADMIN)

        first = await auth.list_audit(runtime.uow(read_only=True), limit=2, action="token.revoke")
        rest = await auth.list_audit(
            runtime.uow(read_only=True), limit=10, action="token.revoke", cursor=first.next_cursor
        )

        names = [r.details["name"] for r in first.items + rest.items]
        assert names == ["t4", "t3", "t2", "t1", "t0"]

    async def test_an_invented_cursor_is_a_validation_error(self, runtime: Runtime) -> None:
        with pytest.raises(ValidationFailed, match="Invalid cursor"):
            await auth.list_audit(runtime.uow(read_only=True), cursor="bogus")

    @pytest.mark.parametrize("limit", [0, 501])
    async def test_a_page_size_out_of_bounds_is_refused(self, runtime: Runtime, limit: int) -> None:
        with pytest.raises(ValidationFailed, match="limit"):
            await auth.list_audit(runtime.uow(read_only=True), limit=limit)
