"""The change log: one row per record write, and the positions pull cursors are made of.

Ordering on PostgreSQL: ``seq`` is handed out when a row is inserted, before its transaction
commits, so a transaction holding a lower ``seq`` can commit after a reader has moved past it.
Each row therefore also records its transaction id (``txid``). A pull sweep reads the changes of
every transaction at or above a watermark ``W`` and, once it has read everything, moves ``W`` to
the oldest transaction still running when the sweep began (``pg_snapshot_xmin``). Every
transaction below that watermark had finished before the sweep started, so all its rows were
visible to the sweep; anything at or above it is read again by the next sweep. No change is
skipped; some are delivered twice, which an upsert at the latest version makes harmless.

SQLite allows one writer at a time, so ``seq`` order is commit order and the watermark is simply
the highest ``seq`` read.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from fieldsync.records import Write, on_record_written
from fieldsync.sync.models import Change

ROOT_ENTITIES = ("territories", "accounts", "tasks")


def _account_of(write: Write) -> Any:
    if write.entity == "accounts":
        return write.record.id
    return getattr(write.record, "account_id", None)


def record_change(session: Session, write: Write) -> None:
    """Append the write to the change log, in the writer's transaction."""
    txid: Any = None
    if session.get_bind().dialect.name == "postgresql":
        txid = literal_column("pg_current_xact_id()::text::bigint")
    session.add(
        Change(
            org_id=write.record.org_id,
            entity=write.entity,
            record_id=write.record.id,
            account_id=_account_of(write),
            prev_account_id=write.moved_from,
            version=write.record.version,
            txid=txid,
            changed_at=write.record.updated_at,
        )
    )


def install() -> None:
    """Hook the change log into the write path (idempotent)."""
    on_record_written(record_change)


def current_watermark(session: Session) -> int:
    """Where the next sweep may start: below it every change is committed and visible."""
    if session.get_bind().dialect.name == "postgresql":
        value = session.execute(
            select(literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint"))
        ).scalar_one()
        return int(value)
    return int(session.execute(select(func.coalesce(func.max(Change.seq), 0))).scalar_one())
