"""What crosses the wire for the audit log."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from fieldsync.audit.service import ACTIONS
from fieldsync.portfolio.schemas import when
from fieldsync.schemas import PageArgsSchema, page_schema


class AuditEntrySchema(ma.Schema):
    id = ma.fields.UUID()
    action = ma.fields.String()
    actor_id = ma.fields.UUID(allow_none=True)
    entity = ma.fields.String(allow_none=True)
    record_id = ma.fields.UUID(allow_none=True)
    details = ma.fields.Dict(allow_none=True)
    at = ma.fields.DateTime()


class AuditQueryArgsSchema(PageArgsSchema):
    action = ma.fields.String(validate=validate.OneOf(ACTIONS))
    actor = ma.fields.UUID(metadata={"description": "The user who acted"})
    since = when(data_key="from")
    until = when(data_key="to")


AuditPageSchema = page_schema(AuditEntrySchema, "AuditPage")
