"""What crosses the wire for accounts, contacts, interactions and tasks.

Input schemas are used whole to create (``AccountCreateSchema``) and with ``partial=True`` to
patch (``AccountWriteSchema(partial=True)``), so the REST API and sync validate alike.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import marshmallow as ma
import orjson
from marshmallow import validate

from fieldsync.schemas import Color, CountryCode, PageArgsSchema, StrictSchema, page_schema

ACCOUNT_KINDS = ("company", "person")
ACCOUNT_STATUSES = ("lead", "prospect", "customer", "inactive")
PRECISIONS = ("rooftop", "street", "postcode", "locality", "region")
PIN_SOURCES = ("gps", "manual")
CONTACT_PREFERENCES = ("email", "phone", "sms", "visit")
INTERACTION_KINDS = ("visit", "call", "email", "meeting", "note")
TASK_KINDS = ("reminder", "follow_up", "call", "visit")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
VERIFICATION_STATUSES = ("verified", "far", "unverified")
CUSTOM_MAX_BYTES = 8 * 1024
# ASCII digits only (``\d`` takes any script's) and matched whole (``$`` lets "08:30\n" by).
HHMM_RE = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")

COMMON_SERVER_FIELDS = frozenset({"version", "created_at", "updated_at", "deleted_at", "org_id"})


def text(max_length: int, **kwargs: Any) -> ma.fields.String:
    """An optional, nullable string of bounded length."""
    return ma.fields.String(allow_none=True, validate=validate.Length(max=max_length), **kwargs)


def required_text(max_length: int) -> ma.fields.String:
    return ma.fields.String(required=True, validate=validate.Length(min=1, max=max_length))


def _storable_instant(value: datetime) -> None:
    """Refuse what cannot be stored in UTC (e.g. 9999-12-31T23:59-05:00 overflows)."""
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ma.ValidationError("Out of the range of representable instants.") from None


def when(**kwargs: Any) -> ma.fields.AwareDateTime:
    """An ISO 8601 instant that must carry its zone."""
    return ma.fields.AwareDateTime(format="iso", validate=_storable_instant, **kwargs)


def _unstorable(value: Any) -> bool:
    """Text no database can keep: a NUL (PostgreSQL text and JSONB refuse it) or a lone
    surrogate (not UTF-8), anywhere in a JSON value."""
    # One pass in C for the usual case: orjson refuses lone surrogates and writes a NUL as
    # \u0000. It also refuses what it cannot write (an integer beyond 64 bits), and text may
    # spell out "\u0000" itself: only then, walk the value.
    try:
        encoded = orjson.dumps(value)
    except TypeError:
        return _unstorable_walk(value)
    return b"\\u0000" in encoded and _unstorable_walk(value)


def _unstorable_walk(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value or (not value.isascii() and _not_utf8(value))
    if isinstance(value, dict):
        return any(_unstorable_walk(k) or _unstorable_walk(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_unstorable_walk(item) for item in value)
    return False


def _not_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class StorableText:
    """Schema mixin: refuse unstorable text by field name (a 422, not a 500 from the driver)."""

    @ma.pre_load
    def _refuse_unstorable_text(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and not _unstorable(data):
            return data  # the usual case, checked in one pass
        if isinstance(data, Mapping):  # a dict, or webargs' proxy of the query string
            bad = [str(name) for name, value in data.items()
                   if _unstorable(name) or _unstorable(value)]  # fmt: skip
            if bad:
                message = "Text must not contain NUL characters or lone surrogates."
                raise ma.ValidationError({name: [message] for name in bad})
        return data


class WholeNumber(ma.fields.Integer):
    """An integer that refuses 2.5 (marshmallow's Integer silently truncates it to 2)."""

    def _validated(self, value: Any) -> int:
        if isinstance(value, float) and not value.is_integer():
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


# --- nested values ---------------------------------------------------------------------------


class AddressSchema(StrictSchema):
    street = text(300)
    postal_code = text(20)
    city = text(150)
    region = text(150)
    country = CountryCode(allow_none=True)


class WholePointSchema(StrictSchema):
    """A point whose lat and lon stay required inside a PATCH (``partial=True`` propagates to
    nested schemas, which would let ``{"lon": 9.2}`` through)."""

    @ma.validates_schema
    def _require_lat_lon(self, data: dict[str, Any], **kwargs: Any) -> None:
        missing = [name for name in ("lat", "lon") if name not in data]
        if missing:
            raise ma.ValidationError({name: ["Missing data for required field."]
                                      for name in missing})  # fmt: skip


class LocationInputSchema(WholePointSchema):
    """A pin set by a person; ``source: geocoder`` belongs to the server."""

    lat = ma.fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = ma.fields.Float(required=True, validate=validate.Range(-180, 180))
    precision = ma.fields.String(load_default="rooftop", validate=validate.OneOf(PRECISIONS))
    source = ma.fields.String(
        load_default="manual",
        validate=validate.OneOf(
            PIN_SOURCES, error="Must be gps or manual (geocoder is set by the server)."
        ),
    )


class LocationSchema(ma.Schema):
    lat = ma.fields.Float()
    lon = ma.fields.Float()
    precision = ma.fields.String(allow_none=True)
    source = ma.fields.String(allow_none=True)


class ConsentSchema(StrictSchema):
    marketing_email = ma.fields.Boolean(allow_none=True)
    updated_at = when(allow_none=True)


class GpsFixSchema(WholePointSchema):
    lat = ma.fields.Float(required=True, validate=validate.Range(-90, 90))
    lon = ma.fields.Float(required=True, validate=validate.Range(-180, 180))
    at = when(allow_none=True)
    accuracy_m = ma.fields.Float(allow_none=True, validate=validate.Range(0, 100_000))


class VerificationSchema(ma.Schema):
    status = ma.fields.String(validate=validate.OneOf(VERIFICATION_STATUSES))
    distance_m = ma.fields.Float(allow_none=True)


def validate_opening_hours(value: dict[str, Any]) -> None:
    """Days ``mon``..``sun``, each a list of ``[HH:MM, HH:MM]`` ranges that do not overlap."""
    errors: dict[str, list[str]] = {}
    for day, ranges in value.items():
        if day not in WEEKDAYS:
            errors[day] = [f"Unknown day; use one of {', '.join(WEEKDAYS)}."]
            continue
        if not isinstance(ranges, list):
            errors[day] = ["Must be a list of [start, end] pairs."]
            continue
        problems: list[str] = []
        spans: list[tuple[str, str]] = []
        for item in ranges:
            if (
                not isinstance(item, list | tuple)
                or len(item) != 2
                or not all(isinstance(t, str) and HHMM_RE.fullmatch(t) for t in item)
            ):
                problems.append(f"{item!r} is not a pair of HH:MM times.")
            elif item[0] >= item[1]:
                problems.append(f"{item[0]}-{item[1]} ends before it starts.")
            else:
                spans.append((item[0], item[1]))
        spans.sort()
        for (_, end), (start, _) in itertools.pairwise(spans):
            if start < end:
                problems.append(f"Ranges overlap around {start}.")
        if problems:
            errors[day] = problems
    if errors:
        raise ma.ValidationError(errors)


def validate_custom(value: dict[str, Any]) -> None:
    size = len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())
    if size > CUSTOM_MAX_BYTES:
        raise ma.ValidationError(f"At most {CUSTOM_MAX_BYTES} bytes of JSON (got {size}).")


# --- accounts --------------------------------------------------------------------------------


ACCOUNT_SERVER_FIELDS = COMMON_SERVER_FIELDS | {
    "geocode_status",
    "geocode_error",
    "territory_id",
    "last_visit_at",
    "visit_due_at",
}


class AccountWriteSchema(StorableText, StrictSchema):
    SERVER_FIELDS = ACCOUNT_SERVER_FIELDS | {"id"}

    kind = ma.fields.String(required=True, validate=validate.OneOf(ACCOUNT_KINDS))
    status = ma.fields.String(required=True, validate=validate.OneOf(ACCOUNT_STATUSES))
    name = required_text(300)
    title = text(100)
    first_name = text(150)
    last_name = text(150)
    email = ma.fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = text(40)
    mobile = text(40)
    website = text(500)
    industry = text(100)
    vat_number = text(40)
    legal_form = text(60)
    annual_revenue = ma.fields.Float(allow_none=True, validate=validate.Range(0, 1e15))
    employees = WholeNumber(allow_none=True, validate=validate.Range(0, 10_000_000))
    address = ma.fields.Nested(AddressSchema, allow_none=True)
    location = ma.fields.Nested(LocationInputSchema, allow_none=True)
    owner_id = ma.fields.UUID(allow_none=True)
    tags = ma.fields.List(
        ma.fields.String(validate=validate.Length(min=1, max=60)),
        allow_none=True,
        validate=validate.Length(max=50),
    )
    color = Color(allow_none=True)
    contact_preference = ma.fields.String(
        allow_none=True, validate=validate.OneOf(CONTACT_PREFERENCES)
    )
    visit_every_days = WholeNumber(allow_none=True, validate=validate.Range(1, 3650))
    opening_hours = ma.fields.Dict(allow_none=True, validate=validate_opening_hours)
    consent = ma.fields.Nested(ConsentSchema, allow_none=True)
    notes = text(20_000)
    custom = ma.fields.Dict(allow_none=True, validate=validate_custom)


class AccountCreateSchema(AccountWriteSchema):
    SERVER_FIELDS = ACCOUNT_SERVER_FIELDS

    id = ma.fields.UUID(load_default=None, metadata={"description": "Chosen by the client"})


class AccountSchema(ma.Schema):
    id = ma.fields.UUID()
    version = ma.fields.Integer()
    kind = ma.fields.String()
    status = ma.fields.String()
    name = ma.fields.String()
    title = ma.fields.String(allow_none=True)
    first_name = ma.fields.String(allow_none=True)
    last_name = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    mobile = ma.fields.String(allow_none=True)
    website = ma.fields.String(allow_none=True)
    industry = ma.fields.String(allow_none=True)
    vat_number = ma.fields.String(allow_none=True)
    legal_form = ma.fields.String(allow_none=True)
    annual_revenue = ma.fields.Float(allow_none=True)
    employees = ma.fields.Integer(allow_none=True)
    address = ma.fields.Nested(AddressSchema, allow_none=True)
    location = ma.fields.Nested(LocationSchema, allow_none=True)
    geocode_status = ma.fields.String(allow_none=True)
    geocode_error = ma.fields.String(allow_none=True)
    territory_id = ma.fields.UUID(allow_none=True)
    owner_id = ma.fields.UUID(allow_none=True)
    tags = ma.fields.List(ma.fields.String(), allow_none=True)
    color = ma.fields.String(allow_none=True)
    contact_preference = ma.fields.String(allow_none=True)
    visit_every_days = ma.fields.Integer(allow_none=True)
    opening_hours = ma.fields.Dict(allow_none=True)
    consent = ma.fields.Dict(allow_none=True)
    notes = ma.fields.String(allow_none=True)
    custom = ma.fields.Dict(allow_none=True)
    last_visit_at = ma.fields.DateTime(allow_none=True)
    visit_due_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "When the visit cadence next falls due"}
    )
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class AccountFilterSchema(StorableText, ma.Schema):
    """The account list's filters: query arguments of ``GET /accounts`` and a segment's stored
    ``filters`` alike (one schema, so a saved filter means what the same query means)."""

    class Meta:
        unknown = ma.RAISE

    status = ma.fields.String(validate=validate.OneOf(ACCOUNT_STATUSES))
    kind = ma.fields.String(validate=validate.OneOf(ACCOUNT_KINDS))
    territory_id = ma.fields.UUID()
    owner_id = ma.fields.UUID()
    tag = ma.fields.String()
    industry = ma.fields.String()
    country = CountryCode()
    q = ma.fields.String(validate=validate.Length(min=1, max=200))
    due = ma.fields.Boolean(
        metadata={
            "description": "Only accounts whose cadence is overdue. With true, the most urgent "
            "come first (days overdue against the cadence, status, open tasks due, revenue, "
            "days without contact), then by id; `next_cursor` keeps the instant the first "
            "page was scored at and the last (score, id), so pages continue one order."
        }
    )
    near = ma.fields.String(metadata={"description": "LAT,LON; with radius_km"})
    radius_km = ma.fields.Float(load_default=10.0, validate=validate.Range(0.01, 2000))
    city = ma.fields.String(
        validate=validate.Length(min=1, max=150), metadata={"description": "Exact, any case"}
    )
    region = ma.fields.String(
        validate=validate.Length(min=1, max=150), metadata={"description": "Exact, any case"}
    )
    revenue_min = ma.fields.Float(validate=validate.Range(0, 1e15), allow_nan=False)
    revenue_max = ma.fields.Float(validate=validate.Range(0, 1e15), allow_nan=False)
    employees_min = WholeNumber(validate=validate.Range(0, 10_000_000))
    employees_max = WholeNumber(validate=validate.Range(0, 10_000_000))
    last_visit_after = when(metadata={"description": "Last visit at or after (never: excluded)"})
    last_visit_before = when(metadata={"description": "Last visit before (never: excluded)"})
    has_open_tasks = ma.fields.Boolean(
        metadata={"description": "With (true) or without (false) a task not done"}
    )
    visits_min = WholeNumber(
        validate=validate.Range(0, 100_000),
        metadata={"description": "At least this many visits in [visits_from, visits_to)"},
    )
    visits_max = WholeNumber(
        validate=validate.Range(0, 100_000),
        metadata={"description": "At most this many visits in [visits_from, visits_to)"},
    )
    visits_from = when(metadata={"description": "Start of the visit-count window (inclusive)"})
    visits_to = when(metadata={"description": "End of the visit-count window (exclusive)"})

    @ma.validates("near")
    def _check_near(self, value: str, **kwargs: Any) -> None:
        parse_near(value)

    @ma.validates_schema
    def _check_ranges(self, data: dict[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        for low, high in (
            ("revenue_min", "revenue_max"),
            ("employees_min", "employees_max"),
            ("last_visit_after", "last_visit_before"),
            ("visits_min", "visits_max"),
            ("visits_from", "visits_to"),
        ):
            if data.get(low) is not None and data.get(high) is not None and data[low] > data[high]:
                errors[high] = [f"Must not be less than {low}."]
        window = [name for name in ("visits_from", "visits_to") if name in data]
        if window and "visits_min" not in data and "visits_max" not in data:
            # A window alone would filter nothing: say so rather than ignore it.
            errors["visits_min"] = ["Give visits_min or visits_max with a visit window."]
        if errors:
            raise ma.ValidationError(errors)


class AccountQueryArgsSchema(AccountFilterSchema, PageArgsSchema):
    """The filters plus ``limit`` and ``cursor``."""


def parse_near(value: str) -> tuple[float, float]:
    """``"45.46,9.19"`` → (lat, lon), in range."""
    try:
        lat_text, lon_text = value.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        raise ma.ValidationError("Must be LAT,LON, e.g. 45.46,9.19.") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ma.ValidationError("Latitude must be within ±90 and longitude within ±180.")
    return lat, lon


# --- contacts --------------------------------------------------------------------------------


class ContactWriteSchema(StorableText, StrictSchema):
    SERVER_FIELDS = COMMON_SERVER_FIELDS | {"id"}

    account_id = ma.fields.UUID(required=True)
    first_name = text(150)
    last_name = required_text(150)
    role = text(150)
    email = ma.fields.Email(allow_none=True, validate=validate.Length(max=254))
    phone = text(40)
    is_primary = ma.fields.Boolean(allow_none=True)
    notes = text(20_000)


class ContactCreateSchema(ContactWriteSchema):
    SERVER_FIELDS = COMMON_SERVER_FIELDS
    id = ma.fields.UUID(load_default=None)


class ContactSchema(ma.Schema):
    id = ma.fields.UUID()
    version = ma.fields.Integer()
    account_id = ma.fields.UUID()
    first_name = ma.fields.String(allow_none=True)
    last_name = ma.fields.String()
    role = ma.fields.String(allow_none=True)
    email = ma.fields.String(allow_none=True)
    phone = ma.fields.String(allow_none=True)
    is_primary = ma.fields.Boolean(allow_none=True)
    notes = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ContactQueryArgsSchema(StorableText, PageArgsSchema):
    account_id = ma.fields.UUID()
    q = ma.fields.String(validate=validate.Length(min=1, max=200))


# --- interactions ----------------------------------------------------------------------------


INTERACTION_SERVER_FIELDS = COMMON_SERVER_FIELDS | {"user_id", "verification"}


class InteractionWriteSchema(StorableText, StrictSchema):
    SERVER_FIELDS = INTERACTION_SERVER_FIELDS | {"id"}

    account_id = ma.fields.UUID(required=True)
    contact_id = ma.fields.UUID(allow_none=True)
    kind = ma.fields.String(required=True, validate=validate.OneOf(INTERACTION_KINDS))
    occurred_at = when(required=True)
    duration_minutes = WholeNumber(allow_none=True, validate=validate.Range(0, 24 * 60))
    outcome = text(2000)
    report = text(50_000)
    check_in = ma.fields.Nested(GpsFixSchema, allow_none=True)
    check_out = ma.fields.Nested(GpsFixSchema, allow_none=True)
    next_step = text(2000)


class InteractionCreateSchema(InteractionWriteSchema):
    SERVER_FIELDS = INTERACTION_SERVER_FIELDS
    id = ma.fields.UUID(load_default=None)


class InteractionSchema(ma.Schema):
    id = ma.fields.UUID()
    version = ma.fields.Integer()
    account_id = ma.fields.UUID()
    contact_id = ma.fields.UUID(allow_none=True)
    user_id = ma.fields.UUID(allow_none=True)
    kind = ma.fields.String()
    occurred_at = ma.fields.DateTime()
    duration_minutes = ma.fields.Integer(allow_none=True)
    outcome = ma.fields.String(allow_none=True)
    report = ma.fields.String(allow_none=True)
    check_in = ma.fields.Dict(allow_none=True)
    check_out = ma.fields.Dict(allow_none=True)
    verification = ma.fields.Nested(VerificationSchema, allow_none=True)
    next_step = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class InteractionQueryArgsSchema(StorableText, PageArgsSchema):
    account_id = ma.fields.UUID()
    user_id = ma.fields.UUID()
    kind = ma.fields.String(validate=validate.OneOf(INTERACTION_KINDS))
    verification = ma.fields.String(validate=validate.OneOf(VERIFICATION_STATUSES))
    occurred_from = when(data_key="from")
    occurred_to = when(data_key="to")


# --- tasks -----------------------------------------------------------------------------------


class TaskWriteSchema(StorableText, StrictSchema):
    SERVER_FIELDS = COMMON_SERVER_FIELDS | {"id", "created_by"}

    account_id = ma.fields.UUID(allow_none=True)
    assignee_id = ma.fields.UUID(allow_none=True)
    title = required_text(300)
    kind = ma.fields.String(allow_none=True, validate=validate.OneOf(TASK_KINDS))
    due_at = when(allow_none=True)
    done = ma.fields.Boolean(allow_none=True)
    done_at = when(allow_none=True)
    notes = text(20_000)


class TaskCreateSchema(TaskWriteSchema):
    SERVER_FIELDS = COMMON_SERVER_FIELDS | {"created_by"}
    id = ma.fields.UUID(load_default=None)


class TaskSchema(ma.Schema):
    id = ma.fields.UUID()
    version = ma.fields.Integer()
    account_id = ma.fields.UUID(allow_none=True)
    assignee_id = ma.fields.UUID(allow_none=True)
    title = ma.fields.String()
    kind = ma.fields.String(allow_none=True)
    due_at = ma.fields.DateTime(allow_none=True)
    done = ma.fields.Boolean(allow_none=True)
    done_at = ma.fields.DateTime(allow_none=True)
    notes = ma.fields.String(allow_none=True)
    created_by = ma.fields.UUID(allow_none=True)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class TaskQueryArgsSchema(StorableText, PageArgsSchema):
    account_id = ma.fields.UUID()
    assignee_id = ma.fields.UUID()
    done = ma.fields.Boolean()
    due_before = when()


AccountPageSchema = page_schema(AccountSchema, "AccountPage")
ContactPageSchema = page_schema(ContactSchema, "ContactPage")
InteractionPageSchema = page_schema(InteractionSchema, "InteractionPage")
TaskPageSchema = page_schema(TaskSchema, "TaskPage")
