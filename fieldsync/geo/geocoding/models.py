"""The geocoding cache: one answer per (provider, normalised address), found or not.

The cache sits in front of the provider and its rate limit, so an address is never sent twice
(Nominatim's policy asks for exactly this). The key is the SHA-256 of the normalised address:
the table holds no address text of its own, and ``raw`` (the provider's answer) is kept for
audits and re-mapping precision without asking again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from fieldsync.db import Base


class GeocodeCacheEntry(Base):
    __tablename__ = "geocode_cache"

    # "nominatim@nominatim.openstreetmap.org", "offline:geonames-2025-12-30": entries of one
    # service never answer for another (Google's terms also limit how long its answers stay).
    provider: Mapped[str] = mapped_column(String(120), primary_key=True)
    address_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    status: Mapped[str] = mapped_column(String(16))  # found | not_found
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    precision: Mapped[str | None] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(300))
    country: Mapped[str | None] = mapped_column(String(2))
    reason: Mapped[str | None] = mapped_column(String(300))  # why not found
    raw: Mapped[dict[str, Any] | None]
    fetched_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]  # null: valid until the provider or address changes
