"""OR-Tools routing behind the adapter, for what PyVRP cannot model: breaks.

One node per visit and one per start or end point. Time is a dimension whose transit is the
service at the origin plus the travel; several windows are the hull minus the gaps; breaks are
fixed-duration intervals that may fall during travel or waiting but never during a visit;
optional visits are disjunctions whose penalty is their prize, mandatory ones carry a penalty
above any travel. Guided local search from the cheapest-arc start, stopped by a solution count
(deterministic) or the time limit.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from fieldsync.planning import ticks
from fieldsync.planning.problem import Job, Plan, Problem, SolveOptions, TimeWindow, Vehicle

# One OR-Tools solution costs about as much as 15-20 PyVRP iterations on a 30-visit day with
# lunch (200 solutions ~1 s), so the shared iteration budget buys this many solutions.
ITERATIONS_PER_SOLUTION = 20


def solve(problem: Problem, jobs: Sequence[Job], options: SolveOptions) -> list[Plan]:
    """Return the visit order and break placement per vehicle that OR-Tools finds."""
    started = time.perf_counter()
    vehicles = problem.vehicles
    points = sorted({v.start for v in vehicles} | {v.end_location for v in vehicles})
    node_location = [j.location for j in jobs] + points
    point_node = {loc: len(jobs) + k for k, loc in enumerate(points)}
    manager = pywrapcp.RoutingIndexManager(
        len(node_location),
        len(vehicles),
        [point_node[v.start] for v in vehicles],
        [point_node[v.end_location] for v in vehicles],
    )
    routing = pywrapcp.RoutingModel(manager)
    solver = routing.solver()
    travel = ticks.travel_matrix(problem).tolist()
    costs = ticks.cost_matrix(problem)
    cost = costs.tolist()
    service = [ticks.up(problem, j.service) for j in jobs] + [0] * len(points)
    loc = [x for x in node_location if x is not None]  # all of them: jobs come screened

    def arc_cost(i: int, j: int) -> int:
        return int(cost[loc[manager.IndexToNode(i)]][loc[manager.IndexToNode(j)]])

    def arc_time(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return int(service[a] + travel[loc[a]][loc[b]])

    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitCallback(arc_cost))
    horizon = max(ticks.down(problem, v.shift.end) for v in vehicles)
    routing.AddDimension(routing.RegisterTransitCallback(arc_time), horizon, horizon, False, "time")
    clock = routing.GetDimensionOrDie("time")

    big = ticks.mandatory_prize(problem, jobs, costs)
    first = min(v.shift.start for v in vehicles)
    last = max(v.shift.end for v in vehicles)
    for k, job in enumerate(jobs):
        index = manager.NodeToIndex(k)
        windows = job.windows(TimeWindow(first, last))
        spans = [ticks.window(problem, w) for w in windows]
        cumul = clock.CumulVar(index)
        cumul.SetRange(spans[0][0], spans[-1][1])
        for (_, gap_start), (gap_end, _) in itertools.pairwise(spans):
            if gap_end - 1 >= gap_start + 1:
                cumul.RemoveInterval(gap_start + 1, gap_end - 1)
        prize = big if job.mandatory else max(0, ticks.nearest(problem, job.prize or 0.0))
        routing.AddDisjunction([index], prize)

    transits = [service[manager.IndexToNode(i)] for i in range(routing.Size())]
    intervals = []
    for v, vehicle in enumerate(vehicles):
        early, late = ticks.up(problem, vehicle.shift.start), ticks.down(problem, vehicle.shift.end)
        clock.CumulVar(routing.Start(v)).SetRange(early, late)
        clock.CumulVar(routing.End(v)).SetRange(early, late)
        own = []
        for brk in sorted(vehicle.breaks, key=lambda b: (b.window.start, b.id)):
            length = ticks.up(problem, brk.duration)
            own.append(
                solver.FixedDurationIntervalVar(
                    ticks.up(problem, brk.window.start),
                    ticks.down(problem, brk.window.end) - length,
                    length,
                    False,
                    f"{vehicle.id}:{brk.id}",
                )
            )
        if own:
            clock.SetBreakIntervalsOfVehicle(own, v, transits)
        intervals.append(own)

    _limit(routing, manager, jobs, vehicles, "stops", lambda v: v.max_stops, lambda _j: 1)
    _limit(routing, manager, jobs, vehicles, "load", lambda v: v.capacity, lambda j: j.demand)

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    remaining = max(0.05, options.time_limit - (time.perf_counter() - started))
    params.time_limit.FromMilliseconds(int(remaining * 1000))
    if options.max_iterations is not None:
        params.solution_limit = max(1, options.max_iterations // ITERATIONS_PER_SOLUTION)
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return []

    plans = []
    for v, vehicle in enumerate(vehicles):
        index = routing.Start(v)
        visits: list[tuple[int, Job]] = []
        index = solution.Value(routing.NextVar(index))
        while not routing.IsEnd(index):
            visits.append((solution.Value(clock.CumulVar(index)), jobs[manager.IndexToNode(index)]))
            index = solution.Value(routing.NextVar(index))
        if not visits:
            continue
        positions = tuple(
            sum(1 for at, _ in visits if at < solution.StartValue(brk)) for brk in intervals[v]
        )
        plans.append(Plan(vehicle, tuple(j for _, j in visits), positions))
    return plans


def _limit(
    routing: pywrapcp.RoutingModel,
    manager: pywrapcp.RoutingIndexManager,
    jobs: Sequence[Job],
    vehicles: Sequence[Vehicle],
    name: str,
    bound: Callable[[Vehicle], int | None],
    weight: Callable[[Job], int],
) -> None:
    """Add a dimension counting `weight` per visit, capped per vehicle by `bound`."""
    caps = [bound(v) for v in vehicles]
    if all(c is None for c in caps):
        return
    weights = [weight(j) for j in jobs]
    n = len(jobs)

    def demand(i: int) -> int:
        node = manager.IndexToNode(i)
        return weights[node] if node < n else 0

    unbounded = sum(weights) + 1
    routing.AddDimensionWithVehicleCapacity(
        routing.RegisterUnaryTransitCallback(demand),
        0,
        [unbounded if c is None else c for c in caps],
        True,
        name,
    )
