"""Request and response models of the secrets API; no response ever carries a value."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from orchestrate.secrets.models import VALUE_MAX_BYTES, KeyRotation, SecretInfo


class SecretValueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str = Field(
        min_length=1,
        max_length=VALUE_MAX_BYTES,
        description="The secret's value; stored encrypted and never shown again.",
    )


class SecretOut(BaseModel):
    name: str = Field(examples=["DEPLOY_TOKEN"])
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, secret: SecretInfo) -> SecretOut:
        return cls(name=secret.name, created_at=secret.created_at, updated_at=secret.updated_at)


class KeyRotationOut(BaseModel):
    key_id: str = Field(description="The key every secret is now encrypted with.")
    re_encrypted: int
    retired_key_ids: list[str] = Field(
        description="Keys no secret needs any more (remove them from ORCHESTRATE_SECRET_KEY)."
    )

    @classmethod
    def of(cls, rotation: KeyRotation) -> KeyRotationOut:
        return cls(
            key_id=rotation.key_id,
            re_encrypted=rotation.re_encrypted,
            retired_key_ids=list(rotation.retired_key_ids),
        )
