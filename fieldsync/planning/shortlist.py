"""Which candidates are worth routing: a day holds 15-30 visits, a territory 2,000 accounts.

The solver is given the few times more candidates than the day can hold, chosen on the
great-circle estimate (cheap for thousands; the real travel model is asked only for the
shortlist):

1. the best value for its detour: prize minus the detour from the nearest rep's start to
   their end point through the account (half the list);
2. the most urgent, wherever they are (a quarter): a far urgent account may be worth a day;
3. the nearest neighbours of those two groups, best prize first (the rest): a visit is cheap
   next to another, which step 1 cannot see from the start point alone.

Ties break on the candidate's index (the caller's stable order), so the list is
deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from fieldsync.planning.travel import DEFAULT_ROAD_FACTOR, DEFAULT_SPEED_KMH, great_circle_km

NEIGHBOURS = 4  # nearest neighbours taken per chosen candidate in step 3
# seconds of travel per great-circle km on the default model: only ranks, never schedules
SECONDS_PER_KM = DEFAULT_ROAD_FACTOR / DEFAULT_SPEED_KMH * 3600.0


def capacity(day_seconds: float, visit_seconds: float, max_stops: int | None) -> int:
    """Return about how many visits a day can hold (10 minutes of travel between visits)."""
    fit = int(max(0.0, day_seconds) // (visit_seconds + 600.0)) + 1
    return fit if max_stops is None else min(fit, max_stops)


def shortlist(
    points: npt.NDArray[np.float64],
    prizes: npt.NDArray[np.float64],
    depots: Sequence[tuple[tuple[float, float], tuple[float, float]]],
    size: int,
) -> list[int]:
    """Return the indices of at most `size` candidates to route, in index order.

    `points` are (lat, lon) rows, `prizes` in seconds of travel, `depots` the (start, end) of
    each rep.
    """
    n = len(points)
    if n <= size:
        return list(range(n))
    order = np.arange(n)
    detour = np.full(n, np.inf)
    for start, end in depots:
        to_start = great_circle_km([start], points)[0]
        to_end = great_circle_km([end], points)[0]
        direct = float(great_circle_km([start], [end])[0, 0])
        detour = np.minimum(detour, (to_start + to_end - direct) * SECONDS_PER_KM)
    chosen: dict[int, None] = {}  # insertion-ordered set

    def take(ranking: npt.NDArray[np.int64], until: int) -> None:
        for k in ranking:
            if len(chosen) >= until:
                return
            chosen.setdefault(int(k), None)

    # lexsort sorts by the last key first: value (descending), then index
    take(np.lexsort((order, -(prizes - detour))), size // 2)
    take(np.lexsort((order, -prizes)), size // 2 + size // 4)
    seeds = list(chosen)
    if len(chosen) < size:
        km = great_circle_km(points[seeds], points)
        km[np.arange(len(seeds)), seeds] = np.inf
        nearest = np.argsort(km, axis=1, kind="stable")[:, : NEIGHBOURS * 3]
        # the best-prized of each seed's nearest, seeds with the best prize first
        for row in sorted(range(len(seeds)), key=lambda r: (-prizes[seeds[r]], seeds[r])):
            near = sorted(nearest[row], key=lambda k: (-prizes[k], k))[:NEIGHBOURS]
            for k in near:
                if len(chosen) >= size:
                    break
                chosen.setdefault(int(k), None)
    take(np.lexsort((order, -(prizes - detour))), size)
    return sorted(chosen)
