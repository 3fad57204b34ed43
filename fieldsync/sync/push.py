"""Applying a changeset pushed by a phone: idempotent, one transaction, field-level merge.

Per mutation, in a savepoint so one bad mutation never blocks the others:

- a field nobody else changed since ``base_version`` takes the device's value;
- a field changed on both sides goes to the later edit in real time: the device's
  ``changed_at`` corrected by its clock offset (receive time minus ``device_time``), capped at
  the receive time; a tie keeps the server value;
- whatever loses goes to the conflict log, a rejected mutation to the quarantine.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
import orjson
from marshmallow import validate
from sqlalchemy import update
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import Device
from fieldsync.db import utcnow
from fieldsync.exceptions import APIError, ConflictError, flatten_messages
from fieldsync.planning.stops import apply_plan_mutation
from fieldsync.portfolio import schemas as ps
from fieldsync.portfolio import service as portfolio
from fieldsync.portfolio.batch import WriteBatch, current_batch, write_batch
from fieldsync.portfolio.service import jsonable
from fieldsync.sync.changelog import deferred_changes
from fieldsync.sync.models import Changeset, Conflict, QuarantinedMutation

MAX_MUTATIONS = 1000
MAX_BODY_BYTES = 5 * 1024 * 1024
SYNC_ENTITIES = ("accounts", "contacts", "interactions", "tasks", "visit_plans")

CREATE_SCHEMAS: dict[str, type[ma.Schema]] = {
    "accounts": ps.AccountCreateSchema,
    "contacts": ps.ContactCreateSchema,
    "interactions": ps.InteractionCreateSchema,
    "tasks": ps.TaskCreateSchema,
}
WRITE_SCHEMAS: dict[str, type[ma.Schema]] = {
    "accounts": ps.AccountWriteSchema,
    "contacts": ps.ContactWriteSchema,
    "interactions": ps.InteractionWriteSchema,
    "tasks": ps.TaskWriteSchema,
}
READ_SCHEMAS: dict[str, ma.Schema] = {
    "accounts": ps.AccountSchema(),
    "contacts": ps.ContactSchema(),
    "interactions": ps.InteractionSchema(),
    "tasks": ps.TaskSchema(),
}


class MutationSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    entity = ma.fields.String(required=True, validate=validate.OneOf(SYNC_ENTITIES))
    op = ma.fields.String(required=True, validate=validate.OneOf(("upsert", "delete")))
    id = ma.fields.UUID(required=True)
    base_version = ma.fields.Integer(load_default=None, allow_none=True)
    changed_at = ma.fields.AwareDateTime(load_default=None, allow_none=True)
    fields = ma.fields.Dict(load_default=dict)


# Built once: building a schema costs more than loading a mutation with it.
MUTATION_SCHEMA = MutationSchema()
ENVELOPE_KEYS = frozenset(MUTATION_SCHEMA.fields)
REQUIRED_KEYS = frozenset(name for name, f in MUTATION_SCHEMA.fields.items() if f.required)
CHANGED_AT = MUTATION_SCHEMA.fields["changed_at"]
CREATE_LOADERS: dict[str, ma.Schema] = {entity: cls() for entity, cls in CREATE_SCHEMAS.items()}
# Partial at the top level only: a nested value (location, check_in) is whole, with its
# required parts and defaults, as on create.
PATCH_LOADERS: dict[str, ma.Schema] = {
    entity: cls(partial=tuple(cls._declared_fields)) for entity, cls in WRITE_SCHEMAS.items()
}


class MutationRejected(Exception):
    """This mutation cannot be applied; ``errors`` says why, per field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(str(errors))
        self.errors = errors


@dataclass(frozen=True)
class PushContext:
    actor: Actor
    changeset_id: uuid.UUID
    received_at: datetime
    clock_offset: Any  # timedelta: receive time minus device time

    def real_time(self, changed_at: datetime | None) -> datetime:
        """The device's edit time on the server clock, never in the future."""
        if changed_at is None:
            return self.received_at
        return min(changed_at + self.clock_offset, self.received_at)


def mutations_digest(mutations: list[Any]) -> str:
    """A changeset's identity: SHA-256 of its mutations in canonical JSON (keys sorted). Not
    of the whole body: a retry may carry a fresh ``device_time``."""
    try:
        canonical = orjson.dumps(mutations, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # an integer beyond 64 bits: orjson cannot write it
        return standard_mutations_digest(mutations)
    return hashlib.sha256(canonical).hexdigest()


def standard_mutations_digest(mutations: list[Any]) -> str:
    """The digest of the standard library's canonical form (non-ASCII escaped), which
    changesets stored before 2026-11-23 carry: they still replay. (orjson writes the same
    JSON seven times faster, which is 2 % of a push, but not byte for byte the same.)"""
    canonical = json.dumps(mutations, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def apply_changeset(
    session: Session,
    *,
    actor: Actor,
    changeset_id: uuid.UUID,
    device_time: datetime,
    mutations: list[Any],
    received_at: datetime | None = None,
) -> dict[str, Any]:
    """Apply a changeset once; a replay returns the stored response and changes nothing."""
    received_at = received_at or utcnow()
    changeset, replay = _claim_changeset(session, actor, changeset_id, mutations, received_at)
    if replay is not None:
        return replay
    ctx = PushContext(actor, changeset_id, received_at, received_at - device_time)
    # The records the mutations name are read up front, in a few queries (see ``batch``), and
    # the change-log rows are inserted together at the end (see ``changelog``).
    with write_batch(session, actor, mutations) as batch, deferred_changes(session):
        results = _apply_optimistically(session, ctx, batch, mutations)
        if results is None:
            results = [_apply_one(session, ctx, raw) for raw in mutations]
    response = {"changeset_id": str(changeset_id), "results": results}
    changeset.response = _storable(response)
    if actor.device_id:  # one UPDATE, without reading the device first
        session.execute(
            update(Device)
            .where(Device.id == actor.device_id)
            .values(last_push_at=received_at, last_changeset_id=changeset_id)
        )
    return response


def _claim_changeset(
    session: Session,
    actor: Actor,
    changeset_id: uuid.UUID,
    mutations: list[Any],
    received_at: datetime,
) -> tuple[Changeset, dict[str, Any] | None]:
    """Insert the changeset row first: a concurrent duplicate waits on it, then replays.

    Returns the row (kept referenced: the session's identity map would let it go, and reading
    it back to store the response cost a query) and, for a replay, the stored response."""
    body_sha256 = mutations_digest(mutations)
    existing = session.get(Changeset, changeset_id)
    if existing is None:
        savepoint = session.begin_nested()
        claimed = Changeset(
            id=changeset_id,
            org_id=actor.org_id,
            device_id=actor.device_id,
            user_id=actor.user_id,
            body_sha256=body_sha256,
            response={},
            mutation_count=len(mutations),
            received_at=received_at,
        )
        try:
            session.add(claimed)
            session.flush()
            savepoint.commit()
            return claimed, None
        except IntegrityError:
            savepoint.rollback()
            existing = session.get(Changeset, changeset_id, populate_existing=True)
            if existing is None:
                raise
    same_body = existing.body_sha256 == body_sha256 or (
        existing.body_sha256 == standard_mutations_digest(mutations)
    )
    if existing.org_id != actor.org_id or not same_body:
        raise ConflictError("This changeset_id was already used with a different body.")
    return existing, dict(existing.response)


# What makes a mutation fail: it is rejected (and quarantined) rather than failing the push.
MUTATION_ERRORS = (MutationRejected, APIError, IntegrityError, DataError, UnicodeEncodeError)


def _apply_optimistically(
    session: Session, ctx: PushContext, batch: WriteBatch, mutations: list[Any]
) -> list[dict[str, Any]] | None:
    """Apply every mutation in one savepoint with one flush at the end, or nothing.

    Almost every changeset applies whole. Then a savepoint per mutation (three round trips
    each) and a flush per write (an INSERT each) only cost time: here the writes are sent
    together (multi-row INSERTs). The mutations run in the same order through the same code as
    one by one, so their results are the same. If any is rejected or the flush fails, this
    rolls everything back and returns None: the caller applies the changeset one savepoint at a
    time, which isolates the bad mutations.
    """
    savepoint = session.begin_nested()
    batch.defer_flush = True
    try:
        results = [{**_head(raw), **_apply_mutation(session, ctx, raw)} for raw in mutations]
        session.flush()
    except MUTATION_ERRORS:
        savepoint.rollback()
        return None
    finally:
        batch.defer_flush = False
        batch.pending.clear()
    savepoint.commit()
    return results


def _head(raw: Any) -> dict[str, Any]:
    """What a result repeats of its mutation, as the phone sent it (an entity as text)."""
    if not isinstance(raw, dict):
        return {"entity": None, "id": None}
    entity = raw.get("entity")
    return {"entity": entity if entity is None else str(entity), "id": raw.get("id")}


def _apply_one(session: Session, ctx: PushContext, raw: Any) -> dict[str, Any]:
    head = _head(raw)
    savepoint = session.begin_nested()
    try:
        result = _apply_mutation(session, ctx, raw)
        savepoint.commit()
        return {**head, **result}
    except MutationRejected as rejected:
        savepoint.rollback()
        errors = rejected.errors
    except APIError as error:
        savepoint.rollback()
        details = (error.details or {}).get("fields") if error.details else None
        errors = details or {"_mutation": [error.message]}
    except (IntegrityError, DataError) as error:  # e.g. a NUL character PostgreSQL refuses
        savepoint.rollback()
        errors = {"_mutation": [f"The database refused this write: {error.orig}"]}
    except UnicodeEncodeError:  # a lone surrogate: no database driver can encode it
        savepoint.rollback()
        errors = {"_mutation": ["The text is not valid Unicode (a lone surrogate)."]}
    _quarantine(session, ctx, raw, errors)
    return {**head, "status": "rejected", "errors": errors}


def _storable(value: Any) -> Any:
    """The JSON value with text every database can keep: PostgreSQL refuses NUL characters
    (text and JSONB) and UTF-8 has no lone surrogates; both become replacement characters."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    if isinstance(value, dict):
        return {_storable(key): _storable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_storable(item) for item in value]
    return value


def _quarantine(session: Session, ctx: PushContext, raw: Any, errors: dict[str, Any]) -> None:
    is_dict = isinstance(raw, dict)
    entity = str(raw.get("entity"))[:24] if is_dict and raw.get("entity") else None
    record_id = str(raw.get("id"))[:64] if is_dict and raw.get("id") else None
    session.add(
        QuarantinedMutation(
            org_id=ctx.actor.org_id,
            changeset_id=ctx.changeset_id,
            device_id=ctx.actor.device_id,
            user_id=ctx.actor.user_id,
            entity=_storable(entity),
            record_id=_storable(record_id),
            mutation=_storable(raw if is_dict else {"value": jsonable(raw)}),
            errors=_storable(errors),
            logged_at=ctx.received_at,
        )
    )


def _load(schema: ma.Schema, data: Any) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = schema.load(data)
    except ma.ValidationError as error:
        raise MutationRejected(flatten_messages(error.messages)) from None
    return loaded


def _envelope(raw: dict[str, Any]) -> dict[str, Any]:
    """The mutation's envelope, loaded as ``MutationSchema`` loads it.

    A well-formed envelope (nearly every one) is read directly, with the schema's own field
    for ``changed_at``: the schema machinery cost a twentieth of a push. Anything else goes
    through the schema, for its exact messages.
    """
    keys = raw.keys()
    if keys <= ENVELOPE_KEYS and keys >= REQUIRED_KEYS:
        entity, op, record_id = raw["entity"], raw["op"], raw["id"]
        base, changed_at = raw.get("base_version"), raw.get("changed_at")
        fields = raw.get("fields", {})
        if (
            entity in SYNC_ENTITIES and op in ("upsert", "delete") and isinstance(record_id, str)
            and (base is None or type(base) is int) and isinstance(fields, dict)
            and (changed_at is None or isinstance(changed_at, str))
        ):  # fmt: skip
            try:
                when = None if changed_at is None else CHANGED_AT.deserialize(changed_at)
                return {
                    "entity": entity, "op": op, "id": uuid.UUID(record_id), "base_version": base,
                    "changed_at": when, "fields": dict(fields),
                }  # fmt: skip
            except (ValueError, ma.ValidationError):
                pass  # the schema says what is wrong
    return _load(MUTATION_SCHEMA, raw)


def _apply_mutation(session: Session, ctx: PushContext, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise MutationRejected({"_mutation": ["A mutation must be a JSON object."]})
    mutation = _envelope(raw)
    entity = mutation["entity"]
    if entity == "visit_plans":  # stop statuses only: planning has its own rules
        return apply_plan_mutation(
            session, actor=ctx.actor, mutation=mutation,
            edited_at=ctx.real_time(mutation["changed_at"]), changeset_id=ctx.changeset_id,
        )  # fmt: skip
    model = portfolio.MODELS[entity]
    batch = current_batch(session, ctx.actor)
    record_id = mutation["id"]
    record = batch.find(session, model, record_id) if batch else session.get(model, record_id)
    if record is not None and record.org_id != ctx.actor.org_id:
        raise MutationRejected({"id": ["This id is already used; choose another."]})
    edited_at = ctx.real_time(mutation["changed_at"])
    if record is None:
        if mutation["op"] == "delete" or mutation["base_version"] is not None:
            raise MutationRejected({"_mutation": ["No such record."]})
        data = _load(CREATE_LOADERS[entity], {**mutation["fields"], "id": str(mutation["id"])})
        created = portfolio.create_record(
            session, actor=ctx.actor, entity=entity, data=data, edited_at=edited_at
        )
        return {"status": "applied", "version": created.version}
    try:
        portfolio.get_record(
            session, actor=ctx.actor, entity=entity, record_id=record.id, include_deleted=True
        )
    except APIError:
        raise MutationRejected({"_mutation": ["No such record in your scope."]}) from None
    if mutation["op"] == "delete":
        return _delete(session, ctx, entity, record, mutation, edited_at)
    return _update(session, ctx, entity, record, mutation, edited_at)


def _log_conflict(
    session: Session,
    ctx: PushContext,
    entity: str,
    record: Any,
    field: str,
    *,
    kept: Any,
    discarded: Any,
    reason: str,
    discarded_by: uuid.UUID | None,
    changed_at: datetime | None,
) -> None:
    session.add(
        Conflict(
            org_id=ctx.actor.org_id,
            entity=entity,
            record_id=record.id,
            account_id=record.id if entity == "accounts" else getattr(record, "account_id", None),
            field=field,
            kept=jsonable(kept),
            discarded=jsonable(discarded),
            discarded_by=discarded_by,
            device_id=ctx.actor.device_id if discarded_by == ctx.actor.user_id else None,
            changeset_id=ctx.changeset_id,
            changed_at=changed_at,
            logged_at=ctx.received_at,
            reason=reason,
        )
    )


# Nested values a write sets part by part (the parts it leaves out keep their value, or the
# server fills them in, like consent's updated_at): the device agrees if the parts it sent match.
PARTIAL_FIELDS = frozenset({("accounts", "address"), ("accounts", "consent")})


def _agrees(entity: str, field: str, value: Any, current: Any) -> bool:
    """Does the device's validated value say what the record already holds (as read back)?"""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)  # stored and read back in UTC, whatever offset was sent
    wire = jsonable(value)
    if (entity, field) in PARTIAL_FIELDS and isinstance(wire, dict) and isinstance(current, dict):
        return all(current.get(key) == part for key, part in wire.items())
    return bool(wire == current)


def _field_time(record: Any, field: str) -> datetime:
    stamp = (record.field_times or {}).get(field)
    return datetime.fromisoformat(stamp) if stamp else record.updated_at


def _update(
    session: Session,
    ctx: PushContext,
    entity: str,
    record: Any,
    mutation: dict[str, Any],
    edited_at: datetime,
) -> dict[str, Any]:
    raw_fields = mutation["fields"]
    if record.deleted_at is not None:
        for field, value in raw_fields.items():
            _log_conflict(
                session, ctx, entity, record, field, kept=None, discarded=value,
                reason="record_deleted", discarded_by=ctx.actor.user_id, changed_at=edited_at,
            )  # fmt: skip
        return {"status": "deleted", "version": record.version}
    data = _load(PATCH_LOADERS[entity], raw_fields)
    dumped: list[dict[str, Any]] = []

    def current() -> dict[str, Any]:
        """The record as the wire shows it: read only when a field changed since the base."""
        if not dumped:
            dumped.append(READ_SCHEMAS[entity].dump(record))
        return dumped[0]

    base = mutation["base_version"] or 0
    field_versions = record.field_versions or {}
    taken: dict[str, Any] = {}
    conflicts: list[dict[str, Any]] = []
    for field, value in data.items():
        device_value = raw_fields[field] if field in raw_fields else jsonable(value)
        if field_versions.get(field, 0) <= base:
            taken[field] = value  # nobody else touched it since the device's base
            continue
        if _agrees(entity, field, value, current().get(field)):
            continue  # both sides agree (a retried create, say): no conflict
        if edited_at > _field_time(record, field):
            taken[field] = value
            _log_conflict(
                session, ctx, entity, record, field, kept=device_value,
                discarded=current().get(field), reason="older_edit_replaced", discarded_by=None,
                changed_at=_field_time(record, field),
            )  # fmt: skip
        else:
            kept = current().get(field)
            conflicts.append({"field": field, "kept": kept, "discarded": device_value})
            _log_conflict(
                session, ctx, entity, record, field, kept=current().get(field),
                discarded=device_value, reason="newer_edit_kept",
                discarded_by=ctx.actor.user_id, changed_at=edited_at,
            )  # fmt: skip
    if taken:
        record = portfolio.update_record(
            session, actor=ctx.actor, entity=entity, record_id=record.id, data=taken,
            edited_at=edited_at,
        )  # fmt: skip
    status = "merged" if conflicts else "applied"
    result: dict[str, Any] = {"status": status, "version": record.version}
    if conflicts:
        result["conflicts"] = conflicts
    return result


def _delete(
    session: Session,
    ctx: PushContext,
    entity: str,
    record: Any,
    mutation: dict[str, Any],
    edited_at: datetime,
) -> dict[str, Any]:
    if record.deleted_at is not None:
        return {"status": "applied", "version": record.version}
    base = mutation["base_version"] or 0
    current = READ_SCHEMAS[entity].dump(record)
    for field, version in (record.field_versions or {}).items():
        if version > base and field in current:
            # The delete wins over a concurrent update; its values stay findable.
            _log_conflict(
                session, ctx, entity, record, field, kept=None, discarded=current[field],
                reason="deleted_over_update", discarded_by=None,
                changed_at=_field_time(record, field),
            )  # fmt: skip
    portfolio.delete_record(
        session, actor=ctx.actor, entity=entity, record_id=record.id, edited_at=edited_at
    )
    return {"status": "applied", "version": record.version}
