"""The change log: one row per record write, and the positions pull cursors are made of.

Ordering on PostgreSQL: ``seq`` is handed out when a row is inserted, before its transaction
commits, so a transaction holding a lower ``seq`` can commit after a reader has moved past it.
Each row therefore also records its transaction id (``txid``). A pull sweep reads the changes of
every transaction at or above a watermark ``W`` and, once it has read everything, moves ``W`` to
the oldest transaction still running when the sweep began (``pg_snapshot_xmin``). Every
transaction below that watermark had finished before the sweep started, so all its rows were
visible to the sweep; anything at or above it is read again by the next sweep. No change is
skipped; some are delivered twice, which an upsert at the latest version makes harmless.

SQLite allows one writer at a time, so ``seq`` order is commit order and the watermark is simply
the highest ``seq`` read.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import BigInteger, Uuid, event, func, insert, literal, literal_column, select
from sqlalchemy.orm import Session

from fieldsync.db import UTCDateTime
from fieldsync.records import Write, on_record_written
from fieldsync.sync.models import Change

ROOT_ENTITIES = ("territories", "accounts", "tasks")


def _account_of(write: Write) -> Any:
    if write.entity == "accounts":
        return write.record.id
    return getattr(write.record, "account_id", None)


def _txid(session: Session) -> Any:
    """The writing transaction's id (PostgreSQL), as SQL evaluated by the INSERT."""
    if session.get_bind().dialect.name == "postgresql":
        return literal_column("pg_current_xact_id()::text::bigint")
    return None


def record_change(session: Session, write: Write) -> None:
    """Append the write to the change log, in the writer's transaction."""
    row = {
        "org_id": write.record.org_id,
        "entity": write.entity,
        "record_id": write.record.id,
        "account_id": _account_of(write),
        "prev_account_id": write.moved_from,
        "version": write.record.version,
        "changed_at": write.record.updated_at,
    }
    deferred: list[tuple[Any, dict[str, Any]]] | None = session.info.get(DEFERRED_KEY)
    if deferred is not None:
        # Inside ``deferred_changes``: noted with the (sub)transaction that wrote it.
        real = session if isinstance(session, Session) else session()  # a scoped_session
        deferred.append((real.get_nested_transaction() or real.get_transaction(), row))
        return
    session.add(Change(**row, txid=_txid(session)))


# --- many writes, one insert -----------------------------------------------------------------

DEFERRED_KEY = "fieldsync.deferred_changes"


@contextmanager
def deferred_changes(session: Session) -> Iterator[None]:
    """Collect the change-log rows of the block's writes and insert them in one statement when
    it ends, in the order of the writes (a pushed changeset: one round trip, not hundreds),
    a record's repeated rows once (see ``_without_repeats``).

    The rows are part of the same transaction as the writes, before it commits, as
    ``record_change`` would have added them; those of writes that a savepoint rolled back are
    dropped with them (see ``_drop_rolled_back``). A block that raises inserts nothing.
    """
    rows: list[tuple[Any, dict[str, Any]]] = []
    session.info[DEFERRED_KEY] = rows
    try:
        yield
    finally:
        session.info.pop(DEFERRED_KEY, None)
    if rows:
        statement = insert(Change.__table__).values(txid=_txid(session))
        session.execute(statement, _without_repeats([row for _, row in rows]))


def _without_repeats(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows minus those a later row of the same record says again: a pull reads which
    records changed (and under which account), not each version, so of an account created and
    then stamped by a visit in the same changeset one row is enough. A row that names the
    account a child left, or another account than the later row, is kept."""
    last = {(row["entity"], row["record_id"]): row for row in rows}
    return [
        row
        for row in rows
        if last[row["entity"], row["record_id"]] is row
        or row["prev_account_id"] is not None
        or row["account_id"] != last[row["entity"], row["record_id"]]["account_id"]
    ]


def _within(transaction: Any, ancestor: Any) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


@event.listens_for(Session, "after_soft_rollback")
def _drop_rolled_back(session: Session, previous_transaction: Any) -> None:
    """A rolled-back (sub)transaction takes its deferred change-log rows with it."""
    rows: list[tuple[Any, dict[str, Any]]] | None = session.info.get(DEFERRED_KEY)
    if rows:
        rows[:] = [item for item in rows if not _within(item[0], previous_transaction)]


def record_account_changes(
    session: Session, org_id: Any, account_ids: Any, changed_at: Any
) -> None:
    """Log a bulk server write of accounts (territory placement) in one INSERT ... SELECT,
    reading each account's new version: the same rows ``record_change`` writes one by one.
    ``account_ids``: a list of ids, or a subquery of them."""
    if isinstance(account_ids, list) and not account_ids:
        return
    from fieldsync.portfolio.models import Account

    txid: Any = literal(None, BigInteger)
    if session.get_bind().dialect.name == "postgresql":
        txid = literal_column("pg_current_xact_id()::text::bigint")
    source = select(
        literal(org_id, Uuid), literal("accounts"), Account.id, Account.id, Account.version,
        txid, literal(changed_at, UTCDateTime()),
    ).where(Account.id.in_(account_ids))  # fmt: skip
    session.execute(
        insert(Change).from_select(
            ["org_id", "entity", "record_id", "account_id", "version", "txid", "changed_at"],
            source,
        )
    )


def log_account_update(session: Session, org_id: Any, statement: Any, changed_at: Any) -> None:
    """Run a bulk server UPDATE of accounts that bumps their version, and log each account it
    updated, in one statement: the UPDATE is a data-modifying CTE whose ``RETURNING`` feeds
    the INSERT into the change log (PostgreSQL only)."""
    from fieldsync.portfolio.models import Account

    moved = statement.returning(Account.id, Account.version).cte("moved")
    source = select(
        literal(org_id, Uuid), literal("accounts"), moved.c.id, moved.c.id, moved.c.version,
        literal_column("pg_current_xact_id()::text::bigint"), literal(changed_at, UTCDateTime()),
    )  # fmt: skip
    session.execute(
        insert(Change).from_select(
            ["org_id", "entity", "record_id", "account_id", "version", "txid", "changed_at"],
            source,
        )
    )


def install() -> None:
    """Hook the change log into the write path (idempotent)."""
    on_record_written(record_change)


def watermark_expression(session: Session) -> Any:
    """SQL for ``current_watermark``, to read it together with other values."""
    if session.get_bind().dialect.name == "postgresql":
        return literal_column("pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    return select(func.coalesce(func.max(Change.seq), 0)).scalar_subquery()


def current_watermark(session: Session) -> int:
    """Where the next sweep may start: below it every change is committed and visible."""
    return int(session.execute(select(watermark_expression(session))).scalar_one())
