"""What a sweep looks up among a device's rows (``pull.held_among``, ``pull.marked_rows``): the
right answer on both databases, and on PostgreSQL an index look-up whatever the planner
believes, not a filter over all the device's rows."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import insert, update

from fieldsync.extensions import db
from fieldsync.sync.models import DeviceScope
from fieldsync.sync.pull import held_among, marked_rows
from tests.conftest import World, login


def _device_holding(app: Flask, client: Any, world: World, count: int) -> tuple[uuid.UUID, list]:
    """A device of the rep with ``count`` accounts held from generation 1; returns its id and
    the held ids."""
    device_id = uuid.UUID(str(login(client, world.rep.email)["device_id"]))
    held = sorted(uuid.uuid4() for _ in range(count))
    rows = [
        {"device_id": device_id, "entity": "accounts", "record_id": rid, "added_in": 1,
         "removed_in": None}
        for rid in held
    ]  # fmt: skip
    with app.app_context():
        db.session.execute(insert(DeviceScope), rows)
        db.session.commit()
    return device_id, held


def test_only_what_the_device_holds_at_the_generation(
    app: Flask, client: Any, world: World
) -> None:
    device_id, held = _device_holding(app, client, world, 20)
    later, gone, elsewhere = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with app.app_context():
        db.session.execute(
            insert(DeviceScope),
            [
                {"device_id": device_id, "entity": "accounts", "record_id": later,
                 "added_in": 3, "removed_in": None},  # handed out after generation 2
                {"device_id": device_id, "entity": "accounts", "record_id": gone,
                 "added_in": 1, "removed_in": 2},  # removed by generation 2
                {"device_id": device_id, "entity": "territories", "record_id": elsewhere,
                 "added_in": 1, "removed_in": None},  # another entity
            ],
        )  # fmt: skip
        asked = [*held[:5], later, gone, elsewhere, uuid.uuid4()]
        found = db.session.execute(held_among(db.session, device_id, 2, "accounts", asked))
        assert sorted(found.scalars()) == held[:5]
        assert db.session.execute(held_among(db.session, device_id, 2, "accounts", [])).all() == []


def test_the_rows_a_sweep_may_clean_up(app: Flask, client: Any, world: World) -> None:
    device_id, held = _device_holding(app, client, world, 10)
    with app.app_context():
        db.session.execute(
            update(DeviceScope).where(DeviceScope.record_id == held[0]).values(removed_in=2)
        )
        db.session.execute(
            update(DeviceScope).where(DeviceScope.record_id == held[1]).values(added_in=3)
        )
        db.session.execute(
            update(DeviceScope)
            .where(DeviceScope.record_id == held[2])
            .values(added_in=3, removed_in=3)
        )
        rows = sorted(db.session.execute(marked_rows(device_id, 2)).all(), key=lambda r: r[1])
    assert rows == sorted(
        [("accounts", held[0], 1, 2), ("accounts", held[1], 3, None), ("accounts", held[2], 3, 3)],
        key=lambda r: r[1],
    )


def test_postgresql_answers_from_indexes_not_by_reading_the_device_s_rows(
    app: Flask, client: Any, world: World, dialect: str
) -> None:
    if dialect != "postgresql":
        pytest.skip("a PostgreSQL plan; the answers are tested on both databases above")
    device_id, held = _device_holding(app, client, world, 3000)
    with app.app_context():
        lookup = _plan(held_among(db.session, device_id, 1, "accounts", held[:60]))
        cleanup = _plan(marked_rows(device_id, 1))
    for nodes in (lookup, cleanup):
        assert any(n.get("Relation Name") == "device_scopes" for n in nodes), nodes
        # Not a filter over the device's 3,000 rows.
        assert sum(n.get("Rows Removed by Filter", 0) for n in nodes) < 60, nodes
    scans = [n for n in lookup if n.get("Relation Name") == "device_scopes"]
    assert all("record_id" in n.get("Index Cond", "") for n in scans), scans


def _plan(statement: Any) -> list[dict[str, Any]]:
    compiled = statement.compile(dialect=db.engine.dialect)
    raw = (
        db.session.connection()
        .exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled.string}", compiled.params)
        .scalar_one()
    )
    plan = raw if isinstance(raw, list) else json.loads(raw)
    return list(_nodes(plan[0]["Plan"]))


def _nodes(node: dict[str, Any]) -> Any:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)
