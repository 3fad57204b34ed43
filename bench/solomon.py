"""Solve Solomon VRPTW instances through the planner's own solver adapter and score them.

    python -m bench.solomon FILE... [--routes-dir DIR] [--seconds S]

Distance-only objective, travel time equal to the unrounded Euclidean distance, capacity and
time windows, at most the instance's fleet. Prints `instance vehicles distance gap_pct seconds`
per instance (gap to `bks_distance` of best_known.csv, `-` where there is none), then the mean
gap and the longest time. Every solution goes through the independent verifier; the exit
status is 1 if any is infeasible or leaves a customer out.
"""

from __future__ import annotations

import argparse
import csv
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fieldsync.planning.solver import (
    Job,
    Problem,
    Solution,
    SolveOptions,
    TimeWindow,
    Vehicle,
    solve,
    verify,
)

DEFAULT_BEST_KNOWN = "best_known.csv"


@dataclass(frozen=True)
class Instance:
    """A Solomon instance: customer 0 is the depot; rows are (number, x, y, demand, ready, due,
    service)."""

    name: str
    fleet: int
    capacity: int
    rows: tuple[tuple[int, float, float, int, float, float, float], ...]


def parse(path: Path) -> Instance:
    """Read an instance in Solomon's format."""
    lines = [line.split() for line in path.read_text().splitlines()]
    lines = [line for line in lines if line]
    name = lines[0][0] if lines and len(lines[0]) == 1 else path.stem
    numeric = [line for line in lines if all(_is_number(t) for t in line)]
    fleet_line = next((line for line in numeric if len(line) == 2), None)
    rows = tuple(
        (
            int(r[0]),
            float(r[1]),
            float(r[2]),
            int(float(r[3])),
            float(r[4]),
            float(r[5]),
            float(r[6]),
        )
        for r in numeric
        if len(r) == 7
    )
    if fleet_line is None or len(rows) < 2:
        raise ValueError(f"{path}: not an instance in Solomon's format")
    return Instance(name, int(fleet_line[0]), int(fleet_line[1]), rows)


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def to_problem(instance: Instance, precision: float = 1000.0) -> Problem:
    """Return the instance as the adapter's problem (locations in file order, depot first)."""
    xy = [(r[1], r[2]) for r in instance.rows]
    matrix = [[math.hypot(ax - bx, ay - by) for bx, by in xy] for ax, ay in xy]
    depot = instance.rows[0]
    shift = TimeWindow(depot[4], depot[5])
    vehicles = tuple(
        Vehicle(id=str(k), start=0, shift=shift, capacity=instance.capacity)
        for k in range(instance.fleet)
    )
    jobs = tuple(
        Job(
            id=str(r[0]),
            location=k,
            service=r[6],
            time_windows=(TimeWindow(r[4], r[5]),),
            demand=r[3],
        )
        for k, r in enumerate(instance.rows)
        if k > 0
    )
    return Problem(vehicles, jobs, matrix, matrix, objective="distance", precision=precision)


def best_known(path: Path | None, instance_file: Path) -> dict[str, float]:
    """Return bks_distance per instance name, from `path` or the nearest best_known.csv up."""
    if path is None:
        for folder in instance_file.resolve().parents:
            if (folder / DEFAULT_BEST_KNOWN).is_file():
                path = folder / DEFAULT_BEST_KNOWN
                break
    if path is None:
        return {}
    with path.open(newline="") as fh:
        return {row["instance"].upper(): float(row["bks_distance"]) for row in csv.DictReader(fh)}


def route_lines(solution: Solution) -> list[str]:
    """Return one line per route: customer numbers in visiting order, depot left out."""
    return [" ".join(s.job_id for s in route.stops) for route in solution.routes if route.stops]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return 0 when every solution is feasible and complete."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.solomon", description=__doc__.split("\n")[0]
    )
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE")
    parser.add_argument("--routes-dir", type=Path, help="write DIR/<instance>.routes")
    parser.add_argument("--seconds", type=float, default=1.7, help="time limit per instance")
    parser.add_argument("--iterations", type=int, help="iteration budget (deterministic runs)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", choices=("auto", "pyvrp", "ortools"), default="auto")
    parser.add_argument("--best-known", type=Path, help="CSV with instance,bks_distance columns")
    args = parser.parse_args(argv)
    options = SolveOptions(
        time_limit=args.seconds, max_iterations=args.iterations, seed=args.seed, engine=args.engine
    )
    if args.routes_dir is not None:
        args.routes_dir.mkdir(parents=True, exist_ok=True)

    status = 0
    gaps: list[float] = []
    seconds: list[float] = []
    for file in args.files:
        started = time.perf_counter()
        instance = parse(file)
        problem = to_problem(instance)
        solution = solve(problem, options)
        elapsed = time.perf_counter() - started
        errors = verify(problem, solution)
        if solution.unassigned:
            errors.append(f"{len(solution.unassigned)} customers left out")
        for error in errors:
            print(f"{instance.name}: {error}", file=sys.stderr)
        status = status or int(bool(errors))
        bks = best_known(args.best_known, file).get(instance.name.upper())
        gap = "-"
        if bks is not None and not errors:
            gaps.append(100 * (solution.distance - bks) / bks)
            gap = f"{gaps[-1]:.2f}"
        seconds.append(elapsed)
        print(f"{instance.name} {len(solution.routes)} {solution.distance:.2f} {gap} {elapsed:.2f}")
        if args.routes_dir is not None:
            text = "\n".join(route_lines(solution)) + "\n"
            (args.routes_dir / f"{instance.name}.routes").write_text(text)
    print(f"mean_gap_pct {sum(gaps) / len(gaps):.2f}" if gaps else "mean_gap_pct -")
    print(f"max_seconds {max(seconds):.2f}")
    return status


if __name__ == "__main__":
    sys.exit(main())
