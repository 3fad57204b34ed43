"""What crosses the wire for auth, users and devices."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from fieldsync.auth.models import ROLES
from fieldsync.schemas import LocationPointSchema, StrictSchema


def _storable(value: str) -> None:
    """Refuse text a database cannot hold (a NUL, or a lone surrogate: not UTF-8), so such
    input is a 422 rather than a 500 from the driver or the password hasher."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ma.ValidationError("Not valid Unicode text.") from None
    if "\x00" in value:
        raise ma.ValidationError("Must not contain NUL characters.")


PASSWORD = [validate.Length(min=8, max=256), _storable]


class LoginSchema(StrictSchema):
    email = ma.fields.String(required=True, validate=[validate.Length(min=1, max=254), _storable])
    password = ma.fields.String(
        required=True, validate=[validate.Length(min=1, max=256), _storable]
    )
    device_id = ma.fields.UUID(load_default=None)
    device_name = ma.fields.String(
        load_default=None, validate=[validate.Length(max=200), _storable]
    )
    platform = ma.fields.String(load_default=None, validate=[validate.Length(max=40), _storable])
    app_version = ma.fields.String(load_default=None, validate=[validate.Length(max=40), _storable])


class RefreshSchema(StrictSchema):
    refresh_token = ma.fields.String(
        required=True, validate=[validate.Length(min=1, max=512), _storable]
    )


class UserSchema(ma.Schema):
    id = ma.fields.UUID()
    org_id = ma.fields.UUID()
    role = ma.fields.String()
    name = ma.fields.String()
    email = ma.fields.String()
    manager_id = ma.fields.UUID(allow_none=True)
    active = ma.fields.Boolean()
    home_location = ma.fields.Method("_home", allow_none=True)
    version = ma.fields.Integer()
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()

    def _home(self, user: object) -> dict[str, float] | None:
        lat, lon = getattr(user, "home_lat", None), getattr(user, "home_lon", None)
        return {"lat": lat, "lon": lon} if lat is not None and lon is not None else None


class TokenSchema(ma.Schema):
    access_token = ma.fields.String(required=True)
    refresh_token = ma.fields.String(required=True)
    token_type = ma.fields.Constant("Bearer")
    expires_in = ma.fields.Integer(required=True)
    user = ma.fields.Nested(UserSchema(only=("id", "org_id", "role", "name", "email")))
    device_id = ma.fields.UUID(required=True)


_SERVER_USER_FIELDS = frozenset({"id", "org_id", "active", "version", "created_at", "updated_at"})


class UserCreateSchema(StrictSchema):
    SERVER_FIELDS = _SERVER_USER_FIELDS

    email = ma.fields.Email(required=True, validate=[validate.Length(max=254), _storable])
    name = ma.fields.String(required=True, validate=[validate.Length(min=1, max=200), _storable])
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    password = ma.fields.String(required=True, validate=PASSWORD, load_only=True)
    manager_id = ma.fields.UUID(load_default=None, allow_none=True)
    home_location = ma.fields.Nested(LocationPointSchema, allow_none=True)


class UserUpdateSchema(StrictSchema):
    SERVER_FIELDS = _SERVER_USER_FIELDS

    email = ma.fields.Email(validate=[validate.Length(max=254), _storable])
    name = ma.fields.String(validate=[validate.Length(min=1, max=200), _storable])
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    password = ma.fields.String(validate=PASSWORD, load_only=True)
    manager_id = ma.fields.UUID(allow_none=True)
    home_location = ma.fields.Nested(LocationPointSchema, allow_none=True)


class DeviceSchema(ma.Schema):
    id = ma.fields.UUID()
    user_id = ma.fields.UUID()
    name = ma.fields.String(allow_none=True)
    platform = ma.fields.String(allow_none=True)
    app_version = ma.fields.String(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    last_seen_at = ma.fields.DateTime(allow_none=True)
    last_push_at = ma.fields.DateTime(allow_none=True)
    last_pull_at = ma.fields.DateTime(allow_none=True)
    last_changeset_id = ma.fields.UUID(allow_none=True)
    cursor_lag = ma.fields.Integer(
        allow_none=True,
        metadata={
            "description": "Changes in the organisation since the device's last complete pull "
            "(null: never pulled). A growing lag with an old last_pull_at is a phone that "
            "stopped syncing."
        },
    )
    created_at = ma.fields.DateTime()


class UserListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(UserSchema))
    next_cursor = ma.fields.String(allow_none=True)


class DeviceListSchema(ma.Schema):
    items = ma.fields.List(ma.fields.Nested(DeviceSchema))
    next_cursor = ma.fields.String(allow_none=True)
