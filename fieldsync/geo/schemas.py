"""What crosses the wire for territories."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from fieldsync.schemas import Color, CountryCode, StrictSchema

TERRITORY_SERVER_FIELDS = frozenset(
    {"version", "created_at", "updated_at", "deleted_at", "org_id", "area_km2"}
)


class TerritoryWriteSchema(StrictSchema):
    SERVER_FIELDS = TERRITORY_SERVER_FIELDS | {"id"}

    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    color = Color(allow_none=True)
    geometry = ma.fields.Dict(
        allow_none=True,
        metadata={"description": "GeoJSON Polygon or MultiPolygon, [lon, lat] positions"},
    )
    postal_codes = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=20)),
        allow_none=True,
        validate=validate.Length(max=20_000),
    )
    country = CountryCode(allow_none=True)
    rep_ids = ma.fields.List(ma.fields.UUID(), validate=validate.Length(max=500))


class TerritoryCreateSchema(TerritoryWriteSchema):
    SERVER_FIELDS = TERRITORY_SERVER_FIELDS
    id = ma.fields.UUID(load_default=None)


class TerritorySchema(ma.Schema):
    id = ma.fields.UUID()
    version = ma.fields.Integer()
    name = ma.fields.String()
    color = ma.fields.String(allow_none=True)
    geometry = ma.fields.Dict(allow_none=True)
    postal_codes = ma.fields.List(ma.fields.String(), allow_none=True)
    country = ma.fields.String(allow_none=True)
    rep_ids = ma.fields.List(ma.fields.UUID())
    area_km2 = ma.fields.Float(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class TerritoryListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(TerritorySchema))
    next_cursor = ma.fields.String(allow_none=True)


class TerritoryStatsSchema(ma.Schema):
    class AccountCountsSchema(ma.Schema):
        total = ma.fields.Integer()
        by_status = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.Integer())

    class RepSchema(ma.Schema):
        id = ma.fields.UUID()
        name = ma.fields.String()

    territory_id = ma.fields.UUID()
    accounts = ma.fields.Nested(AccountCountsSchema)
    overdue = ma.fields.Integer(metadata={"description": "Accounts whose visit cadence is overdue"})
    reps = ma.fields.List(ma.fields.Nested(RepSchema))
