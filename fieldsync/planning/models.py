"""Stored visit plans: one per rep and local date, replaced in place when the day is re-planned.

A plan is a synced record like an account (``version``, field stamps, soft delete), written only
through ``records.mark_written`` so the change log, and so phones, see every change. Its stops,
unassigned accounts and totals are JSON in the wire's own shape: a plan is read and written
whole, never queried by stop.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from fieldsync.db import Base
from fieldsync.portfolio.models import SyncedRecordMixin

STOP_STATUSES = ("planned", "done", "skipped")


class VisitPlan(SyncedRecordMixin, Base):
    __tablename__ = "visit_plans"
    __table_args__ = (
        # One plan per rep and day: re-planning a day rewrites this row (same id, next version),
        # so a phone never holds two plans for the same day.
        UniqueConstraint("org_id", "rep_id", "date", name="uq_visit_plans_org_rep_date"),
    )

    rep_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    date: Mapped[date]
    # [{"account_id", "arrival", "departure", "travel_minutes", "distance_km", "status"}]
    stops: Mapped[list[Any]]
    unassigned: Mapped[list[Any]]  # [{"account_id", "reason"}]
    totals: Mapped[dict[str, Any]]  # {"distance_km", "travel_minutes", "visits"}
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    def stop(self, account_id: uuid.UUID | str) -> dict[str, Any] | None:
        """The stop at ``account_id``, or None."""
        wanted = str(account_id)
        return next((s for s in self.stops or [] if s.get("account_id") == wanted), None)
