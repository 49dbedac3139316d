"""The table of the secrets capability: one small row of ciphertext per secret."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from orchestrate.core.db import Base, UTCDateTime


class SecretRow(Base):
    __tablename__ = "secrets"

    name: Mapped[str] = mapped_column(String(100), primary_key=True)
    # nonce (12 bytes) + AES-GCM ciphertext and tag; the name is the associated data.
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    # Which key encrypted it, so rotation and a key ring of several keys know.
    key_id: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
