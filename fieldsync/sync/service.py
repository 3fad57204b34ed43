"""Sync operations for routes and jobs: push, pull, conflicts, quarantine, device health."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, func, or_, select
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import Device
from fieldsync.auth.scope import record_condition, visible_account_ids
from fieldsync.exceptions import ForbiddenError
from fieldsync.geo.service import territory_rep_ids
from fieldsync.paging import keyset_page
from fieldsync.portfolio.models import Task
from fieldsync.sync import serialise
from fieldsync.sync.changelog import current_watermark
from fieldsync.sync.models import Change, Conflict, QuarantinedMutation, SyncHorizon
from fieldsync.sync.pull import PULL_ENTITIES, PullPage, pull_changes
from fieldsync.sync.push import apply_changeset

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
    from fieldsync.geo.models import Territory
    from fieldsync.geo.schemas import TerritorySchema

    changes: dict[str, dict[str, list[Any]]] = {}
    for entity in PULL_ENTITIES:
        bucket = page.items.get(entity, {})
        live = [record for record in bucket.values() if record is not None]
        removed = [str(rid) for rid, record in bucket.items() if record is None]
        if entity == "territories" and live:
            reps = territory_rep_ids(session, [t.id for t in live])
            schema = TerritorySchema()
            columns = [c.key for c in Territory.__table__.columns]
            upserted = [
                schema.dump({**{c: getattr(t, c) for c in columns}, "rep_ids": reps[t.id]})
                for t in live
            ]
        elif entity in serialise.SERIALISERS:
            # By hand, not by the read schema: a first pull writes whole scopes (and the
            # records are rows of the wire's columns, see ``pull._records``).
            upserted = list(map(serialise.SERIALISERS[entity], live))
        else:
            upserted = []
        changes[entity] = {"upserted": upserted, "removed": removed}
    payload: dict[str, Any] = {"cursor": page.cursor, "has_more": page.has_more, "changes": changes}
    if page.checksum is not None:
        payload["checksum"] = page.checksum
    return payload


# --- conflicts and quarantine ----------------------------------------------------------------


def _page(
    session: Session, stmt: Any, model: Any, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """Newest first, paged on (logged_at, id)."""
    return keyset_page(
        session, stmt, key=model.logged_at, id_column=model.id, cursor=cursor, limit=limit,
        descending=True,
    )  # fmt: skip


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
        # A task without account is in scope through its assignee or creator, not an account.
        visible_tasks = select(Task.id).where(record_condition(session, actor, Task))
        visible = or_(
            Conflict.account_id.in_(visible_account_ids(session, actor)),
            and_(Conflict.entity == "tasks", Conflict.record_id.in_(visible_tasks)),
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
    """How many changes of its organisation each device has not pulled yet (None: never).

    Counted from the highest change seq seen when the device's last complete sweep began.
    """
    lags: dict[uuid.UUID, int | None] = {}
    for device in devices:
        if device.pull_position is None:
            lags[device.id] = None
            continue
        lags[device.id] = int(
            session.execute(
                select(func.count())
                .select_from(Change)
                .where(Change.org_id == device.org_id, Change.seq > device.pull_position)
            ).scalar_one()
        )
    return lags


def prune_changes(session: Session, *, org_id: uuid.UUID, before: datetime) -> int:
    """Drop change-log rows older than ``before``; cursors from before then answer 410.

    Only rows below the current watermark go (see ``changelog``): every sweep that starts
    afterwards has its watermark at or above the new horizon, so a fresh cursor is never gone
    (on PostgreSQL a transaction still running anywhere holds the watermark, and the pruning,
    back; on SQLite the newest row stays, so its seq is never handed out again).
    """
    watermark = current_watermark(session)
    postgres = session.get_bind().dialect.name == "postgresql"
    prunable = and_(
        Change.org_id == org_id, Change.txid < watermark if postgres else Change.seq < watermark
    )
    max_seq = session.execute(
        select(func.max(Change.seq)).where(prunable, Change.changed_at < before)
    ).scalar_one()
    if max_seq is None:
        return 0
    doomed = and_(prunable, Change.seq <= max_seq)
    # The horizon comes from the rows deleted, not only the old ones: on PostgreSQL seq
    # order is not commit order.
    max_txid = session.execute(select(func.max(Change.txid)).where(doomed)).scalar_one()
    deleted = session.execute(delete(Change).where(doomed)).rowcount
    horizon = session.get(SyncHorizon, org_id) or SyncHorizon(org_id=org_id)
    horizon.min_seq = max(horizon.min_seq or 0, int(max_seq) + 1)
    horizon.min_txid = max(horizon.min_txid or 0, int(max_txid or 0) + 1)
    horizon.pruned_at = before
    session.add(horizon)
    return int(deleted or 0)
