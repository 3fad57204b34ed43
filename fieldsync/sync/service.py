"""Sync operations for routes and jobs: push, pull, conflicts, quarantine, device health."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import Device
from fieldsync.auth.scope import visible_account_ids
from fieldsync.errors import ForbiddenError, ValidationError
from fieldsync.geo.service import territory_rep_ids
from fieldsync.schemas import decode_cursor, encode_cursor
from fieldsync.sync.models import Change, Conflict, QuarantinedMutation, SyncHorizon
from fieldsync.sync.pull import PULL_ENTITIES, PullPage, pull_changes
from fieldsync.sync.push import READ_SCHEMAS, apply_changeset

__all__ = [
    "apply_changeset",
    "device_lags",
    "list_conflicts",
    "list_quarantine",
    "page_payload",
    "prune_changes",
    "pull_changes",
]


def page_payload(session: Session, page: PullPage) -> dict[str, Any]:
    """The wire form of a pull page: every entity present, upserted records then removed ids."""
    from fieldsync.geo.schemas import TerritorySchema
    from fieldsync.geo.models import Territory

    changes: dict[str, dict[str, list[Any]]] = {}
    for entity in PULL_ENTITIES:
        bucket = page.items.get(entity, {})
        live = [record for record in bucket.values() if record is not None]
        removed = [str(rid) for rid, record in bucket.items() if record is None]
        if entity == "territories":
            reps = territory_rep_ids(session, [t.id for t in live])
            schema = TerritorySchema()
            columns = [c.key for c in Territory.__table__.columns]
            upserted = [
                schema.dump({**{c: getattr(t, c) for c in columns}, "rep_ids": reps[t.id]})
                for t in live
            ]
        elif entity in READ_SCHEMAS:
            upserted = READ_SCHEMAS[entity].dump(live, many=True)
        else:
            upserted = []
        changes[entity] = {"upserted": upserted, "removed": removed}
    payload: dict[str, Any] = {"cursor": page.cursor, "has_more": page.has_more, "changes": changes}
    if page.checksum is not None:
        payload["checksum"] = page.checksum
    return payload


# --- conflicts and quarantine ----------------------------------------------------------------


def _keyset(stmt: Any, model: Any, cursor: str | None) -> Any:
    """Newest first, paged on (logged_at, id)."""
    position = decode_cursor(cursor)
    if position is not None:
        try:
            at, after = datetime.fromisoformat(position["t"]), uuid.UUID(position["i"])
        except (KeyError, TypeError, ValueError):
            raise ValidationError("Invalid cursor.", fields={"cursor": ["Damaged."]}) from None
        stmt = stmt.where(
            or_(model.logged_at < at, and_(model.logged_at == at, model.id < after))
        )
    return stmt.order_by(model.logged_at.desc(), model.id.desc())


def _page(session: Session, stmt: Any, model: Any, cursor: str | None, limit: int) -> tuple[list[Any], str | None]:
    rows = list(session.execute(_keyset(stmt, model, cursor).limit(limit + 1)).scalars())
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor({"t": last.logged_at.isoformat(), "i": str(last.id)})
    return rows[:limit], next_cursor


def list_conflicts(
    session: Session,
    *,
    actor: Actor,
    entity: str | None,
    record_id: uuid.UUID | None,
    limit: int,
    cursor: str | None,
) -> tuple[list[Conflict], str | None]:
    """Values that lost a merge: a rep's own discarded writes; managers' and admins' scope."""
    stmt = select(Conflict).where(Conflict.org_id == actor.org_id)
    visible: ColumnElement[bool]
    if actor.is_rep:
        visible = Conflict.discarded_by == actor.user_id
    else:
        visible = or_(
            Conflict.account_id.in_(visible_account_ids(session, actor)),
            Conflict.discarded_by == actor.user_id,
        )
    stmt = stmt.where(visible)
    if entity:
        stmt = stmt.where(Conflict.entity == entity)
    if record_id:
        stmt = stmt.where(Conflict.record_id == record_id)
    return _page(session, stmt, Conflict, cursor, limit)


def list_quarantine(
    session: Session, *, actor: Actor, limit: int, cursor: str | None
) -> tuple[list[QuarantinedMutation], str | None]:
    """Rejected mutations, whole, for support (admins only)."""
    if not actor.is_admin:
        raise ForbiddenError("Only admins can read the quarantine.")
    stmt = select(QuarantinedMutation).where(QuarantinedMutation.org_id == actor.org_id)
    return _page(session, stmt, QuarantinedMutation, cursor, limit)


# --- device health and retention -------------------------------------------------------------


def device_lags(session: Session, devices: list[Device]) -> dict[uuid.UUID, int | None]:
    """How many changes of its organisation each device has not pulled yet (None: never)."""
    if not devices:
        return {}
    postgres = session.get_bind().dialect.name == "postgresql"
    position = Change.txid if postgres else Change.seq
    lags: dict[uuid.UUID, int | None] = {}
    for device in devices:
        if device.pull_position is None:
            lags[device.id] = None
            continue
        beyond = position >= device.pull_position if postgres else position > device.pull_position
        lags[device.id] = int(
            session.execute(
                select(func.count()).select_from(Change).where(Change.org_id == device.org_id, beyond)
            ).scalar_one()
        )
    return lags


def prune_changes(session: Session, *, org_id: uuid.UUID, before: datetime) -> int:
    """Drop change-log rows older than ``before``; cursors from before then answer 410."""
    old = select(func.max(Change.seq), func.max(Change.txid)).where(
        Change.org_id == org_id, Change.changed_at < before
    )
    max_seq, max_txid = session.execute(old).one()
    if max_seq is None:
        return 0
    deleted = session.execute(
        delete(Change).where(Change.org_id == org_id, Change.seq <= max_seq)
    ).rowcount
    horizon = session.get(SyncHorizon, org_id) or SyncHorizon(org_id=org_id)
    horizon.min_seq = max(horizon.min_seq or 0, int(max_seq) + 1)
    horizon.min_txid = max(horizon.min_txid or 0, int(max_txid or 0) + 1)
    horizon.pruned_at = before
    session.add(horizon)
    return int(deleted or 0)
