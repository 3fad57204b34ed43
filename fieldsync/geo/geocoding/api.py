"""Routes for forms: where is this address, what is at this point. Also sets the app's
geocoding service up when the blueprint is registered, and turns inline geocoding on for
each request's session."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app
from flask.views import MethodView

from fieldsync.exceptions import NotFoundError
from fieldsync.extensions import Blueprint, db
from fieldsync.geo.geocoding.pipeline import enable_inline_geocoding
from fieldsync.geo.geocoding.results import AddressQuery, Match
from fieldsync.geo.geocoding.schemas import (
    GeocodeRequestSchema,
    GeocodeResponseSchema,
    ReverseGeocodeRequestSchema,
    ReverseGeocodeResponseSchema,
)
from fieldsync.geo.geocoding.service import GeocodingService
from fieldsync.geo.geocoding.settings import GeocodingSettings

SERVICE_KEY = "fieldsync.geocoding"

geocoding_blp = Blueprint(
    "geocoding", __name__, url_prefix="/api/v1", description="Locating addresses"
)


def geocoding_service(app: Flask | None = None) -> GeocodingService:
    """The app's geocoding service (built at startup from its settings)."""
    service: GeocodingService = (app or current_app).extensions[SERVICE_KEY]
    return service


@geocoding_blp.record_once
def _set_up(state: Any) -> None:
    """Build the service when the app starts: a misconfigured provider (say, the public
    Nominatim without an identifying user agent) stops the app before it serves anything."""
    settings = GeocodingSettings.from_config(state.app.config)
    state.app.extensions[SERVICE_KEY] = GeocodingService.from_settings(settings)


@geocoding_blp.before_app_request
def _inline_geocoding() -> None:
    service = geocoding_service()
    enable_inline_geocoding(db.session, service if service.settings.inline else None)


def _candidate(match: Match) -> dict[str, Any]:
    return {
        "lat": match.lat,
        "lon": match.lon,
        "precision": match.precision,
        "label": match.label,
        "country": match.country,
    }


@geocoding_blp.route("/geocode")
class Geocode(MethodView):
    @geocoding_blp.arguments(GeocodeRequestSchema)
    @geocoding_blp.response(200, GeocodeResponseSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Where an address may be, best first (for forms).

        Give a structured `address` (with `country`, matches elsewhere are never returned)
        or a one-line `query`. Each candidate has a `precision`: `postcode` and `locality`
        from the embedded GeoNames gazetteer, finer from a configured provider. `attribution`
        names the data's source, to be shown with the results. 503 with `Retry-After` when
        a configured provider is down.
        """
        service = geocoding_service()
        if "address" in body:
            matches = service.suggest(
                address=AddressQuery.from_mapping(body["address"]), limit=body["limit"]
            )
        else:
            matches = service.suggest(query=body["query"], limit=body["limit"])
        return {"candidates": [_candidate(m) for m in matches], "attribution": service.attribution}


@geocoding_blp.route("/reverse-geocode")
class ReverseGeocode(MethodView):
    @geocoding_blp.arguments(ReverseGeocodeRequestSchema)
    @geocoding_blp.response(200, ReverseGeocodeResponseSchema)
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """The address at a point: the nearest known place and how far it is (`distance_km`).

        404 when nothing is known nearby (open sea, a country the gazetteer does not cover).
        """
        service = geocoding_service()
        found = service.reverse(body["lat"], body["lon"])
        if found is None:
            raise NotFoundError("No known place near this point.")
        return {
            "address": found.address,
            "label": found.label,
            "precision": found.precision,
            "distance_km": found.distance_km,
            "attribution": service.attribution,
        }


blueprints = (geocoding_blp,)
