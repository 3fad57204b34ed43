"""Keep erased data from coming back through a phone that was offline during the erasure.

Erasure stamps every personal field of the erased records (``records.mark_written``), so an
edit a phone made before the erasure loses the field-level merge when it is pushed later. The
losing value would then land in the conflict log (and a rejected mutation in the quarantine):
this guard, run before every flush, nulls those values when the edit predates the erasure,
and the same conflicts in the push response stored for replays. Edits made after the erasure
are new data and are kept like any other.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from fieldsync.privacy.models import Erasure
from fieldsync.sync.models import Changeset, Conflict, QuarantinedMutation

SCRUBBED_KEY = "fieldsync.privacy_scrubbed"
ErasedFields = dict[tuple[str, uuid.UUID], tuple[datetime, set[str]]]


def as_uuid(value: Any) -> uuid.UUID | None:
    """A phone's id as a UUID (any case, any form), or None if it is not one."""
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def _scrubbed(session: Session) -> set[tuple[str, str, str]]:
    """(entity, record id, field) of the conflicts nulled in the session's transaction."""
    root = session.get_transaction()
    holder = session.info.get(SCRUBBED_KEY)
    if holder is None or holder[0] is not root:  # another transaction's: start afresh
        holder = (root, set())
        session.info[SCRUBBED_KEY] = holder
    scrubbed: set[tuple[str, str, str]] = holder[1]
    return scrubbed


def _erasures(session: Session, ids: set[uuid.UUID]) -> ErasedFields:
    if not ids:
        return {}
    with session.no_autoflush:
        rows = session.execute(select(Erasure).where(Erasure.record_id.in_(ids))).scalars()
        return {(r.entity, r.record_id): (r.erased_at, set(r.fields or ())) for r in rows}


def _edit_time(mutation: Any) -> datetime | None:
    """The device's ``changed_at`` of a raw mutation (its own clock: close enough here)."""
    raw = mutation.get("changed_at") if isinstance(mutation, dict) else None
    try:
        moment = datetime.fromisoformat(str(raw)) if raw else None
    except ValueError:
        return None
    return moment if moment is None or moment.tzinfo else None


def _scrub_conflicts(session: Session, conflicts: list[Conflict], erased: ErasedFields) -> None:
    scrubbed = _scrubbed(session)
    for conflict in conflicts:
        hit = erased.get((conflict.entity, conflict.record_id))
        if hit is None or conflict.field not in hit[1]:
            continue
        if conflict.changed_at is None or conflict.changed_at <= hit[0]:
            conflict.kept = conflict.discarded = None
            scrubbed.add((conflict.entity, str(conflict.record_id), conflict.field))


def _scrub_quarantine(rows: list[QuarantinedMutation], erased: ErasedFields) -> None:
    for row in rows:
        record_id = as_uuid(row.record_id)
        hit = erased.get((str(row.entity), record_id)) if record_id else None
        fields = row.mutation.get("fields") if isinstance(row.mutation, dict) else None
        if hit is None or not isinstance(fields, dict):
            continue
        edited = _edit_time(row.mutation)
        if edited is None or edited <= hit[0]:
            cleaned = {k: (None if k in hit[1] else v) for k, v in fields.items()}
            row.mutation = {**row.mutation, "fields": cleaned}


def _scrub_responses(session: Session, changesets: list[Changeset]) -> None:
    scrubbed = _scrubbed(session)
    if not scrubbed:
        return
    for changeset in changesets:
        response = changeset.response or {}
        results, touched = [], False
        for result in response.get("results") or []:
            if result.get("conflicts"):
                key = (str(result.get("entity")), str(as_uuid(result.get("id"))))
                conflicts = []
                for item in result["conflicts"]:
                    if (*key, item.get("field")) in scrubbed:
                        item, touched = {**item, "kept": None, "discarded": None}, True
                    conflicts.append(item)
                result = {**result, "conflicts": conflicts}
            results.append(result)
        if touched:
            changeset.response = {**response, "results": results}


def guard_erased(session: Session, flush_context: Any, instances: Any) -> None:
    """Before a flush: null pre-erasure values of erased records in new sync-log rows."""
    conflicts = [o for o in session.new if isinstance(o, Conflict)]
    quarantine = [o for o in session.new if isinstance(o, QuarantinedMutation)]
    changesets = [o for o in (*session.new, *session.dirty) if isinstance(o, Changeset)]
    if not (conflicts or quarantine or changesets):
        return
    ids = {c.record_id for c in conflicts}
    ids |= {rid for q in quarantine if (rid := as_uuid(q.record_id)) is not None}
    if ids:
        erased = _erasures(session, ids)
        if erased:
            _scrub_conflicts(session, conflicts, erased)
            _scrub_quarantine(quarantine, erased)
    if changesets:
        _scrub_responses(session, changesets)


def install() -> None:
    """Hook the guard into every session's flush (idempotent)."""
    if not event.contains(Session, "before_flush", guard_erased):
        event.listen(Session, "before_flush", guard_erased)
