"""Visit planning's solver adapter: one `solve(problem)` over a small portfolio of engines.

Engines (measured in bench/results/solomon.md):

- PyVRP (iterated local search) solves everything but breaks: time windows (several per visit,
  as mutually exclusive client groups), service times, prizes for optional visits, mandatory
  visits, fixed appointments (a window of one instant), start and end points, capacity, a
  maximum of stops (a load dimension counting visits). It is the most accurate of the three,
  on the Solomon VRPTW set within 2 s (0.5 % from the best known, tuned) and on field-like
  days, so it plans every problem without breaks.
- OR-Tools routing plans the days with breaks (lunch with its own window, taken during travel or
  waiting but never during a visit), which PyVRP cannot model. VROOM models breaks too but has
  no prizes, only priorities 0-100 that it maximises before cost, so a mandatory visit cannot be
  made to outweigh many optional ones; OR-Tools' disjunction penalties give both engines the
  same meaning of prize and mandatory.

Whatever the engine, the adapter keeps only the order of visits (and where breaks fall),
recomputes all times exactly in the caller's units (`schedule`), drops what does not fit
rather than raising, slots in mandatory visits the engine left out when they fit, and says why
each visit left out is out (`Reason`). The same problem and options give the same solution as
long as the iteration budget, not the time limit, stops the search.
"""

from __future__ import annotations

import dataclasses
import itertools
import time
from collections.abc import Callable, Sequence

from fieldsync.planning import ortools_engine, pyvrp_engine
from fieldsync.planning.problem import (
    Break,
    Job,
    Plan,
    Problem,
    Reason,
    Route,
    Solution,
    SolveOptions,
    Stop,
    TakenBreak,
    TimeWindow,
    Unassigned,
    Vehicle,
)
from fieldsync.planning.schedule import EPS, best_timeline, insertion_hints, timeline
from fieldsync.planning.verify import verify

__all__ = [
    "Break",
    "Job",
    "Problem",
    "Reason",
    "Route",
    "Solution",
    "SolveOptions",
    "Stop",
    "TakenBreak",
    "TimeWindow",
    "Unassigned",
    "Vehicle",
    "solve",
    "verify",
]

Engine = Callable[[Problem, Sequence[Job], SolveOptions], list[Plan]]
ENGINES: dict[str, Engine] = {"pyvrp": pyvrp_engine.solve, "ortools": ortools_engine.solve}


def choose_engine(problem: Problem, options: SolveOptions) -> str:
    """Return the engine for `problem`: PyVRP unless a rep takes breaks."""
    if options.engine != "auto":
        return options.engine
    return "ortools" if any(v.breaks for v in problem.vehicles) else "pyvrp"


def solve(problem: Problem, options: SolveOptions | None = None) -> Solution:
    """Plan the visits of `problem`; never raises for an infeasible day, leaves visits out."""
    started = time.perf_counter()
    options = options or SolveOptions()
    engine = choose_engine(problem, options)
    out: dict[str, Reason] = {}
    candidates = []
    for job in problem.jobs:
        reason = _screen(problem, job)
        if reason is None:
            candidates.append(job)
        else:
            out[job.id] = reason

    remaining = max(0.05, options.time_limit - (time.perf_counter() - started))
    engine_options = dataclasses.replace(options, time_limit=remaining)
    plans = ENGINES[engine](problem, candidates, engine_options) if candidates else []
    routes: dict[str, Route] = {}
    for plan in plans:
        route = _fit(problem, plan)
        if route is not None:
            routes[plan.vehicle.id] = route
    planned = {s.job_id for r in routes.values() for s in r.stops}
    leftover = [j for j in candidates if j.id not in planned]
    for job in leftover:
        if job.mandatory:
            _insert(problem, routes, job)
    planned = {s.job_id for r in routes.values() for s in r.stops}
    for job in leftover:
        if job.id not in planned:
            out[job.id] = _diagnose(problem, routes, job)

    return Solution(
        routes=tuple(routes[v.id] for v in problem.vehicles if v.id in routes),
        unassigned=tuple(Unassigned(j.id, out[j.id]) for j in problem.jobs if j.id in out),
        engine=engine,
        seconds=time.perf_counter() - started,
    )


def _screen(problem: Problem, job: Job) -> Reason | None:
    """Return why `job` cannot be planned by any rep even alone, or None if some rep could."""
    if job.location is None:
        return Reason.NO_LOCATION
    if not problem.vehicles:
        return Reason.NO_TIME
    if not any(_open_during(job, v) for v in problem.vehicles):
        return Reason.CLOSED
    alone = [v for v in problem.vehicles if best_timeline(problem, v, [job]) is not None]
    if not alone:
        return Reason.NO_TIME
    if not any(_room(v, [job]) for v in alone):
        return Reason.MAX_STOPS if all(v.max_stops == 0 for v in alone) else Reason.CAPACITY
    return None


def _open_during(job: Job, vehicle: Vehicle) -> bool:
    """Return whether one of the job's windows lets its service fit in the shift, travel aside."""
    shift = vehicle.shift
    return any(max(w.start, shift.start) + job.service <= shift.end for w in job.windows(shift))


def _room(vehicle: Vehicle, jobs: Sequence[Job]) -> bool:
    """Return whether `jobs` respect the vehicle's maximum of stops and its capacity."""
    if vehicle.max_stops is not None and len(jobs) > vehicle.max_stops:
        return False
    return vehicle.capacity is None or sum(j.demand for j in jobs) <= vehicle.capacity


def _jobs_of(problem: Problem, route: Route | None) -> list[Job]:
    """Return the jobs a route visits, in order."""
    by_id = {j.id: j for j in problem.jobs}
    return [] if route is None else [by_id[s.job_id] for s in route.stops]


def _fit(problem: Problem, plan: Plan) -> Route | None:
    """Return the exact schedule of an engine's plan, dropping visits that do not fit."""
    vehicle, jobs = plan.vehicle, list(plan.jobs)
    if _room(vehicle, jobs):
        route = best_timeline(problem, vehicle, jobs, plan.break_positions, exhaustive=False)
        if route is not None:
            return route
    kept: list[Job] = []
    route = None
    for job in jobs:  # the engine's answer does not fit exactly: keep the longest fitting part
        trial = best_timeline(problem, vehicle, [*kept, job])
        if trial is not None and _room(vehicle, [*kept, job]):
            kept, route = [*kept, job], trial
    return route


def _cost(problem: Problem, vehicle: Vehicle, jobs: Sequence[Job]) -> float:
    """Return what the objective counts for `jobs` in order on `vehicle`."""
    points = [vehicle.start, *(j.location for j in jobs if j.location is not None)]
    points.append(vehicle.end_location)
    return sum(problem.cost(a, b) for a, b in itertools.pairwise(points))


def _insertions(
    problem: Problem, routes: dict[str, Route], job: Job
) -> list[tuple[Vehicle, int, Route]]:
    """Return every placement of `job` found to fit in time, ignoring stops and capacity."""
    found = []
    for vehicle in problem.vehicles:
        route = routes.get(vehicle.id)
        jobs = _jobs_of(problem, route)
        slack = _slack(vehicle, route)
        for index in range(len(jobs) + 1):
            if slack is not None and job.location is not None:
                before = vehicle.start if index == 0 else jobs[index - 1].location
                after = jobs[index].location if index < len(jobs) else vehicle.end_location
                assert before is not None and after is not None
                delay = (
                    problem.travel(before, job.location)
                    + job.service
                    + problem.travel(job.location, after)
                    - problem.travel(before, after)
                )
                if delay > slack + EPS * max(1.0, abs(vehicle.shift.end)):
                    continue  # cannot fit: the route cannot absorb the delay (see _slack)
            trial = [*jobs[:index], job, *jobs[index:]]
            for hint in insertion_hints(route, index, len(vehicle.breaks)):
                new = timeline(problem, vehicle, trial, hint)
                if new is not None:
                    found.append((vehicle, index, new))
                    break
    return found


def _slack(vehicle: Vehicle, route: Route | None) -> float | None:
    """Return how much delay `route` can absorb at most, or None for an empty route.

    Inserting a visit delays everything after it by its detour plus its service; only time
    spent waiting, the breaks (which may move into new waiting) and the time left before the
    shift ends can absorb that. A bound, so a placement it rules out never fits: it saves
    the exact timeline of most placements when diagnosing a full day's left-out visits.
    """
    if route is None or not route.stops:
        return None
    waiting = sum(max(0.0, s.start - s.arrival) for s in route.stops)
    breaks = sum(b.duration for b in vehicle.breaks)
    return vehicle.shift.end - route.arrival + waiting + breaks


def _insert(problem: Problem, routes: dict[str, Route], job: Job) -> None:
    """Put `job` where it fits at least cost, if anywhere."""
    best: tuple[float, Vehicle, Route] | None = None
    for vehicle, _index, route in _insertions(problem, routes, job):
        jobs = _jobs_of(problem, route)
        if not _room(vehicle, jobs):
            continue
        delta = _cost(problem, vehicle, jobs) - _cost(
            problem, vehicle, _jobs_of(problem, routes.get(vehicle.id))
        )
        if best is None or delta < best[0]:
            best = (delta, vehicle, route)
    if best is not None:
        routes[best[1].id] = best[2]


def _diagnose(problem: Problem, routes: dict[str, Route], job: Job) -> Reason:
    """Return the first reason found why `job` is not in the plan."""
    stops_only = load_only = False
    for vehicle, _index, route in _insertions(problem, routes, job):
        jobs = _jobs_of(problem, route)
        stops_ok = vehicle.max_stops is None or len(jobs) <= vehicle.max_stops
        load_ok = vehicle.capacity is None or sum(j.demand for j in jobs) <= vehicle.capacity
        if stops_ok and load_ok:
            return Reason.NO_TIME if job.mandatory else Reason.LOW_VALUE
        stops_only = stops_only or not stops_ok
        load_only = load_only or stops_ok
    if stops_only:
        return Reason.MAX_STOPS
    if load_only:
        return Reason.CAPACITY
    return Reason.NO_TIME
