"""The one path every write of a synced record takes (REST, sync, imports, jobs).

``mark_written`` bumps the version, stamps which version and when each field last changed (the
field-level merge of sync reads these), and tells the listeners: the sync change log is one, so
whatever changed a record, phones learn of it on their next pull.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fieldsync.db import utcnow


@dataclass(frozen=True)
class Write:
    """What a listener learns of one write."""

    entity: str
    record: Any
    fields: frozenset[str]
    created: bool
    # The account a child record belonged to before this write, when it moved.
    moved_from: uuid.UUID | None


WriteListener = Callable[[Session, Write], None]
_listeners: list[WriteListener] = []


def on_record_written(listener: WriteListener) -> WriteListener:
    """Register a callback run after every record write (the sync change log)."""
    if listener not in _listeners:
        _listeners.append(listener)
    return listener


def mark_written(
    session: Session,
    entity: str,
    record: Any,
    fields: Iterable[str],
    *,
    created: bool = False,
    now: datetime | None = None,
    edited_at: datetime | None = None,
    moved_from: uuid.UUID | None = None,
) -> None:
    """Give the record its next version, stamp its changed fields and tell the listeners.

    ``edited_at`` is when the edit was made in real time (a phone's corrected clock for an
    offline edit); it defaults to now.
    """
    now = now or utcnow()
    changed = frozenset(fields)
    if created:
        record.version = 1
        record.created_at = now
    else:
        record.version = (record.version or 0) + 1
    record.updated_at = now
    if hasattr(record, "field_versions"):
        stamp = (edited_at or now).isoformat()
        versions = dict(record.field_versions or {})
        times = dict(record.field_times or {})
        for name in changed:
            versions[name] = record.version
            times[name] = stamp
        # New dicts, not in-place edits: JSON columns only notice reassignment.
        record.field_versions, record.field_times = versions, times
    write = Write(entity, record, changed, created, moved_from)
    for listener in _listeners:
        listener(session, write)
