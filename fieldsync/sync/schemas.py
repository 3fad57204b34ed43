"""What crosses the wire for push, pull, conflicts and the quarantine."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from fieldsync.exceptions import PayloadTooLargeError
from fieldsync.schemas import PageArgsSchema, StrictSchema, page_schema
from fieldsync.sync.push import MAX_MUTATIONS, SYNC_ENTITIES


class PushSchema(StrictSchema):
    changeset_id = ma.fields.UUID(required=True)
    device_time = ma.fields.AwareDateTime(required=True, format="iso")
    mutations = ma.fields.List(
        # Any JSON value, null included: each is checked on its own (a null is rejected alone).
        ma.fields.Raw(allow_none=True),
        required=True,
        metadata={
            "description": "Each {entity, op, id, base_version, changed_at, fields}; each is "
            "checked on its own, so one bad mutation is rejected alone."
        },
    )

    @ma.pre_load
    def _limit(self, data: Any, **kwargs: Any) -> Any:
        mutations = data.get("mutations") if isinstance(data, dict) else None
        if isinstance(mutations, list) and len(mutations) > MAX_MUTATIONS:
            raise PayloadTooLargeError(
                f"At most {MAX_MUTATIONS} mutations per changeset; split it."
            )
        return data


class MutationResultSchema(ma.Schema):
    entity = ma.fields.String(allow_none=True)
    id = ma.fields.Raw(allow_none=True)
    status = ma.fields.String(validate=validate.OneOf(("applied", "merged", "rejected", "deleted")))
    version = ma.fields.Integer()
    conflicts = ma.fields.List(ma.fields.Dict())
    errors = ma.fields.Dict()


class PushResultSchema(ma.Schema):
    changeset_id = ma.fields.String()
    results = ma.fields.List(ma.fields.Nested(MutationResultSchema))


class PullArgsSchema(ma.Schema):
    class Meta:
        unknown = ma.RAISE

    cursor = ma.fields.String(load_default=None)
    limit = ma.fields.Integer(load_default=500, validate=validate.Range(1, 5000))
    checksum = ma.fields.Boolean(load_default=False)


class EntityChangesSchema(ma.Schema):
    upserted = ma.fields.List(ma.fields.Dict())
    removed = ma.fields.List(ma.fields.String())


class PullResultSchema(ma.Schema):
    cursor = ma.fields.String(required=True)
    has_more = ma.fields.Boolean(required=True)
    changes = ma.fields.Dict(
        keys=ma.fields.String(validate=validate.OneOf((*SYNC_ENTITIES, "territories"))),
        values=ma.fields.Nested(EntityChangesSchema),
    )
    checksum = ma.fields.String()


class ConflictSchema(ma.Schema):
    id = ma.fields.UUID()
    entity = ma.fields.String()
    record_id = ma.fields.UUID()
    field = ma.fields.String()
    kept = ma.fields.Raw(allow_none=True)
    discarded = ma.fields.Raw(allow_none=True)
    discarded_by = ma.fields.UUID(allow_none=True)
    device_id = ma.fields.UUID(allow_none=True)
    changed_at = ma.fields.DateTime(allow_none=True)
    logged_at = ma.fields.DateTime()
    reason = ma.fields.String()


class ConflictArgsSchema(PageArgsSchema):
    entity = ma.fields.String(validate=validate.OneOf(SYNC_ENTITIES))
    record_id = ma.fields.UUID()


class QuarantineSchema(ma.Schema):
    id = ma.fields.UUID()
    changeset_id = ma.fields.UUID()
    device_id = ma.fields.UUID(allow_none=True)
    user_id = ma.fields.UUID(allow_none=True)
    entity = ma.fields.String(allow_none=True)
    record_id = ma.fields.String(allow_none=True)
    mutation = ma.fields.Dict()
    errors = ma.fields.Dict()
    logged_at = ma.fields.DateTime()


ConflictPageSchema = page_schema(ConflictSchema, "ConflictPage")
QuarantinePageSchema = page_schema(QuarantineSchema, "QuarantinePage")
