"""Write listener that keeps ``account_status_changes``: every write of an account's status,
whoever made it (REST, sync, imports), passes through ``records.mark_written``."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from fieldsync.records import Write, on_record_written
from fieldsync.stats.models import AccountStatusChange


def edit_time(write: Write, field: str) -> datetime:
    """When the field was really changed: the write's stamp (a phone's corrected clock for an
    offline edit), else the record's ``updated_at``."""
    stamp = (write.record.field_times or {}).get(field)
    return datetime.fromisoformat(stamp) if stamp else write.record.updated_at  # type: ignore[no-any-return]


def _previous_status(session: Session, write: Write) -> str | None:
    history = inspect(write.record).attrs.status.history
    if history.deleted:
        return str(history.deleted[0])
    # Already flushed since it changed: the last recorded transition says where it came from.
    return session.execute(
        select(AccountStatusChange.to_status)
        .where(AccountStatusChange.account_id == write.record.id)
        .order_by(AccountStatusChange.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def record_status_change(session: Session, write: Write) -> None:
    """Append a transition when an account is created or its status changes."""
    if write.entity != "accounts" or "status" not in write.fields:
        return
    account = write.record
    previous = None if write.created else _previous_status(session, write)
    if previous == account.status and not write.created:
        return
    session.add(
        AccountStatusChange(
            # The id set here, not by the column default: the ORM then inserts a changeset's rows
            # in one executemany (a default made at insert time needs a statement per row).
            id=uuid.uuid4(),
            org_id=account.org_id,
            account_id=account.id,
            from_status=previous,
            to_status=account.status,
            version=account.version,
            changed_at=edit_time(write, "status"),
        )
    )


def install() -> None:
    """Hook the status history into the write path (idempotent)."""
    on_record_written(record_status_change)
