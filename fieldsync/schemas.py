"""Building blocks shared by every domain's schemas: strict input, paging, common values."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterable
from typing import Any, ClassVar

import marshmallow as ma
from marshmallow import validate

from fieldsync.exceptions import ValidationError

# ISO 3166-1 alpha-2, officially assigned codes.
ISO_COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ
    BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO
    DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU
    GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW
    KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU
    MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW
    PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF
    TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA
    ZM ZW""".split()
)

COLOR_RE = re.compile(r"^#[0-9A-Fa-f]{6}$")


class CountryCode(ma.fields.String):
    """An ISO 3166-1 alpha-2 code; lower case accepted and upper-cased."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        code = super()._deserialize(value, attr, data, **kwargs).strip().upper()
        if code not in ISO_COUNTRIES:
            raise ma.ValidationError("Not an ISO 3166-1 alpha-2 country code.")
        return code


class Color(ma.fields.String):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        color = super()._deserialize(value, attr, data, **kwargs)
        if not COLOR_RE.match(color):
            raise ma.ValidationError("Not a colour of the form #RRGGBB.")
        return color.upper()


class StrictSchema(ma.Schema):
    """Input schema: unknown fields and server-owned fields are rejected by name."""

    SERVER_FIELDS: ClassVar[frozenset[str]] = frozenset()

    class Meta:
        unknown = ma.RAISE

    @ma.pre_load
    def _reject_server_fields(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict):
            owned = sorted(set(data) & self.SERVER_FIELDS)
            if owned:
                raise ma.ValidationError(
                    {name: ["Read-only: this field is set by the server."] for name in owned}
                )
        return data


class LocationPointSchema(StrictSchema):
    lat = ma.fields.Float(required=True, validate=validate.Range(-90, 90), allow_nan=False)
    lon = ma.fields.Float(required=True, validate=validate.Range(-180, 180), allow_nan=False)


# --- paging ----------------------------------------------------------------------------------


class PageArgsSchema(ma.Schema):
    """``limit`` and ``cursor`` of every collection endpoint."""

    class Meta:
        unknown = ma.RAISE

    limit = ma.fields.Integer(load_default=100, validate=validate.Range(1, 1000))
    cursor = ma.fields.String(load_default=None)


def encode_cursor(position: dict[str, Any]) -> str:
    raw = json.dumps(position, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """Decode an opaque cursor; a damaged one is a validation error on ``cursor``."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        value = None
    if not isinstance(value, dict):
        raise ValidationError("Invalid cursor.", fields={"cursor": ["Not a cursor of this API."]})
    return value


def page_schema(item_schema: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A ``{"items": [...], "next_cursor"}`` schema for a collection of ``item_schema``."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(allow_none=True, required=True),
        },
        name=name,
    )


def comma_list(values: Iterable[str]) -> str:
    return ", ".join(sorted(values))
