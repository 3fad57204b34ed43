"""Geocoding services through geopy, without geopy's traps.

- Adapters never retry (``RequestsAdapter(max_retries=0)``): urllib3's hidden retries turn one
  timeout into three requests. Retries happen in one place, the pipeline's backoff.
- No ``RateLimiter``: it swallows errors (an outage would look like "not found") and ignores
  Retry-After. A ``Spacer`` spaces requests for the whole deployment and honours Retry-After.
- Timeout 10 s, not geopy's 1 s.
- Every answer is checked: its country must be the address's, and its precision finer than
  the region, or it is no answer at all.
"""

from __future__ import annotations

import functools
import inspect
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from geopy import exc as geopy_exc
from geopy.adapters import RequestsAdapter
from geopy.geocoders import get_geocoder_for_service
from geopy.geocoders.base import Geocoder, get_retry_after
from geopy.location import Location

from fieldsync.config import ConfigurationError
from fieldsync.geo.geocoding.gazetteer import DATA_VERSION, haversine_km
from fieldsync.geo.geocoding.matching import MATCHER_VERSION
from fieldsync.geo.geocoding.offline import OfflineGeocoder
from fieldsync.geo.geocoding.quality import readers_for
from fieldsync.geo.geocoding.results import (
    GEONAMES_ATTRIBUTION,
    OSM_ATTRIBUTION,
    AddressQuery,
    GeocodingUnavailableError,
    Match,
    ReverseMatch,
)
from fieldsync.geo.geocoding.settings import GeocodingSettings
from fieldsync.geo.geocoding.spacing import HeldBackError, NoSpacer, Spacer, spacer_for
from fieldsync.geo.geocoding.text import country_name

log = logging.getLogger("fieldsync.geocoding")

NOMINATIM_PUBLIC = "nominatim.openstreetmap.org"
# Public servers and the gap their operators ask for (Nominatim: an absolute maximum of 1/s).
PUBLIC_MIN_DELAY = {NOMINATIM_PUBLIC: 1.0, "photon.komoot.io": 1.0}
DEFAULT_DOMAINS = {"nominatim": NOMINATIM_PUBLIC, "photon": "photon.komoot.io"}
ATTRIBUTIONS = {
    "nominatim": OSM_ATTRIBUTION,
    "photon": OSM_ATTRIBUTION,
    "offline": GEONAMES_ATTRIBUTION,
}
DEFAULT_USER_AGENT = "fieldsync/0.1"
STRUCTURED_SERVICES = {"nominatim", "offline"}  # geocode() takes a dict of address parts


@dataclass(frozen=True)
class Lookup:
    """A provider's verdict on one address: a match, or why there is none."""

    match: Match | None
    reason: str | None = None


class Provider:
    """One geocoding service, spaced, checked and mapped to the contract's precision."""

    def __init__(
        self,
        service: str,
        geocoder: Geocoder,
        *,
        endpoint: str,
        spacer: Spacer | None = None,
        attribution: str | None = None,
    ) -> None:
        self.service = service
        self.geocoder = geocoder
        self.endpoint = endpoint
        self.spacer = spacer or NoSpacer()
        self.attribution = attribution or ATTRIBUTIONS.get(service, f"Geocoding by {service}")
        self.precision_of, self.country_of = readers_for(service)
        self.structured = service in STRUCTURED_SERVICES
        self._parameters = set(inspect.signature(geocoder.geocode).parameters)
        self._count_lock = threading.Lock()
        self.requests = 0  # requests sent (the embedded gazetteer's lookups count too)

    def close(self) -> None:
        """Close the HTTP connection pool (the embedded gazetteer has none)."""
        self.geocoder.adapter.__exit__(None, None, None)

    @property
    def cache_name(self) -> str:
        """Cache entries belong to one service at one endpoint (and one data release)."""
        if self.service == "offline":
            return f"offline:{DATA_VERSION}:m{MATCHER_VERSION}"
        return f"{self.service}@{self.endpoint}"[:120]

    # --- forward -------------------------------------------------------------------------

    def lookup(self, address: AddressQuery) -> Lookup:
        """The fallback chain: structured, free text, postcode, locality; the first answer
        in the address's country and finer than the region wins."""
        reasons: list[str] = []
        for query in self._chain(address):
            locations = self._geocode(query, address.country, limit=3)
            if isinstance(locations, _Rejected):
                reasons.append(f"rejected the query: {locations.message}"[:200])
            for location in locations:
                match, reason = self._accept(location, address.country)
                if match is not None:
                    return Lookup(match)
                reasons.append(reason or "")
        if any(r.startswith("in another country") for r in reasons):
            return Lookup(None, f"{self.service}: the only matches are in another country")
        rejected = [r for r in reasons if r.startswith("rejected")]
        if rejected:
            return Lookup(None, f"{self.service}: {rejected[0]}")
        if reasons:
            return Lookup(None, f"{self.service}: no match finer than the region")
        return Lookup(None, f"{self.service}: address not found")

    def candidates(self, query: AddressQuery | str, limit: int = 5) -> list[Match]:
        """Accepted matches for a form, best first: one query for text, the chain's first
        productive step for an address."""
        country = query.country if isinstance(query, AddressQuery) else None
        steps = self._chain(query) if isinstance(query, AddressQuery) else [query]
        for step in steps:
            found = [
                m
                for loc in self._geocode(step, country, limit=limit)
                if (m := self._accept(loc, country)[0]) is not None
            ]
            if found:
                return found[:limit]
        return []

    def _chain(self, address: AddressQuery) -> list[str | dict[str, str]]:
        """The queries to try in turn, each coarser than the last, without repeats."""
        named = country_name(address.country) if address.country else None
        country = {"country": named} if named else {}

        def query(**parts: str | None) -> str | dict[str, str]:
            present = {k: v for k, v in parts.items() if v}
            if self.structured:
                return {**present, **country}
            return ", ".join([*present.values(), *country.values()])

        steps: list[str | dict[str, str]] = []
        if self.structured:
            steps.append(
                query(street=address.street, city=address.city, postalcode=address.postal_code)
            )
        steps.append(address.free_text())
        if address.postal_code:
            steps.append(query(postalcode=address.postal_code))
        if address.city:
            steps.append(query(city=address.city))
        unique: list[str | dict[str, str]] = []
        for step in steps:
            if step and step not in unique:
                unique.append(step)
        return unique

    def _accept(self, location: Location, country: str | None) -> tuple[Match | None, str | None]:
        raw = dict(location.raw or {})
        found_country = self.country_of(raw)
        if country and found_country and found_country != country:
            return None, f"in another country ({found_country})"
        precision = self.precision_of(raw)
        match = Match(
            round(location.latitude, 6),
            round(location.longitude, 6),
            precision,
            location.address or "",
            found_country or country,
            raw=raw,
        )
        return (match, None) if match.accepted else (None, f"too coarse ({precision})")

    def _geocode(
        self, query: str | dict[str, str], country: str | None, limit: int
    ) -> list[Location]:
        kwargs: dict[str, Any] = {"exactly_one": False}
        options = {
            "limit": limit,
            "addressdetails": True,
            "country_codes": [country.lower()] if country else None,
            "countries": [country] if country else None,
            "components": {"country": country} if country else None,
        }
        kwargs.update({k: v for k, v in options.items() if v is not None and k in self._parameters})
        found = self._call(self.geocoder.geocode, query, **kwargs)
        if isinstance(found, _Rejected) or not found:
            return found or []
        return list(found) if isinstance(found, list) else [found]

    # --- reverse -------------------------------------------------------------------------

    def reverse(self, lat: float, lon: float) -> ReverseMatch | None:
        location = self._call(self.geocoder.reverse, (lat, lon), exactly_one=True)
        if location is None:
            return None
        raw = dict(location.raw or {})
        if self.service == "offline":
            return ReverseMatch(
                raw["address"], location.address, raw["precision"], raw["distance_km"]
            )
        address = address_from_raw(raw)
        distance = float(
            haversine_km(lat, lon, _array(location.latitude), _array(location.longitude))[0]
        )
        return ReverseMatch(
            address, location.address or "", self.precision_of(raw), round(distance, 3)
        )

    # --- the one place requests go out --------------------------------------------------

    def _call(self, method: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Space, send, and sort geopy's errors into "no answer" and "not now"."""
        try:
            self.spacer.wait()
        except HeldBackError as held:  # a Retry-After runs: fail fast, never sleep minutes
            raise GeocodingUnavailableError(
                f"{self.service} asked us to wait", retry_after=held.seconds
            ) from held
        with self._count_lock:
            self.requests += 1
        try:
            return method(*args, **kwargs)
        except geopy_exc.GeocoderRateLimited as error:
            retry_after = float(error.retry_after or 60)
            self.spacer.hold(retry_after)  # nobody in the deployment asks before then
            raise GeocodingUnavailableError(
                f"{self.service} rate limited us", retry_after=retry_after
            ) from error
        except geopy_exc.GeocoderQueryError as error:
            log.info("geocoder rejected a query", extra={"event": "geocode_query_rejected"})
            return _Rejected(str(error))
        except (
            geopy_exc.GeocoderAuthenticationFailure,
            geopy_exc.GeocoderInsufficientPrivileges,
        ) as error:
            log.error("geocoder refused our credentials", extra={"event": "geocode_refused"})
            raise GeocodingUnavailableError(
                f"{self.service} refused our credentials", retry_after=3600
            ) from error
        except geopy_exc.GeocoderQuotaExceeded as error:
            raise GeocodingUnavailableError(
                f"{self.service} quota exceeded", retry_after=3600
            ) from error
        except geopy_exc.GeocoderTimedOut as error:
            retry_after = _header_retry_after(error)
            if retry_after:
                self.spacer.hold(retry_after)
            raise GeocodingUnavailableError(
                f"{self.service} did not answer in time", retry_after=retry_after
            ) from error
        except geopy_exc.GeopyError as error:
            raise GeocodingUnavailableError(f"{self.service} is unavailable") from error


class _Rejected(list[Location]):
    """An empty answer that remembers the service refused the query (HTTP 400)."""

    def __init__(self, message: str) -> None:
        super().__init__()
        self.message = message


def _array(value: float) -> Any:
    import numpy as np

    return np.array([value])


def _header_retry_after(error: Exception) -> float | None:
    """geopy maps 503 to TimedOut and drops its Retry-After; the HTTP error it wraps has it."""
    cause = error.__cause__
    headers = getattr(cause, "headers", None)
    if not headers:
        return None
    seconds = get_retry_after(headers)
    return float(seconds) if seconds is not None else None


def address_from_raw(raw: dict[str, Any]) -> dict[str, str | None]:
    """The contract's address from a provider's reverse answer (Nominatim, Photon, Pelias)."""
    parts = raw.get("address") or raw.get("properties") or {}
    street = parts.get("road") or parts.get("street")
    number = parts.get("house_number") or parts.get("housenumber")
    city = next(
        (
            parts.get(k)
            for k in ("city", "town", "village", "locality", "hamlet", "municipality")
            if parts.get(k)
        ),
        None,
    )
    country = parts.get("country_code") or parts.get("countrycode")
    return {
        "street": " ".join(str(p) for p in (street, number) if p) or None,
        "postal_code": parts.get("postcode") or parts.get("postalcode"),
        "city": city,
        "region": parts.get("state") or parts.get("region"),
        "country": str(country).upper()[:2] if country else None,
    }


# --- construction ----------------------------------------------------------------------------


def build_provider(settings: GeocodingSettings) -> Provider:
    """The configured provider; raises ConfigurationError when it cannot run politely."""
    if settings.offline:
        return Provider(
            "offline", OfflineGeocoder(), endpoint="embedded", attribution=GEONAMES_ATTRIBUTION
        )
    try:
        geocoder_class = get_geocoder_for_service(settings.service)
    except geopy_exc.GeocoderNotFound:
        raise ConfigurationError(
            f"FIELDSYNC_GEOCODER={settings.service!r} is neither 'offline' nor a geopy service"
        ) from None
    domain = settings.domain or DEFAULT_DOMAINS.get(settings.service)
    _check_user_agent(settings, domain)
    parameters = inspect.signature(geocoder_class.__init__).parameters
    options: dict[str, Any] = {
        "timeout": settings.timeout,
        "user_agent": settings.user_agent or DEFAULT_USER_AGENT,
        "adapter_factory": functools.partial(RequestsAdapter, max_retries=0),
        "scheme": settings.scheme,
        "domain": settings.domain,
        "api_key": settings.api_key,
    }
    geocoder = geocoder_class(
        **{k: v for k, v in options.items() if v is not None and k in parameters}
    )
    endpoint = domain or getattr(geocoder, "domain", None) or settings.service
    delay = settings.min_delay if settings.min_delay is not None else 0.0
    delay = max(delay, PUBLIC_MIN_DELAY.get(str(endpoint), 0.0))  # never faster than policy
    spacer = spacer_for(f"{settings.service}@{endpoint}", delay, settings.redis_url)
    return Provider(settings.service, geocoder, endpoint=str(endpoint), spacer=spacer)


def _check_user_agent(settings: GeocodingSettings, domain: str | None) -> None:
    """The public Nominatim blocks stock user agents and asks for contact details."""
    if settings.service != "nominatim" or (domain or NOMINATIM_PUBLIC) != NOMINATIM_PUBLIC:
        return
    agent = settings.user_agent or ""
    if (
        not agent
        or agent.startswith(("geopy/", "fieldsync/"))
        or not ("@" in agent or "http" in agent)
    ):
        raise ConfigurationError(
            "FIELDSYNC_GEOCODER_USER_AGENT must identify this deployment with contact details "
            "(e.g. 'acme-fieldsync/1.0 (ops@acme.example)') to use nominatim.openstreetmap.org"
        )
