"""Travel models: how long and how far between points, as matrices the planner routes on.

The default is great-circle distance times a road factor at an average speed (no service to
call, good enough to order a day's visits); with ``OSRM_URL`` set, an OSRM server's table
service gives road durations and distances. Both answer ``matrix(points)`` with
``(durations in seconds, distances in km)`` over (lat, lon) points, both ``n x n`` arrays.
No Flask here: the settings come in as a plain mapping.
"""

from __future__ import annotations

import json
import math
import threading
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from fieldsync.exceptions import UnavailableError

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
DEFAULT_ROAD_FACTOR = 1.3  # roads are ~30 % longer than the straight line, away from motorways
DEFAULT_SPEED_KMH = 50.0  # average door-to-door speed of a rep's car in and around a town
DEFAULT_OSRM_TIMEOUT = 10.0
DEFAULT_OSRM_PROFILE = "driving"
# osrm-routed refuses a table of more than --max-table-size squared cells (100 x 100 by
# default): larger matrices are asked in blocks of this many sources by as many destinations,
# halved while the server answers TooBig (a server started with a smaller limit).
DEFAULT_OSRM_BLOCK = 100
MIN_OSRM_BLOCK = 2

Point = tuple[float, float]
FloatMatrix = npt.NDArray[np.float64]


class TravelUnavailableError(UnavailableError):
    """The routing server cannot answer now: the plan cannot be computed (503)."""


class _TooBigError(Exception):
    """The server refused a table of this size: ask smaller blocks."""


class TravelModel(Protocol):
    """What the planner needs of travel: durations (s) and distances (km) between points."""

    def matrix(self, points: Sequence[Point]) -> tuple[FloatMatrix, FloatMatrix]:
        """Return (durations in seconds, distances in km) between (lat, lon) `points`."""
        ...


def great_circle_km(points: Sequence[Point], others: Sequence[Point] | None = None) -> FloatMatrix:
    """Return the haversine distances in km from each of `points` to each of `others`."""
    a = np.radians(np.asarray(points, dtype=np.float64).reshape(-1, 2))
    b = a if others is None else np.radians(np.asarray(others, dtype=np.float64).reshape(-1, 2))
    lat1, lon1 = a[:, 0:1], a[:, 1:2]
    lat2, lon2 = b[:, 0][None, :], b[:, 1][None, :]
    h = (
        np.sin((lat2 - lat1) / 2) ** 2
        + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


class _Memo:
    """The last few matrices asked of a model: a plan asks for the same points more than once
    (shortlist, route, week days), and OSRM is a network round trip."""

    SIZE = 8

    def __init__(self) -> None:
        self._store: dict[tuple[Point, ...], tuple[FloatMatrix, FloatMatrix]] = {}
        self._lock = threading.Lock()  # one model may serve several request threads

    def get(self, key: tuple[Point, ...]) -> tuple[FloatMatrix, FloatMatrix] | None:
        with self._lock:
            return self._store.get(key)

    def put(self, key: tuple[Point, ...], value: tuple[FloatMatrix, FloatMatrix]) -> None:
        for array in value:
            array.flags.writeable = False  # shared by every caller: nobody may change it
        with self._lock:
            if len(self._store) >= self.SIZE:
                self._store.pop(next(iter(self._store)))
            self._store[key] = value


def _key(points: Sequence[Point]) -> tuple[Point, ...]:
    return tuple((float(lat), float(lon)) for lat, lon in points)


class HaversineTravel:
    """Great-circle distance times `road_factor`, driven at `speed_kmh`."""

    def __init__(
        self, road_factor: float = DEFAULT_ROAD_FACTOR, speed_kmh: float = DEFAULT_SPEED_KMH
    ) -> None:
        if not (road_factor >= 1.0 and speed_kmh > 0):
            raise ValueError("road_factor must be >= 1 and speed_kmh > 0")
        self.road_factor = float(road_factor)
        self.speed_kmh = float(speed_kmh)
        self._memo = _Memo()

    def matrix(self, points: Sequence[Point]) -> tuple[FloatMatrix, FloatMatrix]:
        """Return (durations in seconds, distances in km) between (lat, lon) `points`."""
        key = _key(points)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        km = great_circle_km(key) * self.road_factor if key else np.zeros((0, 0))
        result = (km / self.speed_kmh * 3600.0, km)
        self._memo.put(key, result)
        return result


class OsrmTravel:
    """Road durations and distances from an OSRM server's table service.

    Pairs OSRM cannot route (``null`` cells: an island, a point far from any road) fall back
    to the great-circle estimate of `fallback`, so a plan never fails for one odd account; a
    server that does not answer, or answers an error, raises `TravelUnavailableError`.
    """

    def __init__(
        self,
        base_url: str,
        timeout: float = DEFAULT_OSRM_TIMEOUT,
        profile: str = DEFAULT_OSRM_PROFILE,
        *,
        block: int = DEFAULT_OSRM_BLOCK,
        fallback: HaversineTravel | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ValueError("OSRM_URL must be an http:// or https:// URL")
        self.base_url = base_url.rstrip("/")
        self.timeout = float(timeout)
        self.profile = profile
        self.block = max(1, int(block))
        self.fallback = fallback or HaversineTravel()
        self.requests = 0  # table requests sent (tests and the benchmark read it)
        self._memo = _Memo()

    def matrix(self, points: Sequence[Point]) -> tuple[FloatMatrix, FloatMatrix]:
        """Return (durations in seconds, distances in km) between (lat, lon) `points`."""
        key = _key(points)
        cached = self._memo.get(key)
        if cached is not None:
            return cached
        while True:
            try:
                seconds, km = self._blocks(key)
                break
            except _TooBigError:
                if self.block <= MIN_OSRM_BLOCK:
                    raise TravelUnavailableError(
                        "The routing server refuses even small tables (TooBig)."
                    ) from None
                self.block = max(MIN_OSRM_BLOCK, self.block // 2)
        n = len(key)
        if n:
            np.fill_diagonal(seconds, 0.0)
            np.fill_diagonal(km, 0.0)
        missing = np.isnan(seconds) | np.isnan(km)
        if missing.any():
            est_seconds, est_km = self.fallback.matrix(key)
            seconds[missing] = est_seconds[missing]
            km[missing] = est_km[missing]
        result = (seconds, km)
        self._memo.put(key, result)
        return result

    def _blocks(self, points: Sequence[Point]) -> tuple[FloatMatrix, FloatMatrix]:
        """Return the matrices asked block by block, unroutable cells as NaN."""
        n = len(points)
        seconds = np.full((n, n), np.nan)
        km = np.full((n, n), np.nan)
        for i in range(0, n, self.block):
            for j in range(0, n, self.block):
                rows, cols = range(i, min(n, i + self.block)), range(j, min(n, j + self.block))
                durations, distances = self._table(points, rows, cols)
                seconds[i : rows.stop, j : cols.stop] = durations
                km[i : rows.stop, j : cols.stop] = distances / 1000.0
        return seconds, km

    def _table(
        self, points: Sequence[Point], rows: range, cols: range
    ) -> tuple[FloatMatrix, FloatMatrix]:
        """Ask one block: `rows` as sources, `cols` as destinations (nulls become NaN)."""
        same = rows == cols
        chosen = list(rows) if same else [*rows, *cols]
        # OSRM wants lon,lat; 6 decimals is ~0.1 m
        coordinates = ";".join(f"{points[k][1]:.6f},{points[k][0]:.6f}" for k in chosen)
        query = "annotations=duration,distance"
        if not same:
            query += "&sources=" + ";".join(str(k) for k in range(len(rows)))
            query += "&destinations=" + ";".join(str(len(rows) + k) for k in range(len(cols)))
        url = f"{self.base_url}/table/v1/{self.profile}/{coordinates}?{query}"
        body = self._get(url)
        if body.get("code") == "TooBig" and len(rows) > 1:
            raise _TooBigError
        if body.get("code") != "Ok":
            raise TravelUnavailableError(
                f"The routing server refused the request ({body.get('code')}: "
                f"{body.get('message', 'no message')})."
            )
        durations = _grid(body.get("durations"), len(rows), len(cols), "durations")
        distances = _grid(body.get("distances"), len(rows), len(cols), "distances")
        return durations, distances

    def _get(self, url: str) -> dict[str, Any]:
        """Send one GET; every failure to get a JSON object back is `TravelUnavailableError`."""
        self.requests += 1
        # the URL is ours: OSRM_URL (checked to be http or https) and numbers
        request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                raw = response.read()
        except urllib.error.HTTPError as exc:
            # OSRM answers 400 with a JSON body naming the problem (TooBig, NoSegment, ...)
            raw = exc.read()
            try:
                body = json.loads(raw)
            except ValueError:
                body = None
            if isinstance(body, dict) and body.get("code"):
                return body
            raise TravelUnavailableError(f"The routing server answered HTTP {exc.code}.") from None
        except OSError as exc:  # URLError, timeouts, refused connections
            raise TravelUnavailableError(f"The routing server does not answer ({exc}).") from None
        try:
            body = json.loads(raw)
        except ValueError:
            raise TravelUnavailableError(
                "The routing server answered something not JSON."
            ) from None
        if not isinstance(body, dict):
            raise TravelUnavailableError("The routing server answered something not a table.")
        return body


def _grid(value: Any, n_rows: int, n_cols: int, name: str) -> FloatMatrix:
    """Return OSRM's nested list as an array, null cells as NaN; check its shape."""
    if (
        not isinstance(value, list)
        or len(value) != n_rows
        or any(not isinstance(row, list) or len(row) != n_cols for row in value)
    ):
        raise TravelUnavailableError(f"The routing server's table has no usable {name}.")
    try:
        grid = np.array(
            [[math.nan if cell is None else float(cell) for cell in row] for row in value],
            dtype=np.float64,
        )
    except (TypeError, ValueError):
        raise TravelUnavailableError(f"The routing server's {name} are not numbers.") from None
    return grid.reshape(n_rows, n_cols)


def travel_model_from_settings(config: Mapping[str, Any]) -> TravelModel:
    """Return OSRM when ``OSRM_URL`` is set, else the great-circle model of the settings."""
    fallback = HaversineTravel(
        float(config.get("TRAVEL_ROAD_FACTOR") or DEFAULT_ROAD_FACTOR),
        float(config.get("TRAVEL_SPEED_KMH") or DEFAULT_SPEED_KMH),
    )
    url = config.get("OSRM_URL")
    if not url:
        return fallback
    return OsrmTravel(
        str(url),
        timeout=float(config.get("OSRM_TIMEOUT") or DEFAULT_OSRM_TIMEOUT),
        profile=str(config.get("OSRM_PROFILE") or DEFAULT_OSRM_PROFILE),
        fallback=fallback,
    )
