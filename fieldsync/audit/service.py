"""Writing and reading the audit log. Every export or erasure of client data calls
``record_audit`` in the same transaction as the work it records, so neither exists alone."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldsync.audit.models import AuditEntry
from fieldsync.auth.actor import Actor
from fieldsync.db import utcnow
from fieldsync.exceptions import ForbiddenError
from fieldsync.paging import keyset_page
from fieldsync.portfolio.service import jsonable

ACTIONS = (
    "account.erase",
    "contact.erase",
    "account.personal_data",
    "accounts.export",
    "segment.export",
    "accounts.import",
)


def record_audit(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str | None,
    record_id: uuid.UUID | None,
    details: dict[str, Any] | None = None,
) -> AuditEntry:
    """Log that ``actor`` did ``action`` (one of ``ACTIONS``) to a record or a set of them.

    ``details`` says what (filters, counts, format), never the personal data itself.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")  # a programming error, not input
    entry = AuditEntry(
        org_id=actor.org_id,
        actor_id=actor.user_id,
        action=action,
        entity=entity,
        record_id=record_id,
        details=jsonable(details) if details is not None else None,
        at=utcnow(),
    )
    session.add(entry)
    return entry


def list_audit(
    session: Session,
    *,
    actor: Actor,
    action: str | None = None,
    actor_id: uuid.UUID | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int,
    cursor: str | None,
) -> tuple[list[AuditEntry], str | None]:
    """The organisation's audit log, newest first (admins only)."""
    if not actor.is_admin:
        raise ForbiddenError("Only admins can read the audit log.")
    stmt = select(AuditEntry).where(AuditEntry.org_id == actor.org_id)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    if actor_id:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if since:
        stmt = stmt.where(AuditEntry.at >= since)
    if until:
        stmt = stmt.where(AuditEntry.at < until)
    return keyset_page(
        session, stmt, key=AuditEntry.at, id_column=AuditEntry.id, cursor=cursor, limit=limit,
        descending=True,
    )  # fmt: skip
