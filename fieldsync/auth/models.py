"""Organisations, users, their devices and login sessions."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fieldsync.db import Base, TimestampedMixin

ROLES = ("admin", "manager", "rep")


class Organisation(TimestampedMixin, Base):
    __tablename__ = "organisations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Rome")

    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(TimestampedMixin, Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    # Login names an email only, so emails are unique across organisations (stored lowercased).
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    manager_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"), index=True)
    home_lat: Mapped[float | None]
    home_lon: Mapped[float | None]
    active: Mapped[bool] = mapped_column(default=True)
    version: Mapped[int] = mapped_column(default=1)

    organisation: Mapped[Organisation] = relationship(back_populates="users")


class Device(TimestampedMixin, Base):
    """A phone (or other client) registered at login; revoking it locks its tokens out."""

    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    platform: Mapped[str | None] = mapped_column(String(40))
    app_version: Mapped[str | None] = mapped_column(String(40))
    revoked_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    last_push_at: Mapped[datetime | None]
    last_pull_at: Mapped[datetime | None]
    last_changeset_id: Mapped[uuid.UUID | None]
    # Sync bookkeeping: the watermark reached by the last complete pull (for the lag shown to
    # admins), the last scope generation handed out and the sweep in progress.
    pull_position: Mapped[int | None]
    pull_generation: Mapped[int] = mapped_column(default=0, server_default="0")
    pull_sweep_id: Mapped[uuid.UUID | None]


class AuthSession(TimestampedMixin, Base):
    """One login on one device: holds the current refresh token of a rotating chain.

    The refresh token is ``<session id>.<generation>.<secret>``; only a hash of the secret is
    kept. Presenting an older generation means a token was stolen and replayed, so the whole
    session is revoked (refresh token reuse detection).
    """

    __tablename__ = "auth_sessions"
    __table_args__ = (Index("ix_auth_sessions_device_active", "device_id", "revoked_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"), index=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    device_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("devices.id"))
    generation: Mapped[int] = mapped_column(default=1)
    refresh_hash: Mapped[str] = mapped_column(String(128))
    refresh_expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_reason: Mapped[str | None] = mapped_column(String(40))
