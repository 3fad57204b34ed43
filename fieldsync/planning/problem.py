"""The routing problem and its solution, as plain data shared by the solver and its verifier.

Times are in one unit of the caller's choice (seconds since midnight for a day plan, the
instance's own unit for Solomon) and distances in another; the travel matrices are indexed by
location. Nothing here knows of Flask, the database or a particular solver.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Matrix = Sequence[Sequence[float]]


@dataclass(frozen=True)
class TimeWindow:
    """An interval of time; for a visit, when its service may start."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or self.end < self.start:
            raise ValueError(f"invalid time window {self.start}..{self.end}")


@dataclass(frozen=True)
class Break:
    """A pause of `duration` taken wherever the rep is, starting and ending inside `window`."""

    id: str
    window: TimeWindow
    duration: float

    def __post_init__(self) -> None:
        if self.duration < 0 or self.duration > self.window.end - self.window.start:
            raise ValueError(f"break {self.id!r} does not fit its window")


@dataclass(frozen=True)
class Vehicle:
    """A rep's day: leaves `start` no earlier than `shift.start`, is back at `end` by `shift.end`.

    `end` None means the rep ends where they started.
    """

    id: str
    start: int
    shift: TimeWindow
    end: int | None = None
    breaks: tuple[Break, ...] = ()
    capacity: int | None = None
    max_stops: int | None = None

    @property
    def end_location(self) -> int:
        """Return the location where the day ends."""
        return self.start if self.end is None else self.end


@dataclass(frozen=True)
class Job:
    """A visit to plan.

    `time_windows` None means open all day and `()` closed all day; service starts inside one of
    them. `fixed_at` pins the start of service to that instant (an appointment). `prize` None
    makes the visit mandatory (planned whenever it fits at all); otherwise the visit is optional
    and worth `prize` in objective units (seconds of travel, or distance), so it is planned only
    when its detour costs less.
    """

    id: str
    location: int | None
    service: float = 0.0
    time_windows: tuple[TimeWindow, ...] | None = None
    demand: int = 0
    prize: float | None = None
    fixed_at: float | None = None

    @property
    def mandatory(self) -> bool:
        """Return whether the visit must be planned when it fits."""
        return self.prize is None

    def windows(self, horizon: TimeWindow) -> tuple[TimeWindow, ...]:
        """Return when service may start, clipped to `horizon`, in order."""
        if self.fixed_at is not None:
            raw: tuple[TimeWindow, ...] = (TimeWindow(self.fixed_at, self.fixed_at),)
        elif self.time_windows is None:
            raw = (horizon,)
        else:
            raw = self.time_windows
        clipped = [
            TimeWindow(max(w.start, horizon.start), min(w.end, horizon.end))
            for w in sorted(raw, key=lambda w: w.start)
            if w.end >= horizon.start and w.start <= horizon.end
        ]
        return tuple(clipped)


@dataclass(frozen=True)
class Problem:
    """Reps, visits and the travel matrices between locations.

    `objective` says what the solver minimises: total travel `duration` or `distance` (prizes are
    in the same unit). `precision` is how many integer ticks the solvers use per time unit: 1 for
    seconds, 1000 for Solomon's fractional distances.
    """

    vehicles: tuple[Vehicle, ...]
    jobs: tuple[Job, ...]
    durations: Matrix
    distances: Matrix | None = None
    objective: Literal["duration", "distance"] = "duration"
    precision: float = 1.0

    def __post_init__(self) -> None:
        ids = [j.id for j in self.jobs]
        if len(set(ids)) != len(ids):
            raise ValueError("job ids must be unique")
        if len({v.id for v in self.vehicles}) != len(self.vehicles):
            raise ValueError("vehicle ids must be unique")
        n = len(self.durations)
        locations = [j.location for j in self.jobs if j.location is not None]
        for v in self.vehicles:
            locations += [v.start, v.end_location]
        if any(not 0 <= loc < n for loc in locations):
            raise ValueError("a location index is outside the travel matrix")

    def travel(self, a: int, b: int) -> float:
        """Return the travel time from location `a` to `b`."""
        return float(self.durations[a][b])

    def distance(self, a: int, b: int) -> float:
        """Return the distance from location `a` to `b`."""
        matrix = self.durations if self.distances is None else self.distances
        return float(matrix[a][b])

    def cost(self, a: int, b: int) -> float:
        """Return what the objective counts for going from `a` to `b`."""
        return self.travel(a, b) if self.objective == "duration" else self.distance(a, b)


class Reason(enum.StrEnum):
    """Why a visit is left out of the plan."""

    NO_LOCATION = "no_location"  # the account has no coordinates
    CLOSED = "closed"  # no opening window can be reached within any rep's day
    NO_TIME = "no_time"  # it could be reached, but the day is full
    MAX_STOPS = "max_stops"  # it fits in time, but the routes hold their maximum of stops
    CAPACITY = "capacity"  # it fits in time, but not in what the vehicles carry
    LOW_VALUE = "low_value"  # optional, and its detour costs more than its prize


@dataclass(frozen=True)
class Stop:
    """A planned visit: arrival, start and end of service, and the leg that led to it."""

    job_id: str
    location: int
    arrival: float
    start: float
    departure: float
    travel_time: float
    distance: float


@dataclass(frozen=True)
class TakenBreak:
    """A break as planned: taken after `after_stops` visits of the route (0: before the first)."""

    break_id: str
    start: float
    end: float
    after_stops: int


@dataclass(frozen=True)
class Route:
    """One rep's day: departure, the visits in order, the breaks, the return leg."""

    vehicle_id: str
    departure: float
    stops: tuple[Stop, ...]
    arrival: float
    end_travel_time: float
    end_distance: float
    breaks: tuple[TakenBreak, ...] = ()

    @property
    def travel_time(self) -> float:
        """Return the time spent travelling."""
        return sum(s.travel_time for s in self.stops) + self.end_travel_time

    @property
    def distance(self) -> float:
        """Return the distance travelled."""
        return sum(s.distance for s in self.stops) + self.end_distance


@dataclass(frozen=True)
class Unassigned:
    """A visit left out, and why."""

    job_id: str
    reason: Reason


@dataclass(frozen=True)
class SolveOptions:
    """How hard and with what to search.

    The search stops after `max_iterations` (deterministic: same input, same seed, same plan;
    PyVRP iterations, OR-Tools gets one solution per 20) or after `time_limit` seconds,
    whichever comes first; None drops the iteration limit (a time limit alone gives plans that
    depend on the machine's load). 3000 iterations take ~1 s on a 30-visit day. `engine`
    forces one solver.
    """

    time_limit: float = 5.0
    max_iterations: int | None = 3000
    seed: int = 0
    engine: Literal["auto", "pyvrp", "ortools"] = "auto"


@dataclass(frozen=True)
class Plan:
    """A solver's answer for one vehicle: visits in order, and where the breaks fall (if known)."""

    vehicle: Vehicle
    jobs: tuple[Job, ...]
    break_positions: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Solution:
    """The routes (used vehicles only), the visits left out, and which engine produced them."""

    routes: tuple[Route, ...]
    unassigned: tuple[Unassigned, ...]
    engine: str = ""
    seconds: float = 0.0

    @property
    def distance(self) -> float:
        """Return the total distance."""
        return sum(r.distance for r in self.routes)

    @property
    def travel_time(self) -> float:
        """Return the total travel time."""
        return sum(r.travel_time for r in self.routes)
