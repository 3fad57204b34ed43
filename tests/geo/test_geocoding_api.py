"""POST /api/v1/geocode and /api/v1/reverse-geocode: candidates with attribution, the error
envelope for bad input, 503 with Retry-After when a provider is down."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from geopy import exc as geopy_exc

from fieldsync.geo.geocoding.api import SERVICE_KEY
from fieldsync.geo.geocoding.service import GeocodingService
from tests.conftest import World
from tests.geo.conftest import scripted_service
from tests.geo.helpers import error_fields

GEOCODE = "/api/v1/geocode"
REVERSE = "/api/v1/reverse-geocode"


def post(client: FlaskClient, world: World, path: str, body: Any) -> Any:
    return client.post(path, json=body, headers=world.rep.headers)


def test_an_address_gives_candidates_best_first_with_attribution(
    client: FlaskClient, world: World
) -> None:
    address = {
        "street": "Piazza Duca d'Aosta 1",
        "postal_code": "20124",
        "city": "Milano",
        "country": "IT",
    }
    response = post(client, world, GEOCODE, {"address": address})
    assert response.status_code == 200, response.json
    body = response.json
    assert "GeoNames" in body["attribution"] and "CC BY 4.0" in body["attribution"]
    best = body["candidates"][0]
    assert set(best) == {"lat", "lon", "precision", "label", "country"}
    assert best["precision"] == "postcode" and best["country"] == "IT"
    assert "20124" in best["label"] and "Milano" in best["label"]


def test_a_query_in_free_text(client: FlaskClient, world: World) -> None:
    response = post(client, world, GEOCODE, {"query": "Köln, Deutschland", "limit": 3})
    assert response.status_code == 200, response.json
    candidates = response.json["candidates"]
    assert 1 <= len(candidates) <= 3
    assert candidates[0]["country"] == "DE" and candidates[0]["precision"] == "locality"


def test_nothing_found_is_an_empty_list(client: FlaskClient, world: World) -> None:
    response = post(client, world, GEOCODE, {"address": {"city": "Milano", "country": "FR"}})
    assert response.status_code == 200 and response.json["candidates"] == []


BAD_GEOCODE = [
    ({}, "_schema"),
    ({"query": "Milano", "address": {"city": "Milano"}}, "_schema"),
    ({"address": {"country": "IT"}}, "address"),
    ({"address": {"city": "Milano", "country": "XX"}}, "address.country"),
    ({"address": {"city": "Milano", "planet": "Earth"}}, "address.planet"),
    ({"query": ""}, "query"),
    ({"query": "   "}, "query"),
    ({"query": "x" * 501}, "query"),
    ({"query": "Milano", "limit": 0}, "limit"),
    ({"query": 42}, "query"),
    ([], "_schema"),
]


@pytest.mark.parametrize(("body", "field"), BAD_GEOCODE)
def test_bad_geocode_input_is_a_422_naming_the_field(
    client: FlaskClient, world: World, body: Any, field: str
) -> None:
    response = post(client, world, GEOCODE, body)
    assert response.status_code == 422, response.json
    assert response.json["error"]["code"] == "validation_error"
    assert field in error_fields(response), response.json


def test_reverse_geocoding_names_the_place_and_its_distance(
    client: FlaskClient, world: World
) -> None:
    response = post(client, world, REVERSE, {"lat": 41.9028, "lon": 12.4964})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["address"]["city"] == "Roma" and body["address"]["country"] == "IT"
    assert body["precision"] == "locality" and body["distance_km"] < 3
    assert "Roma" in body["label"] and "GeoNames" in body["attribution"]


def test_reverse_geocoding_far_from_everything_is_a_404(client: FlaskClient, world: World) -> None:
    response = post(client, world, REVERSE, {"lat": 44.0, "lon": -20.0})
    assert response.status_code == 404 and response.json["error"]["code"] == "not_found"


BAD_REVERSE = [
    ({"lat": 91, "lon": 0}, "lat"),
    ({"lat": 45, "lon": -181}, "lon"),
    ({"lat": "north", "lon": 9}, "lat"),
    ({"lon": 9}, "lat"),
    ({"lat": 45, "lon": 9, "zoom": 18}, "zoom"),
]


@pytest.mark.parametrize(("body", "field"), BAD_REVERSE)
def test_bad_reverse_input_is_a_422(
    client: FlaskClient, world: World, body: Any, field: str
) -> None:
    response = post(client, world, REVERSE, body)
    assert response.status_code == 422, response.json
    assert field in error_fields(response), response.json


def test_nan_is_refused(client: FlaskClient, world: World) -> None:
    response = client.post(
        REVERSE,
        data='{"lat": NaN, "lon": 9}',
        headers={**world.rep.headers, "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422), response.json


def test_malformed_json_is_a_400(client: FlaskClient, world: World) -> None:
    response = client.post(
        GEOCODE, data="{", headers={**world.rep.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400 and response.json["error"]["code"] == "bad_request"


def test_a_token_is_required(client: FlaskClient, world: World) -> None:
    assert client.post(GEOCODE, json={"query": "Milano"}).status_code == 401
    assert client.post(REVERSE, json={"lat": 45, "lon": 9}).status_code == 401


@pytest.fixture
def provider_down(app: Flask) -> Iterator[None]:
    """Swap the app's geocoder for one whose service answers 429 with Retry-After: 120."""
    original: GeocodingService = app.extensions[SERVICE_KEY]
    limited = scripted_service(lambda q: geopy_exc.GeocoderRateLimited("429", retry_after=120))
    limited.provider.geocoder.reverse = lambda *a, **k: (_ for _ in ()).throw(  # type: ignore[method-assign]
        geopy_exc.GeocoderUnavailable("connection refused")
    )
    app.extensions[SERVICE_KEY] = limited
    yield
    app.extensions[SERVICE_KEY] = original


@pytest.mark.usefixtures("provider_down")
def test_a_provider_down_is_a_503_with_retry_after(client: FlaskClient, world: World) -> None:
    response = post(client, world, GEOCODE, {"query": "Milano"})
    assert response.status_code == 503, response.json
    assert response.json["error"]["code"] == "unavailable"
    assert response.headers["Retry-After"] == "120"
    reverse = post(client, world, REVERSE, {"lat": 45.46, "lon": 9.19})
    assert reverse.status_code == 503 and int(reverse.headers["Retry-After"]) >= 1


def test_the_openapi_document_describes_both_routes(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").json
    for path in (GEOCODE, REVERSE):
        operation = spec["paths"][path]["post"]
        assert "200" in operation["responses"] and operation.get("description")
