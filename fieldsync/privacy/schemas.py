"""What crosses the wire for erasure and the personal-data export."""

from __future__ import annotations

import marshmallow as ma

from fieldsync.portfolio.schemas import (
    AccountSchema,
    ContactSchema,
    InteractionSchema,
    TaskSchema,
)
from fieldsync.sync.schemas import ConflictSchema, QuarantineSchema


class ErasureSchema(ma.Schema):
    """How many records the erasure changed (0 when erased before: it is idempotent)."""

    accounts = ma.fields.Integer()
    contacts = ma.fields.Integer()
    interactions = ma.fields.Integer()
    tasks = ma.fields.Integer()
    conflicts = ma.fields.Integer(metadata={"description": "Conflict-log values nulled"})
    quarantine = ma.fields.Integer(metadata={"description": "Quarantined mutations scrubbed"})
    geocode_cache = ma.fields.Integer(metadata={"description": "Cached geocodes dropped"})


class ConsentChangeSchema(ma.Schema):
    marketing_email = ma.fields.Boolean(allow_none=True)
    consented_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "When it was given or withdrawn"}
    )
    version = ma.fields.Integer(metadata={"description": "The account version that changed it"})
    recorded_at = ma.fields.DateTime()


class StatusChangeSchema(ma.Schema):
    from_status = ma.fields.String(allow_none=True)
    to_status = ma.fields.String()
    version = ma.fields.Integer()
    changed_at = ma.fields.DateTime()


class PersonalDataSchema(ma.Schema):
    exported_at = ma.fields.DateTime()
    account = ma.fields.Nested(AccountSchema)
    deleted_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "When the account was deleted, if it was"}
    )
    contacts = ma.fields.List(ma.fields.Nested(ContactSchema))
    interactions = ma.fields.List(ma.fields.Nested(InteractionSchema))
    tasks = ma.fields.List(ma.fields.Nested(TaskSchema))
    conflicts = ma.fields.List(ma.fields.Nested(ConflictSchema))
    quarantine = ma.fields.List(ma.fields.Nested(QuarantineSchema))
    consent_history = ma.fields.List(ma.fields.Nested(ConsentChangeSchema))
    status_history = ma.fields.List(ma.fields.Nested(StatusChangeSchema))
