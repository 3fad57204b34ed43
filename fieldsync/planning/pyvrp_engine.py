"""PyVRP behind the adapter: VRPTW, prize-collecting, several windows, max stops; no breaks.

Several windows become one client per window in a mutually exclusive group; a vehicle's maximum
of stops is a second load dimension where every visit weighs 1. Mandatory visits are required
clients; when the result is infeasible (a mandatory visit cannot fit), the search runs again
with them optional but worth more than everything else, so they are dropped only when they must.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyvrp
from pyvrp.exceptions import PenaltyBoundWarning
from pyvrp.search import NeighbourhoodParams
from pyvrp.stop import MaxIterations, MaxRuntime, MultipleCriteria, StoppingCriterion

from fieldsync.planning import ticks
from fieldsync.planning.problem import Job, Plan, Problem, SolveOptions, TimeWindow, Vehicle

# Tuned on the Solomon set for runs of ~1000-2000 iterations (bench/results/solomon.md):
# PyVRP's late-acceptance history of 300 suits long runs; 50 halves the gap of short ones.
PARAMS = pyvrp.SolveParams(
    ils=pyvrp.IteratedLocalSearchParams(history_length=50),
    neighbourhood=NeighbourhoodParams(num_neighbours=30),
)
GIVE_UP_SHARE = 0.25  # of the time and iteration budgets, spent looking for a first feasible plan
_INFEASIBLE = 2**63 - 1  # what PyVRP's CostEvaluator.cost gives an infeasible solution


def solve(problem: Problem, jobs: Sequence[Job], options: SolveOptions) -> list[Plan]:
    """Return the visit order per vehicle that PyVRP finds within the options' limits."""
    if any(v.breaks for v in problem.vehicles):
        raise ValueError("PyVRP cannot model breaks; use the OR-Tools engine")
    deadline = time.perf_counter() + options.time_limit
    costs = ticks.cost_matrix(problem)
    data, owners, types = _data(problem, jobs, costs, relaxed=False)
    # Required clients search better (Solomon, default parameters: 1.07 % against 1.36 %), but
    # one impossible mandatory visit makes every solution infeasible: then give up on them early.
    give_up = _GiveUp(options, time.perf_counter() + GIVE_UP_SHARE * options.time_limit)
    best = _run(data, options, _stop(options, deadline, give_up))
    if not best.is_feasible():
        data, owners, types = _data(problem, jobs, costs, relaxed=True)
        best = _run(data, options, _stop(options, deadline))
    plans = []
    free = {k: list(vehicles) for k, vehicles in enumerate(types)}
    for route in best.routes():
        vehicle = free[route.vehicle_type()].pop(0)
        visits = tuple(owners[a.idx] for a in route.schedule() if a.is_client())
        plans.append(Plan(vehicle, visits))
    return plans


class _GiveUp:
    """A stopping criterion: true once the budget share is spent without a feasible solution."""

    def __init__(self, options: SolveOptions, at: float) -> None:
        self.at = at
        self.iterations = (
            None if options.max_iterations is None else GIVE_UP_SHARE * options.max_iterations
        )
        self.count = 0

    def __call__(self, best_cost: float) -> bool:
        self.count += 1
        if best_cost < _INFEASIBLE:
            return False
        late = self.iterations is not None and self.count > self.iterations
        return late or time.perf_counter() > self.at


def _run(data: pyvrp.ProblemData, options: SolveOptions, stop: StoppingCriterion) -> pyvrp.Solution:
    """Return the best solution PyVRP finds before `stop`."""
    with warnings.catch_warnings():
        # the adapter handles infeasible days itself; PyVRP's advice is for interactive use
        warnings.simplefilter("ignore", PenaltyBoundWarning)
        result = pyvrp.solve(data, stop, seed=options.seed, collect_stats=False, params=PARAMS)
    return result.best


def _stop(options: SolveOptions, deadline: float, *extra: StoppingCriterion) -> StoppingCriterion:
    """Return the criterion that ends at the deadline, the iteration budget, or any `extra`."""
    criteria: list[StoppingCriterion] = [MaxRuntime(max(0.05, deadline - time.perf_counter()))]
    if options.max_iterations is not None:
        criteria.append(MaxIterations(options.max_iterations))
    return MultipleCriteria([*criteria, *extra])


def _data(
    problem: Problem, jobs: Sequence[Job], costs: npt.NDArray[np.int64], *, relaxed: bool
) -> tuple[pyvrp.ProblemData, list[Job], list[list[Vehicle]]]:
    """Return PyVRP's problem data, the job behind each client, the vehicles of each type."""
    n = len(problem.durations)
    locations = [pyvrp.Location(x=0.0, y=0.0) for _ in range(n)]  # only matrices are used
    depot_locations = sorted(
        {v.start for v in problem.vehicles} | {v.end_location for v in problem.vehicles}
    )
    depot_index = {loc: k for k, loc in enumerate(depot_locations)}
    depots = [pyvrp.Depot(loc) for loc in depot_locations]
    horizon = TimeWindow(
        min(v.shift.start for v in problem.vehicles), max(v.shift.end for v in problem.vehicles)
    )

    with_load = any(j.demand for j in jobs) or any(v.capacity is not None for v in problem.vehicles)
    with_stops = any(v.max_stops is not None for v in problem.vehicles)

    def load(job: Job) -> list[int]:
        return [job.demand] * with_load + [1] * with_stops

    big = ticks.mandatory_prize(problem, jobs, costs)
    clients: list[pyvrp.Client] = []
    owners: list[Job] = []
    groups: list[pyvrp.ClientGroup] = []
    for job in jobs:
        assert job.location is not None
        windows = job.windows(horizon)
        prize = big if job.mandatory else max(0, ticks.nearest(problem, job.prize or 0.0))
        alone = len(windows) == 1
        members = []
        for w in windows:
            early, late = ticks.window(problem, w)
            members.append(len(clients))
            clients.append(
                pyvrp.Client(
                    job.location,
                    delivery=load(job),
                    service_duration=ticks.up(problem, job.service),
                    tw_early=early,
                    tw_late=late,
                    prize=prize,
                    required=alone and job.mandatory and not relaxed,
                    group=None if alone else len(groups),
                    name=job.id,
                )
            )
            owners.append(job)
        if not alone:
            groups.append(pyvrp.ClientGroup(members, required=job.mandatory and not relaxed))

    total_demand = sum(j.demand for j in jobs)
    types: dict[tuple[object, ...], list[Vehicle]] = {}
    for v in problem.vehicles:
        key = (v.start, v.end_location, v.shift, v.capacity, v.max_stops)
        types.setdefault(key, []).append(v)
    vehicle_types = []
    for (start, end, shift, capacity, max_stops), members_ in types.items():
        cap = [total_demand if capacity is None else capacity] * with_load
        cap += [len(jobs) if max_stops is None else max_stops] * with_stops
        vehicle_types.append(
            pyvrp.VehicleType(
                num_available=len(members_),
                capacity=cap,
                start_depot=depot_index[start],
                end_depot=depot_index[end],
                tw_early=ticks.up(problem, shift.start),
                tw_late=ticks.down(problem, shift.end),
            )
        )
    data = pyvrp.ProblemData(
        locations,
        clients,
        depots,
        vehicle_types,
        [costs],
        [ticks.travel_matrix(problem)],
        groups,
    )
    return data, owners, list(types.values())
