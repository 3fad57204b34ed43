"""The one path every write of a synced record takes (REST, sync, imports, jobs).

``mark_written`` bumps the version and timestamps; the sync engine hooks its change log here so
that whatever changed a record, phones learn of it on their next pull.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from fieldsync.db import utcnow

# entity name ("accounts", ...) -> callbacks(session, entity, record, fields)
WriteListener = Callable[[Session, str, Any, frozenset[str]], None]
_listeners: list[WriteListener] = []


def on_record_written(listener: WriteListener) -> WriteListener:
    """Register a callback run after every record write (used by the sync change log)."""
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
) -> None:
    """Give the record its next version and tell the listeners what changed."""
    now = now or utcnow()
    if created:
        record.version = 1
        record.created_at = now
    else:
        record.version = (record.version or 0) + 1
    record.updated_at = now
    changed = frozenset(fields)
    for listener in _listeners:
        listener(session, entity, record, changed)
