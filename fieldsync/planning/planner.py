"""Plan reps' days from accounts: the pure core behind ``POST /api/v1/plans`` (no Flask, no DB).

The caller (the plans service) turns accounts into `Candidate` s with an urgency (see
``planning.due``) and the request into `DayRequest` s; this module validates them, keeps the
candidates worth routing (``planning.shortlist``), builds the solver's `Problem` in seconds
since midnight on the travel model's matrices, solves it and answers `DayPlan` s.

- **Prizes.** An optional visit is worth ``PRIZE_BASE_SECONDS + PRIZE_SECONDS_PER_POINT x
  urgency`` seconds of travel: the solver plans it when its detour costs less. With the
  defaults a due customer (urgency ~15) is worth a ~40-minute detour, a barely due lead (~5)
  ~20 minutes, so days fill with nearby visits and far ones wait until they are urgent.
- **Mandatory.** `Candidate.mandatory` visits are planned whenever they fit (no prize, never
  cut by the shortlist); a fixed appointment is mandatory at its time. Whether explicitly
  requested accounts are mandatory is the caller's choice; we suggest not (the request names
  the pool, urgency still ranks it) and keep `mandatory` for "this visit must happen".
- **Unassigned reasons**: the solver's (``closed``, ``no_time``, ``max_stops``,
  ``low_value``), ``no_location``, ``low_priority`` (cut by the shortlist before routing: the
  day was full with more urgent or better placed visits), and across days or reps
  ``planned_other_day`` / ``planned_for_other_rep``, and in a week ``not_due`` (see
  `Candidate.due_on`).
- **Determinism.** Iteration budgets end the search (the time limit is a safety net), ties
  break on account ids: the same input gives the same plans on an idle machine.

Impossible inputs raise `ValidationError` naming the field (``day_end``, ``start.lat``,
``breaks.0.minutes``, ``fixed.1.at``...), so the API answers 422 whoever calls.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from fieldsync.exceptions import ValidationError
from fieldsync.planning.dayplan import (
    MAX_CANDIDATES,
    Candidate,
    DayPlan,
    DayRequest,
    Fixed,
    PlannedStop,
    validate_candidates,
    validate_request,
)
from fieldsync.planning.hours import clock, seconds, visit_windows
from fieldsync.planning.problem import (
    Break,
    Job,
    Problem,
    Route,
    Solution,
    SolveOptions,
    TimeWindow,
    Vehicle,
)
from fieldsync.planning.shortlist import capacity, shortlist
from fieldsync.planning.solver import solve
from fieldsync.planning.travel import TravelModel

PRIZE_BASE_SECONDS = 900.0  # any visit is worth a quarter of an hour of driving...
PRIZE_SECONDS_PER_POINT = 120.0  # ...plus two minutes per point of urgency
ROUTED_PER_VISIT = 3  # the shortlist holds this many candidates per visit a day can hold...
ROUTED_EXTRA = 10  # ...plus these
ROUTED_MAX_PER_REP = 90  # and at most this many per rep (OSRM tables, solver time)
# Iterations of the search per problem (PyVRP's; OR-Tools gets one solution per 20). Measured
# on bench/field_sales.py (2,000 candidates, a day of 15 visits with lunch): 500 iterations
# plan 12 visits, 1000 and 3000 the same 15 (36.6 vs 36.5 km) in 0.3 vs 2.5 s; a team of 5
# reps gains 8 % of km from 800 to 1500 iterations. Budgets well inside the time limits keep
# plans deterministic on a loaded machine.
DAY_ITERATIONS = 1000
TEAM_ITERATIONS = 1500
ENGINE_SHARE = 0.75  # of the time left, for the engine: the adapter's checks need the rest

REASON_NO_LOCATION = "no_location"
REASON_CLOSED = "closed"
REASON_LOW_PRIORITY = "low_priority"
REASON_PLANNED_OTHER_DAY = "planned_other_day"
REASON_PLANNED_FOR_OTHER_REP = "planned_for_other_rep"
REASON_NOT_DUE = "not_due"  # a week plan: not due yet on that day (see Candidate.due_on)
# A week plan visits an account with `due_on` at most this many days early: visiting sooner
# shortens its cadence and spends the week's capacity (bench/field_sales.py: a horizon of 3
# days keeps 45-51 % of visits within cadence, 1 day 32 %, 7 days more overdue at the end).
WEEK_EARLY_DAYS = 2


def prize(urgency: float) -> float:
    """Return what an optional visit of this urgency is worth, in seconds of travel."""
    return PRIZE_BASE_SECONDS + PRIZE_SECONDS_PER_POINT * max(0.0, urgency)


# --- one problem: one or more reps on one date -----------------------------------------------


@dataclass
class _Outcome:
    """What one solve gave: routes by vehicle id, reasons by account, the engine used, and the
    solver's problem and solution (the tests verify them independently)."""

    routes: dict[str, Route]
    reasons: dict[uuid.UUID, str]
    engine: str = ""
    problem: Problem | None = None
    solution: Solution | None = None


def _vehicle(vehicle_id: str, request: DayRequest, start: int, end: int | None) -> Vehicle:
    breaks = tuple(
        Break(f"break{k}", TimeWindow(seconds(a), seconds(b)), minutes * 60.0)
        for k, (a, b, minutes) in enumerate(request.breaks)
    )
    return Vehicle(
        id=vehicle_id,
        start=start,
        end=end,
        shift=TimeWindow(seconds(request.day_start), seconds(request.day_end)),
        breaks=breaks,
        max_stops=request.max_stops,
    )


def _reachable(
    windows: tuple[TimeWindow, ...] | None, service: float, shifts: list[TimeWindow]
) -> bool:
    """Return whether some window lets the visit happen inside some rep's day, travel aside."""
    if windows is None:
        return any(s.end - s.start >= service for s in shifts)
    return any(
        max(w.start, s.start) <= w.end and max(w.start, s.start) + service <= s.end
        for w in windows
        for s in shifts
    )


def _solve_reps(
    reps: Sequence[tuple[str, DayRequest]],
    pool: Sequence[Candidate],
    travel: TravelModel,
    *,
    time_limit: float,
    iterations: int,
) -> _Outcome:
    """Plan `pool` for reps sharing one date; fixed appointments go to the rep that has them."""
    started = time.perf_counter()
    date = reps[0][1].date
    reasons: dict[uuid.UUID, str] = {}
    fixed_at = {f.account_id: (vid, seconds(f.at)) for vid, r in reps for f in r.fixed}
    shifts = [TimeWindow(seconds(r.day_start), seconds(r.day_end)) for _, r in reps]
    routed: list[tuple[Candidate, tuple[TimeWindow, ...] | None]] = []
    optional: list[tuple[Candidate, tuple[TimeWindow, ...] | None]] = []
    for c in pool:
        if c.lat is None or c.lon is None:
            reasons[c.account_id] = REASON_NO_LOCATION
            continue
        windows = visit_windows(c.opening_hours, date, c.visit_minutes * 60)
        if c.account_id not in fixed_at and not _reachable(windows, c.visit_minutes * 60, shifts):
            reasons[c.account_id] = REASON_CLOSED
            continue
        if c.mandatory or c.account_id in fixed_at:
            routed.append((c, windows))
        else:
            optional.append((c, windows))

    # Keep the optional candidates worth routing (see planning.shortlist).
    size = 0
    for _, r in reps:
        day = seconds(r.day_end) - seconds(r.day_start) - sum(m * 60 for _, _, m in r.breaks)
        mean_visit = 60 * float(np.mean([c.visit_minutes for c, _ in optional] or [30]))
        size += min(
            ROUTED_MAX_PER_REP,
            ROUTED_PER_VISIT * capacity(day, mean_visit, r.max_stops) + ROUTED_EXTRA,
        )
    size = max(0, size - len(routed))
    if optional:
        points = np.array([(c.lat, c.lon) for c, _ in optional], dtype=np.float64)
        prizes = np.array([prize(c.urgency) for c, _ in optional], dtype=np.float64)
        depots = [(r.start, r.end or r.start) for _, r in reps]
        kept = set(shortlist(points, prizes, depots, size))
        for k, item in enumerate(optional):
            if k in kept:
                routed.append(item)
            else:
                reasons[item[0].account_id] = REASON_LOW_PRIORITY
    if not routed:
        return _Outcome({}, reasons)

    # Locations: each distinct start or end point once, then the routed accounts.
    places: list[tuple[float, float]] = []
    index: dict[tuple[float, float], int] = {}

    def place(point: tuple[float, float]) -> int:
        key = (float(point[0]), float(point[1]))
        if key not in index:
            index[key] = len(places)
            places.append(key)
        return index[key]

    vehicles = []
    for vid, r in reps:
        start = place(r.start)
        end = None if r.end is None else place(r.end)
        vehicles.append(_vehicle(vid, r, start, None if end == start else end))
    jobs = []
    for c, windows in routed:
        assert c.lat is not None and c.lon is not None
        location = len(places)
        places.append((float(c.lat), float(c.lon)))
        fixed = fixed_at.get(c.account_id)
        jobs.append(
            Job(
                id=str(c.account_id),
                location=location,
                service=c.visit_minutes * 60.0,
                time_windows=windows,
                prize=None if c.mandatory or fixed else prize(c.urgency),
                fixed_at=None if fixed is None else fixed[1],
            )
        )
    durations, distances = travel.matrix(places)
    problem = Problem(tuple(vehicles), tuple(jobs), durations.tolist(), distances.tolist())
    remaining = max(0.1, ENGINE_SHARE * (time_limit - (time.perf_counter() - started)))
    solution = solve(problem, SolveOptions(time_limit=remaining, max_iterations=iterations))
    for u in solution.unassigned:
        reasons[uuid.UUID(u.job_id)] = str(u.reason)
    routes = {r.vehicle_id: r for r in solution.routes}
    return _Outcome(routes, reasons, solution.engine, problem, solution)


def _day_plan(
    request: DayRequest,
    route: Route | None,
    unassigned: Sequence[tuple[uuid.UUID, str]],
    engine: str,
) -> DayPlan:
    stops = tuple(
        PlannedStop(
            account_id=uuid.UUID(s.job_id),
            arrival=clock(s.start),
            departure=clock(s.departure),
            travel_minutes=round(s.travel_time / 60.0, 2),
            distance_km=round(s.distance, 3),
        )
        for s in (route.stops if route else ())
    )
    return DayPlan(
        date=request.date,
        stops=stops,
        unassigned=tuple(unassigned),
        distance_km=round(route.distance, 3) if route and route.stops else 0.0,
        travel_minutes=round(route.travel_time / 60.0, 2) if route and route.stops else 0.0,
        engine=engine,
    )


def _in_order(
    candidates: Sequence[Candidate], reasons: Mapping[uuid.UUID, str]
) -> list[tuple[uuid.UUID, str]]:
    """Return the reasons in the caller's order of candidates."""
    return [(c.account_id, reasons[c.account_id]) for c in candidates if c.account_id in reasons]


# --- the interface ---------------------------------------------------------------------------


def plan_day(
    request: DayRequest,
    candidates: Sequence[Candidate],
    travel: TravelModel,
    *,
    time_limit: float = 1.0,
) -> DayPlan:
    """Plan one rep's day among `candidates`; every candidate not visited is unassigned."""
    by_id = validate_candidates(candidates)
    validate_request(request, by_id)
    outcome = _solve_reps(
        [("rep", request)], candidates, travel, time_limit=time_limit, iterations=DAY_ITERATIONS
    )
    route = outcome.routes.get("rep")
    return _day_plan(request, route, _in_order(candidates, outcome.reasons), outcome.engine)


def plan_week(
    requests: Sequence[DayRequest],
    candidates: Sequence[Candidate],
    travel: TravelModel,
    *,
    time_limit: float = 4.0,
) -> list[DayPlan]:
    """Plan a rep's days in date order, each account at most once over them.

    Day by day: each day is routed among the accounts not yet planned (an account with an
    appointment on another day waits for it; one with `due_on` waits until it is at most
    ``WEEK_EARLY_DAYS`` from due), so the most urgent and best placed visits go first and the
    rest spread over the following days. One plan per request, in the order
    given; a day's `unassigned` names the accounts planned on another day as
    ``planned_other_day``.
    """
    by_id = validate_candidates(candidates)
    errors: dict[str, list[str]] = {}
    dates = [r.date for r in requests]
    if len(set(dates)) != len(dates):
        errors["days"] = ["Two days of the plan have the same date."]
    fixed_on: dict[uuid.UUID, dt.date] = {}
    for r in requests:
        for f in r.fixed:
            if f.account_id in fixed_on and fixed_on[f.account_id] != r.date:
                errors["fixed"] = [f"{f.account_id} has appointments on two days."]
            fixed_on[f.account_id] = r.date
    if errors:
        raise ValidationError("The week's plan is not possible.", fields=errors)
    for r in requests:
        validate_request(r, by_id)

    started = time.perf_counter()
    planned: dict[uuid.UUID, dt.date] = {}
    outcomes: dict[dt.date, _Outcome] = {}
    order = sorted(range(len(requests)), key=lambda k: requests[k].date)
    for done, k in enumerate(order):
        request = requests[k]
        early = request.date + dt.timedelta(days=WEEK_EARLY_DAYS)
        pool = [
            c
            for c in candidates
            if c.account_id not in planned
            and fixed_on.get(c.account_id, request.date) == request.date
            and (c.due_on is None or c.due_on <= early or c.account_id in fixed_on)
        ]
        left = time_limit - (time.perf_counter() - started)
        share = max(0.2, left / (len(order) - done))
        outcome = _solve_reps(
            [("rep", request)], pool, travel, time_limit=share, iterations=DAY_ITERATIONS
        )
        outcomes[request.date] = outcome
        route = outcome.routes.get("rep")
        for s in route.stops if route else ():
            planned[uuid.UUID(s.job_id)] = request.date

    plans = []
    for request in requests:
        outcome = outcomes[request.date]
        reasons = {}
        for c in candidates:
            when = planned.get(c.account_id)
            if when == request.date:
                continue
            if when is not None:
                reasons[c.account_id] = REASON_PLANNED_OTHER_DAY
            elif c.account_id in outcome.reasons:
                reasons[c.account_id] = outcome.reasons[c.account_id]
            elif c.due_on is not None and c.due_on > request.date + dt.timedelta(
                days=WEEK_EARLY_DAYS
            ):
                reasons[c.account_id] = REASON_NOT_DUE
            else:  # waited for its appointment on another day, which could not take it
                reasons[c.account_id] = REASON_LOW_PRIORITY
        plans.append(
            _day_plan(
                request, outcome.routes.get("rep"), _in_order(candidates, reasons), outcome.engine
            )
        )
    return plans


def plan_team(
    requests: Mapping[uuid.UUID, DayRequest],
    candidates: Sequence[Candidate],
    travel: TravelModel,
    *,
    time_limit: float = 2.0,
) -> dict[uuid.UUID, DayPlan]:
    """Plan several reps' same day together: each from their own start point, no account twice.

    One problem with a vehicle per rep, so accounts go to whoever is best placed. Fixed
    appointments belong to their rep: when there are any, each rep's day is routed again with
    the accounts the team plan gave them plus their appointments.
    """
    by_id = validate_candidates(candidates)
    dates = {r.date for r in requests.values()}
    if len(dates) > 1:
        raise ValidationError(
            "A team plan is for one date.", fields={"date": ["The reps' days differ in date."]}
        )
    fixed_owner: dict[uuid.UUID, uuid.UUID] = {}
    for rep_id, r in requests.items():
        validate_request(r, by_id)
        for f in r.fixed:
            if f.account_id in fixed_owner:
                raise ValidationError(
                    "An account has appointments with two reps.",
                    fields={"fixed": [f"{f.account_id} has appointments with two reps."]},
                )
            fixed_owner[f.account_id] = rep_id
    if not requests:
        return {}

    started = time.perf_counter()
    reps = [(str(rep_id), r) for rep_id, r in sorted(requests.items(), key=lambda kv: str(kv[0]))]
    any_fixed = bool(fixed_owner)
    joint = [(vid, dataclasses.replace(r, fixed=())) for vid, r in reps] if any_fixed else reps
    pool = [c for c in candidates if c.account_id not in fixed_owner]
    budget = time_limit / 2 if any_fixed else time_limit
    outcome = _solve_reps(joint, pool, travel, time_limit=budget, iterations=TEAM_ITERATIONS)
    routes: dict[str, Route | None] = dict(outcome.routes)
    reasons_all = dict(outcome.reasons)
    engines = {vid: outcome.engine for vid, _ in reps}
    for done, (vid, r) in enumerate(reps):
        if not r.fixed:
            continue
        route = routes.get(vid)
        mine = {f.account_id for f in r.fixed}
        mine |= {uuid.UUID(s.job_id) for s in (route.stops if route else ())}
        left = time_limit - (time.perf_counter() - started)
        again = _solve_reps(
            [(vid, r)],
            [c for c in candidates if c.account_id in mine],
            travel,
            time_limit=max(0.2, left / (len(reps) - done)),
            iterations=DAY_ITERATIONS,
        )
        routes[vid] = again.routes.get(vid)
        reasons_all.update(again.reasons)
        engines[vid] = again.engine

    owner = {uuid.UUID(s.job_id): vid for vid, rt in routes.items() if rt for s in rt.stops}
    plans: dict[uuid.UUID, DayPlan] = {}
    for vid, r in reps:
        reasons = {}
        for c in candidates:
            who = owner.get(c.account_id)
            if who == vid:
                continue
            if who is not None:
                reasons[c.account_id] = REASON_PLANNED_FOR_OTHER_REP
            else:
                reasons[c.account_id] = reasons_all.get(c.account_id, REASON_LOW_PRIORITY)
        unassigned = _in_order(candidates, reasons)
        plans[uuid.UUID(vid)] = _day_plan(r, routes.get(vid), unassigned, engines[vid])
    return {rep_id: plans[rep_id] for rep_id in requests}


__all__ = [
    "MAX_CANDIDATES",
    "Candidate",
    "DayPlan",
    "DayRequest",
    "Fixed",
    "PlannedStop",
    "plan_day",
    "plan_team",
    "plan_week",
    "prize",
    "validate_candidates",
    "validate_request",
]
