"""What privacy keeps: the consent history of accounts and the list of erased records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldsync.db import Base


class ConsentChange(Base):
    __tablename__ = "consent_changes"
    __table_args__ = (Index("ix_consent_changes_account", "account_id"),)

    # Made by the writer, not a sequence: a batch of these is one executemany (no RETURNING).
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    marketing_email: Mapped[bool | None]  # null: consent cleared (unknown)
    consented_at: Mapped[datetime | None]  # the consent's own ``updated_at``
    version: Mapped[int]  # the account's version that carried the change
    recorded_at: Mapped[datetime]


class Erasure(Base):
    """A record whose personal data was erased, which fields, and when.

    A phone that was offline during the erasure may still push what it held or typed before:
    the privacy guard (``privacy.guard``) keeps those values out of the conflict log, the
    quarantine and stored push responses.
    """

    __tablename__ = "erasures"
    __table_args__ = (Index("ix_erasures_record", "record_id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    entity: Mapped[str] = mapped_column(String(24))
    record_id: Mapped[uuid.UUID]
    fields: Mapped[list[Any]]  # the wire fields erased
    erased_at: Mapped[datetime]
    erased_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
