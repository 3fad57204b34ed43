"""Exact timing of one rep's day, given the order of visits and where the breaks fall.

The solvers work on integer ticks; the adapter keeps only the order they chose and recomputes
every time here in the caller's units, so reported times are exact and earliest: the rep leaves
at the start of the shift, serves each visit as soon as it may, and takes each break as soon
as its window opens once the previous visit is over (on the way, or on site before the next).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence

from fieldsync.planning.problem import Job, Problem, Route, Stop, TakenBreak, Vehicle

EPS = 1e-6  # matrix rounding to ticks leaves at most this much, summed over a day


def timeline(
    problem: Problem, vehicle: Vehicle, jobs: Sequence[Job], positions: Sequence[int]
) -> Route | None:
    """Return the earliest schedule of `jobs` in order, or None when a window is missed.

    `positions[i]` is the number of visits done before the i-th break (breaks sorted by the
    start of their window); positions must not decrease.
    """
    breaks = sorted(vehicle.breaks, key=lambda b: (b.window.start, b.id))
    t = vehicle.shift.start
    loc = vehicle.start
    stops: list[Stop] = []
    taken: list[TakenBreak] = []
    b = 0
    for k in range(len(jobs) + 1):
        target = jobs[k].location if k < len(jobs) else vehicle.end_location
        assert target is not None
        travel = problem.travel(loc, target)
        remaining, cur, free, arrival = travel, t, t, None
        while b < len(breaks) and positions[b] == k:
            brk = breaks[b]
            start = max(free, brk.window.start)
            if start + brk.duration > brk.window.end + EPS:
                return None
            if arrival is None:
                if remaining <= start - cur:
                    arrival = cur + remaining
                else:
                    remaining -= start - cur
                    cur = start + brk.duration
            free = start + brk.duration
            taken.append(TakenBreak(brk.id, start, free, k))
            b += 1
        if arrival is None:
            arrival = cur + remaining
        ready = max(arrival, free)
        if k == len(jobs):
            if ready > vehicle.shift.end + EPS:
                return None
            return Route(
                vehicle_id=vehicle.id,
                departure=vehicle.shift.start,
                stops=tuple(stops),
                arrival=ready,
                end_travel_time=travel,
                end_distance=problem.distance(loc, target),
                breaks=tuple(taken),
            )
        job = jobs[k]
        start = next(
            (max(ready, w.start) for w in job.windows(vehicle.shift) if ready <= w.end + EPS), None
        )
        if start is None:
            return None
        departure = start + job.service
        stops.append(
            Stop(job.id, target, arrival, start, departure, travel, problem.distance(loc, target))
        )
        t, loc = departure, target
    raise AssertionError("unreachable")


def all_positions(n_stops: int, n_breaks: int) -> Iterator[tuple[int, ...]]:
    """Yield every placement of the breaks among `n_stops` visits, earliest first."""
    return itertools.combinations_with_replacement(range(n_stops + 1), n_breaks)


def best_timeline(
    problem: Problem,
    vehicle: Vehicle,
    jobs: Sequence[Job],
    hint: Sequence[int] | None = None,
    *,
    exhaustive: bool = True,
) -> Route | None:
    """Return the feasible schedule that ends earliest, trying `hint` first, else None.

    Without breaks there is one schedule. With breaks, `hint` (where the solver put them) is
    kept when feasible; otherwise, or when `exhaustive`, every placement is tried.
    """
    n = len(vehicle.breaks)
    if n == 0:
        return timeline(problem, vehicle, jobs, ())
    best = timeline(problem, vehicle, jobs, hint) if hint is not None else None
    if best is not None and not exhaustive:
        return best
    for positions in all_positions(len(jobs), n):
        route = timeline(problem, vehicle, jobs, positions)
        if route is not None and (best is None or route.arrival < best.arrival - EPS):
            best = route
    return best


def insertion_hints(route: Route | None, index: int, n_breaks: int) -> list[tuple[int, ...]]:
    """Return a few break placements worth trying after inserting a visit at `index`."""
    if n_breaks == 0:
        return [()]
    if route is None:
        return [(0,) * n_breaks, (1,) * n_breaks]
    shifted = tuple(p + (p > index) for p in (b.after_stops for b in route.breaks))
    hints = {shifted}
    for delta in (0, 1):
        hints.add(tuple(index + delta if p == index else p for p in shifted))
    return sorted(hints)
