"""What a geocoding asks and answers, whoever answers it (gazetteer or provider)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fieldsync.geo.geocoding.text import country_code, country_name, display_postcode

# The contract's precision levels, finest first; "country" only ever marks a rejected match.
PRECISIONS = ("rooftop", "street", "postcode", "locality", "region", "country")
# A match no finer than the region puts a client on the wrong spot of the map: a failure.
ACCEPTED_PRECISIONS = frozenset({"rooftop", "street", "postcode", "locality"})

GEONAMES_ATTRIBUTION = (
    "Geographic data from GeoNames (https://www.geonames.org/), licensed under CC BY 4.0."
)
OSM_ATTRIBUTION = "Data © OpenStreetMap contributors, ODbL 1.0. https://osm.org/copyright"


@dataclass(frozen=True)
class AddressQuery:
    """A structured postal address; ``country`` is an ISO 3166-1 alpha-2 code or None."""

    street: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    country: str | None = None

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> AddressQuery:
        """Accept our field names and geopy's (``postalcode``, ``state``)."""

        def text(*names: str) -> str | None:
            for name in names:
                value = data.get(name)
                if value is not None and str(value).strip():
                    return " ".join(str(value).split())
            return None

        return cls(
            street=text("street"),
            postal_code=text("postal_code", "postalcode", "postcode"),
            city=text("city", "town", "locality"),
            region=text("region", "state", "county"),
            country=country_code(text("country", "country_code")),
        )

    @property
    def is_empty(self) -> bool:
        return not (self.street or self.postal_code or self.city)

    def parts(self) -> list[tuple[str, str | None]]:
        """Fields in a fixed order, postcode written the country's way (the cache key)."""
        postcode = (
            display_postcode(self.country, self.postal_code)
            if self.country
            else (" ".join(self.postal_code.upper().split()) if self.postal_code else None)
        )
        return [
            ("country", self.country),
            ("postal_code", postcode),
            ("city", self.city),
            ("region", self.region),
            ("street", self.street),
        ]

    def free_text(self, *, with_street: bool = True) -> str:
        """One line as people write it: "Via Roma 1, 20121 Milano, Italy"."""
        town = " ".join(p for p in (self.postal_code, self.city) if p)
        pieces = [
            self.street if with_street else None,
            town,
            self.region,
            country_name(self.country) if self.country else None,
        ]
        return ", ".join(p for p in pieces if p)


@dataclass(frozen=True)
class Match:
    """One place an address may be: where, how precisely, and what the answer said."""

    lat: float
    lon: float
    precision: str
    label: str
    country: str | None = None
    postal_code: str | None = None
    city: str | None = None
    region: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def accepted(self) -> bool:
        return self.precision in ACCEPTED_PRECISIONS

    def as_location(self) -> dict[str, Any]:
        return {"lat": self.lat, "lon": self.lon, "precision": self.precision, "source": "geocoder"}


@dataclass(frozen=True)
class ReverseMatch:
    """The nearest known place to a point."""

    address: dict[str, str | None]
    label: str
    precision: str
    distance_km: float


class GeocodingUnavailableError(Exception):
    """The provider did not answer (down, timed out, rate limited): try again later.

    Distinct from "no result": an address stays ``pending`` on this error, never ``failed``.
    """

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
