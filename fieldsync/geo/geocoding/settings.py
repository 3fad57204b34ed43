"""Geocoding settings, read from the app's FIELDSYNC_* configuration.

- ``FIELDSYNC_GEOCODER``: ``offline`` (default, the embedded GeoNames gazetteer) or a geopy
  service name: ``nominatim``, ``photon``, ``pelias``, ``googlev3``, ...
- ``FIELDSYNC_GEOCODER_DOMAIN``: the server, e.g. ``nominatim.internal:8080`` when
  self-hosted (default: the service's public host).
- ``FIELDSYNC_GEOCODER_SCHEME`` (``https``), ``FIELDSYNC_GEOCODER_API_KEY`` (Pelias, Google).
- ``FIELDSYNC_GEOCODER_USER_AGENT``: required, with contact details, for
  nominatim.openstreetmap.org (the app refuses to start without it).
- ``FIELDSYNC_GEOCODER_TIMEOUT``: seconds per request, default 10 (geopy's 1 s times out on
  busy servers).
- ``FIELDSYNC_GEOCODER_MIN_DELAY``: seconds between requests for the whole deployment;
  default 1 for the public Nominatim and Photon (never less for Nominatim), else 0.
- ``FIELDSYNC_GEOCODE_INLINE``: geocode an account while its address is written; default
  true for ``offline``, false for network services.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fieldsync.config import ConfigurationError


def _text(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def _number(config: Mapping[str, Any], name: str, default: float | None) -> float | None:
    value = config.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"FIELDSYNC_{name} must be a number, got {value!r}") from None
    if number < 0:
        raise ConfigurationError(f"FIELDSYNC_{name} must not be negative")
    return number


def _flag(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class GeocodingSettings:
    """Which service geocodes, how to reach it and how politely."""

    service: str = "offline"
    domain: str | None = None
    scheme: str | None = None
    api_key: str | None = None
    user_agent: str | None = None
    timeout: float = 10.0
    min_delay: float | None = None  # None: the service's own default
    inline: bool = True
    redis_url: str | None = None

    @property
    def offline(self) -> bool:
        return self.service == "offline"

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> GeocodingSettings:
        service = (_text(config.get("GEOCODER")) or "offline").lower()
        return cls(
            service=service,
            domain=_text(config.get("GEOCODER_DOMAIN")),
            scheme=_text(config.get("GEOCODER_SCHEME")),
            api_key=_text(config.get("GEOCODER_API_KEY")),
            user_agent=_text(config.get("GEOCODER_USER_AGENT")),
            timeout=_number(config, "GEOCODER_TIMEOUT", 10.0) or 10.0,
            min_delay=_number(config, "GEOCODER_MIN_DELAY", None),
            # Inline costs nothing with the embedded gazetteer; a network service would hold
            # a request (and a database transaction) for a round trip, so it is opt-in there.
            inline=_flag(config.get("GEOCODE_INLINE"), service == "offline"),
            redis_url=_text(config.get("REDIS_URL")),
        )
