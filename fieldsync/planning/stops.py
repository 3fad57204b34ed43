"""A stop's status (``planned`` | ``done`` | ``skipped``): the one part of a plan people change.

Three ways in, one rule: ``PATCH /plans/<id>/stops/<account_id>``, a phone's push (the stops it
names, status only), and a visit interaction at a planned stop of its author's plan that local
day (the stop becomes ``done``). Each change is a new plan version through
``records.mark_written``, so every phone holding the plan gets it by pull.

Concurrent edits of one stop merge like any synced field, per stop: the later edit in real time
wins (``field_times["stops.<account_id>"]`` holds when each stop last changed), the loser goes to
the conflict log.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import marshmallow as ma
from marshmallow import validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.db import utcnow
from fieldsync.exceptions import (
    NotFoundError,
    PreconditionFailedError,
    ValidationError,
    flatten_messages,
)
from fieldsync.planning.models import STOP_STATUSES, VisitPlan
from fieldsync.planning.scope import can_see_rep
from fieldsync.planning.service import get_plan, org_zone
from fieldsync.records import Write, mark_written, on_record_written
from fieldsync.schemas import StrictSchema
from fieldsync.sync.models import Conflict


class _StopStatusSchema(StrictSchema):
    account_id = ma.fields.UUID(required=True)
    status = ma.fields.String(required=True, validate=validate.OneOf(STOP_STATUSES))


class _PlanFieldsSchema(StrictSchema):
    """What a phone may push of a plan: the status of the stops it names."""

    stops = ma.fields.List(
        ma.fields.Nested(_StopStatusSchema), required=True, validate=validate.Length(min=1)
    )

    @ma.pre_load
    def _only_stops(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            others = sorted(set(data) - {"stops"})
            if others:
                raise ma.ValidationError(
                    {name: ["Read-only: a phone changes a stop's status only."] for name in others}
                )
        return data


PLAN_FIELDS_SCHEMA = _PlanFieldsSchema()


def _stamp_key(account_id: str) -> str:
    return f"stops.{account_id}"


def _write_statuses(
    session: Session, plan: VisitPlan, statuses: dict[str, str], edited_at: datetime | None
) -> None:
    """Give the named stops their status: one new plan version, per-stop edit times."""
    plan.stops = [
        {**stop, "status": statuses.get(stop["account_id"], stop["status"])} for stop in plan.stops
    ]
    mark_written(session, "visit_plans", plan, {"stops"}, edited_at=edited_at)
    stamp = (edited_at or plan.updated_at).isoformat()
    times = dict(plan.field_times or {})
    times.update({_stamp_key(account_id): stamp for account_id in statuses})
    plan.field_times = times  # a new dict: JSON columns notice reassignment only


def _may_edit(session: Session, actor: Actor, plan: VisitPlan) -> bool:
    """The plan's rep, or a manager or admin whose scope holds the rep."""
    if actor.is_rep:
        return plan.rep_id == actor.user_id
    return can_see_rep(session, actor, plan.rep_id)


def set_stop_status(
    session: Session,
    *,
    actor: Actor,
    plan_id: uuid.UUID,
    account_id: uuid.UUID,
    status: str,
    expected_version: int | None = None,
) -> VisitPlan:
    """Set one stop's status (REST); a stale ``expected_version`` is a 412."""
    plan = get_plan(session, actor=actor, plan_id=plan_id, for_update=True)
    if expected_version is not None and expected_version != plan.version:
        raise PreconditionFailedError(
            f"Visit plan is at version {plan.version}, not {expected_version}."
        )
    stop = plan.stop(account_id)
    if stop is None:
        raise NotFoundError("This plan has no stop at that account.")
    if stop["status"] != status:
        _write_statuses(session, plan, {stop["account_id"]: status}, None)
    return plan


def apply_plan_mutation(
    session: Session,
    *,
    actor: Actor,
    mutation: dict[str, Any],
    edited_at: datetime,
    changeset_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Apply a pushed ``visit_plans`` mutation: the named stops' status, nothing else.

    Returns the push result (``applied`` or ``merged`` with ``conflicts``, with the version);
    raises ValidationError (the mutation is rejected and quarantined) for a delete, a plan the
    pusher may not edit, a field other than ``stops`` or a stop the plan does not have.
    """
    if mutation["op"] != "upsert":
        raise ValidationError(
            "Plans are not deleted from a phone.",
            fields={"_mutation": ["A phone may change a stop's status only."]},
        )
    plan = session.get(VisitPlan, mutation["id"], with_for_update=True)
    if plan is None or plan.org_id != actor.org_id or not _may_edit(session, actor, plan):
        raise ValidationError(
            "No such visit plan.", fields={"_mutation": ["No such visit plan in your scope."]}
        )
    if plan.deleted_at is not None:
        return {"status": "deleted", "version": plan.version}
    try:
        items = PLAN_FIELDS_SCHEMA.load(mutation["fields"])["stops"]
    except ma.ValidationError as error:
        raise ValidationError(
            "Invalid stop statuses.", fields=flatten_messages(error.messages)
        ) from None
    unknown = {
        f"stops.{index}.account_id": ["Not a stop of this plan."]
        for index, item in enumerate(items)
        if plan.stop(item["account_id"]) is None
    }
    if unknown:
        raise ValidationError("Not stops of this plan.", fields=unknown)
    taken: dict[str, str] = {}
    conflicts: list[dict[str, Any]] = []
    times = plan.field_times or {}
    for item in items:
        account_id = str(item["account_id"])
        current = plan.stop(account_id)
        assert current is not None
        if current["status"] == item["status"]:
            continue
        stamp = times.get(_stamp_key(account_id))
        if stamp is None or edited_at > datetime.fromisoformat(stamp):
            taken[account_id] = item["status"]
            continue
        # Someone changed this stop later than the phone did: the later edit stays.
        field = f"stops.{account_id}.status"
        conflicts.append({"field": field, "kept": current["status"], "discarded": item["status"]})
        session.add(
            Conflict(
                org_id=actor.org_id, entity="visit_plans", record_id=plan.id,
                account_id=uuid.UUID(account_id), field=field, kept=current["status"],
                discarded=item["status"], discarded_by=actor.user_id, device_id=actor.device_id,
                changeset_id=changeset_id, changed_at=edited_at, logged_at=utcnow(),
                reason="newer_edit_kept",
            )
        )  # fmt: skip
    if taken:
        _write_statuses(session, plan, taken, edited_at)
    result: dict[str, Any] = {"status": "merged" if conflicts else "applied"}
    result["version"] = plan.version
    if conflicts:
        result["conflicts"] = conflicts
    return result


PLANS_OF_DAY_KEY = "fieldsync.plans_of_day"


def _plan_of_day(
    session: Session, org_id: uuid.UUID, rep_id: uuid.UUID, at: datetime
) -> VisitPlan | None:
    """The rep's live plan of the local day of ``at``, locked.

    A pushed changeset logs many visits of one rep, over many days: the dates of the rep's
    plans are read once per transaction, and a plan only for a visit on one of them.
    Without autoflush: the visit being written (and the changeset's other pending rows) must
    not be inserted one by one to answer it (push flushes them together, see ``sync.push``).
    """
    real = session if isinstance(session, Session) else session()  # a scoped_session
    transaction = real.get_transaction()
    memo = session.info.get(PLANS_OF_DAY_KEY)
    if memo is None or memo[0] is not transaction:
        memo = (transaction, {})
        session.info[PLANS_OF_DAY_KEY] = memo
    known: dict[Any, Any] = memo[1]
    with session.no_autoflush:
        if org_id not in known:
            known[org_id] = org_zone(session, org_id)
        if (org_id, rep_id) not in known:
            known[org_id, rep_id] = dict(
                session.execute(
                    select(VisitPlan.date, VisitPlan.id).where(
                        VisitPlan.org_id == org_id,
                        VisitPlan.rep_id == rep_id,
                        VisitPlan.deleted_at.is_(None),
                    )
                ).all()
            )
        plan_id = known[org_id, rep_id].get(at.astimezone(known[org_id]).date())
        if plan_id is None:
            return None
        plan = session.get(VisitPlan, plan_id, with_for_update=True)
    if plan is None or plan.deleted_at is not None:
        return None
    return plan


def mark_visited_stop(session: Session, write: Write) -> None:
    """A new visit interaction at a stop of its author's plan that local day: the stop is done.

    A write listener (``records.on_record_written``): REST, push and imports all create
    interactions through ``mark_written``, so none of them can miss it.
    """
    if write.entity != "interactions" or not write.created:
        return
    visit = write.record
    if visit.kind != "visit" or visit.user_id is None or visit.deleted_at is not None:
        return
    plan = _plan_of_day(session, visit.org_id, visit.user_id, visit.occurred_at)
    stop = plan.stop(visit.account_id) if plan is not None else None
    if plan is None or stop is None or stop["status"] == "done":
        return
    _write_statuses(session, plan, {stop["account_id"]: "done"}, None)


on_record_written(mark_visited_stop)
