"""Travel models: great-circle figures against known distances, OSRM's table service against a
local server speaking its JSON format (errors, timeouts and unroutable pairs included)."""

from __future__ import annotations

import json
import re
import time

import numpy as np
import pytest
from werkzeug import Request, Response

from fieldsync.planning.travel import (
    HaversineTravel,
    OsrmTravel,
    TravelUnavailableError,
    great_circle_km,
    travel_model_from_settings,
)

MILAN = (45.4642, 9.1900)
ROME = (41.9028, 12.4964)
TURIN = (45.0703, 7.6869)


def test_great_circle_milan_rome_is_about_477_km() -> None:
    km = great_circle_km([MILAN, ROME])
    assert km[0, 1] == pytest.approx(477, abs=3), km
    assert km[1, 0] == pytest.approx(km[0, 1]) and km[0, 0] == 0.0, km


def test_haversine_applies_road_factor_and_speed() -> None:
    seconds, km = HaversineTravel(road_factor=1.3, speed_kmh=50).matrix([MILAN, TURIN, ROME])
    straight = great_circle_km([MILAN, TURIN, ROME])
    assert np.allclose(km, straight * 1.3), km
    assert np.allclose(seconds, km / 50 * 3600), seconds
    assert seconds.shape == (3, 3) and km.shape == (3, 3)
    # Milan-Turin is ~126 km as the crow flies
    assert 120 < straight[0, 1] < 130, straight


def test_haversine_memoises_the_same_points() -> None:
    model = HaversineTravel()
    first = model.matrix([MILAN, ROME])
    assert model.matrix([MILAN, ROME]) is first
    assert model.matrix([ROME, MILAN]) is not first


def _table(points: list[tuple[float, float]], sources=None, destinations=None, nulls=()) -> dict:
    """A reply in OSRM's table format: durations (s) and distances (m), waypoint objects."""
    sources = list(range(len(points))) if sources is None else sources
    destinations = list(range(len(points))) if destinations is None else destinations
    km = great_circle_km(points) * 1.2

    def cell(i: int, j: int, value: float) -> float | None:
        return None if (i, j) in nulls else round(value, 1)

    return {
        "code": "Ok",
        "durations": [[cell(i, j, km[i, j] / 60 * 3600) for j in destinations] for i in sources],
        "distances": [[cell(i, j, km[i, j] * 1000) for j in destinations] for i in sources],
        "sources": [
            {
                "hint": "abc",
                "distance": 3.2,
                "name": "Via Roma",
                "location": [points[i][1], points[i][0]],
            }
            for i in sources
        ],
        "destinations": [
            {"hint": "abc", "distance": 3.2, "name": "", "location": [points[j][1], points[j][0]]}
            for j in destinations
        ],
    }


def _coords(points: list[tuple[float, float]]) -> str:
    return ";".join(f"{lon:.6f},{lat:.6f}" for lat, lon in points)


def test_osrm_table_is_read_in_seconds_and_km(httpserver) -> None:
    points = [MILAN, TURIN, ROME]
    httpserver.expect_request(
        f"/table/v1/driving/{_coords(points)}",
        query_string="annotations=duration,distance",
    ).respond_with_json(_table(points))
    model = OsrmTravel(httpserver.url_for("/"), timeout=5)
    seconds, km = model.matrix(points)
    expected_km = great_circle_km(points) * 1.2
    assert np.allclose(km, expected_km, atol=1e-3), km
    assert np.allclose(seconds, expected_km * 60, atol=0.1), seconds  # 60 km/h: a km a minute
    model.matrix(points)
    assert model.requests == 1, "the second call must come from the memo"


def test_osrm_unroutable_pairs_fall_back_to_great_circle(httpserver) -> None:
    points = [MILAN, TURIN, ROME]
    httpserver.expect_request(f"/table/v1/car/{_coords(points)}").respond_with_json(
        _table(points, nulls={(0, 2), (2, 0)})
    )
    fallback = HaversineTravel(road_factor=1.5, speed_kmh=40)
    model = OsrmTravel(httpserver.url_for("/"), profile="car", fallback=fallback)
    seconds, km = model.matrix(points)
    est_seconds, est_km = fallback.matrix(points)
    assert km[0, 2] == pytest.approx(est_km[0, 2]) and seconds[2, 0] == pytest.approx(
        est_seconds[2, 0]
    ), (km, seconds)
    assert km[0, 1] == pytest.approx(great_circle_km(points)[0, 1] * 1.2, abs=1e-3), km
    assert not np.isnan(seconds).any()


def test_osrm_large_tables_are_asked_in_blocks(httpserver) -> None:
    points = [(45.0 + k * 0.01, 9.0 + k * 0.01) for k in range(5)]

    def handler(request: Request) -> Response:
        coords = request.path.rsplit("/", 1)[1].split(";")
        asked = [(float(c.split(",")[1]), float(c.split(",")[0])) for c in coords]
        src = request.args.get("sources")
        dst = request.args.get("destinations")
        sources = [int(k) for k in src.split(";")] if src else None
        destinations = [int(k) for k in dst.split(";")] if dst else None
        assert len(asked) <= 4, asked
        return Response(json.dumps(_table(asked, sources, destinations)), 200,
                        content_type="application/json")  # fmt: skip

    httpserver.expect_request(re.compile("^/table/v1/driving/.*")).respond_with_handler(handler)
    model = OsrmTravel(httpserver.url_for("/"), block=2)
    seconds, km = model.matrix(points)
    assert model.requests == 9, model.requests  # 3 x 3 blocks
    assert np.allclose(km, great_circle_km(points) * 1.2, atol=1e-3), km
    assert np.allclose(seconds, seconds.T, atol=0.2)


@pytest.mark.parametrize(
    "reply",
    [
        Response(json.dumps({"code": "TooBig", "message": "Too many table coordinates"}), 400,
                 content_type="application/json"),
        Response("<html>Bad gateway</html>", 502, content_type="text/html"),
        Response(json.dumps({"code": "NoTable", "message": "No route found"}), 200,
                 content_type="application/json"),
        Response(json.dumps({"code": "Ok", "durations": [[0]]}), 200,
                 content_type="application/json"),
        Response("not json", 200),
    ],
    ids=["too-big", "bad-gateway", "no-table", "short-table", "not-json"],
)  # fmt: skip
def test_osrm_errors_are_unavailable(httpserver, reply: Response) -> None:
    httpserver.expect_request(f"/table/v1/driving/{_coords([MILAN, ROME])}").respond_with_response(
        reply
    )
    with pytest.raises(TravelUnavailableError) as caught:
        OsrmTravel(httpserver.url_for("/")).matrix([MILAN, ROME])
    assert caught.value.status == 503 and caught.value.code == "unavailable"
    assert caught.value.headers.get("Retry-After"), caught.value.headers


def test_osrm_timeout_is_unavailable(httpserver) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.0)
        return Response(json.dumps(_table([MILAN, ROME])), 200, content_type="application/json")

    httpserver.expect_request(f"/table/v1/driving/{_coords([MILAN, ROME])}").respond_with_handler(
        slow
    )
    started = time.perf_counter()
    with pytest.raises(TravelUnavailableError):
        OsrmTravel(httpserver.url_for("/"), timeout=0.2).matrix([MILAN, ROME])
    assert time.perf_counter() - started < 0.9


def test_osrm_server_down_is_unavailable() -> None:
    with pytest.raises(TravelUnavailableError):
        OsrmTravel("http://127.0.0.1:9", timeout=1).matrix([MILAN, ROME])


def test_model_from_settings() -> None:
    default = travel_model_from_settings({"TRAVEL_ROAD_FACTOR": 1.5, "TRAVEL_SPEED_KMH": "60"})
    assert isinstance(default, HaversineTravel)
    assert (default.road_factor, default.speed_kmh) == (1.5, 60.0)
    osrm = travel_model_from_settings({"OSRM_URL": "http://osrm:5000/", "OSRM_PROFILE": "car"})
    assert isinstance(osrm, OsrmTravel)
    assert (osrm.base_url, osrm.profile) == ("http://osrm:5000", "car")


def test_osrm_too_big_tables_are_asked_smaller(httpserver) -> None:
    points = [(45.0 + k * 0.01, 9.0 + k * 0.01) for k in range(5)]

    def handler(request: Request) -> Response:
        coords = request.path.rsplit("/", 1)[1].split(";")
        asked = [(float(c.split(",")[1]), float(c.split(",")[0])) for c in coords]
        src, dst = request.args.get("sources"), request.args.get("destinations")
        sources = [int(k) for k in src.split(";")] if src else list(range(len(asked)))
        destinations = [int(k) for k in dst.split(";")] if dst else list(range(len(asked)))
        if len(sources) * len(destinations) > 4:  # a server started with --max-table-size 2
            body = {"code": "TooBig", "message": "Too many table coordinates"}
            return Response(json.dumps(body), 400, content_type="application/json")
        body = _table(asked, sources, destinations)
        return Response(json.dumps(body), 200, content_type="application/json")

    httpserver.expect_request(re.compile("^/table/v1/driving/.*")).respond_with_handler(handler)
    model = OsrmTravel(httpserver.url_for("/"))
    seconds, km = model.matrix(points)
    assert model.block == 2, model.block
    assert np.allclose(km, great_circle_km(points) * 1.2, atol=1e-3), km
    assert np.allclose(seconds, km * 60, atol=0.2), seconds
