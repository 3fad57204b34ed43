"""What sync keeps: the change log, applied changesets, conflicts, quarantine, device scopes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from fieldsync.db import Base, JSONType

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL wants a 64-bit identity.
BigSeq = BigInteger().with_variant(Integer(), "sqlite")


class Change(Base):
    """One write of one record, in the order writes were made (``seq``).

    On PostgreSQL ``txid`` is the writing transaction's id (``pg_current_xact_id()``), which is
    what lets a pull cursor stay correct when transactions commit out of ``seq`` order.
    """

    __tablename__ = "changes"
    __table_args__ = (
        Index("ix_changes_org_seq", "org_id", "seq"),
        Index("ix_changes_org_txid", "org_id", "txid"),
        Index("ix_changes_account", "account_id"),
        # Never reuse a sequence number on SQLite, even after the newest rows are pruned.
        {"sqlite_autoincrement": True},
    )

    seq: Mapped[int] = mapped_column(BigSeq, primary_key=True, autoincrement=True)
    # No foreign key: a log row names its organisation, which is never deleted; checking it
    # on each of a bulk write's rows (100,000 in a placement) is time spent proving nothing.
    org_id: Mapped[uuid.UUID]
    entity: Mapped[str] = mapped_column(String(24))
    record_id: Mapped[uuid.UUID]
    # The account whose scope the record belongs to (itself for accounts), and the one it
    # belonged to before when this write moved it: pulls filter on both.
    account_id: Mapped[uuid.UUID | None]
    prev_account_id: Mapped[uuid.UUID | None]
    version: Mapped[int]
    txid: Mapped[int | None] = mapped_column(BigInteger)
    changed_at: Mapped[datetime]


class Changeset(Base):
    """A push that was applied, with the response it got (replayed on retry)."""

    __tablename__ = "changesets"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    body_sha256: Mapped[str] = mapped_column(String(64))
    response: Mapped[dict[str, Any]]
    mutation_count: Mapped[int]
    received_at: Mapped[datetime]


class Conflict(Base):
    """A value that lost a merge (or an edit of a deleted record): nothing typed is lost."""

    __tablename__ = "conflicts"
    __table_args__ = (
        Index("ix_conflicts_org_record", "org_id", "entity", "record_id"),
        Index("ix_conflicts_org_author", "org_id", "discarded_by"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    entity: Mapped[str] = mapped_column(String(24))
    record_id: Mapped[uuid.UUID]
    account_id: Mapped[uuid.UUID | None]
    field: Mapped[str] = mapped_column(String(64))
    kept: Mapped[Any] = mapped_column(JSONType, nullable=True)
    discarded: Mapped[Any] = mapped_column(JSONType, nullable=True)
    discarded_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    kept_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    device_id: Mapped[uuid.UUID | None]
    changeset_id: Mapped[uuid.UUID | None]
    changed_at: Mapped[datetime | None]
    logged_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(40))


class QuarantinedMutation(Base):
    """A mutation the server rejected, kept whole so support can recover it."""

    __tablename__ = "quarantine"
    __table_args__ = (Index("ix_quarantine_org_logged", "org_id", "logged_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    changeset_id: Mapped[uuid.UUID]
    device_id: Mapped[uuid.UUID | None]
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    entity: Mapped[str | None] = mapped_column(String(24))
    record_id: Mapped[str | None] = mapped_column(String(64))
    mutation: Mapped[dict[str, Any]]
    errors: Mapped[dict[str, Any]]
    logged_at: Mapped[datetime]


class DeviceScope(Base):
    """Which scope roots (accounts, territories) a device holds, by pull generation.

    A device that presents a cursor of generation ``g`` holds the rows with
    ``added_in <= g`` and (``removed_in`` null or ``> g``). Rows of a later generation belong to
    a response the device never acknowledged and are discarded when it comes back with ``g``:
    that is what makes a lost pull response safe to retry.
    """

    __tablename__ = "device_scopes"
    __table_args__ = (
        Index("ix_device_scopes_device_added", "device_id", "added_in"),
        # The few rows a sweep left removed (deleted once the device confirms): a sweep finds
        # them without reading the device's other rows.
        Index(
            "ix_device_scopes_removed",
            "device_id",
            postgresql_where=text("removed_in IS NOT NULL"),
            sqlite_where=text("removed_in IS NOT NULL"),
        ),
    )

    device_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    entity: Mapped[str] = mapped_column(String(24), primary_key=True)
    record_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    added_in: Mapped[int]
    removed_in: Mapped[int | None]


class SyncHorizon(Base):
    """The oldest change position an organisation still serves; older cursors get 410."""

    __tablename__ = "sync_horizons"

    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), primary_key=True)
    min_seq: Mapped[int] = mapped_column(BigInteger, default=0)
    min_txid: Mapped[int] = mapped_column(BigInteger, default=0)
    pruned_at: Mapped[datetime | None]


__all__ = ["Change", "Changeset", "Conflict", "DeviceScope", "QuarantinedMutation", "SyncHorizon"]
