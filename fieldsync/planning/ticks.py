"""Integer ticks for the solvers: times rounded so that what a solver finds feasible is.

Travel and service round up, window openings up and closings down, so any schedule that fits in
ticks still fits in the caller's exact units (the adapter recomputes the times exactly).
Costs and prizes round to the nearest tick: they only steer the search.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fieldsync.planning.problem import Job, Problem, TimeWindow

_SLACK = 1e-6  # absorbs float noise such as 912 * 1000 = 912000.0000000001


def up(problem: Problem, value: float) -> int:
    """Return `value` in ticks, rounded up."""
    return math.ceil(value * problem.precision - _SLACK)


def down(problem: Problem, value: float) -> int:
    """Return `value` in ticks, rounded down."""
    return math.floor(value * problem.precision + _SLACK)


def nearest(problem: Problem, value: float) -> int:
    """Return `value` in ticks, rounded to the nearest."""
    return round(value * problem.precision)


def window(problem: Problem, w: TimeWindow) -> tuple[int, int]:
    """Return `w` in ticks, shrunk to whole ticks but never empty (the exact schedule decides)."""
    start = up(problem, w.start)
    return start, max(start, down(problem, w.end))


def travel_matrix(problem: Problem) -> npt.NDArray[np.int64]:
    """Return the travel times in ticks, rounded up."""
    m = np.asarray(problem.durations, dtype=np.float64) * problem.precision
    return np.ceil(m - _SLACK).astype(np.int64)


def cost_matrix(problem: Problem) -> npt.NDArray[np.int64]:
    """Return what the objective counts per leg, in ticks."""
    source = problem.durations if problem.objective == "duration" else problem.distances
    if source is None:
        source = problem.durations
    m = np.asarray(source, dtype=np.float64) * problem.precision
    return np.rint(m).astype(np.int64)


def mandatory_prize(problem: Problem, jobs: Sequence[Job], costs: npt.NDArray[np.int64]) -> int:
    """Return a prize that outweighs every optional prize and any possible travel."""
    optional = sum(nearest(problem, j.prize) for j in jobs if j.prize is not None and j.prize > 0)
    longest = int(costs.max()) if costs.size else 0
    return optional + 2 * (longest + 1) * (len(jobs) + len(problem.vehicles) + 1)
