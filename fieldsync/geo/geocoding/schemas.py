"""What crosses the wire for geocoding (forms ask where an address is, or what is at a point)."""

from __future__ import annotations

from typing import Any

import marshmallow as ma
from marshmallow import validate

from fieldsync.geo.geocoding.results import PRECISIONS
from fieldsync.schemas import CountryCode, StrictSchema


def _text(length: int) -> ma.fields.String:
    return ma.fields.String(allow_none=True, validate=validate.Length(max=length))


class GeocodeAddressSchema(StrictSchema):
    street = _text(300)
    postal_code = _text(20)
    city = _text(150)
    region = _text(150)
    country = CountryCode(allow_none=True)


class GeocodeRequestSchema(StrictSchema):
    address = ma.fields.Nested(
        GeocodeAddressSchema,
        metadata={"description": "A structured address; give this or `query`."},
    )
    query = ma.fields.String(
        validate=validate.Length(min=1, max=500),
        metadata={"description": "A one-line address, e.g. `Via Roma 1, 20121 Milano, Italia`."},
    )
    limit = ma.fields.Integer(load_default=5, validate=validate.Range(1, 10))

    @ma.validates_schema
    def _one_of(self, data: dict[str, Any], **kwargs: Any) -> None:
        if ("address" in data) == ("query" in data):
            raise ma.ValidationError("Give either address or query.", "_schema")
        address = data.get("address")
        if address is not None and not any(
            (address.get(name) or "").strip() for name in ("street", "postal_code", "city")
        ):
            raise ma.ValidationError("Give at least a street, a postal code or a city.", "address")
        if "query" in data and not data["query"].strip():
            raise ma.ValidationError("The query is blank.", "query")


class CandidateSchema(ma.Schema):
    lat = ma.fields.Float()
    lon = ma.fields.Float()
    precision = ma.fields.String(metadata={"enum": list(PRECISIONS[:4])})
    label = ma.fields.String()
    country = ma.fields.String(allow_none=True)


class GeocodeResponseSchema(ma.Schema):
    candidates = ma.fields.List(
        ma.fields.Nested(CandidateSchema),
        metadata={"description": "Best first; empty when nothing fits."},
    )
    attribution = ma.fields.String(metadata={"description": "Whose data the answer comes from."})


class ReverseGeocodeRequestSchema(StrictSchema):
    lat = ma.fields.Float(required=True, validate=validate.Range(-90, 90), allow_nan=False)
    lon = ma.fields.Float(required=True, validate=validate.Range(-180, 180), allow_nan=False)


class ReverseAddressSchema(ma.Schema):
    street = ma.fields.String(allow_none=True)
    postal_code = ma.fields.String(allow_none=True)
    city = ma.fields.String(allow_none=True)
    region = ma.fields.String(allow_none=True)
    country = ma.fields.String(allow_none=True)


class ReverseGeocodeResponseSchema(ma.Schema):
    address = ma.fields.Nested(ReverseAddressSchema)
    label = ma.fields.String()
    precision = ma.fields.String()
    distance_km = ma.fields.Float(metadata={"description": "From the point to the place named."})
    attribution = ma.fields.String()
