"""Check a solution against its problem, independently of any solver.

Used by the tests and the benchmark: every promise a plan makes (windows, shift, breaks, stops,
capacity, legs, every visit accounted for once) is recomputed from the problem alone.
"""

from __future__ import annotations

from fieldsync.planning.problem import Problem, Reason, Solution

TOLERANCE = 1e-6


def verify(problem: Problem, solution: Solution, *, tolerance: float = TOLERANCE) -> list[str]:
    """Return every violation found in `solution`, as sentences; empty when it is feasible."""
    errors: list[str] = []
    jobs = {j.id: j for j in problem.jobs}
    vehicles = {v.id: v for v in problem.vehicles}
    seen: dict[str, str] = {}

    def near(a: float, b: float) -> bool:
        return abs(a - b) <= tolerance * max(1.0, abs(a), abs(b))

    for u in solution.unassigned:
        if u.job_id not in jobs:
            errors.append(f"unassigned job {u.job_id!r} is not in the problem")
        elif u.job_id in seen:
            errors.append(f"job {u.job_id!r} appears twice")
        elif not isinstance(u.reason, Reason):
            errors.append(f"job {u.job_id!r} has no reason code")
        seen[u.job_id] = "unassigned"

    used: set[str] = set()
    for route in solution.routes:
        vehicle = vehicles.get(route.vehicle_id)
        if vehicle is None:
            errors.append(f"route of unknown vehicle {route.vehicle_id!r}")
            continue
        if vehicle.id in used:
            errors.append(f"vehicle {vehicle.id!r} has two routes")
        used.add(vehicle.id)
        where = f"vehicle {vehicle.id!r}"
        if route.departure < vehicle.shift.start - tolerance:
            errors.append(f"{where} leaves before its shift starts")
        if route.arrival > vehicle.shift.end + tolerance:
            errors.append(f"{where} is back after its shift ends")
        if vehicle.max_stops is not None and len(route.stops) > vehicle.max_stops:
            errors.append(f"{where} makes {len(route.stops)} stops, more than {vehicle.max_stops}")
        load = 0
        # (location, departure) of each stop, the start point first, then the end point
        points = [(vehicle.start, route.departure)]
        for k, stop in enumerate(route.stops):
            job = jobs.get(stop.job_id)
            if job is None:
                errors.append(f"{where} visits unknown job {stop.job_id!r}")
                points.append((stop.location, stop.departure))
                continue
            if stop.job_id in seen:
                errors.append(f"job {stop.job_id!r} appears twice")
            seen[stop.job_id] = vehicle.id
            load += job.demand
            at = f"{where}, stop {k} ({job.id!r})"
            if stop.location != job.location:
                errors.append(f"{at}: wrong location")
            windows = job.windows(vehicle.shift)
            if not any(w.start - tolerance <= stop.start <= w.end + tolerance for w in windows):
                errors.append(f"{at}: service starts at {stop.start}, outside its windows")
            if stop.start < stop.arrival - tolerance:
                errors.append(f"{at}: service starts before arrival")
            if not near(stop.departure, stop.start + job.service):
                errors.append(f"{at}: departure is not start plus service")
            points.append((stop.location, stop.departure))
        if vehicle.capacity is not None and load > vehicle.capacity:
            errors.append(f"{where} carries {load}, more than {vehicle.capacity}")

        # legs: each gap between two points holds its travel and the breaks taken in it
        ends = [(s.location, s.arrival, s.start, s.travel_time, s.distance) for s in route.stops]
        ends.append(
            (
                vehicle.end_location,
                route.arrival,
                route.arrival,
                route.end_travel_time,
                route.end_distance,
            )
        )
        for k, ((a, left), (b, arrival, start, travel, distance)) in enumerate(
            zip(points, ends, strict=True)
        ):
            at = f"{where}, leg {k}"
            if not near(travel, problem.travel(a, b)):
                errors.append(
                    f"{at}: travel time {travel} but the matrix says {problem.travel(a, b)}"
                )
            if not near(distance, problem.distance(a, b)):
                errors.append(
                    f"{at}: distance {distance} but the matrix says {problem.distance(a, b)}"
                )
            in_gap = sorted((x for x in route.breaks if x.after_stops == k), key=lambda x: x.start)
            pause = sum(x.end - x.start for x in in_gap)
            if arrival < left + problem.travel(a, b) - tolerance:
                errors.append(f"{at}: arrives sooner than the travel allows")
            if start < left + problem.travel(a, b) + pause - tolerance:
                errors.append(f"{at}: no room for the travel and the breaks")
            cursor = left
            for x in in_gap:
                if x.start < cursor - tolerance or x.end > start + tolerance:
                    errors.append(f"{at}: break {x.break_id!r} overlaps a visit or another break")
                cursor = x.end

        taken = [x.break_id for x in route.breaks]
        for brk in vehicle.breaks:
            got = [x for x in route.breaks if x.break_id == brk.id]
            if len(got) != 1:
                errors.append(f"{where}: break {brk.id!r} taken {len(got)} times")
                continue
            x = got[0]
            if not near(x.end - x.start, brk.duration):
                errors.append(f"{where}: break {brk.id!r} lasts {x.end - x.start}")
            if x.start < brk.window.start - tolerance or x.end > brk.window.end + tolerance:
                errors.append(f"{where}: break {brk.id!r} outside its window")
        if len(taken) != len(set(taken)) or not set(taken) <= {b.id for b in vehicle.breaks}:
            errors.append(f"{where}: unknown or repeated breaks {taken}")

    missing = sorted(set(jobs) - set(seen))
    if missing:
        errors.append(f"jobs neither planned nor unassigned: {missing}")
    return errors
