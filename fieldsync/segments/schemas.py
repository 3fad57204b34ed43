"""What crosses the wire for segments. ``filters`` is validated by the account list's own
filter schema, so a saved filter accepts exactly what ``GET /accounts`` accepts."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from fieldsync.portfolio.schemas import (
    AccountFilterSchema,
    AccountSchema,
    StorableText,
    required_text,
    text,
)
from fieldsync.schemas import PageArgsSchema, StrictSchema, page_schema

EXPORT_FORMATS = ("csv", "xlsx")


def normalised_filters(raw: dict[str, Any], loaded: dict[str, Any]) -> dict[str, Any]:
    """The filters as stored: their canonical wire form (``"it"`` → ``"IT"``, numbers as
    numbers), only those the client gave (no defaults such as ``radius_km``)."""
    dumped = AccountFilterSchema().dump(loaded)
    return {name: dumped[name] for name in raw if name in dumped}


class SegmentWriteSchema(StorableText, StrictSchema):
    SERVER_FIELDS = frozenset({"id", "created_by", "created_at", "updated_at", "org_id"})

    name = required_text(200)
    description = text(2000)
    filters = ma.fields.Nested(
        AccountFilterSchema,
        required=True,
        metadata={"description": "The account list's filters; {} means every account"},
    )

    @ma.post_load(pass_original=True)
    def _keep_wire_filters(
        self, data: dict[str, Any], original: Any, **kwargs: Any
    ) -> dict[str, Any]:
        if "filters" in data and isinstance(original, dict):
            data["filters"] = normalised_filters(original["filters"], data["filters"])
        return data


class SegmentSchema(ma.Schema):
    id = ma.fields.UUID()
    name = ma.fields.String()
    description = ma.fields.String(allow_none=True)
    filters = ma.fields.Dict()
    created_by = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class SegmentQueryArgsSchema(PageArgsSchema):
    q = ma.fields.String(
        validate=validate.Length(min=1, max=200), metadata={"description": "Name contains"}
    )


class SegmentAccountsArgsSchema(PageArgsSchema):
    format = ma.fields.String(
        validate=validate.OneOf(EXPORT_FORMATS),
        metadata={"description": "csv or xlsx: the whole segment as a file instead of a page"},
    )


SegmentPageSchema = page_schema(SegmentSchema, "SegmentPage")
SegmentAccountPageSchema = page_schema(AccountSchema, "SegmentAccountPage")
