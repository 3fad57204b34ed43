"""What crosses the wire for visit plans: the planning requests, the plan, a stop's status.

Times of day are ``HH:MM`` in the organisation's time zone, dates ``YYYY-MM-DD`` (local). The
checks here are of shape and value only (a break inside the day, an appointment inside the
day); what needs the database (visibility, opening hours) is the service's.
"""

from __future__ import annotations

from datetime import time
from typing import Any

import marshmallow as ma
from marshmallow import validate

from fieldsync.planning.models import STOP_STATUSES
from fieldsync.portfolio.schemas import HHMM_RE
from fieldsync.schemas import LocationPointSchema, PageArgsSchema, StrictSchema, page_schema

MAX_CANDIDATES = 2000
DEFAULT_DAY_START = time(8, 30)
DEFAULT_DAY_END = time(17, 30)


class LocalTime(ma.fields.Field):
    """A local time of day as ``HH:MM`` (00:00 to 23:59)."""

    default_error_messages = {"invalid": "Not a time of day of the form HH:MM."}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> time:
        if not isinstance(value, str) or not HHMM_RE.fullmatch(value):
            raise self.make_error("invalid")
        hours, minutes = value.split(":")
        return time(int(hours), int(minutes))

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return value if isinstance(value, str) else f"{value.hour:02d}:{value.minute:02d}"


def _hhmm(*, metadata: dict[str, Any] | None = None, **kwargs: Any) -> LocalTime:
    shape = {"type": "string", "pattern": HHMM_RE.pattern, "example": "08:30"}
    return LocalTime(metadata={**shape, **(metadata or {})}, **kwargs)


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


# --- requests --------------------------------------------------------------------------------


class BreakSchema(StrictSchema):
    start = _hhmm(required=True)
    end = _hhmm(required=True)
    minutes = ma.fields.Integer(
        load_default=None,
        validate=validate.Range(1, 24 * 60),
        metadata={"description": "How long the break is, taken within [start, end] (default: "
                  "the whole window)."},
    )  # fmt: skip

    @ma.validates_schema
    def _window(self, data: dict[str, Any], **kwargs: Any) -> None:
        start, end = data.get("start"), data.get("end")
        if start is None or end is None:
            return
        window = _minutes(end) - _minutes(start)
        if window <= 0:
            raise ma.ValidationError("A break ends after it starts.", field_name="end")
        if data.get("minutes") is not None and data["minutes"] > window:
            raise ma.ValidationError("Longer than the break's window.", field_name="minutes")


class FixedSchema(StrictSchema):
    account_id = ma.fields.UUID(required=True)
    at = _hhmm(required=True, metadata={"description": "Arrival time of the appointment."})


class WeekFixedSchema(FixedSchema):
    date = ma.fields.Date(required=True, metadata={"description": "A day of the week planned."})


class TeamFixedSchema(FixedSchema):
    rep_id = ma.fields.UUID(required=True, metadata={"description": "Whose appointment it is."})


class _PlanOptionsSchema(StrictSchema):
    """The options every planning request shares."""

    FIXED: type[FixedSchema] = FixedSchema

    start = ma.fields.Nested(
        LocationPointSchema,
        metadata={"description": "Where the day starts (default: the rep's home location)."},
    )
    end = ma.fields.Nested(
        LocationPointSchema,
        allow_none=True,
        metadata={"description": "Where the day ends (default: the rep's home location, else "
                  "the start); null: back at the start."},
    )  # fmt: skip
    day_start = _hhmm(
        load_default=DEFAULT_DAY_START,
        metadata={"description": "When the rep leaves the start point (default 08:30)."},
    )
    day_end = _hhmm(
        load_default=DEFAULT_DAY_END,
        metadata={"description": "When the rep is back at the end point (default 17:30)."},
    )
    breaks = ma.fields.List(ma.fields.Nested(BreakSchema), load_default=list)
    max_stops = ma.fields.Integer(load_default=None, validate=validate.Range(1, 200))
    default_visit_minutes = ma.fields.Integer(load_default=30, validate=validate.Range(1, 600))
    account_ids = ma.fields.List(
        ma.fields.UUID(),
        validate=validate.Length(max=MAX_CANDIDATES),
        metadata={"description": "Plan exactly these accounts (at most 2,000, each visible to "
                  "the rep); default: the accounts due, ranked by urgency."},
    )  # fmt: skip

    @ma.validates_schema
    def _day(self, data: dict[str, Any], **kwargs: Any) -> None:
        """The day is a window; breaks and appointments fall inside it."""
        start, end = data.get("day_start"), data.get("day_end")
        if start is None or end is None:
            return
        errors: dict[str, Any] = {}
        if end <= start:
            errors["day_end"] = ["The day ends after it starts (day_start)."]
        else:
            for index, item in enumerate(data.get("breaks") or []):
                if item["start"] < start or item["end"] > end:
                    errors[f"breaks.{index}"] = ["The break falls outside the day."]
            for index, item in enumerate(data.get("fixed") or []):
                if not start <= item["at"] < end:
                    errors[f"fixed.{index}.at"] = ["The appointment falls outside the day."]
        if errors:
            raise ma.ValidationError(errors)


class PlanCreateSchema(_PlanOptionsSchema):
    rep_id = ma.fields.UUID(
        metadata={"description": "Whose day (default: the caller)."},
    )
    date = ma.fields.Date(required=True)
    fixed = ma.fields.List(ma.fields.Nested(FixedSchema), load_default=list)


class PlanWeekSchema(_PlanOptionsSchema):
    rep_id = ma.fields.UUID(metadata={"description": "Whose week (default: the caller)."})
    week_start = ma.fields.Date(required=True, metadata={"description": "The first day planned."})
    days = ma.fields.Integer(load_default=5, validate=validate.Range(1, 7))
    fixed = ma.fields.List(ma.fields.Nested(WeekFixedSchema), load_default=list)


class PlanTeamSchema(_PlanOptionsSchema):
    territory_id = ma.fields.UUID(required=True)
    date = ma.fields.Date(required=True)
    rep_ids = ma.fields.List(
        ma.fields.UUID(),
        validate=validate.Length(min=1, max=100),
        metadata={"description": "The reps to plan (default: the territory's reps)."},
    )
    fixed = ma.fields.List(ma.fields.Nested(TeamFixedSchema), load_default=list)


class StopStatusSchema(StrictSchema):
    status = ma.fields.String(required=True, validate=validate.OneOf(STOP_STATUSES))


class PlanQueryArgsSchema(PageArgsSchema):
    rep_id = ma.fields.UUID()
    date = ma.fields.Date()


# --- responses -------------------------------------------------------------------------------


class StopSchema(ma.Schema):
    account_id = ma.fields.String()
    arrival = ma.fields.String(metadata={"description": "HH:MM, local"})
    departure = ma.fields.String(metadata={"description": "HH:MM, local"})
    travel_minutes = ma.fields.Integer(metadata={"description": "From the previous point"})
    distance_km = ma.fields.Float(metadata={"description": "From the previous point"})
    status = ma.fields.String(metadata={"enum": list(STOP_STATUSES)})


class UnassignedSchema(ma.Schema):
    account_id = ma.fields.String()
    reason = ma.fields.String(
        metadata={"description": "Why it is out: no_location, closed, no_time, max_stops, ..."}
    )


class TotalsSchema(ma.Schema):
    distance_km = ma.fields.Float()
    travel_minutes = ma.fields.Integer()
    visits = ma.fields.Integer()


class VisitPlanSchema(ma.Schema):
    id = ma.fields.UUID()
    version = ma.fields.Integer()
    rep_id = ma.fields.UUID()
    date = ma.fields.Date()
    stops = ma.fields.List(ma.fields.Nested(StopSchema))
    unassigned = ma.fields.List(ma.fields.Nested(UnassignedSchema))
    totals = ma.fields.Nested(TotalsSchema)
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()


class ActualSchema(ma.Schema):
    done = ma.fields.Integer(metadata={"description": "Stops marked done"})
    skipped = ma.fields.Integer(metadata={"description": "Stops marked skipped"})
    planned = ma.fields.Integer(metadata={"description": "Stops still planned"})
    visits = ma.fields.Integer(
        metadata={"description": "Visit interactions the rep recorded that local day"}
    )
    visited_stops = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Stops with a visit interaction of the rep that day"},
    )
    unplanned_visits = ma.fields.List(
        ma.fields.String(),
        metadata={"description": "Accounts the rep visited that day that are not stops"},
    )
    completion = ma.fields.Float(
        allow_none=True, metadata={"description": "done / stops (null without stops)"}
    )
    distance_km_planned = ma.fields.Float()
    travel_minutes_planned = ma.fields.Integer()


class VisitPlanDetailSchema(VisitPlanSchema):
    actual = ma.fields.Nested(ActualSchema)


class VisitPlansSchema(ma.Schema):
    plans = ma.fields.List(ma.fields.Nested(VisitPlanSchema), required=True)


VisitPlanPageSchema = page_schema(VisitPlanSchema, "VisitPlanPage")
