"""The verifier catches hand-broken solutions that the solver would never produce."""

from __future__ import annotations

import dataclasses

import pytest

from fieldsync.planning.solver import (
    Break,
    Job,
    Problem,
    Reason,
    Route,
    Solution,
    TakenBreak,
    Unassigned,
    solve,
    verify,
)
from tests.planning.helpers import M, at, problem, rep, window

LUNCH = Break("lunch", window((12, 30), (14, 0)), 45 * M)


@pytest.fixture(scope="module")
def day() -> tuple[Problem, Solution]:
    points = [(0, 0), (10, 0), (10, 10), (0, 10)]
    jobs = [
        Job("a", 1, service=60 * M, time_windows=(window((9, 0), (11, 0)),)),
        Job("b", 2, service=60 * M, time_windows=(window((11, 0), (13, 0)),)),
        Job("c", 3, service=60 * M, time_windows=(window((14, 0), (16, 0)),)),
    ]
    p = problem(points, [rep(breaks=(LUNCH,), max_stops=3, capacity=5)], jobs)
    solution = solve(p)
    assert verify(p, solution) == [] and len(solution.routes[0].stops) == 3
    return p, solution


def with_route(solution: Solution, route: Route) -> Solution:
    return dataclasses.replace(solution, routes=(route,))


def with_stop(solution: Solution, index: int, **fields: float) -> Solution:
    route = solution.routes[0]
    stops = list(route.stops)
    stops[index] = dataclasses.replace(stops[index], **fields)
    return with_route(solution, dataclasses.replace(route, stops=tuple(stops)))


def assert_caught(errors: list[str], fragment: str) -> None:
    assert any(fragment in e for e in errors), f"expected an error about {fragment!r}: {errors}"


def test_service_outside_its_window(day: tuple[Problem, Solution]) -> None:
    p, solution = day
    first = solution.routes[0].stops[0]
    late = first.start + 3 * 3600
    broken = with_stop(solution, 0, start=late, departure=late + 60 * M)
    assert_caught(verify(p, broken), "outside its windows")


def test_visit_that_vanished(day: tuple[Problem, Solution]) -> None:
    p, solution = day
    route = solution.routes[0]
    broken = with_route(solution, dataclasses.replace(route, stops=route.stops[1:]))
    assert_caught(verify(p, broken), "neither planned nor unassigned")


def test_visit_planned_and_unassigned(day: tuple[Problem, Solution]) -> None:
    p, solution = day
    broken = dataclasses.replace(solution, unassigned=(Unassigned("a", Reason.NO_TIME),))
    assert_caught(verify(p, broken), "appears twice")


def test_arrival_faster_than_travel(day: tuple[Problem, Solution]) -> None:
    p, solution = day
    second = solution.routes[0].stops[1]
    broken = with_stop(solution, 1, arrival=second.arrival - 5 * M)
    assert_caught(verify(p, broken), "sooner than the travel allows")


def test_leg_that_lies_about_the_matrix(day: tuple[Problem, Solution]) -> None:
    p, solution = day
    broken = with_stop(solution, 0, distance=1.0)
    assert_caught(verify(p, broken), "the matrix says")


def test_break_outside_its_window_or_missing(day: tuple[Problem, Solution]) -> None:
    p, solution = day
    route = solution.routes[0]
    moved = (TakenBreak("lunch", at(15), at(15, 45), route.breaks[0].after_stops),)
    assert_caught(
        verify(p, with_route(solution, dataclasses.replace(route, breaks=moved))), "lunch"
    )
    skipped = with_route(solution, dataclasses.replace(route, breaks=()))
    assert_caught(verify(p, skipped), "taken 0 times")


def test_break_during_a_visit(day: tuple[Problem, Solution]) -> None:
    p, solution = day
    route = solution.routes[0]
    visit = next(s for s in route.stops if s.start >= at(12, 30) or s.departure > at(12, 30))
    index = route.stops.index(visit)
    inside = (TakenBreak("lunch", visit.start, visit.start + 45 * M, index),)
    broken = with_route(solution, dataclasses.replace(route, breaks=inside))
    assert verify(p, broken) != []


def test_shift_max_stops_and_capacity(day: tuple[Problem, Solution]) -> None:
    p, solution = day
    vehicle = p.vehicles[0]
    tighter = dataclasses.replace(
        p,
        vehicles=(
            dataclasses.replace(vehicle, max_stops=2, capacity=1, shift=window((9, 0), (15, 0))),
        ),
        jobs=tuple(dataclasses.replace(j, demand=1) for j in p.jobs),
    )
    errors = verify(tighter, solution)
    assert_caught(errors, "more than 2")
    assert_caught(errors, "carries 3")
    assert_caught(errors, "leaves before its shift starts")
    assert_caught(errors, "back after its shift ends")
