"""Geocoding fixtures: the embedded service, a scripted geopy geocoder, inline geocoding on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from flask import Flask
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from fieldsync.geo.geocoding.api import SERVICE_KEY
from fieldsync.geo.geocoding.offline import NoNetworkAdapter
from fieldsync.geo.geocoding.providers import Provider, build_provider
from fieldsync.geo.geocoding.service import GeocodingService
from fieldsync.geo.geocoding.settings import GeocodingSettings

Answer = Callable[[Any], Any]


class ScriptedGeocoder(Geocoder):  # type: ignore[misc]
    """A geopy geocoder whose answers a test scripts: a Location, a list, None, or an
    exception to raise. It records every query it was asked."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(adapter_factory=NoNetworkAdapter)
        self.answer = answer
        self.queries: list[Any] = []

    def geocode(self, query: Any, *, exactly_one: bool = True, **kwargs: Any) -> Any:
        self.queries.append(query)
        result = self.answer(query)
        if isinstance(result, Exception):
            raise result
        if isinstance(result, Location) and not exactly_one:
            return [result]
        return result

    def reverse(self, query: Any, *, exactly_one: bool = True, **kwargs: Any) -> Any:
        return None


def nominatim_place(lat: float, lon: float, *, rank: int, country: str = "it") -> Location:
    """A synthetic Nominatim search result (format=json, addressdetails=1), built from the
    documented output format, not recorded from a server."""
    raw = {
        "place_id": 1,
        "lat": str(lat),
        "lon": str(lon),
        "display_name": "Synthetic place",
        "class": "place",
        "type": "city",
        "place_rank": rank,
        "address": {"country_code": country},
    }
    return Location("Synthetic place", (lat, lon), raw)


def scripted_service(answer: Answer, service: str = "nominatim") -> GeocodingService:
    """A GeocodingService over a scripted geocoder, read as ``service`` answers."""
    provider = Provider(service, ScriptedGeocoder(answer), endpoint="scripted.test")
    return GeocodingService(provider)


@pytest.fixture
def offline_service() -> GeocodingService:
    return GeocodingService(build_provider(GeocodingSettings()))


@pytest.fixture
def inline_geocoding(app: Flask) -> Iterator[GeocodingService]:
    """The embedded default: accounts are geocoded as their address is written (the test
    settings turn it off for the rest of the suite)."""
    service: GeocodingService = app.extensions[SERVICE_KEY]
    original = service.settings
    service.settings = replace(original, inline=True)
    yield service
    service.settings = original
