"""The solver adapter on small hand-made days: every answer is checked by the verifier too."""

from __future__ import annotations

import random

import pytest

from fieldsync.planning.solver import (
    Break,
    Job,
    Problem,
    Reason,
    Solution,
    SolveOptions,
    solve,
    verify,
)
from tests.planning.helpers import M, at, problem, rep, window

MORNING = window((9, 0), (12, 0))
AFTERNOON = window((14, 0), (17, 0))
LUNCH = Break("lunch", window((12, 30), (14, 0)), 45 * M)


def solved(p: Problem, **options: object) -> Solution:
    """Solve `p` and fail unless the verifier accepts the answer."""
    solution = solve(p, SolveOptions(**options))  # type: ignore[arg-type]
    assert verify(p, solution) == [], f"infeasible plan from {solution.engine}"
    return solution


def stops(solution: Solution) -> list[str]:
    return [s.job_id for r in solution.routes for s in r.stops]


def reasons(solution: Solution) -> dict[str, Reason]:
    return {u.job_id: u.reason for u in solution.unassigned}


def test_time_windows_decide_the_order() -> None:
    points = [(0, 0), (10, 0), (20, 0), (10, 10)]
    jobs = [
        Job("late", 1, service=30 * M, time_windows=(window((15, 0), (16, 0)),)),
        Job("early", 2, service=30 * M, time_windows=(window((9, 0), (10, 0)),)),
        Job("any", 3, service=30 * M),
    ]
    solution = solved(problem(points, [rep()], jobs))
    order = stops(solution)
    assert sorted(order) == ["any", "early", "late"], "every visit fits the day"
    assert order.index("early") < order.index("late")
    route = solution.routes[0]
    assert route.departure == at(8), "the rep leaves at the start of the shift"
    by_id = {s.job_id: s for s in route.stops}
    assert at(9) <= by_id["early"].start <= at(10)
    assert at(15) <= by_id["late"].start <= at(16)
    assert route.distance == pytest.approx(route.travel_time / M), "one km a minute"


@pytest.mark.parametrize("with_lunch", [True, False], ids=["lunch-ortools", "no-break-pyvrp"])
def test_morning_and_afternoon_windows_with_a_lunch_break(with_lunch: bool) -> None:
    points = [(0, 0), (5, 5), (10, 0), (15, 5), (20, 0), (25, 5), (30, 0)]
    both = (MORNING, AFTERNOON)
    jobs = [Job(f"j{k}", k, service=45 * M, time_windows=both) for k in range(1, 6)]
    jobs.append(Job("pm-only", 6, service=45 * M, time_windows=(AFTERNOON,)))
    vehicle = rep(shift=window((8, 30), (17, 30)), breaks=(LUNCH,) if with_lunch else ())
    solution = solved(problem(points, [vehicle], jobs))

    assert solution.engine == ("ortools" if with_lunch else "pyvrp")
    assert solution.unassigned == (), "six visits of 45 minutes fit in the two windows"
    route = solution.routes[0]
    for stop in route.stops:
        assert any(w.start <= stop.start <= w.end for w in both), f"{stop} outside its windows"
        assert not at(12) < stop.start < at(14), "nobody serves between the two windows"
    assert next(s for s in route.stops if s.job_id == "pm-only").start >= at(14)
    if with_lunch:
        (taken,) = route.breaks
        assert taken.end - taken.start == pytest.approx(45 * M)
        assert at(12, 30) <= taken.start and taken.end <= at(14)
        for stop in route.stops:
            assert stop.departure <= taken.start or stop.start >= taken.end, "lunch during a visit"


@pytest.mark.parametrize("breaks", [(), (LUNCH,)], ids=["pyvrp", "ortools"])
def test_fixed_appointment_is_served_at_its_time(breaks: tuple[Break, ...]) -> None:
    points = [(0, 0), (10, 0), (0, 10), (10, 10), (20, 5)]
    jobs = [
        Job("meeting", 4, service=60 * M, fixed_at=at(10, 15)),
        *(Job(f"j{k}", k, service=30 * M, prize=2 * 3600) for k in range(1, 4)),
    ]
    solution = solved(problem(points, [rep(breaks=breaks)], jobs))
    meeting = next(s for r in solution.routes for s in r.stops if s.job_id == "meeting")
    assert meeting.start == at(10, 15)
    assert meeting.departure == at(11, 15)
    assert solution.unassigned == ()


def test_optional_visits_left_out_when_the_day_is_too_short() -> None:
    points = [(0, 0), *((5, k) for k in range(6))]
    jobs = [Job(f"opt{k}", k + 1, service=30 * M, prize=3600) for k in range(5)]
    jobs.append(Job("must", 6, service=30 * M))
    solution = solved(problem(points, [rep(shift=window((9, 0), (11, 0)))], jobs))

    assert "must" in stops(solution), "a mandatory visit comes before optional ones"
    assert 2 <= len(stops(solution)) <= 3
    assert set(reasons(solution).values()) == {Reason.NO_TIME}
    assert len(stops(solution)) + len(solution.unassigned) == 6


def test_optional_visit_not_worth_its_detour() -> None:
    points = [(0, 0), (2, 0), (30, 0)]
    jobs = [Job("near", 1, service=30 * M, prize=3600), Job("far", 2, service=30 * M, prize=600)]
    solution = solved(problem(points, [rep()], jobs))
    assert stops(solution) == ["near"]
    assert reasons(solution) == {"far": Reason.LOW_VALUE}, "an hour of detour for 10 minutes"


def test_mandatory_visit_outweighs_optional_ones() -> None:
    points = [(0, 0), (30, 0), (-5, 0), (-6, 0), (-7, 0)]
    jobs = [Job("far-must", 1, service=60 * M)]
    jobs += [Job(f"near{k}", k, service=40 * M, prize=10 * 3600) for k in (2, 3, 4)]
    solution = solved(problem(points, [rep(shift=window((9, 0), (11, 30)))], jobs))
    assert stops(solution) == ["far-must"]
    assert set(reasons(solution).values()) == {Reason.NO_TIME}


def test_max_stops_is_respected_and_named() -> None:
    points = [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (5, 0)]
    jobs = [Job(f"j{k}", k, service=10 * M) for k in range(1, 6)]
    solution = solved(problem(points, [rep(max_stops=3)], jobs))
    assert len(stops(solution)) == 3
    assert reasons(solution) == {
        j: Reason.MAX_STOPS for j in {"j1", "j2", "j3", "j4", "j5"} - set(stops(solution))
    }


def test_capacity_is_respected_and_named() -> None:
    points = [(0, 0), (1, 0), (2, 0), (3, 0)]
    jobs = [Job(f"j{k}", k, demand=2) for k in range(1, 4)]
    vehicles = [rep("a", capacity=3), rep("b", capacity=3)]
    solution = solved(problem(points, vehicles, jobs))
    assert len(solution.routes) == 2 and len(stops(solution)) == 2
    assert list(reasons(solution).values()) == [Reason.CAPACITY]


def test_infeasible_input_gives_reasons_not_exceptions() -> None:
    points = [(0, 0), (400, 0), (5, 0), (0, 5), (3, 3)]
    jobs = [
        Job("nowhere", None),
        Job("evening", 2, time_windows=(window((19, 0), (20, 0)),)),
        Job("closed-today", 3, time_windows=()),
        Job("too-far", 1, service=30 * M),
        Job("meet-a", 2, service=30 * M, fixed_at=at(10)),
        Job("meet-b", 3, service=30 * M, fixed_at=at(10)),
        Job("fine", 4, service=30 * M),
    ]
    solution = solved(problem(points, [rep()], jobs))
    got = reasons(solution)
    assert got["nowhere"] == Reason.NO_LOCATION
    assert got["evening"] == Reason.CLOSED
    assert got["closed-today"] == Reason.CLOSED
    assert got["too-far"] == Reason.NO_TIME
    assert sorted(j for j in ("meet-a", "meet-b") if j in got) in (["meet-a"], ["meet-b"])
    assert "fine" in stops(solution)


def test_no_rep_at_all_leaves_everything_out() -> None:
    solution = solved(problem([(0, 0), (1, 1)], [], [Job("a", 1)]))
    assert solution.routes == () and reasons(solution) == {"a": Reason.NO_TIME}


def test_each_rep_leaves_from_their_own_start_and_no_visit_twice() -> None:
    points = [
        (0, 0),
        (100, 0),
        *((k, 1) for k in range(1, 6)),
        *((100 - k, 1) for k in range(1, 6)),
    ]
    vehicles = [rep("west", start=0), rep("east", start=1, end=1)]
    jobs = [Job(f"j{k}", k, service=20 * M) for k in range(2, 12)]
    solution = solved(problem(points, vehicles, jobs))
    assert solution.unassigned == ()
    west, east = solution.routes
    assert {s.location for s in west.stops} == {2, 3, 4, 5, 6}
    assert {s.location for s in east.stops} == {7, 8, 9, 10, 11}


def random_day(seed: int, *, lunch: bool) -> Problem:
    """Return a 15-visit day with mixed windows, prizes and a fixed appointment."""
    rng = random.Random(seed)
    points = [(0.0, 0.0)] + [(rng.uniform(-20, 20), rng.uniform(-20, 20)) for _ in range(15)]
    jobs = []
    for k in range(1, 16):
        windows = rng.choice([None, (MORNING,), (AFTERNOON,), (MORNING, AFTERNOON)])
        prize = None if k <= 3 else rng.choice([1800.0, 3600.0, 7200.0])
        jobs.append(
            Job(f"j{k}", k, service=rng.choice([20, 30, 45]) * M, time_windows=windows, prize=prize)
        )
    jobs[0] = Job("j1", 1, service=30 * M, fixed_at=at(11))
    vehicle = rep(shift=window((8, 30), (17, 30)), breaks=(LUNCH,) if lunch else (), max_stops=10)
    return problem(points, [vehicle], jobs)


@pytest.mark.parametrize("lunch", [False, True], ids=["pyvrp", "ortools"])
def test_same_input_same_plan(lunch: bool) -> None:
    p = random_day(7, lunch=lunch)
    options = {"time_limit": 30.0, "max_iterations": 300, "seed": 3}
    first, second = solved(p, **options), solved(p, **options)
    assert first.routes == second.routes
    assert first.unassigned == second.unassigned
    assert len(stops(first)) >= 5


@pytest.mark.parametrize("lunch", [False, True], ids=["pyvrp", "ortools"])
def test_random_days_are_feasible(lunch: bool) -> None:
    for seed in range(4):
        solution = solved(random_day(seed, lunch=lunch), time_limit=1.0, max_iterations=500)
        assert len(stops(solution)) + len(solution.unassigned) == 15
