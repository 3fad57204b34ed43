"""The client portfolio: accounts, their contacts, the interaction history and tasks.

Every record carries ``version`` (bumped by each write), soft-delete ``deleted_at`` and
``org_id``. Nested objects of the wire format (address, location) are flat columns here so they
can be filtered and indexed on both databases.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Numeric, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from fieldsync.db import Base, TimestampedMixin


class SyncedRecordMixin(TimestampedMixin):
    """Columns every record a phone holds shares."""

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    version: Mapped[int] = mapped_column(default=1)
    deleted_at: Mapped[datetime | None]
    # Per wire field: the record version that last changed it, and when (real time, device
    # clocks corrected). The field-level merge of sync decides with these.
    field_versions: Mapped[dict[str, Any] | None]
    field_times: Mapped[dict[str, Any] | None]


class Account(SyncedRecordMixin, Base):
    __tablename__ = "accounts"
    __table_args__ = (
        # Every index costs each write of an account (a territory placement rewrites 100,000
        # rows): (org_id, owner_id) is served by ix_accounts_org_scope's prefix, and only the
        # accounts waiting for the geocoder need to be found by their next attempt.
        Index("ix_accounts_org_territory", "org_id", "territory_id"),
        Index("ix_accounts_org_visit_due", "org_id", "visit_due_at"),
        Index(
            "ix_accounts_geocode_due",
            "geocode_status",
            "geocode_next_attempt_at",
            postgresql_where=text("geocode_status = 'pending'"),
            sqlite_where=text("geocode_status = 'pending'"),
        ),
        # Everything ``auth.scope`` tests, and the id: a pull compares a device's scope with
        # the accounts it may see from this index alone (an index-only scan on PostgreSQL).
        Index("ix_accounts_org_scope", "org_id", "owner_id", "territory_id", "deleted_at", "id"),
    )

    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(300))
    title: Mapped[str | None] = mapped_column(String(100))
    first_name: Mapped[str | None] = mapped_column(String(150))
    last_name: Mapped[str | None] = mapped_column(String(150))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    mobile: Mapped[str | None] = mapped_column(String(40))
    website: Mapped[str | None] = mapped_column(String(500))
    industry: Mapped[str | None] = mapped_column(String(100))
    vat_number: Mapped[str | None] = mapped_column(String(40))
    legal_form: Mapped[str | None] = mapped_column(String(60))
    annual_revenue: Mapped[float | None] = mapped_column(Numeric(18, 2, asdecimal=False))
    employees: Mapped[int | None]
    street: Mapped[str | None] = mapped_column(String(300))
    postal_code: Mapped[str | None] = mapped_column(String(20))
    city: Mapped[str | None] = mapped_column(String(150))
    region: Mapped[str | None] = mapped_column(String(150))
    country: Mapped[str | None] = mapped_column(String(2))
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    location_precision: Mapped[str | None] = mapped_column(String(16))
    location_source: Mapped[str | None] = mapped_column(String(16))
    geocode_status: Mapped[str | None] = mapped_column(String(16))
    geocode_error: Mapped[str | None] = mapped_column(String(300))
    # Server-internal, never on the wire: a provider outage backs off per account.
    geocode_attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    geocode_next_attempt_at: Mapped[datetime | None]
    territory_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("territories.id"))
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    tags: Mapped[list[Any] | None]
    color: Mapped[str | None] = mapped_column(String(7))
    contact_preference: Mapped[str | None] = mapped_column(String(16))
    visit_every_days: Mapped[int | None]
    opening_hours: Mapped[dict[str, Any] | None]
    consent: Mapped[dict[str, Any] | None]
    notes: Mapped[str | None] = mapped_column(Text)
    custom: Mapped[dict[str, Any] | None]
    last_visit_at: Mapped[datetime | None]
    # Server-maintained: when the cadence next falls due (null when there is no cadence).
    visit_due_at: Mapped[datetime | None]
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    ADDRESS_FIELDS = ("street", "postal_code", "city", "region", "country")

    @property
    def address(self) -> dict[str, Any] | None:
        """The wire's nested address, or None when every part is empty."""
        values = {name: getattr(self, name) for name in self.ADDRESS_FIELDS}
        return values if any(v is not None for v in values.values()) else None

    @property
    def location(self) -> dict[str, Any] | None:
        """The wire's nested location, or None when the account is not on the map."""
        if self.lat is None or self.lon is None:
            return None
        return {
            "lat": self.lat,
            "lon": self.lon,
            "precision": self.location_precision,
            "source": self.location_source,
        }


class Contact(SyncedRecordMixin, Base):
    __tablename__ = "contacts"
    __table_args__ = (Index("ix_contacts_org_account", "org_id", "account_id"),)

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    first_name: Mapped[str | None] = mapped_column(String(150))
    last_name: Mapped[str] = mapped_column(String(150))
    role: Mapped[str | None] = mapped_column(String(150))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(40))
    is_primary: Mapped[bool | None]
    notes: Mapped[str | None] = mapped_column(Text)


class Interaction(SyncedRecordMixin, Base):
    __tablename__ = "interactions"
    __table_args__ = (
        Index("ix_interactions_org_account", "org_id", "account_id"),
        Index("ix_interactions_org_user", "org_id", "user_id"),
    )

    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    contact_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("contacts.id"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime]
    duration_minutes: Mapped[int | None]
    outcome: Mapped[str | None] = mapped_column(Text)
    report: Mapped[str | None] = mapped_column(Text)
    check_in: Mapped[dict[str, Any] | None]
    check_out: Mapped[dict[str, Any] | None]
    verification: Mapped[dict[str, Any] | None]
    verification_status: Mapped[str | None] = mapped_column(String(16))
    next_step: Mapped[str | None] = mapped_column(Text)


class Task(SyncedRecordMixin, Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_org_account", "org_id", "account_id"),
        Index("ix_tasks_org_assignee", "org_id", "assignee_id"),
    )

    account_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("accounts.id"))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    title: Mapped[str] = mapped_column(String(300))
    kind: Mapped[str | None] = mapped_column(String(16))
    due_at: Mapped[datetime | None]
    done: Mapped[bool | None]
    done_at: Mapped[datetime | None]
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
