"""A geopy geocoder over the embedded gazetteer: no network, no download, ever.

It speaks geopy's interface so the pipeline treats it like Nominatim or Photon::

    >>> geocoder = OfflineGeocoder()
    >>> found = geocoder.geocode({"postalcode": "20121", "city": "Milano", "country": "IT"})
    >>> found.raw["precision"]
    'postcode'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from geopy.adapters import BaseSyncAdapter
from geopy.geocoders.base import DEFAULT_SENTINEL, Geocoder
from geopy.location import Location
from geopy.point import Point

from fieldsync.geo.geocoding.gazetteer import Gazetteer
from fieldsync.geo.geocoding.matching import GazetteerMatcher
from fieldsync.geo.geocoding.results import GEONAMES_ATTRIBUTION, AddressQuery, Match


class NoNetworkAdapter(BaseSyncAdapter):
    """geopy wants an adapter; this one refuses to be used, proving nothing goes out."""

    def get_json(self, url: str, *, timeout: float, headers: dict[str, str]) -> Any:
        raise RuntimeError(f"the offline geocoder never makes requests (asked for {url})")

    def get_text(self, url: str, *, timeout: float, headers: dict[str, str]) -> str:
        raise RuntimeError(f"the offline geocoder never makes requests (asked for {url})")


def _location(match: Match) -> Location:
    return Location(match.label, (match.lat, match.lon), dict(match.raw))


class OfflineGeocoder(Geocoder):  # type: ignore[misc]  # geopy ships no type hints
    """GeoNames postcode centroids and localities for IT, FR, ES, DE, CH, AT, BE, NL, PT, GB.

    ``geocode`` takes free text or a structured dict (geopy's keys ``street``, ``city``,
    ``postalcode``, ``state``, ``country``, or ours: ``postal_code``, ``region``). Results
    carry ``raw["precision"]`` (``postcode`` or ``locality``, never finer).
    """

    attribution = GEONAMES_ATTRIBUTION

    def __init__(
        self, *, gazetteer: Gazetteer | None = None, user_agent: str | None = None
    ) -> None:
        super().__init__(user_agent=user_agent, adapter_factory=NoNetworkAdapter)
        self.matcher = GazetteerMatcher(gazetteer)

    def geocode(
        self,
        query: str | Mapping[str, Any],
        *,
        exactly_one: bool = True,
        timeout: Any = DEFAULT_SENTINEL,  # accepted for geopy compatibility; nothing waits
        limit: int | None = None,
        country_codes: str | list[str] | None = None,
    ) -> Location | list[Location] | None:
        """Best match (``exactly_one``) or up to ``limit`` (default 5) matches, best first."""
        count = 1 if exactly_one else (limit or 5)
        wanted = None
        if country_codes:
            codes = [country_codes] if isinstance(country_codes, str) else list(country_codes)
            wanted = {code.upper() for code in codes}
        # Ask for more when filtering by country, so the filter does not empty a short list.
        asked = count if wanted is None else max(count, 20)
        if isinstance(query, Mapping):
            address = AddressQuery.from_mapping(dict(query))
            if wanted and not address.country and len(wanted) == 1:
                address = replace(address, country=next(iter(wanted)))
            matches = [] if address.is_empty else self.matcher.search(address, asked)
        else:
            text = str(query)
            matches = self.matcher.search_text(text, asked) if text.strip() else []
        if wanted is not None:
            matches = [m for m in matches if m.country in wanted]
        matches = matches[:count]
        if not matches:
            return None
        locations = [_location(match) for match in matches]
        return locations[0] if exactly_one else locations

    def reverse(
        self,
        query: Any,
        *,
        exactly_one: bool = True,
        timeout: Any = DEFAULT_SENTINEL,
    ) -> Location | list[Location] | None:
        """The nearest populated place; ``raw`` holds the address and ``distance_km``."""
        point = Point(query)
        found = self.matcher.reverse(point.latitude, point.longitude)
        if found is None:
            return None
        raw = {
            "source": "geonames",
            "address": found.address,
            "precision": found.precision,
            "distance_km": found.distance_km,
            "country_code": found.address["country"],
        }
        location = Location(found.label, (point.latitude, point.longitude), raw)
        return location if exactly_one else [location]
