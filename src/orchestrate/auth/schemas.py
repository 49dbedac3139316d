"""Request and response models of the auth API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.auth.models import ApiToken, AuditRecord, IssuedToken, Role


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["ci-bot"])
    role: Role = Role.VIEWER


class TokenOut(BaseModel):
    id: str
    name: str
    role: Role
    token_prefix: str = Field(description="The first characters of the token, to tell them apart.")
    created_by: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            role=token.role,
            token_prefix=token.token_prefix,
            created_by=token.created_by,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class TokenCreated(TokenOut):
    token: str = Field(description="The secret; shown this once and never stored in clear.")

    @classmethod
    def of_issued(cls, issued: IssuedToken) -> TokenCreated:
        return cls(**TokenOut.of(issued.token).model_dump(), token=issued.secret)


class AuditRecordOut(BaseModel):
    id: int
    actor: str
    action: str
    subject: str
    source: str
    details: dict[str, Any]
    created_at: datetime

    @classmethod
    def of(cls, record: AuditRecord) -> AuditRecordOut:
        return cls(
            id=record.id,
            actor=record.actor,
            action=record.action,
            subject=record.subject,
            source=record.source,
            details=record.details,
            created_at=record.created_at,
        )
