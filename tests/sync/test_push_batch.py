"""What a changeset shares between its mutations (``portfolio.batch``, deferred change-log rows,
the placement index of a transaction) changes nothing of what the services write."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from flask import Flask
from sqlalchemy import select

from fieldsync.auth.actor import Actor
from fieldsync.db import unit_of_work
from fieldsync.extensions import db
from fieldsync.geo import service as geo
from fieldsync.portfolio import service as portfolio
from fieldsync.portfolio.models import Account
from fieldsync.sync.changelog import deferred_changes
from fieldsync.sync.models import Change
from tests.conftest import World, login
from tests.geo.helpers import BIG, CENTRE, SMALL
from tests.sync.device import Phone, upsert

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def phone_for(client: Any, email: str) -> Phone:
    return Phone(client, login(client, email)["access_token"])


def changes_of(app: Flask, *record_ids: str) -> list[tuple[str, str, int]]:
    """(entity, record id, version) of the change log rows of these records, in seq order."""
    ids = [uuid.UUID(rid) for rid in record_ids]
    with app.app_context():
        rows = db.session.execute(
            select(Change.entity, Change.record_id, Change.version)
            .where(Change.record_id.in_(ids))
            .order_by(Change.seq)
        ).all()
    return [(entity, str(rid), version) for entity, rid, version in rows]


def test_records_created_earlier_in_the_changeset_are_found_and_the_rest_refused(
    app: Flask, client: Any, world: World
) -> None:
    phone = phone_for(client, world.rep.email)
    theirs = str(uuid.uuid4())  # an account of another rep: not in this rep's scope
    created = client.post("/api/v1/accounts", headers=world.rep2.headers, json={
        "id": theirs, "kind": "company", "status": "lead", "name": "Not yours"})  # fmt: skip
    assert created.status_code == 201, created.json
    account, contact, visit, bad, orphan, spy = (str(uuid.uuid4()) for _ in range(6))
    result = phone.push([
        upsert("accounts", account, {"kind": "company", "status": "lead", "name": "Alfa"}),
        upsert("contacts", contact, {"account_id": account, "last_name": "Rossi"}),
        upsert("interactions", visit, {"account_id": account, "contact_id": contact,
                                       "kind": "visit", "occurred_at": T0.isoformat()}),
        upsert("accounts", bad, {"kind": "company", "status": "weird", "name": "Bad"}),
        upsert("contacts", orphan, {"account_id": bad, "last_name": "Nobody"}),
        upsert("contacts", spy, {"account_id": theirs, "last_name": "Spy"}),
        upsert("accounts", account, {"name": "Alfa 2"}, base_version=2),
    ])  # fmt: skip
    statuses = [r["status"] for r in result["results"]]
    assert statuses == ["applied"] * 3 + ["rejected"] * 3 + ["applied"], result
    assert result["results"][4]["errors"] == {"account_id": ["Unknown account."]}
    assert result["results"][5]["errors"] == {"account_id": ["Unknown account."]}
    # The visit moved last_visit_at (version 2), the rename made version 3.
    assert result["results"][6]["version"] == 3
    # Change-log rows for what was written, in the order it was written (a record written
    # several times under the same account: its last row); none for the rest.
    assert changes_of(app, account, contact, visit, bad, orphan, spy) == [
        ("contacts", contact, 1), ("interactions", visit, 1), ("accounts", account, 3),
    ]  # fmt: skip
    got = client.get(f"/api/v1/accounts/{account}", headers=world.rep.headers).json
    assert (got["name"], got["version"], got["last_visit_at"]) == ("Alfa 2", 3, T0.isoformat())


def test_last_visit_of_new_interactions_is_what_the_recount_gives(
    app: Flask, client: Any, world: World
) -> None:
    phone = phone_for(client, world.rep.email)
    account = str(uuid.uuid4())
    later, earlier, call = T0, T0 - timedelta(days=3), T0 + timedelta(days=1)
    result = phone.push([
        upsert("accounts", account, {"kind": "company", "status": "lead", "name": "A",
                                     "visit_every_days": 7}),
        upsert("interactions", str(uuid.uuid4()), {"account_id": account, "kind": "visit",
               "occurred_at": later.astimezone(timezone(timedelta(hours=2))).isoformat()}),
        upsert("interactions", str(uuid.uuid4()), {"account_id": account, "kind": "visit",
               "occurred_at": earlier.isoformat()}),
        upsert("interactions", str(uuid.uuid4()), {"account_id": account, "kind": "call",
               "occurred_at": call.isoformat()}),
    ])  # fmt: skip
    assert {r["status"] for r in result["results"]} == {"applied"}, result
    with app.app_context(), unit_of_work(db.session):
        record = db.session.get(Account, uuid.UUID(account))
        assert record is not None
        assert (record.last_visit_at, record.visit_due_at) == (later, later + timedelta(days=7))
        assert record.version == 2  # the later visit moved it; the earlier one and the call not
        portfolio.refresh_last_visit(db.session, record)  # the recount finds nothing to change
        assert record.version == 2


def test_deferred_change_rows_go_with_the_savepoints_that_wrote_them(
    app: Flask, world: World
) -> None:
    rep = Actor(user_id=world.rep.id, org_id=world.org_id, role="rep")

    def create(name: str) -> str:
        data = {"kind": "company", "status": "lead", "name": name}
        return str(portfolio.create_record(db.session, actor=rep, entity="accounts", data=data).id)

    with app.app_context(), unit_of_work(db.session):
        session = db.session
        with deferred_changes(session):
            kept = create("kept")
            savepoint = session.begin_nested()
            rolled_back = create("rolled back")
            savepoint.rollback()
            outer = session.begin_nested()
            inner_kept = create("inner kept")
            inner = session.begin_nested()
            inner_dropped = create("inner dropped")
            inner.rollback()
            outer.commit()
            outer = session.begin_nested()
            inner = session.begin_nested()
            released_then_dropped = create("released, then its parent rolled back")
            inner.commit()  # releases the inner savepoint
            outer.rollback()
            last = create("last")
            # Nothing is inserted before the block ends (this transaction would see it).
            pending = select(Change.seq).where(Change.record_id == uuid.UUID(kept))
            assert session.execute(pending).first() is None
    written = changes_of(app, kept, rolled_back, inner_kept, inner_dropped,
                         released_then_dropped, last)  # fmt: skip
    assert written == [("accounts", kept, 1), ("accounts", inner_kept, 1), ("accounts", last, 1)]


def test_a_record_written_twice_in_a_block_is_logged_once_unless_it_moved(
    app: Flask, world: World
) -> None:
    """A pull reads which records changed and under which account: a repeated row of the same
    record under the same account says nothing new, a move says which account it left."""
    rep = Actor(user_id=world.rep.id, org_id=world.org_id, role="rep")
    with app.app_context(), unit_of_work(db.session):
        session = db.session
        with deferred_changes(session):
            account = {"kind": "company", "status": "lead", "name": "A"}
            first = portfolio.create_record(session, actor=rep, entity="accounts", data=account)
            other = portfolio.create_record(session, actor=rep, entity="accounts", data=account)
            portfolio.update_record(session, actor=rep, entity="accounts", record_id=first.id,
                                    data={"name": "A, renamed"})  # fmt: skip
            person = {"account_id": first.id, "last_name": "R"}
            contact = portfolio.create_record(session, actor=rep, entity="contacts", data=person)
            for data in ({"account_id": other.id}, {"last_name": "Rossi"}):
                portfolio.update_record(session, actor=rep, entity="contacts",
                                        record_id=contact.id, data=data)  # fmt: skip
            first_id, other_id, contact_id = str(first.id), str(other.id), str(contact.id)
    assert changes_of(app, first_id, other_id) == [
        ("accounts", other_id, 1),
        ("accounts", first_id, 2),
    ]
    # Created under the first account, moved (it left the first), then renamed under the other.
    assert changes_of(app, contact_id) == [
        ("contacts", contact_id, 1),
        ("contacts", contact_id, 2),
        ("contacts", contact_id, 3),
    ]


def test_a_block_that_fails_writes_no_change_rows(app: Flask, world: World) -> None:
    rep = Actor(user_id=world.rep.id, org_id=world.org_id, role="rep")
    with app.app_context():
        session = db.session
        try:
            with unit_of_work(session), deferred_changes(session):
                data = {"kind": "company", "status": "lead", "name": "x"}
                record = portfolio.create_record(session, actor=rep, entity="accounts", data=data)
                record_id = str(record.id)
                raise RuntimeError("the changeset fails")
        except RuntimeError:
            pass
    assert changes_of(app, record_id) == []


def test_the_placement_index_follows_territory_writes_and_rollbacks(
    app: Flask, world: World
) -> None:
    manager = Actor(user_id=world.manager.id, org_id=world.org_id, role="manager")
    spot = {"location": {"lat": CENTRE["lat"], "lon": CENTRE["lon"]}}

    def place(name: str) -> uuid.UUID | None:
        data = {"kind": "company", "status": "lead", "name": name, **spot}
        record = portfolio.create_record(db.session, actor=manager, entity="accounts", data=data)
        return record.territory_id

    with app.app_context(), unit_of_work(db.session):
        session = db.session
        big = geo.create_territory(session, actor=manager, data={"name": "Big", "geometry": BIG})
        assert place("first") == big.id
        assert place("second, from the cached index") == big.id
        savepoint = session.begin_nested()
        geo.create_territory(session, actor=manager, data={"name": "Gone", "geometry": SMALL})
        assert place("inside the savepoint") != big.id  # the smaller one wins while it exists
        savepoint.rollback()
        assert place("after the rollback") == big.id
        small = geo.create_territory(
            session, actor=manager, data={"name": "Small", "geometry": SMALL}
        )
        assert place("after a new territory") == small.id
        geo.update_territory(session, actor=manager, territory_id=small.id, data={"geometry": None,
                             "postal_codes": ["99999"], "country": "IT"})  # fmt: skip
        assert place("after the territory changed") == big.id
