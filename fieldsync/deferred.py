"""Work a transaction hands over once it has committed (no Flask here: services use it).

A service notes, say, an account whose address changed; ``fieldsync.jobs`` sends the noted work
to a Celery worker after the commit (and forgets it on rollback).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

# Account ids whose address changed in this transaction, geocoded by a worker after commit.
GEOCODE_QUEUE_KEY = "fieldsync.geocode_queue"


def queue_after_commit(session: Session, key: str, value: Any) -> None:
    """Remember work to hand to a worker once this transaction has committed."""
    session.info.setdefault(key, set()).add(value)
