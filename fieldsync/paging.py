"""Keyset paging, the one way the lists page: rows in a fixed ``(key, id)`` order, and the last
pair of a page carried in an opaque cursor (stable while rows are added or removed, unlike an
offset). Nothing here knows of Flask."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, TypeDecorator, and_, or_
from sqlalchemy.orm import Session

from fieldsync.exceptions import ValidationError
from fieldsync.schemas import decode_cursor, encode_cursor


def _damaged() -> ValidationError:
    return ValidationError("Invalid cursor.", fields={"cursor": ["Damaged."]})


def _load_key(raw: Any, column: Any) -> Any:
    """The cursor's key value as the column's Python type (dates and times travel as ISO)."""
    column_type = column.type
    if isinstance(column_type, TypeDecorator):  # our UTCDateTime: the type it decorates
        column_type = column_type.impl_instance
    kind = column_type.python_type
    if kind is datetime:
        value = datetime.fromisoformat(str(raw))
        if value.tzinfo is None:
            raise ValueError("naive instant")
        return value
    if kind is date:
        return date.fromisoformat(str(raw))
    return kind(raw)


def _dump_key(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def keyset_page(
    session: Session,
    stmt: Select[Any],
    *,
    id_column: Any,
    cursor: str | None,
    limit: int | None,
    key: Any = None,
    descending: bool = False,
) -> tuple[list[Any], str | None]:
    """One page of ``stmt`` ordered by ``(key, id)`` (or the id alone), and the next cursor.

    ``descending`` pages newest first. ``limit`` None returns every row (no cursor).
    """
    position = decode_cursor(cursor)
    if position is not None:
        try:
            after = uuid.UUID(str(position["i"]))
            value = _load_key(position["k"], key) if key is not None else None
        except (KeyError, TypeError, ValueError):
            raise _damaged() from None
        beyond = id_column < after if descending else id_column > after
        if key is not None:
            further = key < value if descending else key > value
            beyond = or_(further, and_(key == value, beyond))
        stmt = stmt.where(beyond)
    columns = [id_column] if key is None else [key, id_column]
    stmt = stmt.order_by(*(column.desc() if descending else column for column in columns))
    if limit is None:
        return list(session.execute(stmt).scalars()), None
    rows = list(session.execute(stmt.limit(limit + 1)).scalars())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    state: dict[str, Any] = {"i": str(getattr(last, id_column.key))}
    if key is not None:
        state["k"] = _dump_key(getattr(last, key.key))
    return rows[:limit], encode_cursor(state)
