"""GDPR erasure through HTTP on both databases: what goes, what stays, phones learn it on their
next pull, the conflict log and quarantine are scrubbed, the geocoding cache forgets the home
address, and the audit log records it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsync.db import utcnow
from fieldsync.extensions import db
from fieldsync.geo.geocoding.models import GeocodeCacheEntry
from fieldsync.geo.geocoding.pipeline import account_address
from fieldsync.geo.geocoding.service import cache_key
from fieldsync.portfolio.models import Account
from tests.conftest import World, login
from tests.portfolio.helpers import (
    MILAN,
    assert_error,
    create_account,
    create_contact,
    create_interaction,
    create_task,
    create_territory,
    fetch,
)
from tests.sync.device import Phone, upsert

LONG_AGO = datetime.now(UTC) - timedelta(days=1)
FIX = {"lat": MILAN[0], "lon": MILAN[1], "at": "2026-11-20T09:00:00Z", "accuracy_m": 12}
PERSON = {
    "kind": "person", "status": "customer", "name": "Maria Rossi", "title": "Dott.ssa",
    "first_name": "Maria", "last_name": "Rossi", "email": "maria@example.com",
    "phone": "+39 02 1234 5678", "mobile": "+39 333 123 4567", "website": "https://rossi.it",
    "industry": "Pharmacy", "vat_number": "RSSMRA80A41F205X", "legal_form": "Ditta individuale",
    "annual_revenue": 90_000, "employees": 2, "tags": ["vip"], "visit_every_days": 30,
    "address": {"street": "Via Dante 3", "postal_code": "20121", "city": "Milano",
                "region": "Lombardia", "country": "IT"},
    "location": {"lat": MILAN[0], "lon": MILAN[1]},
    "consent": {"marketing_email": True}, "notes": "Diabetic, prefers mornings.",
    "custom": {"birthday": "1980-01-01"},
}  # fmt: skip


def rep_phone(client: FlaskClient, world: World) -> Phone:
    return Phone(client, login(client, world.rep.email)["access_token"])


def erase(client: FlaskClient, person: Any, entity: str, record_id: str) -> Any:
    return client.post(f"/api/v1/{entity}/{record_id}/erase", headers=person.headers)


def setup_person(client: FlaskClient, world: World) -> dict[str, Any]:
    create_territory(client, world.admin, [world.rep.id])
    account = create_account(client, world.admin, **PERSON)
    assert account["territory_id"], "the person must be in the rep's territory"
    contact = create_contact(client, world.admin, account["id"], first_name="Luca",
                             last_name="Rossi", email="luca@example.com", phone="+39 1",
                             role="Son", notes="Speaks for her")  # fmt: skip
    interaction = create_interaction(
        client, world.admin, account["id"], kind="visit", contact_id=contact["id"],
        occurred_at="2026-11-20T09:00:00Z", duration_minutes=30, outcome="ordered",
        report="She told me about her illness.", next_step="Call her son",
        check_in=FIX, check_out=FIX,
    )  # fmt: skip
    task = create_task(client, world.admin, account_id=account["id"],
                       title="Bring Maria her insulin list", notes="Private")  # fmt: skip
    return {"account": account, "contact": contact, "interaction": interaction, "task": task}


def test_erasing_a_person_account(client: FlaskClient, world: World, app: Flask) -> None:
    records = setup_person(client, world)
    account_id = records["account"]["id"]
    phone = rep_phone(client, world)
    phone.pull()
    assert phone.store["accounts"][account_id]["email"] == "maria@example.com"

    # The phone's older edits of personal and non-personal fields lose to the server's:
    # the conflict log holds the phone's values.
    response = client.patch(f"/api/v1/accounts/{account_id}", headers=world.admin.headers,
                            json={"mobile": "+39 000", "status": "inactive"})  # fmt: skip
    base = response.json["version"] - 1
    merged_push = [
        upsert(
            "accounts",
            account_id,
            {"mobile": "+39 999 PHONE", "status": "lead"},
            base_version=base,
            changed_at=LONG_AGO,
        )
    ]
    merged_id = str(uuid.uuid4())
    result = phone.push(merged_push, changeset_id=merged_id)
    assert result["results"][0]["status"] == "merged", result
    # A rejected mutation is quarantined whole, personal data included.
    rejected = phone.push(
        [
            upsert(
                "accounts",
                account_id,
                {"email": "not an email", "notes": "Secret note"},
                base_version=base + 1,
            )
        ]
    )
    assert rejected["results"][0]["status"] == "rejected", rejected  # fmt: skip
    orphan = phone.push(
        [
            upsert(
                "contacts",
                str(uuid.uuid4()),
                {"account_id": account_id, "last_name": "Verdi", "email": "no-at-sign"},
            )
        ]
    )
    assert orphan["results"][0]["status"] == "rejected", orphan  # fmt: skip
    phone.pull()

    # The geocoding cache holds an answer for her home address.
    with app.app_context():
        key = cache_key(account_address(db.session.get(Account, uuid.UUID(account_id))))
        db.session.add(GeocodeCacheEntry(provider="test", address_key=key, status="found",
                                         lat=1.0, lon=2.0, label="Via Dante 3, Milano",
                                         fetched_at=utcnow()))  # fmt: skip
        db.session.commit()

    before = fetch(client, world.admin, "accounts", account_id)
    assert_error(erase(client, world.rep, "accounts", account_id), 403, "forbidden")
    assert_error(erase(client, world.other_admin, "accounts", account_id), 404, "not_found")
    response = erase(client, world.manager, "accounts", account_id)
    assert response.status_code == 200, response.json
    assert response.json == {
        "accounts": 1,
        "contacts": 1,
        "interactions": 1,
        "tasks": 1,
        "conflicts": 1,
        "quarantine": 2,
        "geocode_cache": 1,
    }, response.json

    after = fetch(client, world.admin, "accounts", account_id)
    assert after["version"] == before["version"] + 1, (before, after)
    for name in ("title", "first_name", "last_name", "email", "phone", "mobile", "website",
                 "vat_number", "location", "consent", "notes", "custom"):  # fmt: skip
        assert after[name] is None, (name, after)
    assert after["name"] == "Erased", after
    assert after["address"] == {"street": None, "postal_code": "20121", "city": "Milano",
                                "region": "Lombardia", "country": "IT"}, after  # fmt: skip
    for name in (
        "kind",
        "status",
        "industry",
        "legal_form",
        "annual_revenue",
        "employees",
        "tags",
        "visit_every_days",
        "owner_id",
        "territory_id",
        "last_visit_at",
    ):
        assert after[name] == before[name], (name, before, after)

    contact = fetch(client, world.admin, "contacts", records["contact"]["id"])
    assert (
        contact["last_name"],
        contact["first_name"],
        contact["email"],
        contact["phone"],
        contact["role"],
        contact["notes"],
    ) == ("Erased", None, None, None, None, None)
    interaction = fetch(client, world.admin, "interactions", records["interaction"]["id"])
    assert (
        interaction["report"],
        interaction["next_step"],
        interaction["check_in"],
        interaction["check_out"],
    ) == (None, None, None, None), interaction
    assert (interaction["kind"], interaction["outcome"], interaction["duration_minutes"],
            interaction["occurred_at"]) == ("visit", "ordered", 30,
            records["interaction"]["occurred_at"]), interaction  # fmt: skip
    assert interaction["verification"] == records["interaction"]["verification"]
    task = fetch(client, world.admin, "tasks", records["task"]["id"])
    assert (task["title"], task["notes"]) == ("Erased", None), task

    # The rep's phone receives every erased record on its next pull.
    phone.pull()
    assert phone.store["accounts"][account_id] == after
    assert phone.store["contacts"][contact["id"]] == contact
    assert phone.store["interactions"][interaction["id"]] == interaction
    assert phone.store["tasks"][task["id"]] == task

    conflicts = client.get("/api/v1/conflicts", query_string={"record_id": account_id},
                           headers=world.admin.headers).json["items"]  # fmt: skip
    by_field = {c["field"]: c for c in conflicts}
    assert set(by_field) == {"mobile", "status"}, conflicts
    assert (by_field["mobile"]["kept"], by_field["mobile"]["discarded"]) == (None, None)
    assert (by_field["status"]["kept"], by_field["status"]["discarded"]) == ("inactive", "lead")

    # A retried push gets its stored response back: scrubbed too.
    replayed = phone.push(merged_push, changeset_id=merged_id)["results"][0]["conflicts"]
    assert {c["field"]: (c["kept"], c["discarded"]) for c in replayed} == {
        "mobile": (None, None),
        "status": ("inactive", "lead"),
    }, replayed

    quarantine = client.get("/api/v1/quarantine", headers=world.admin.headers).json["items"]
    assert len(quarantine) == 2, quarantine
    for row in quarantine:
        text = repr(row["mutation"])
        for secret in ("not an email", "Secret note", "Verdi", "no-at-sign"):
            assert secret not in text, (secret, row)
    assert any(row["mutation"]["fields"].get("account_id") == account_id for row in quarantine)

    with app.app_context():
        left = db.session.execute(
            select(GeocodeCacheEntry).where(GeocodeCacheEntry.address_key == key)
        ).all()
        assert left == [], "the cached geocode of the home address must go"

    audit = client.get("/api/v1/audit", query_string={"action": "account.erase"},
                       headers=world.admin.headers).json["items"]  # fmt: skip
    assert len(audit) == 1 and audit[0]["actor_id"] == str(world.manager.id), audit
    assert audit[0]["record_id"] == account_id and audit[0]["entity"] == "accounts", audit
    assert audit[0]["details"]["contacts"] == 1, audit

    # Erasing again changes nothing (no new versions), but is audited again.
    again = erase(client, world.admin, "accounts", account_id)
    assert again.status_code == 200 and set(again.json.values()) == {0}, again.json
    assert fetch(client, world.admin, "accounts", account_id)["version"] == after["version"]


def test_erasing_a_company_keeps_the_company_data(client: FlaskClient, world: World) -> None:
    company = create_account(
        client, world.admin, kind="company", name="Farmacia Centrale", first_name="Paolo",
        last_name="Neri", title="Dott.", email="paolo@farmacia.it", phone="+39 02 555",
        mobile="+39 333 777", vat_number="IT01234567890", website="https://farmacia.it",
        address={"street": "Corso Como 1", "city": "Milano", "country": "IT"},
        notes="Paolo's wife works here", custom={"erp": "C-1"},
    )  # fmt: skip
    contact = create_contact(client, world.admin, company["id"], last_name="Bianchi",
                             email="b@farmacia.it")  # fmt: skip
    response = erase(client, world.admin, "accounts", company["id"])
    assert response.status_code == 200, response.json
    after = fetch(client, world.admin, "accounts", company["id"])
    for name in ("first_name", "last_name", "title", "email", "mobile", "notes", "custom"):
        assert after[name] is None, (name, after)
    for name in ("name", "phone", "vat_number", "website", "address"):
        assert after[name] == company[name], (name, after)
    assert fetch(client, world.admin, "contacts", contact["id"])["last_name"] == "Erased"


def test_erasing_a_contact_only(client: FlaskClient, world: World) -> None:
    account = create_account(client, world.admin, name="Shop")
    person = create_contact(client, world.admin, account["id"], first_name="Anna",
                            last_name="Verdi", email="anna@shop.it")  # fmt: skip
    other = create_contact(client, world.admin, account["id"], last_name="Gialli")
    with_her = create_interaction(client, world.admin, account["id"], contact_id=person["id"],
                                  report="Anna said...", check_in=FIX)  # fmt: skip
    without = create_interaction(client, world.admin, account["id"], report="Shop report")
    assert_error(erase(client, world.rep, "contacts", person["id"]), 403, "forbidden")
    assert_error(erase(client, world.other_admin, "contacts", person["id"]), 404, "not_found")
    response = erase(client, world.admin, "contacts", person["id"])
    assert response.status_code == 200, response.json
    assert (response.json["contacts"], response.json["interactions"]) == (1, 1), response.json
    erased = fetch(client, world.admin, "contacts", person["id"])
    assert (erased["last_name"], erased["first_name"], erased["email"]) == ("Erased", None, None)
    assert erased["version"] == person["version"] + 1, erased
    assert fetch(client, world.admin, "contacts", other["id"])["last_name"] == "Gialli"
    scrubbed = fetch(client, world.admin, "interactions", with_her["id"])
    assert (scrubbed["report"], scrubbed["check_in"]) == (None, None), scrubbed
    assert fetch(client, world.admin, "interactions", without["id"])["report"] == "Shop report"
    assert fetch(client, world.admin, "accounts", account["id"]) == account
    audit = client.get("/api/v1/audit", headers=world.admin.headers).json["items"]
    assert [(a["action"], a["record_id"]) for a in audit] == [("contact.erase", person["id"])]


def test_a_deleted_account_can_be_erased(client: FlaskClient, world: World) -> None:
    account = create_account(client, world.admin, **PERSON)
    assert client.delete(f"/api/v1/accounts/{account['id']}",
                         headers=world.admin.headers).status_code == 204  # fmt: skip
    response = erase(client, world.admin, "accounts", account["id"])
    assert response.status_code == 200 and response.json["accounts"] == 1, response.json
    data = client.get(f"/api/v1/accounts/{account['id']}/personal-data",
                      headers=world.admin.headers).json  # fmt: skip
    assert data["account"]["name"] == "Erased" and data["deleted_at"], data


def test_a_phone_offline_during_the_erasure_cannot_bring_the_data_back(
    client: FlaskClient, world: World
) -> None:
    create_territory(client, world.admin, [world.rep.id])
    account = create_account(client, world.admin, kind="person", name="Maria Rossi",
                             email="maria@example.com", status="lead",
                             location={"lat": MILAN[0], "lon": MILAN[1]})  # fmt: skip
    account_id, base = account["id"], account["version"]
    phone = rep_phone(client, world)
    phone.pull()
    typed_offline = datetime.now(UTC) - timedelta(minutes=30)  # before the erasure

    assert erase(client, world.manager, "accounts", account_id).status_code == 200

    # Later the phone comes back with what it typed before: the personal fields lose (the
    # erasure stamped them all, even mobile, which was empty), the status goes in.
    stale = [
        upsert(
            "accounts",
            account_id,
            {"mobile": "+39 333 000", "notes": "Her husband", "status": "prospect"},
            base_version=base,
            changed_at=typed_offline,
        )
    ]
    changeset_id = str(uuid.uuid4())
    outcome = phone.push(stale, changeset_id=changeset_id)["results"][0]
    assert outcome["status"] == "merged", outcome
    assert {c["field"] for c in outcome["conflicts"]} == {"mobile", "notes"}, outcome
    after = fetch(client, world.admin, "accounts", account_id)
    assert (after["mobile"], after["notes"], after["status"]) == (None, None, "prospect"), after
    # Neither the conflict log nor the stored response (replayed on retry) keeps the values.
    conflicts = client.get("/api/v1/conflicts", query_string={"record_id": account_id},
                           headers=world.admin.headers).json["items"]  # fmt: skip
    assert {(c["field"], c["kept"], c["discarded"]) for c in conflicts} == {
        ("mobile", None, None), ("notes", None, None)}, conflicts  # fmt: skip
    replay = phone.push(stale, changeset_id=changeset_id)["results"][0]["conflicts"]
    assert {(c["field"], c["discarded"]) for c in replay} == {("mobile", None), ("notes", None)}
    # A stale mutation that is rejected is quarantined without the personal values.
    rejected = phone.push(
        [
            upsert(
                "accounts",
                account_id,
                {"email": "not valid", "notes": "Her husband"},
                base_version=base,
                changed_at=typed_offline,
            )
        ]
    )
    assert rejected["results"][0]["status"] == "rejected", rejected  # fmt: skip
    quarantine = client.get("/api/v1/quarantine", headers=world.admin.headers).json["items"]
    assert [q["mutation"]["fields"] for q in quarantine] == [{"email": None, "notes": None}]

    # What is typed after the erasure is new data, kept like any other.
    fresh = phone.push([upsert("accounts", account_id, {"mobile": "+39 333 111"},
                               base_version=after["version"])])  # fmt: skip
    assert fresh["results"][0]["status"] == "applied", fresh
    assert fetch(client, world.admin, "accounts", account_id)["mobile"] == "+39 333 111"
