"""Geocoding an address: the cache first, then the provider; outcomes "ok", "failed" (no usable
result, with the reason) or "unavailable" (the provider did not answer: try again later).

``GeocodingService`` separates the database steps (``cached``, ``remember``) from the network
step (``ask``) so that a batch can ask a slow provider outside any database transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from fieldsync.db import utcnow
from fieldsync.exceptions import APIError
from fieldsync.geo.geocoding.models import GeocodeCacheEntry
from fieldsync.geo.geocoding.providers import Provider, build_provider
from fieldsync.geo.geocoding.results import (
    AddressQuery,
    GeocodingUnavailableError,
    Match,
    ReverseMatch,
)
from fieldsync.geo.geocoding.settings import GeocodingSettings
from fieldsync.geo.geocoding.text import GAZETTEER_COUNTRIES, address_key

# A "not found" is asked again after a while (the provider's data grows).
NOT_FOUND_TTL = timedelta(days=30)
# Google's terms allow caching its answers for 30 days.
FOUND_TTL = {"google": timedelta(days=30), "googlev3": timedelta(days=30)}


class GeocoderUnavailableError(APIError):
    """503 for the API: the geocoding service does not answer; come back later."""

    status, code = 503, "unavailable"


@dataclass(frozen=True)
class Outcome:
    """What geocoding an address came to."""

    status: Literal["ok", "failed", "unavailable"]
    match: Match | None = None
    reason: str | None = None
    retry_after: float | None = None
    cached: bool = False


def cache_key(address: AddressQuery) -> str:
    return address_key(address.parts())[1]


class GeocodingService:
    """One provider behind the cache."""

    def __init__(self, provider: Provider, *, settings: GeocodingSettings | None = None) -> None:
        self.provider = provider
        self.settings = settings or GeocodingSettings(service=provider.service)

    @classmethod
    def from_settings(cls, settings: GeocodingSettings) -> GeocodingService:
        return cls(build_provider(settings), settings=settings)

    @property
    def attribution(self) -> str:
        return self.provider.attribution

    @property
    def offline(self) -> bool:
        return self.provider.service == "offline"

    # --- one address ---------------------------------------------------------------------

    def geocode(
        self, session: Session, address: AddressQuery, *, now: datetime | None = None
    ) -> Outcome:
        """Cache, else provider (then cached); never raises for a provider outage."""
        if address.is_empty:
            return Outcome("failed", reason="The address has no street, postal code or city.")
        key = cache_key(address)
        outcome = self.cached(session, key, now=now)
        if outcome is None:
            outcome = self.ask(address)
            self.remember(session, key, outcome, now=now)
        return outcome

    def ask(self, address: AddressQuery) -> Outcome:
        """The provider's answer (no database): the network step of a batch."""
        if self.offline and address.country and address.country not in GAZETTEER_COUNTRIES:
            covered = ", ".join(GAZETTEER_COUNTRIES)
            return Outcome(
                "failed",
                reason=f"offline: no data for {address.country} in the "
                f"embedded gazetteer ({covered}); configure FIELDSYNC_GEOCODER",
            )
        try:
            lookup = self.provider.lookup(address)
        except GeocodingUnavailableError as error:
            return Outcome("unavailable", reason=error.reason, retry_after=error.retry_after)
        if lookup.match is None:
            return Outcome("failed", reason=lookup.reason)
        return Outcome("ok", match=lookup.match)

    def cached(self, session: Session, key: str, *, now: datetime | None = None) -> Outcome | None:
        entry = session.get(GeocodeCacheEntry, (self.provider.cache_name, key))
        if entry is None or (
            entry.expires_at is not None and entry.expires_at <= (now or utcnow())
        ):
            return None
        if entry.status != "found" or entry.lat is None or entry.lon is None:
            return Outcome("failed", reason=entry.reason, cached=True)
        match = Match(
            entry.lat,
            entry.lon,
            entry.precision or "locality",
            entry.label or "",
            entry.country,
            raw=entry.raw or {},
        )
        return Outcome("ok", match=match, cached=True)

    def remember(
        self, session: Session, key: str, outcome: Outcome, *, now: datetime | None = None
    ) -> None:
        """Store a found or not-found answer; an outage is never cached."""
        if outcome.status == "unavailable" or outcome.cached:
            return
        now = now or utcnow()
        match = outcome.match
        ttl = FOUND_TTL.get(self.provider.service) if match else NOT_FOUND_TTL
        values: dict[str, Any] = {
            "provider": self.provider.cache_name,
            "address_key": key,
            "status": "found" if match else "not_found",
            "lat": match.lat if match else None,
            "lon": match.lon if match else None,
            "precision": match.precision if match else None,
            "label": match.label[:300] if match else None,
            "country": match.country if match else None,
            "reason": (outcome.reason or "")[:300] or None,
            "raw": match.raw if match else None,
            "fetched_at": now,
            "expires_at": now + ttl if ttl else None,
        }
        _upsert(session, values)

    # --- forms ---------------------------------------------------------------------------

    def suggest(
        self, *, address: AddressQuery | None = None, query: str | None = None, limit: int = 5
    ) -> list[Match]:
        """Candidates for a form, best first; 503 when the provider is down."""
        try:
            if address is not None:
                return self.provider.candidates(address, limit)
            return self.provider.candidates(str(query), limit)
        except GeocodingUnavailableError as error:
            raise _unavailable(error) from error

    def reverse(self, lat: float, lon: float) -> ReverseMatch | None:
        try:
            return self.provider.reverse(lat, lon)
        except GeocodingUnavailableError as error:
            raise _unavailable(error) from error


def _unavailable(error: GeocodingUnavailableError) -> GeocoderUnavailableError:
    retry_after = max(1, round(error.retry_after or 30))
    return GeocoderUnavailableError(
        f"The geocoding service is unavailable ({error.reason}); retry later.",
        headers={"Retry-After": str(retry_after)},
    )


def _upsert(session: Session, values: dict[str, Any]) -> None:
    """Insert or replace one cache entry (two workers may geocode the same address)."""
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    statement = insert(GeocodeCacheEntry).values(**values)
    updates = {k: statement.excluded[k] for k in values if k not in ("provider", "address_key")}
    session.execute(
        statement.on_conflict_do_update(index_elements=["provider", "address_key"], set_=updates)
    )


def forget_address(session: Session, address: AddressQuery) -> int:
    """Drop an address's cache entries, every provider (GDPR erasure of a person's address)."""
    key = cache_key(address)
    entries = session.execute(
        select(GeocodeCacheEntry).where(GeocodeCacheEntry.address_key == key)
    ).scalars()
    count = 0
    for entry in entries:
        session.delete(entry)
        count += 1
    return count
