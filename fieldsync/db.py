"""Database foundations: the declarative base, portable column types, the unit of work."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, MetaData, Uuid, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, registry
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite: same Python values on both.
# None is SQL NULL, never the JSON value null: a column reads NULL whether a record never set
# it or set it to None, and the unit of work sends every new row of a table with the same
# columns, so a flush inserts them in one multi-row statement (a new visit with a check-in
# and a new call without one used to break the batch: one INSERT per interaction).
JSONType = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")

# JSON columns are written and read with orjson: a pushed changeset writes thousands of small
# JSON values (each record's field stamps, the stored response), and the standard library spent
# an eighth of a push's CPU on them. orjson cannot write integers beyond 64 bits or keys that
# are not text, and reads such integers back as floats: those values take the standard library
# both ways, so every value reads back exactly as it was written.
#
# A run of 19 digits: maybe an integer beyond 64 bits. Found by mapping every digit to "0"
# and searching for 19 of them, in C: a regular expression took longer than orjson's parse.
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_NINETEEN_DIGITS = b"0" * 19


def _has_long_integer(data: bytes) -> bool:
    return _NINETEEN_DIGITS in data.translate(_DIGITS_AS_ZERO)


def json_bytes(value: Any) -> bytes:
    """A value as UTF-8 JSON: a JSON column's (PostgreSQL's driver takes bytes), or a response
    body. Never fails on a value a client could send (``orjson.dumps`` fails on big integers)."""
    try:
        return orjson.dumps(value)
    except TypeError:  # an integer beyond 64 bits, a key that is not text
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def json_text(value: Any) -> str:
    """A JSON column's value as JSON text (SQLite's column is text)."""
    return json_bytes(value).decode()


def json_column_loads(data: bytes | str) -> Any:
    """Read a JSON column's value back, exactly (long integers included)."""
    if _has_long_integer(data if isinstance(data, bytes) else data.encode("utf-8", "replace")):
        return json.loads(data)
    return orjson.loads(data)


def utcnow() -> datetime:
    """Return the current time, aware, in UTC."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone, PostgreSQL converts to the session zone: normalising on the way in
    and out makes both return the same aware UTC value.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        if value.tzinfo is not UTC:
            value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    # One registry carries the naming convention and the portable types (Flask-SQLAlchemy
    # subclasses this base, so they cannot live on the class itself).
    registry = registry(
        metadata=MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={
            datetime: UTCDateTime(),
            uuid.UUID: Uuid(),
            dict[str, Any]: JSONType,
            list[Any]: JSONType,
        },
    )


class TimestampedMixin:
    """created_at / updated_at maintained by the ORM."""

    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    """Enforce foreign keys, use WAL, and take transaction control away from pysqlite.

    pysqlite emits BEGIN itself, late and not before SAVEPOINT, which breaks savepoints (a
    RELEASE would commit). SQLAlchemy's documented recipe: autocommit at the driver, and our
    own BEGIN when SQLAlchemy starts a transaction (see ``_sqlite_begin``).
    """
    module = type(dbapi_connection).__module__
    if not module.startswith("sqlite3"):
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_begin(connection: Any) -> None:
    """Start SQLite transactions as writers (IMMEDIATE).

    A deferred transaction that read first cannot become a writer once another writer has
    committed (SQLITE_BUSY_SNAPSHOT, not retried by busy_timeout). Taking the write lock at
    BEGIN makes transactions queue for it instead: SQLite has one writer anyway.
    """
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextmanager
def unit_of_work(session: Session) -> Iterator[Session]:
    """Commit once if the block succeeds, roll back everything if it raises."""
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
