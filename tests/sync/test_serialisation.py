"""The hand-written pull serialisers write exactly what the marshmallow read schemas dump."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from fieldsync.auth.actor import Actor
from fieldsync.db import unit_of_work
from fieldsync.extensions import db
from fieldsync.portfolio import schemas as ps
from fieldsync.portfolio import service as portfolio
from fieldsync.portfolio.models import Account, Contact, Interaction, Task
from fieldsync.sync import serialise
from tests.conftest import World

SCHEMAS = {
    "accounts": ps.AccountSchema(),
    "contacts": ps.ContactSchema(),
    "interactions": ps.InteractionSchema(),
    "tasks": ps.TaskSchema(),
}
MODELS = {"accounts": Account, "contacts": Contact, "interactions": Interaction, "tasks": Task}
NOW = datetime(2026, 11, 22, 9, 12, 30, 123456, tzinfo=UTC)


def _same(entity: str, record: Any, reference: Any = None) -> None:
    """``record`` (an ORM object, or a row of ``pull_columns``) serialises as the schema
    dumps ``reference`` (by default the record itself)."""
    expected = SCHEMAS[entity].dump(record if reference is None else reference)
    if reference is None:
        got = serialise.dump(entity, record)
    else:
        got = serialise.SERIALISERS[entity](record)
    assert got == expected
    assert list(got) == list(expected)  # same keys in the same order: same bytes on the wire


def full(entity: str) -> Any:
    """A record with every field set (nested values included)."""
    ids = [uuid.uuid4() for _ in range(6)]
    common = {"id": ids[0], "org_id": ids[1], "version": 7, "created_at": NOW,
              "updated_at": NOW + timedelta(seconds=1), "deleted_at": None}  # fmt: skip
    if entity == "accounts":
        return Account(
            **common, kind="company", status="customer", name="Bottega Rossi", title="Dott.",
            first_name="Mario", last_name="Rossi", email="info@rossi.example",
            phone="+39 02 1234 5678", mobile="+39 333 123456", website="https://rossi.example",
            industry="retail", vat_number="IT01234567890", legal_form="srl",
            annual_revenue=1250000.5, employees=12, street="Via Roma 1", postal_code="20121",
            city="Milano", region="Lombardia", country="IT", lat=45.4642, lon=9.19,
            location_precision="rooftop", location_source="gps", geocode_status="manual",
            geocode_error="none", territory_id=ids[2], owner_id=ids[3], tags=["key", "north"],
            color="#FF0000", contact_preference="visit", visit_every_days=30,
            opening_hours={"mon": [["08:30", "12:30"], ["15:00", "19:00"]]},
            consent={"marketing_email": True, "updated_at": NOW.isoformat()},
            notes="Prefers mornings. Ünïcødé ✓", custom={"erp": "C001", "nested": {"a": [1, 2]}},
            last_visit_at=NOW - timedelta(days=3), visit_due_at=NOW + timedelta(days=27),
            created_by=ids[3],
        )  # fmt: skip
    if entity == "contacts":
        return Contact(
            **common, account_id=ids[2], first_name="Anna", last_name="Bianchi", role="Buyer",
            email="anna@rossi.example", phone="+39 02 1", is_primary=True, notes="Call after 10",
        )  # fmt: skip
    if entity == "interactions":
        return Interaction(
            **common, account_id=ids[2], contact_id=ids[3], user_id=ids[4], kind="visit",
            occurred_at=NOW - timedelta(hours=2), duration_minutes=45, outcome="Order placed",
            report="Long report\nwith lines", check_in={"lat": 45.46, "lon": 9.19,
            "at": NOW.isoformat(), "accuracy_m": 8.0}, check_out={"lat": 45.46, "lon": 9.19},
            verification={"status": "verified", "distance_m": 12.5}, verification_status="verified",
            next_step="Send the quote",
        )  # fmt: skip
    return Task(
        **common, account_id=ids[2], assignee_id=ids[3], title="Call back", kind="call",
        due_at=NOW + timedelta(days=1), done=True, done_at=NOW, notes="Before Friday",
        created_by=ids[4],
    )  # fmt: skip


def empty(entity: str) -> Any:
    """A record with every nullable field null (and the wire's required ones only)."""
    model = MODELS[entity]
    record = model(id=uuid.uuid4(), org_id=uuid.uuid4(), version=1, created_at=NOW, updated_at=NOW)
    required = {"accounts": {"kind": "person", "status": "lead", "name": "X"},
                "contacts": {"account_id": uuid.uuid4(), "last_name": "Y"},
                "interactions": {"account_id": uuid.uuid4(), "kind": "note", "occurred_at": NOW},
                "tasks": {"title": "Z"}}[entity]  # fmt: skip
    for name, value in required.items():
        setattr(record, name, value)
    return record


@pytest.mark.parametrize("entity", list(SCHEMAS))
def test_every_field_set(entity: str) -> None:
    _same(entity, full(entity))


@pytest.mark.parametrize("entity", list(SCHEMAS))
def test_every_nullable_field_null(entity: str) -> None:
    _same(entity, empty(entity))


@pytest.mark.parametrize("entity", list(SCHEMAS))
def test_every_attribute_null(entity: str) -> None:
    record = MODELS[entity]()
    for column in MODELS[entity].__table__.columns:
        setattr(record, column.key, None)
    _same(entity, record)


@pytest.mark.parametrize("entity", list(SCHEMAS))
def test_the_serialiser_writes_every_field_of_the_schema(entity: str) -> None:
    """A field added to a read schema must be added to the serialiser too."""
    assert list(serialise.dump(entity, full(entity))) == list(SCHEMAS[entity].fields)


@pytest.mark.parametrize("entity", list(SCHEMAS))
def test_the_pull_reads_the_columns_it_needs_and_no_merge_metadata(entity: str) -> None:
    names = [column.key for column in serialise.pull_columns(entity)]
    assert names[0] == "id" and "deleted_at" in names
    assert entity == "accounts" or "account_id" in names
    assert not {"field_versions", "field_times"} & set(names)


def test_address_and_location_parts() -> None:
    account = empty("accounts")
    account.city = "Milano"  # one part of the address is enough to show it
    account.lat = 45.0  # a location needs both coordinates
    _same("accounts", account)
    assert serialise.dump("accounts", account)["address"] == {
        "street": None,
        "postal_code": None,
        "city": "Milano",
        "region": None,
        "country": None,
    }
    assert serialise.dump("accounts", account)["location"] is None
    account.lon, account.lat = 9, 45  # integers become floats, as marshmallow's Float makes them
    _same("accounts", account)
    assert serialise.dump("accounts", account)["location"]["lon"] == 9.0


@pytest.mark.parametrize(
    "verification",
    [{"status": "far"}, {"distance_m": 3}, {}, {"status": "far", "distance_m": None, "x": 1}],
)
def test_verification_keeps_the_declared_keys_it_has(verification: dict[str, Any]) -> None:
    interaction = full("interactions")
    interaction.verification = verification
    _same("interactions", interaction)


def test_rows_read_from_the_database_serialise_like_the_orm(app: Flask, world: World) -> None:
    """What the pull really serialises: rows of ``pull_columns`` read back from each database."""
    rep = Actor(user_id=world.rep.id, org_id=world.org_id, role="rep")
    with app.app_context(), unit_of_work(db.session):
        session = db.session
        account = portfolio.create_record(session, actor=rep, entity="accounts", data={
            "kind": "company", "status": "customer", "name": "Bottega Rossi", "title": "Dott.",
            "email": "info@rossi.example", "phone": "+39 02 1", "annual_revenue": 1250000.5,
            "employees": 12, "tags": ["key", "north"], "color": "#FF0000",
            "address": {"street": "Via Roma 1", "postal_code": "20121", "city": "Milano",
                        "region": "Lombardia", "country": "IT"},
            "location": {"lat": 45.4642, "lon": 9.19, "precision": "rooftop", "source": "gps"},
            "visit_every_days": 30, "opening_hours": {"mon": [["08:30", "12:30"]]},
            "consent": {"marketing_email": True}, "notes": "Ünïcødé ✓", "custom": {"erp": "C1"},
        })  # fmt: skip
        bare = portfolio.create_record(
            session, actor=rep, entity="accounts",
            data={"kind": "person", "status": "lead", "name": "Nobody"},
        )  # fmt: skip
        contact = portfolio.create_record(session, actor=rep, entity="contacts", data={
            "account_id": account.id, "first_name": "Anna", "last_name": "Bianchi",
            "is_primary": False,
        })  # fmt: skip
        portfolio.create_record(
            session, actor=rep, entity="contacts", data={"account_id": bare.id, "last_name": "Z"}
        )
        portfolio.create_record(session, actor=rep, entity="interactions", data={
            "account_id": account.id, "contact_id": contact.id, "kind": "visit",
            "occurred_at": NOW, "duration_minutes": 30, "outcome": "Order",
            "check_in": {"lat": 45.4642, "lon": 9.19, "at": NOW, "accuracy_m": 5.0},
        })  # fmt: skip
        portfolio.create_record(session, actor=rep, entity="interactions", data={
            "account_id": bare.id, "kind": "note", "occurred_at": NOW,
        })  # fmt: skip
        portfolio.create_record(session, actor=rep, entity="tasks", data={
            "account_id": account.id, "title": "Call back", "due_at": NOW, "done": True,
        })  # fmt: skip
        portfolio.create_record(session, actor=rep, entity="tasks", data={"title": "Loose"})
    with app.app_context():
        session = db.session
        for entity, model in MODELS.items():
            records = {r.id: r for r in session.execute(select(model)).scalars()}
            rows = session.execute(select(*serialise.pull_columns(entity))).all()
            assert len(rows) == len(records) >= 2
            for row in rows:
                _same(entity, row, reference=records[row.id])
