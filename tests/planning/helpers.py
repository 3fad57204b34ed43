"""Small hand-made day plans: points on a plane, one unit of distance is one minute of travel."""

from __future__ import annotations

import math
from collections.abc import Sequence

from fieldsync.planning.solver import Job, Problem, TimeWindow, Vehicle

H = 3600.0  # seconds in an hour
M = 60.0  # seconds in a minute


def at(hours: float, minutes: float = 0) -> float:
    """Return a time of day in seconds since midnight."""
    return hours * H + minutes * M


def window(start: tuple[float, float], end: tuple[float, float]) -> TimeWindow:
    """Return a window between two (hour, minute) times of day."""
    return TimeWindow(at(*start), at(*end))


def problem(
    points: Sequence[tuple[float, float]],
    vehicles: Sequence[Vehicle],
    jobs: Sequence[Job],
) -> Problem:
    """Return a problem over `points` (km), travel at one km a minute, minimising travel time."""
    km = [[math.dist(a, b) for b in points] for a in points]
    seconds = [[d * M for d in row] for row in km]
    return Problem(tuple(vehicles), tuple(jobs), seconds, km)


def rep(vehicle_id: str = "rep", **fields: object) -> Vehicle:
    """Return a rep starting and ending at point 0, 08:00-18:00 unless told otherwise."""
    fields.setdefault("start", 0)
    fields.setdefault("shift", window((8, 0), (18, 0)))
    return Vehicle(id=vehicle_id, **fields)  # type: ignore[arg-type]
