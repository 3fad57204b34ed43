"""A segment is a named, saved set of account-list filters, shared by the organisation."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldsync.db import Base, TimestampedMixin


class Segment(TimestampedMixin, Base):
    __tablename__ = "segments"
    # One name per organisation: the console lists segments by name.
    __table_args__ = (UniqueConstraint("org_id", "name"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # The filters in their wire form (``AccountFilterSchema``), loaded again at each use so a
    # segment means what the same query string means today (``due`` is relative to now).
    filters: Mapped[dict[str, Any]]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
