"""Rules for segments: saved account filters shared by the organisation.

Who may do what: every member of the organisation may list, read and use a segment (reps
too: the accounts always come from the caller's own scope, ``auth.scope``, so a segment never
shows a rep an account outside it); managers and admins create segments; the creator or an
admin changes or deletes one. Another organisation's segment is a 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import marshmallow as ma
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldsync.audit.service import record_audit
from fieldsync.auth.actor import Actor
from fieldsync.exceptions import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    ValidationError,
    flatten_messages,
)
from fieldsync.imports.export import export_accounts
from fieldsync.paging import keyset_page
from fieldsync.portfolio.schemas import AccountFilterSchema
from fieldsync.portfolio.service import Page, account_filters, list_records
from fieldsync.segments.models import Segment


def _require_editor(actor: Actor) -> None:
    if actor.is_rep:
        raise ForbiddenError("Reps use segments; managers and admins create and change them.")


def _check_owner(actor: Actor, segment: Segment) -> None:
    if not actor.is_admin and segment.created_by != actor.user_id:
        raise ForbiddenError("Only the segment's creator or an admin can change it.")


def _check_name_free(
    session: Session, actor: Actor, name: str, keep: uuid.UUID | None = None
) -> None:
    # Checked before writing (not by catching IntegrityError, which would abort a
    # PostgreSQL transaction); the unique constraint still guards a race.
    taken = session.execute(
        select(Segment.id).where(Segment.org_id == actor.org_id, Segment.name == name)
    ).scalar_one_or_none()
    if taken is not None and taken != keep:
        raise ConflictError(f"A segment named {name!r} already exists.")


def get_segment(session: Session, *, actor: Actor, segment_id: uuid.UUID) -> Segment:
    """A segment of the actor's organisation, or NotFound."""
    segment = session.execute(
        select(Segment).where(Segment.id == segment_id, Segment.org_id == actor.org_id)
    ).scalar_one_or_none()
    if segment is None:
        raise NotFoundError("Segment not found.")
    return segment


def list_segments(
    session: Session, *, actor: Actor, q: str | None, limit: int, cursor: str | None
) -> tuple[list[Segment], str | None]:
    """The organisation's segments by name, paged."""
    stmt = select(Segment).where(Segment.org_id == actor.org_id)
    if q:
        escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(Segment.name.ilike(f"%{escaped}%", escape="\\"))
    return keyset_page(
        session, stmt, key=Segment.name, id_column=Segment.id, cursor=cursor, limit=limit
    )


def create_segment(session: Session, *, actor: Actor, data: dict[str, Any]) -> Segment:
    """Save a named filter for the organisation (managers and admins)."""
    _require_editor(actor)
    _check_name_free(session, actor, data["name"])
    segment = Segment(
        id=uuid.uuid4(),
        org_id=actor.org_id,
        name=data["name"],
        description=data.get("description"),
        filters=data["filters"],
        created_by=actor.user_id,
    )
    session.add(segment)
    session.flush()  # created_at and the unique name, now rather than at commit
    return segment


def update_segment(
    session: Session, *, actor: Actor, segment_id: uuid.UUID, data: dict[str, Any]
) -> Segment:
    """Change a segment's name, description or filters (its creator or an admin)."""
    segment = get_segment(session, actor=actor, segment_id=segment_id)
    _require_editor(actor)
    _check_owner(actor, segment)
    if "name" in data and data["name"] != segment.name:
        _check_name_free(session, actor, data["name"], keep=segment.id)
    for name in ("name", "description", "filters"):
        if name in data:
            setattr(segment, name, data[name])
    session.flush()
    return segment


def delete_segment(session: Session, *, actor: Actor, segment_id: uuid.UUID) -> None:
    """Delete a segment for good: it is a saved query, no history hangs on it."""
    segment = get_segment(session, actor=actor, segment_id=segment_id)
    _require_editor(actor)
    _check_owner(actor, segment)
    session.delete(segment)


def segment_arguments(segment: Segment) -> dict[str, Any]:
    """The segment's stored filters loaded as the account list loads its query arguments.

    A stored filter that no longer validates (the filter schema changed since it was saved)
    is a 422 naming it, never a 500.
    """
    try:
        loaded: dict[str, Any] = AccountFilterSchema().load(segment.filters or {})
    except ma.ValidationError as error:
        fields = flatten_messages(error.messages, "filters")
        raise ValidationError("The segment's saved filters are not valid.", fields=fields) from None
    return loaded


def segment_accounts(
    session: Session, *, actor: Actor, segment_id: uuid.UUID, limit: int, cursor: str | None
) -> Page:
    """A page of the accounts matching the segment, within the caller's scope."""
    segment = get_segment(session, actor=actor, segment_id=segment_id)
    args = segment_arguments(segment)
    return list_records(
        session,
        actor=actor,
        entity="accounts",
        conditions=account_filters(session, args),
        limit=limit,
        cursor=cursor,
    )


def export_segment(
    session: Session, *, actor: Actor, segment_id: uuid.UUID, fmt: str
) -> tuple[Segment, Iterator[bytes]]:
    """The segment's accounts in the caller's scope as a CSV or XLSX stream; audited."""
    segment = get_segment(session, actor=actor, segment_id=segment_id)
    args = segment_arguments(segment)
    chunks = export_accounts(session, actor=actor, filters=args, fmt=fmt)
    record_audit(
        session,
        actor=actor,
        action="segment.export",
        entity="segments",
        record_id=segment.id,
        details={"format": fmt, "name": segment.name, "filters": segment.filters},
    )
    return segment, chunks
