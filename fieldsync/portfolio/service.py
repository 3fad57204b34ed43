"""Rules for the client portfolio: one function per entity and operation, one write path.

REST routes, the sync engine, imports and jobs all call these functions; each write ends in
``records.mark_written`` so versions and the change log stay right whoever wrote.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, exists, func, or_, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import User
from fieldsync.auth.scope import record_condition, scoped_select
from fieldsync.db import utcnow
from fieldsync.exceptions import (
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    ValidationError,
)
from fieldsync.geo.geocoding.pipeline import queue_geocoding
from fieldsync.geo.geometry import KM_PER_DEGREE
from fieldsync.geo.service import place_account, verify_check_in
from fieldsync.paging import keyset_page
from fieldsync.planning.due import UrgencyWeights, account_urgencies
from fieldsync.portfolio.batch import current_batch
from fieldsync.portfolio.models import Account, Contact, Interaction, Task
from fieldsync.portfolio.schemas import parse_near
from fieldsync.records import mark_written
from fieldsync.schemas import decode_cursor, encode_cursor

MODELS: dict[str, type[Any]] = {
    "accounts": Account,
    "contacts": Contact,
    "interactions": Interaction,
    "tasks": Task,
}
LABELS = {
    "accounts": "Account",
    "contacts": "Contact",
    "interactions": "Interaction",
    "tasks": "Task",
}

ACCOUNT_PLAIN_FIELDS = (
    "kind", "status", "name", "title", "first_name", "last_name", "email", "phone", "mobile",
    "website", "industry", "vat_number", "legal_form", "annual_revenue", "employees", "owner_id",
    "tags", "color", "contact_preference", "visit_every_days", "opening_hours", "notes", "custom",
)  # fmt: skip
CONTACT_FIELDS = (
    "account_id", "first_name", "last_name", "role", "email", "phone", "is_primary", "notes",
)  # fmt: skip
INTERACTION_FIELDS = (
    "account_id", "contact_id", "kind", "occurred_at", "duration_minutes", "outcome", "report",
    "check_in", "check_out", "next_step",
)  # fmt: skip
TASK_FIELDS = (
    "account_id", "assignee_id", "title", "kind", "due_at", "done", "done_at", "notes",
)  # fmt: skip


@dataclass(frozen=True)
class Page:
    items: list[Any]
    next_cursor: str | None


def jsonable(value: Any) -> Any:
    """Make a validated value storable in a JSON column (datetimes as ISO strings)."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _assign(
    record: Any, data: dict[str, Any], names: tuple[str, ...], creating: bool = False
) -> set[str]:
    """Copy the given wire fields onto the record; return the names whose value changed.

    A record being created holds None in every one of them (column defaults apply at the
    INSERT): what is not None changes, without reading the attribute back.
    """
    changed: set[str] = set()
    for name in names:
        if name in data:
            value = jsonable(data[name]) if isinstance(data[name], dict | list) else data[name]
            if (value is not None) if creating else (getattr(record, name) != value):
                setattr(record, name, value)
                changed.add(name)
    return changed


def _get(session: Session, actor: Actor, model: type[Any], record_id: Any) -> Any:
    """``session.get``, from memory inside a write batch (a pushed changeset)."""
    batch = current_batch(session, actor)
    return batch.find(session, model, record_id) if batch else session.get(model, record_id)


def _flush(session: Session, actor: Actor, model: type[Any] | None, record: Any) -> None:
    """Flush a write (constraint errors surface at the write that caused them); an optimistic
    write batch flushes once at its end instead, and is told of new records (``model``)."""
    batch = current_batch(session, actor)
    if batch is None:
        session.flush()
        return
    if model is not None:
        batch.created(model, record)
    batch.flush(session)


def _check_user(session: Session, actor: Actor, user_id: uuid.UUID | None, field: str) -> None:
    if user_id is None:
        return
    user = _get(session, actor, User, user_id)
    if user is None or user.org_id != actor.org_id or not user.active:
        raise ValidationError(
            f"{field} does not name a user of the organisation.",
            fields={field: ["Unknown user."]},
        )


def visible_account(session: Session, actor: Actor, account_id: uuid.UUID, field: str) -> Account:
    """The live account a child record points to, if the actor may see it (else 422)."""
    batch = current_batch(session, actor)
    if batch is not None:
        account = batch.find(session, Account, account_id)
        if account is not None and (
            account.deleted_at is not None or not batch.sees(session, Account, account)
        ):
            account = None
    else:
        account = session.execute(
            scoped_select(session, actor, Account).where(Account.id == account_id)
        ).scalar_one_or_none()
    if account is None:
        raise ValidationError(
            f"{field} does not name an account you can see.", fields={field: ["Unknown account."]}
        )
    return account


# --- per-entity rules ------------------------------------------------------------------------


def _apply_account(
    session: Session, actor: Actor, account: Account, data: dict[str, Any], creating: bool
) -> set[str]:
    changed = _assign(account, data, ACCOUNT_PLAIN_FIELDS, creating)
    if "owner_id" in changed:
        _check_user(session, actor, account.owner_id, "owner_id")
    if "address" in data:
        address = data["address"] or {}
        for name in Account.ADDRESS_FIELDS:
            if (name in address or data["address"] is None) and getattr(
                account, name
            ) != address.get(name):
                setattr(account, name, address.get(name))
                changed.add("address")
    if "consent" in data:
        consent = next_consent(account.consent, data["consent"])
        if consent != account.consent:
            account.consent = consent
            changed.add("consent")
    if "location" in data:
        _set_location(account, data["location"])
        changed |= {"location", "geocode_status"}
    elif "address" in changed or (creating and account.address):
        # A new address invalidates the old spot: geocode again (a later pin still wins).
        account.geocode_status = "pending" if account.address else None
        account.geocode_error = None
        changed.add("geocode_status")
    if "geocode_status" in changed and account.geocode_status == "pending":
        changed |= queue_geocoding(session, account)  # inline when the session enables it
    if changed & {"location", "address"} and place_account(session, account):
        changed.add("territory_id")
    if changed & {"visit_every_days"} or creating:
        _refresh_visit_due(account)
    return changed


def next_consent(
    current: dict[str, Any] | None, given: dict[str, Any] | None
) -> dict[str, Any] | None:
    """The consent after a write: stamped when its value changes, untouched when it does not.

    ``updated_at`` says when the person gave or withdrew consent: the time the client sends
    (a phone knows when it was asked; capped at now), else the server's clock. Sending the
    same value again changes nothing, so the stamp keeps the moment the value was decided.
    """
    if given is None:
        return None
    before = (current or {}).get("marketing_email")
    value = given.get("marketing_email", before)
    if current is not None and value == before:
        return current
    now = utcnow()
    stamp = given.get("updated_at")
    if isinstance(stamp, str):  # a caller that passes wire JSON rather than loaded values
        stamp = datetime.fromisoformat(stamp)
    stamp = now if stamp is None or stamp > now else stamp
    return {"marketing_email": value, "updated_at": jsonable(stamp.astimezone(UTC))}


def _set_location(account: Account, location: dict[str, Any] | None) -> None:
    if location is None:
        account.lat = account.lon = account.location_precision = account.location_source = None
        account.geocode_status = "pending" if account.address else None
        return
    account.lat, account.lon = location["lat"], location["lon"]
    account.location_precision = location.get("precision") or "rooftop"
    account.location_source = location.get("source") or "manual"
    account.geocode_status = "manual"  # a person's pin wins until the address changes
    account.geocode_error = None


def _refresh_visit_due(account: Account) -> None:
    if not account.visit_every_days:
        account.visit_due_at = None
        return
    since = account.last_visit_at or account.created_at or utcnow()
    account.visit_due_at = since + timedelta(days=account.visit_every_days)
    if account.last_visit_at is None:
        account.visit_due_at = since  # never visited: due now


def refresh_last_visit(session: Session, account: Account) -> None:
    """Recompute ``last_visit_at`` from live visit interactions and record the change."""
    last = session.execute(
        select(func.max(Interaction.occurred_at)).where(
            Interaction.account_id == account.id,
            Interaction.kind == "visit",
            Interaction.deleted_at.is_(None),
        )
    ).scalar_one_or_none()
    if last is not None and last.tzinfo is None:  # aggregates bypass the column type on SQLite
        last = datetime.fromisoformat(str(last)).replace(tzinfo=account.created_at.tzinfo)
    if last != account.last_visit_at:
        account.last_visit_at = last
        _refresh_visit_due(account)
        mark_written(session, "accounts", account, {"last_visit_at", "visit_due_at"})


def _apply_contact(
    session: Session, actor: Actor, contact: Contact, data: dict[str, Any], creating: bool
) -> set[str]:
    if "account_id" in data and (creating or data["account_id"] != contact.account_id):
        visible_account(session, actor, data["account_id"], "account_id")
    return _assign(contact, data, CONTACT_FIELDS, creating)


def _apply_interaction(
    session: Session, actor: Actor, interaction: Interaction, data: dict[str, Any], creating: bool
) -> set[str]:
    previous_account_id = interaction.account_id
    account_id = data.get("account_id", interaction.account_id)
    if creating or account_id != interaction.account_id:
        account = visible_account(session, actor, account_id, "account_id")
    else:  # staying on its account, which may have been deleted since (history is kept)
        account = _get(session, actor, Account, account_id)
        assert account is not None  # a foreign key
    contact_id = data.get("contact_id", interaction.contact_id)
    if contact_id is not None and ("contact_id" in data or "account_id" in data):
        contact = _get(session, actor, Contact, contact_id)
        if contact is None or contact.account_id != account_id or contact.deleted_at is not None:
            raise ValidationError(
                "contact_id must name a contact of the same account.",
                fields={"contact_id": ["Not a contact of this account."]},
            )
    changed = _assign(interaction, data, INTERACTION_FIELDS, creating)
    if creating:
        interaction.user_id = actor.user_id
    if creating or changed & {"check_in", "account_id"}:
        _verify(interaction, account)
        changed.add("verification")
    if creating:
        _note_new_visit(session, account, interaction)
    elif changed & {"kind", "occurred_at", "account_id"}:
        session.flush()  # the aggregate below must see this interaction
        refresh_last_visit(session, account)
        if previous_account_id and previous_account_id != account.id:
            previous = session.get(Account, previous_account_id)
            if previous is not None:
                refresh_last_visit(session, previous)
    return changed


def _note_new_visit(session: Session, account: Account, interaction: Interaction) -> None:
    """What ``refresh_last_visit`` computes after a new interaction, without its query: the
    latest live visit is the new one if it is a visit later than ``last_visit_at`` (which is
    the latest of the others: every write of an interaction keeps it so)."""
    if interaction.kind != "visit" or interaction.deleted_at is not None:
        return
    occurred = interaction.occurred_at.astimezone(UTC)  # as the column reads it back
    if account.last_visit_at is None or occurred > account.last_visit_at:
        account.last_visit_at = occurred
        _refresh_visit_due(account)
        mark_written(session, "accounts", account, {"last_visit_at", "visit_due_at"})


def _verify(interaction: Interaction, account: Account) -> None:
    verification = verify_check_in(account, interaction.check_in)
    interaction.verification = verification
    interaction.verification_status = verification["status"]


def _apply_task(
    session: Session, actor: Actor, task: Task, data: dict[str, Any], creating: bool
) -> set[str]:
    if data.get("account_id") is not None and (creating or data["account_id"] != task.account_id):
        visible_account(session, actor, data["account_id"], "account_id")
    if creating:
        task.created_by = actor.user_id
        data = {"assignee_id": actor.user_id, **data} if "assignee_id" not in data else data
    changed = _assign(task, data, TASK_FIELDS, creating)
    if "assignee_id" in changed:
        _check_user(session, actor, task.assignee_id, "assignee_id")
    if "done" in changed or creating:
        if task.done and task.done_at is None:
            task.done_at = utcnow()
            changed.add("done_at")
        elif not task.done and task.done_at is not None and "done_at" not in data:
            task.done_at = None
            changed.add("done_at")
    return changed


Applier = Callable[[Session, Actor, Any, dict[str, Any], bool], set[str]]
APPLIERS: dict[str, Applier] = {
    "accounts": _apply_account,
    "contacts": _apply_contact,
    "interactions": _apply_interaction,
    "tasks": _apply_task,
}


# --- the generic operations ------------------------------------------------------------------


def get_record(
    session: Session,
    *,
    actor: Actor,
    entity: str,
    record_id: uuid.UUID,
    include_deleted: bool = False,
) -> Any:
    """One record the actor may see, or NotFound (also for other organisations)."""
    model = MODELS[entity]
    batch = current_batch(session, actor)
    if batch is not None:
        record = batch.find(session, model, record_id)
        if (
            record is None
            or not batch.sees(session, model, record)
            or (record.deleted_at is not None and not include_deleted)
        ):
            raise NotFoundError(f"{LABELS[entity]} not found.")
        return record
    record = session.execute(
        scoped_select(session, actor, model, include_deleted=include_deleted).where(
            model.id == record_id
        )
    ).scalar_one_or_none()
    if record is None:
        raise NotFoundError(f"{LABELS[entity]} not found.")
    return record


def create_record(
    session: Session,
    *,
    actor: Actor,
    entity: str,
    data: dict[str, Any],
    edited_at: datetime | None = None,
) -> Any:
    """Create a record with a client-chosen id (or a new one).

    ``edited_at`` is when the edit was really made (an offline phone's corrected clock).
    """
    model = MODELS[entity]
    record_id = data.get("id") or uuid.uuid4()
    if _get(session, actor, model, record_id) is not None:
        raise ConflictError(f"{LABELS[entity]} id {record_id} is already used.")
    record = model(id=record_id, org_id=actor.org_id, version=1)
    now = utcnow()
    record.created_at = now
    if entity == "accounts":
        record.created_by = actor.user_id
        if data.get("owner_id") is None and not actor.is_admin:  # null names no other owner
            data = {**data, "owner_id": actor.user_id}
    session.add(record)
    # The appliers query (visibility, placement) before every column is set: an autoflush
    # would insert the half-built row and break its NOT NULL columns.
    with session.no_autoflush:
        fields = APPLIERS[entity](session, actor, record, data, True)
    mark_written(session, entity, record, fields, created=True, now=now, edited_at=edited_at)
    _flush(session, actor, model, record)  # surface constraint errors here, not at commit
    return record


def update_record(
    session: Session,
    *,
    actor: Actor,
    entity: str,
    record_id: uuid.UUID,
    data: dict[str, Any],
    expected_version: int | None = None,
    edited_at: datetime | None = None,
) -> Any:
    """Apply a partial change; a stale ``expected_version`` is a 412 and writes nothing."""
    record = get_record(session, actor=actor, entity=entity, record_id=record_id)
    if expected_version is not None and expected_version != record.version:
        raise PreconditionFailedError(
            f"{LABELS[entity]} is at version {record.version}, not {expected_version}."
        )
    account_before = getattr(record, "account_id", None) if entity != "accounts" else None
    # As in create_record: the appliers check references (owner, assignee) with queries after
    # assigning them; an autoflush would hit the foreign key first (a 500, not a 422).
    with session.no_autoflush:
        fields = APPLIERS[entity](session, actor, record, data, False)
    if fields:
        moved_from = account_before if "account_id" in fields else None
        mark_written(session, entity, record, fields, edited_at=edited_at, moved_from=moved_from)
        _flush(session, actor, model=None, record=record)
    return record


def delete_record(
    session: Session,
    *,
    actor: Actor,
    entity: str,
    record_id: uuid.UUID,
    expected_version: int | None = None,
    edited_at: datetime | None = None,
) -> Any:
    """Soft-delete: the tombstone stays so phones learn of it. Children are kept."""
    record = get_record(session, actor=actor, entity=entity, record_id=record_id)
    if expected_version is not None and expected_version != record.version:
        raise PreconditionFailedError(
            f"{LABELS[entity]} is at version {record.version}, not {expected_version}."
        )
    record.deleted_at = utcnow()
    mark_written(session, entity, record, {"deleted_at"}, edited_at=edited_at)
    if entity == "interactions" and record.kind == "visit":
        session.flush()
        account = session.get(Account, record.account_id)
        if account is not None:
            refresh_last_visit(session, account)
    return record


# --- lists -----------------------------------------------------------------------------------


def _contains_tag(session: Session, tag: str) -> ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":
        # The column's Python type is generic JSON (JSONB is a dialect variant), whose
        # ``contains`` is a string LIKE: ask for JSONB containment (``@>``) explicitly.
        return type_coerce(Account.tags, JSONB).contains([tag])
    each = func.json_each(Account.tags).table_valued("value")
    return exists(select(1).select_from(each).where(each.c.value == tag))


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def account_filters(session: Session, args: dict[str, Any]) -> list[ColumnElement[bool]]:
    """Conditions for the account list's query parameters."""
    conditions: list[ColumnElement[bool]] = []
    for name in ("status", "kind", "territory_id", "owner_id", "industry", "country"):
        if args.get(name) is not None:
            conditions.append(getattr(Account, name) == args[name])
    if args.get("tag"):
        conditions.append(_contains_tag(session, args["tag"]))
    if args.get("q"):
        pattern = _like(args["q"])
        conditions.append(
            or_(
                Account.name.ilike(pattern, escape="\\"),
                Account.city.ilike(pattern, escape="\\"),
                Account.email.ilike(pattern, escape="\\"),
            )
        )
    if args.get("due"):
        conditions.append(Account.visit_due_at <= utcnow())
    if args.get("near"):
        near = args["near"]
        if isinstance(near, str):  # as a stored segment or the query string holds it
            near = parse_near(near)
        conditions.append(_near_condition(near, args.get("radius_km") or 10.0))
    for name in ("city", "region"):
        if args.get(name):
            conditions.append(func.lower(getattr(Account, name)) == args[name].lower())
    for name, column in (
        ("revenue", Account.annual_revenue),
        ("employees", Account.employees),
    ):
        if args.get(f"{name}_min") is not None:
            conditions.append(column >= args[f"{name}_min"])
        if args.get(f"{name}_max") is not None:
            conditions.append(column <= args[f"{name}_max"])
    if args.get("last_visit_after") is not None:
        conditions.append(Account.last_visit_at >= args["last_visit_after"])
    if args.get("last_visit_before") is not None:
        conditions.append(Account.last_visit_at < args["last_visit_before"])
    if args.get("has_open_tasks") is not None:
        open_tasks = exists(
            select(1).where(
                Task.org_id == Account.org_id,  # the (org_id, account_id) index answers it
                Task.account_id == Account.id,
                Task.deleted_at.is_(None),
                or_(Task.done.is_(False), Task.done.is_(None)),
            )
        )
        conditions.append(open_tasks if args["has_open_tasks"] else ~open_tasks)
    if args.get("visits_min") is not None or args.get("visits_max") is not None:
        conditions.extend(_visit_count_conditions(args))
    return conditions


def _visit_count_conditions(args: dict[str, Any]) -> list[ColumnElement[bool]]:
    """Live visits of the account in [visits_from, visits_to), compared with visits_min/max:
    a correlated count, the same SQL on both databases."""
    window = [
        Interaction.org_id == Account.org_id,  # the (org_id, account_id) index answers it
        Interaction.account_id == Account.id,
        Interaction.kind == "visit",
        Interaction.deleted_at.is_(None),
    ]
    if args.get("visits_from") is not None:
        window.append(Interaction.occurred_at >= args["visits_from"])
    if args.get("visits_to") is not None:
        window.append(Interaction.occurred_at < args["visits_to"])
    visits = select(func.count()).select_from(Interaction).where(*window).scalar_subquery()
    conditions: list[ColumnElement[bool]] = []
    if args.get("visits_min") is not None:
        conditions.append(visits >= args["visits_min"])
    if args.get("visits_max") is not None:
        conditions.append(visits <= args["visits_max"])
    return conditions


def _near_condition(near: tuple[float, float], radius_km: float) -> ColumnElement[bool]:
    """Within ``radius_km``: an equirectangular test, accurate to well under 1 % at these
    distances, written in plain arithmetic so it runs the same on SQLite and PostgreSQL."""
    import math

    lat0, lon0 = near
    scale = math.cos(math.radians(lat0))
    radius_deg = radius_km / KM_PER_DEGREE
    d_lat = Account.lat - lat0
    d_lon = (Account.lon - lon0) * scale
    return (Account.lat.is_not(None)) & (d_lat * d_lat + d_lon * d_lon <= radius_deg * radius_deg)


def child_filters(entity: str, args: dict[str, Any]) -> list[ColumnElement[bool]]:
    """Conditions for the contact, interaction and task lists."""
    model = MODELS[entity]
    conditions: list[ColumnElement[bool]] = []
    for name in ("account_id", "user_id", "kind", "assignee_id"):
        if args.get(name) is not None and hasattr(model, name):
            conditions.append(getattr(model, name) == args[name])
    if entity == "tasks" and args.get("done") is not None:
        # A task never marked (done null) is open.
        open_task = or_(Task.done.is_(False), Task.done.is_(None))
        conditions.append(Task.done.is_(True) if args["done"] else open_task)
    if entity == "interactions":
        if args.get("verification"):
            conditions.append(Interaction.verification_status == args["verification"])
        if args.get("occurred_from"):
            conditions.append(Interaction.occurred_at >= args["occurred_from"])
        if args.get("occurred_to"):
            conditions.append(Interaction.occurred_at < args["occurred_to"])
    if entity == "contacts" and args.get("q"):
        pattern = _like(args["q"])
        conditions.append(
            or_(
                Contact.last_name.ilike(pattern, escape="\\"),
                Contact.first_name.ilike(pattern, escape="\\"),
                Contact.email.ilike(pattern, escape="\\"),
            )
        )
    if entity == "tasks" and args.get("due_before"):
        conditions.append(Task.due_at < args["due_before"])
    return conditions


def list_records(
    session: Session,
    *,
    actor: Actor,
    entity: str,
    conditions: list[ColumnElement[bool]],
    limit: int,
    cursor: str | None,
    urgency: UrgencyWeights | None = None,
) -> Page:
    """A page of visible live records, in id order (stable keyset paging); accounts most
    urgent first when `urgency` weights are given."""
    if urgency is not None and entity == "accounts":
        return _list_by_urgency(
            session, actor=actor, conditions=conditions, limit=limit, cursor=cursor, weights=urgency
        )
    model = MODELS[entity]
    stmt = scoped_select(session, actor, model).where(*conditions)
    rows, next_cursor = keyset_page(session, stmt, id_column=model.id, cursor=cursor, limit=limit)
    return Page(items=rows, next_cursor=next_cursor)


def _list_by_urgency(
    session: Session,
    *,
    actor: Actor,
    conditions: list[ColumnElement[bool]],
    limit: int,
    cursor: str | None,
    weights: UrgencyWeights,
) -> Page:
    """A page of visible live accounts, most urgent first, then by id.

    Urgency depends on the clock, so the first page fixes the instant the scores are computed
    at and the cursor carries it with the last (score, id) returned: later pages continue the
    same order (keyset on score descending, id). Each page scores every matching account (two
    grouped queries): meant for ``due=true``, a rep's or a team's overdue accounts.
    """
    position = decode_cursor(cursor)
    now, after = utcnow(), None
    if position is not None:
        try:
            now = datetime.fromisoformat(str(position["at"]))
            after = (-float(position["score"]), str(uuid.UUID(str(position["id"]))))
        except (KeyError, TypeError, ValueError):
            raise ValidationError("Invalid cursor.", fields={"cursor": ["Damaged."]}) from None
        if now.tzinfo is None:
            raise ValidationError("Invalid cursor.", fields={"cursor": ["Damaged."]})
    accounts = list(
        session.execute(scoped_select(session, actor, Account).where(*conditions)).scalars()
    )
    scores = account_urgencies(session, accounts, now=now, weights=weights)
    ranked = sorted(accounts, key=lambda a: (-scores[a.id], str(a.id)))
    if after is not None:
        ranked = [a for a in ranked if (-scores[a.id], str(a.id)) > after]
    next_cursor = None
    if len(ranked) > limit:
        last = ranked[limit - 1]
        next_cursor = encode_cursor(
            {"at": now.isoformat(), "score": scores[last.id], "id": str(last.id)}
        )
    return Page(items=ranked[:limit], next_cursor=next_cursor)


def count_visible(session: Session, *, actor: Actor, entity: str) -> int:
    model = MODELS[entity]
    stmt = (
        select(func.count())
        .select_from(model)
        .where(record_condition(session, actor, model), model.deleted_at.is_(None))
    )
    return int(session.execute(stmt).scalar_one())
