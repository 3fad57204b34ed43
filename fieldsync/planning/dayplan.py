"""What a plan is asked and answers: the planner's input and output records, and the rules
that make a day impossible (shared by the API's schemas and the planner, so both paths give
the same 422 naming the same fields).

No Flask, no database: plain frozen dataclasses and `ValidationError`.
"""

from __future__ import annotations

import datetime as dt
import math
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fieldsync.exceptions import ValidationError
from fieldsync.planning.hours import fits, seconds, visit_windows

MAX_CANDIDATES = 2000  # the API refuses more


@dataclass(frozen=True)
class Candidate:
    """An account the plan may visit."""

    account_id: uuid.UUID
    lat: float | None
    lon: float | None
    urgency: float  # >0; higher = more urgent
    visit_minutes: float  # service time
    # the account's opening_hours JSON; None or {} = open all day; a missing weekday = closed
    opening_hours: dict[str, list[list[str]]] | None
    mandatory: bool = False  # planned whenever it fits, never cut by the shortlist
    # when the cadence falls due (local date), if known: a week plan visits the account no
    # earlier than WEEK_EARLY_DAYS before it, so the week's visits spread as accounts fall due
    due_on: dt.date | None = None


@dataclass(frozen=True)
class Fixed:
    """An appointment: the visit to `account_id` (also a candidate) starts at `at`."""

    account_id: uuid.UUID
    at: dt.time


@dataclass(frozen=True)
class DayRequest:
    """One rep's day: leaves `start` at `day_start`, back at `end` (None: `start`) by `day_end`."""

    date: dt.date
    start: tuple[float, float]  # (lat, lon)
    end: tuple[float, float] | None  # None = back to start
    day_start: dt.time
    day_end: dt.time
    breaks: tuple[tuple[dt.time, dt.time, int], ...] = ()  # (window start, window end, minutes)
    max_stops: int | None = None
    fixed: tuple[Fixed, ...] = ()


@dataclass(frozen=True)
class PlannedStop:
    """A visit as planned: `arrival` is when the visit starts (the rep may get there earlier
    and wait for the opening), `departure` when it ends; the leg that led to it."""

    account_id: uuid.UUID
    arrival: dt.time  # local time of the plan's date
    departure: dt.time
    travel_minutes: float
    distance_km: float


@dataclass(frozen=True)
class DayPlan:
    """A rep's day: stops in order, every other candidate with its reason, travel totals."""

    date: dt.date
    stops: tuple[PlannedStop, ...]
    unassigned: tuple[tuple[uuid.UUID, str], ...]
    distance_km: float  # totals incl. return leg
    travel_minutes: float
    engine: str = ""  # which solver planned it ("" when nothing was routed)


# --- validation ------------------------------------------------------------------------------


def _point_errors(point: Any, name: str, errors: dict[str, list[str]]) -> None:
    try:
        lat, lon = (float(v) for v in point)
    except (TypeError, ValueError):
        errors.setdefault(name, []).append("Must be a (lat, lon) pair.")
        return
    if not (math.isfinite(lat) and -90 <= lat <= 90):
        errors.setdefault(f"{name}.lat", []).append("Latitude must be within ±90.")
    if not (math.isfinite(lon) and -180 <= lon <= 180):
        errors.setdefault(f"{name}.lon", []).append("Longitude must be within ±180.")


def validate_candidates(candidates: Sequence[Candidate]) -> dict[uuid.UUID, Candidate]:
    """Return the candidates by id; raise `ValidationError` for too many, twice, bad values."""
    errors: dict[str, list[str]] = {}
    if len(candidates) > MAX_CANDIDATES:
        errors["account_ids"] = [f"At most {MAX_CANDIDATES} accounts per plan."]
    by_id: dict[uuid.UUID, Candidate] = {}
    for c in candidates:
        if c.account_id in by_id:
            errors.setdefault("account_ids", []).append(f"{c.account_id} is named twice.")
        by_id[c.account_id] = c
        if c.lat is not None and c.lon is not None:
            _point_errors((c.lat, c.lon), f"accounts.{c.account_id}.location", errors)
        if not (math.isfinite(c.urgency) and c.urgency >= 0):
            errors.setdefault(f"accounts.{c.account_id}.urgency", []).append("Must be >= 0.")
        if not (math.isfinite(c.visit_minutes) and 0 < c.visit_minutes <= 24 * 60):
            errors.setdefault("default_visit_minutes", []).append(
                "A visit must last more than 0 minutes and at most a day."
            )
    if errors:
        raise ValidationError("The plan's accounts are not valid.", fields=errors)
    return by_id


def validate_request(request: DayRequest, candidates: Mapping[uuid.UUID, Candidate]) -> None:
    """Raise `ValidationError` naming each field of `request` that makes the day impossible."""
    errors: dict[str, list[str]] = {}
    _point_errors(request.start, "start", errors)
    if request.end is not None:
        _point_errors(request.end, "end", errors)
    begin, finish = seconds(request.day_start), seconds(request.day_end)
    if finish <= begin:
        errors["day_end"] = ["Must be after day_start."]
    if request.max_stops is not None and request.max_stops < 0:
        errors["max_stops"] = ["Must be 0 or more."]
    for k, (start, end, minutes) in enumerate(request.breaks):
        a, b = seconds(start), seconds(end)
        if b <= a:
            errors[f"breaks.{k}.end"] = ["Must be after the break's start."]
        elif not 0 <= minutes * 60 <= b - a:
            errors[f"breaks.{k}.minutes"] = ["Must be between 0 and the length of its window."]
        elif finish > begin and (a < begin or b > finish):
            errors[f"breaks.{k}"] = ["The break's window must lie within the day."]
    seen: set[uuid.UUID] = set()
    for k, fixed in enumerate(request.fixed):
        field = f"fixed.{k}"
        candidate = candidates.get(fixed.account_id)
        if fixed.account_id in seen:
            errors[f"{field}.account_id"] = ["The account has two appointments on this day."]
            continue
        seen.add(fixed.account_id)
        if candidate is None:
            errors[f"{field}.account_id"] = ["Not one of the plan's accounts."]
            continue
        if candidate.lat is None or candidate.lon is None:
            errors[f"{field}.account_id"] = ["The account has no location."]
            continue
        at = seconds(fixed.at)
        service = candidate.visit_minutes * 60
        if not begin <= at or at + service > finish:
            errors[f"{field}.at"] = ["The visit must start and end within the day."]
            continue
        windows = visit_windows(candidate.opening_hours, request.date, service)
        if not fits(windows, at):
            errors[f"{field}.at"] = [
                f"The account is not open for the whole visit from {fixed.at:%H:%M}."
            ]
    if errors:
        raise ValidationError("The plan's day is not possible.", fields=errors)
