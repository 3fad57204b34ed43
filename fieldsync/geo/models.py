"""Territories: polygons or postal-code lists, and the reps assigned to them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldsync.db import Base, TimestampedMixin


class Territory(TimestampedMixin, Base):
    __tablename__ = "territories"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    color: Mapped[str | None] = mapped_column(String(7))
    geometry: Mapped[dict[str, Any] | None]
    postal_codes: Mapped[list[Any] | None]
    country: Mapped[str | None] = mapped_column(String(2))
    # Equal-area-ish size (km², on a local projection) so "smallest area wins" is meaningful.
    area_km2: Mapped[float | None]
    version: Mapped[int] = mapped_column(default=1)
    deleted_at: Mapped[datetime | None]


class TerritoryRep(Base):
    """Assignment of a rep to a territory (many to many)."""

    __tablename__ = "territory_reps"

    territory_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("territories.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
