"""A changeset that applies whole is written in one go; one with a bad mutation is applied one
savepoint at a time. Both must give what applying the mutations one by one gives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from fieldsync.extensions import db
from tests.conftest import World, login
from tests.sync.device import Phone, upsert

ACCOUNT = {"kind": "company", "status": "lead", "name": "Alfa"}


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """The SQL statements the app sends while the block runs."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())
        if seen[-1] == "INSERT":  # INSERT INTO <table>
            seen[-1] = f"INSERT {statement.split(None, 3)[2]}"

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def units(count: int) -> list[dict[str, Any]]:
    """An account, a contact of it and a visit to it, ``count`` times."""
    mutations = []
    for n in range(count):
        account, contact = str(uuid.uuid4()), str(uuid.uuid4())
        mutations += [
            upsert("accounts", account, {**ACCOUNT, "name": f"Account {n}"}),
            upsert("contacts", contact, {"account_id": account, "last_name": f"Rossi {n}"}),
            upsert(
                "interactions",
                str(uuid.uuid4()),
                {
                    "account_id": account,
                    "contact_id": contact,
                    "kind": "visit",
                    "occurred_at": "2026-11-20T10:00:00Z",
                },
            ),
        ]
    return mutations


def test_a_whole_changeset_is_written_without_a_savepoint_per_mutation(
    client: Any, world: World
) -> None:
    phone = Phone(client, login(client, world.rep.email)["access_token"])
    mutations = units(20)
    with statements(client.application) as seen:
        result = phone.push(mutations)
    assert {r["status"] for r in result["results"]} == {"applied"}, result
    savepoints = seen.count("SAVEPOINT")
    inserts = sum(1 for statement in seen if statement.startswith("INSERT"))
    # One savepoint claims the changeset, one holds the batch: not one per mutation (60).
    assert savepoints <= 3, f"expected the optimistic path, saw {savepoints} savepoints"
    assert inserts < len(mutations) / 4, f"expected multi-row inserts, saw {inserts} INSERTs"
    phone.pull()
    assert len(phone.store["accounts"]) == 20
    assert len(phone.store["contacts"]) == 20
    visits = phone.store["interactions"].values()
    assert len(visits) == 20 and all(v["kind"] == "visit" for v in visits)
    assert all(a["last_visit_at"] for a in phone.store["accounts"].values())


def test_records_that_leave_different_fields_empty_are_still_inserted_together(
    client: Any, world: World
) -> None:
    """A visit with a check-in and a call without one, in turns: one INSERT per table, not
    one per run of records that leave the same columns empty."""
    phone = Phone(client, login(client, world.rep.email)["access_token"])
    mutations = units(10)
    for n, account in enumerate(m for m in list(mutations) if m["entity"] == "accounts"):
        call = {"account_id": account["id"], "kind": "call", "occurred_at": "2026-11-20T11:00Z"}
        if n % 2:
            call |= {"duration_minutes": 5, "outcome": "Call back"}
        else:
            call |= {"check_in": {"lat": 45.46, "lon": 9.19}, "report": "Met at the fair."}
        mutations.append(upsert("interactions", str(uuid.uuid4()), call))
    with statements(client.application) as seen:
        result = phone.push(mutations)
    assert {r["status"] for r in result["results"]} == {"applied"}, result
    assert seen.count("INSERT interactions") == 1, seen
    assert seen.count("INSERT accounts") == 1 and seen.count("INSERT contacts") == 1, seen
    phone.pull()
    calls = [i for i in phone.store["interactions"].values() if i["kind"] == "call"]
    assert len(calls) == 10
    assert sum(1 for c in calls if c["check_in"] is None) == 5
    assert sum(1 for c in calls if c["duration_minutes"] == 5) == 5


def test_a_bad_mutation_falls_back_to_one_savepoint_each_and_loses_nothing(
    client: Any, world: World
) -> None:
    phone = Phone(client, login(client, world.rep.email)["access_token"])
    good = units(3)
    missing_account = str(uuid.uuid4())
    bad = upsert("contacts", str(uuid.uuid4()), {"account_id": missing_account, "last_name": "X"})
    duplicate = dict(good[0])  # the same id created twice: the second is a conflict
    mutations = [*good[:3], bad, *good[3:], duplicate]
    with statements(client.application) as seen:
        result = phone.push(mutations)
    statuses = [r["status"] for r in result["results"]]
    assert statuses == ["applied"] * 3 + ["rejected"] + ["applied"] * 6 + ["applied"], statuses
    assert seen.count("SAVEPOINT") >= len(mutations), "the fallback isolates each mutation"
    phone.pull()
    assert len(phone.store["accounts"]) == 3 and len(phone.store["interactions"]) == 3
    quarantined = client.get("/api/v1/quarantine", headers=world.admin.headers).json["items"]
    assert [q["record_id"] for q in quarantined] == [bad["id"]]
