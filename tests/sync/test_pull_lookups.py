"""Which of some roots a device holds (``pull.held_among``): the right answer on both
databases, and on PostgreSQL a primary-key look-up per id whatever the planner believes."""

from __future__ import annotations

import json
import uuid
from typing import Any

from flask import Flask
from sqlalchemy import insert

from fieldsync.extensions import db
from fieldsync.sync.models import DeviceScope
from fieldsync.sync.pull import held_among
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


def test_postgresql_looks_each_id_up_by_the_primary_key(
    app: Flask, client: Any, world: World, dialect: str
) -> None:
    if dialect != "postgresql":
        return  # SQLite: ``record_id IN (...)``, which it answers from the primary key
    device_id, held = _device_holding(app, client, world, 3000)
    with app.app_context():
        statement = held_among(db.session, device_id, 1, "accounts", held[:60])
        compiled = statement.compile(dialect=db.engine.dialect)
        connection = db.session.connection()
        raw = connection.exec_driver_sql(
            f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled.string}", compiled.params
        ).scalar_one()
    plan = raw if isinstance(raw, list) else json.loads(raw)
    nodes = list(_nodes(plan[0]["Plan"]))
    scans = [n for n in nodes if n.get("Relation Name") == "device_scopes"]
    assert scans and all("record_id" in n.get("Index Cond", "") for n in scans), scans
    # Not a filter over the device's 3,000 rows.
    assert sum(n.get("Rows Removed by Filter", 0) for n in nodes) < 60, nodes


def _nodes(node: dict[str, Any]) -> Any:
    yield node
    for child in node.get("Plans", []):
        yield from _nodes(child)
