"""The real geopy Nominatim and Photon classes against a local HTTP server that speaks their JSON.

What this proves: the requests we build (structured parameters, country filter, user agent),
how errors are sorted (429 with Retry-After, 503, a timeout that stays ONE request), how
answers are read (precision, country), and that a cached address sends nothing. It proves
nothing about geocoding quality. The fixtures are SYNTHETIC: built from the documented output
formats (https://nominatim.org/release-docs/latest/api/Output/, Photon's GeoJSON), never
recorded from a live server. No test reaches a public endpoint.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import redis
from flask import Flask
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from fieldsync.app import create_app
from fieldsync.config import ConfigurationError
from fieldsync.db import unit_of_work
from fieldsync.extensions import db
from fieldsync.geo.geocoding import quality
from fieldsync.geo.geocoding.providers import Provider, build_provider
from fieldsync.geo.geocoding.results import AddressQuery
from fieldsync.geo.geocoding.service import GeocodingService
from fieldsync.geo.geocoding.settings import GeocodingSettings
from fieldsync.geo.geocoding.spacing import (
    HeldBackError,
    ProcessSpacer,
    RedisSpacer,
    redis_client,
)
from tests.conftest import TEST_SETTINGS

USER_AGENT = "fieldsync-tests/1.0 (geocoding-tests@example.invalid)"
ADDRESS = AddressQuery(
    street="Piazza del Duomo 1", postal_code="20122", city="Milano", country="IT"
)

# SYNTHETIC: shaped like Nominatim's format=json with addressdetails=1 (documented output).
NOMINATIM_DUOMO = {
    "place_id": 100149,
    "licence": "Data © OpenStreetMap contributors, ODbL 1.0.",
    "osm_type": "way",
    "osm_id": "1",
    "lat": "45.4641",
    "lon": "9.1919",
    "display_name": "Piazza del Duomo 1, 20122 Milano MI, Italia",
    "class": "building",
    "type": "yes",
    "place_rank": 30,
    "addresstype": "building",
    "importance": 0.5,
    "address": {
        "house_number": "1",
        "road": "Piazza del Duomo",
        "city": "Milano",
        "postcode": "20122",
        "country": "Italia",
        "country_code": "it",
    },
}
# SYNTHETIC: shaped like Photon's GeoJSON answer.
PHOTON_DUOMO = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [9.1919, 45.4641]},
            "properties": {
                "osm_id": 1,
                "osm_type": "W",
                "osm_key": "building",
                "osm_value": "yes",
                "type": "house",
                "housenumber": "1",
                "street": "Piazza del Duomo",
                "postcode": "20122",
                "city": "Milano",
                "countrycode": "IT",
                "country": "Italia",
                "name": "Duomo",
            },
        }
    ],
}


def provider(server: HTTPServer, service: str, **options: Any) -> Iterator[Provider]:
    settings = GeocodingSettings(
        service=service,
        domain=f"{server.host}:{server.port}",
        scheme="http",
        user_agent=USER_AGENT,
        **options,
    )
    built = build_provider(settings)
    # The process-wide spacer of this endpoint would carry one test's Retry-After into the
    # next: each test gets its own.
    built.spacer = ProcessSpacer(0.0)
    yield built
    built.close()


@pytest.fixture
def nominatim(httpserver: HTTPServer) -> Iterator[Provider]:
    yield from provider(httpserver, "nominatim", timeout=2.0)


@pytest.fixture
def photon(httpserver: HTTPServer) -> Iterator[Provider]:
    yield from provider(httpserver, "photon", timeout=2.0)


def sent(server: HTTPServer) -> list[Request]:
    return [request for request, _ in server.log]


# --- Nominatim -------------------------------------------------------------------------------


def test_nominatim_sends_a_structured_query_and_reads_the_answer(
    httpserver: HTTPServer, nominatim: Provider
) -> None:
    httpserver.expect_request("/search").respond_with_json([NOMINATIM_DUOMO])
    match = nominatim.lookup(ADDRESS).match
    assert match is not None
    assert (match.lat, match.lon, match.precision, match.country) == (
        45.4641,
        9.1919,
        "rooftop",
        "IT",
    )
    (request,) = sent(httpserver)
    args = request.args
    assert "q" not in args, "a structured query never carries q"
    assert (args["street"], args["city"], args["postalcode"], args["country"]) == (
        "Piazza del Duomo 1",
        "Milano",
        "20122",
        "Italy",
    )
    assert (args["countrycodes"], args["addressdetails"], args["format"]) == ("it", "1", "json")
    assert request.headers["User-Agent"] == USER_AGENT


def test_nominatim_empty_answers_walk_the_chain_then_fail_not_found(
    httpserver: HTTPServer, nominatim: Provider
) -> None:
    httpserver.expect_request("/search").respond_with_json([])
    outcome = GeocodingService(nominatim).ask(ADDRESS)
    assert (outcome.status, outcome.reason) == ("failed", "nominatim: address not found")
    queries = [dict(request.args) for request in sent(httpserver)]
    assert [
        sorted(set(q) - {"format", "limit", "countrycodes", "addressdetails"}) for q in queries
    ] == [
        ["city", "country", "postalcode", "street"],
        ["q"],
        ["country", "postalcode"],
        ["city", "country"],
    ]
    assert queries[1]["q"] == "Piazza del Duomo 1, 20122 Milano, Italy"


def test_nominatim_answers_in_another_country_or_too_coarse_are_refused(
    httpserver: HTTPServer, nominatim: Provider
) -> None:
    french = {**NOMINATIM_DUOMO, "address": {"country_code": "fr"}}
    httpserver.expect_request("/search").respond_with_json([french])
    assert "another country" in (nominatim.lookup(ADDRESS).reason or "")
    httpserver.clear()
    region = {**NOMINATIM_DUOMO, "place_rank": 8, "class": "boundary", "type": "administrative"}
    httpserver.expect_request("/search").respond_with_json([region])
    assert "finer than the region" in (nominatim.lookup(ADDRESS).reason or "")


def test_a_429_is_unavailable_with_its_retry_after(
    httpserver: HTTPServer, nominatim: Provider
) -> None:
    httpserver.expect_request("/search").respond_with_data(
        "Too Many Requests", status=429, headers={"Retry-After": "30"}
    )
    outcome = GeocodingService(nominatim).ask(ADDRESS)
    assert (outcome.status, outcome.retry_after) == ("unavailable", 30.0)
    assert len(sent(httpserver)) == 1, "an outage ends the chain: no more requests"
    again = GeocodingService(nominatim).ask(ADDRESS)
    assert again.status == "unavailable" and 25 < (again.retry_after or 0) <= 30
    assert len(sent(httpserver)) == 1, "nobody asks again before Retry-After (and nobody sleeps)"


def test_a_503_is_unavailable_not_a_failure(httpserver: HTTPServer, nominatim: Provider) -> None:
    httpserver.expect_request("/search").respond_with_data(
        "down for maintenance", status=503, headers={"Retry-After": "45"}
    )
    outcome = GeocodingService(nominatim).ask(ADDRESS)
    assert outcome.status == "unavailable" and outcome.retry_after == 45.0
    assert "did not answer" in (outcome.reason or "")


def test_a_timeout_is_one_request_only(httpserver: HTTPServer) -> None:
    arrived: list[float] = []
    finished = threading.Event()

    def slow(request: Request) -> Response:
        arrived.append(time.monotonic())
        time.sleep(1.0)
        finished.set()
        return Response("[]", content_type="application/json")

    httpserver.expect_request("/search").respond_with_handler(slow)
    for built in provider(httpserver, "nominatim", timeout=0.3):
        outcome = GeocodingService(built).ask(ADDRESS)
        assert outcome.status == "unavailable", outcome
        assert finished.wait(5)
        time.sleep(0.3)  # room for a hidden retry to show up
        assert len(arrived) == 1, "urllib3 must not retry behind our back (max_retries=0)"


def test_a_cached_address_sends_nothing(
    app: Flask, httpserver: HTTPServer, nominatim: Provider
) -> None:
    httpserver.expect_request("/search").respond_with_json([NOMINATIM_DUOMO])
    service = GeocodingService(nominatim)
    with app.app_context(), unit_of_work(db.session):
        first = service.geocode(db.session, ADDRESS)
    assert first.status == "ok" and not first.cached
    assert len(sent(httpserver)) == 1
    with app.app_context(), unit_of_work(db.session):
        again = service.geocode(
            db.session,
            AddressQuery(
                street="piazza del duomo  1", postal_code="20122", city="MILANO", country="IT"
            ),
        )
    assert again.status == "ok" and again.cached and again.match == first.match
    assert len(sent(httpserver)) == 1, "the cache sits in front of the provider"


def test_nominatim_reverse(httpserver: HTTPServer, nominatim: Provider) -> None:
    httpserver.expect_request("/reverse").respond_with_json(NOMINATIM_DUOMO)
    found = nominatim.reverse(45.4642, 9.1918)
    assert found is not None
    assert found.address == {
        "street": "Piazza del Duomo 1",
        "postal_code": "20122",
        "city": "Milano",
        "region": None,
        "country": "IT",
    }
    assert found.precision == "rooftop" and found.distance_km < 0.1


# --- Photon ----------------------------------------------------------------------------------


def test_photon_sends_free_text_and_reads_the_answer(
    httpserver: HTTPServer, photon: Provider
) -> None:
    httpserver.expect_request("/api").respond_with_json(PHOTON_DUOMO)
    match = photon.lookup(ADDRESS).match
    assert match is not None and (match.precision, match.country) == ("rooftop", "IT")
    (request,) = sent(httpserver)
    assert request.args["q"] == "Piazza del Duomo 1, 20122 Milano, Italy"
    assert request.args["limit"] == "3"
    assert request.headers["User-Agent"] == USER_AGENT


def test_photon_empty_answers_fail_not_found(httpserver: HTTPServer, photon: Provider) -> None:
    httpserver.expect_request("/api").respond_with_json(
        {"type": "FeatureCollection", "features": []}
    )
    outcome = GeocodingService(photon).ask(ADDRESS)
    assert (outcome.status, outcome.reason) == ("failed", "photon: address not found")
    assert [r.args["q"] for r in sent(httpserver)] == [
        "Piazza del Duomo 1, 20122 Milano, Italy",
        "20122, Italy",
        "Milano, Italy",
    ]


def test_photon_answers_abroad_are_refused(httpserver: HTTPServer, photon: Provider) -> None:
    abroad = {
        "type": "FeatureCollection",
        "features": [
            {
                **PHOTON_DUOMO["features"][0],
                "properties": {"type": "city", "countrycode": "US", "name": "Milan"},
            }
        ],
    }
    httpserver.expect_request("/api").respond_with_json(abroad)
    assert "another country" in (photon.lookup(ADDRESS).reason or "")


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize("agent", [None, "geopy/2.5.0", "fieldsync/0.1", "my-app"])
def test_the_public_nominatim_needs_an_identifying_user_agent(agent: str | None) -> None:
    with pytest.raises(ConfigurationError, match="USER_AGENT"):
        build_provider(GeocodingSettings(service="nominatim", user_agent=agent))


def test_the_app_refuses_to_start_without_it(tmp_path: Any) -> None:
    with pytest.raises(ConfigurationError, match="USER_AGENT"):
        create_app(
            {
                **TEST_SETTINGS,
                "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
                "GEOCODER": "nominatim",
            }
        )


def test_the_public_nominatim_is_spaced_one_second_and_never_retried() -> None:
    built = build_provider(
        GeocodingSettings(service="nominatim", user_agent=USER_AGENT, min_delay=0.2, timeout=10)
    )
    try:
        assert isinstance(built.spacer, ProcessSpacer) and built.spacer.min_delay == 1.0
        assert built.geocoder.timeout == 10
        mounted = built.geocoder.adapter.session.get_adapter("https://nominatim.openstreetmap.org")
        assert mounted.max_retries.total == 0
        assert built.cache_name == "nominatim@nominatim.openstreetmap.org"
    finally:
        built.close()


def test_an_unknown_service_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="geopy service"):
        build_provider(GeocodingSettings(service="carrier-pigeon"))


def test_settings_come_from_the_app_config() -> None:
    settings = GeocodingSettings.from_config(
        {
            "GEOCODER": "Photon",
            "GEOCODER_TIMEOUT": "4.5",
            "GEOCODER_MIN_DELAY": "0.5",
            "GEOCODE_INLINE": "yes",
            "REDIS_URL": "redis://x",
        }
    )
    assert (settings.service, settings.timeout, settings.min_delay, settings.inline) == (
        "photon",
        4.5,
        0.5,
        True,
    )
    assert GeocodingSettings.from_config({}).inline is True, "inline by default offline"
    assert GeocodingSettings.from_config({"GEOCODER": "nominatim"}).inline is False
    with pytest.raises(ConfigurationError):
        GeocodingSettings.from_config({"GEOCODER_TIMEOUT": "soon"})


# --- spacing ---------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 3))
        self.now += seconds


def test_requests_are_spaced_and_held_back_after_retry_after() -> None:
    clock = FakeClock()
    spacer = ProcessSpacer(1.0, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        spacer.wait()
    assert clock.slept == [1.0, 1.0], "the first goes at once, then one per second"
    spacer.hold(30)
    with pytest.raises(HeldBackError):
        spacer.wait(max_wait=10)  # a request does not sleep half a minute
    spacer.wait(max_wait=60)  # a job may
    assert clock.slept[-1] == 30.0


def test_threads_share_the_gap() -> None:
    spacer = ProcessSpacer(0.05)
    times: list[float] = []
    lock = threading.Lock()

    def ask() -> None:
        spacer.wait()
        with lock:
            times.append(time.monotonic())

    threads = [threading.Thread(target=ask) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times.sort()
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert min(gaps) > 0.04, gaps


def test_redis_spacing_is_shared_by_every_process() -> None:
    client = redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis does not answer at 127.0.0.1:6379")
    key = f"fieldsync:test:spacing:{time.monotonic_ns()}"
    slept: list[float] = []
    first = RedisSpacer(client, key, 1.0, sleep=slept.append)
    second = RedisSpacer(client, key, 1.0, sleep=slept.append)  # another process, same key
    first.wait()
    second.wait()
    assert slept and 0.9 < slept[0] <= 1.0, slept
    first.hold(20)
    with pytest.raises(HeldBackError) as held:
        second.wait()
    assert 18 < held.value.seconds <= 20.5
    second.wait(max_wait=30)
    assert 18 < slept[-1] <= 20.5, slept
    client.delete(key)
    client.close()


# --- how answers are read --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "precision"),
    [
        ({"class": "place", "type": "house"}, "rooftop"),
        ({"class": "highway", "type": "residential"}, "street"),
        ({"class": "place", "type": "postcode"}, "postcode"),
        ({"class": "place", "type": "village"}, "locality"),
        (
            {"class": "boundary", "type": "administrative", "address": {"state": "Lombardia"}},
            "region",
        ),
        (
            {"class": "boundary", "type": "administrative", "address": {"city": "Milano"}},
            "locality",
        ),
        ({"place_rank": 26, "class": "highway"}, "street"),
        ({"place_rank": 16, "class": "place", "type": "city"}, "locality"),
        ({"place_rank": 4, "class": "boundary"}, "country"),
    ],
)
def test_nominatim_precision(raw: dict[str, Any], precision: str) -> None:
    assert quality.nominatim_precision(raw) == precision


def test_pelias_and_google_precision_and_country() -> None:
    pelias = {"properties": {"layer": "postalcode", "country_a": "DEU"}}
    assert quality.pelias_precision(pelias) == "postcode"
    assert quality.pelias_country(pelias) == "DE"
    assert quality.pelias_precision({"properties": {"layer": "region"}}) == "region"
    google = {
        "geometry": {"location_type": "APPROXIMATE"},
        "types": ["locality", "political"],
        "address_components": [{"short_name": "fr", "types": ["country", "political"]}],
    }
    assert quality.google_precision(google) == "locality"
    assert quality.google_country(google) == "FR"
    assert quality.google_precision({"geometry": {"location_type": "ROOFTOP"}}) == "rooftop"
    assert quality.google_precision({"geometry": {"location_type": "RANGE_INTERPOLATED"}}) == (
        "street"
    )
    assert quality.photon_precision({"properties": {"type": "state"}}) == "region"


def test_without_redis_the_process_still_spaces_its_requests() -> None:
    unreachable = redis_client("redis://127.0.0.1:1/0")
    slept: list[float] = []
    spacer = RedisSpacer(
        unreachable, f"fieldsync:test:down:{time.monotonic_ns()}", 1.0, sleep=slept.append
    )
    spacer.wait()
    spacer.hold(30)
    with pytest.raises(HeldBackError):
        spacer.wait()
