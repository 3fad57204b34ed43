"""The personal-data export and the consent history through HTTP, on both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient

from tests.conftest import World, login
from tests.portfolio.helpers import (
    assert_error,
    create_account,
    create_contact,
    create_interaction,
    create_task,
    fetch,
)
from tests.sync.device import Phone, upsert


def patch(client: FlaskClient, person, account_id: str, body: dict) -> dict:
    response = client.patch(f"/api/v1/accounts/{account_id}", json=body, headers=person.headers)
    assert response.status_code == 200, response.json
    return dict(response.json)


def personal_data(client: FlaskClient, person, account_id: str):
    return client.get(f"/api/v1/accounts/{account_id}/personal-data", headers=person.headers)


def test_the_export_holds_everything_about_the_person(client: FlaskClient, world: World) -> None:
    account = create_account(client, world.admin, kind="person", name="Maria Rossi",
                             email="maria@example.com", status="lead",
                             consent={"marketing_email": True})  # fmt: skip
    contact = create_contact(client, world.admin, account["id"], last_name="Rossi")
    deleted = create_contact(client, world.admin, account["id"], last_name="Old")
    client.delete(f"/api/v1/contacts/{deleted['id']}", headers=world.admin.headers)
    interaction = create_interaction(client, world.admin, account["id"], report="Met her")
    task = create_task(client, world.admin, account_id=account["id"], title="Call Maria")
    unrelated = create_account(client, world.admin, name="Someone else")
    create_contact(client, world.admin, unrelated["id"], last_name="Stranger")
    patch(client, world.admin, account["id"], {"consent": {"marketing_email": False},
                                               "status": "customer"})  # fmt: skip
    # A phone's rejected edit of her account is data held about her too.
    phone = Phone(client, login(client, world.admin.email)["access_token"])
    phone.push([upsert("accounts", account["id"], {"email": "nope"}, base_version=1)])

    response = personal_data(client, world.admin, account["id"])
    assert response.status_code == 200, response.json
    data = response.json
    assert data["account"] == fetch(client, world.admin, "accounts", account["id"])
    assert data["deleted_at"] is None
    assert {c["id"] for c in data["contacts"]} == {contact["id"], deleted["id"]}, data
    assert [i["id"] for i in data["interactions"]] == [interaction["id"]]
    assert data["interactions"][0]["report"] == "Met her"
    assert [t["id"] for t in data["tasks"]] == [task["id"]]
    assert [q["mutation"]["fields"] for q in data["quarantine"]] == [{"email": "nope"}]
    assert data["conflicts"] == []
    assert [c["marketing_email"] for c in data["consent_history"]] == [True, False], data
    assert [(s["from_status"], s["to_status"]) for s in data["status_history"]] == [
        (None, "lead"), ("lead", "customer")], data  # fmt: skip
    assert data["exported_at"], data

    audit = client.get("/api/v1/audit", query_string={"action": "account.personal_data"},
                       headers=world.admin.headers).json["items"]  # fmt: skip
    assert [(a["actor_id"], a["record_id"]) for a in audit] == [
        (str(world.admin.id), account["id"])], audit  # fmt: skip


def test_the_export_is_for_managers_and_admins_of_the_scope(
    client: FlaskClient, world: World
) -> None:
    account = create_account(client, world.rep, name="Rep's client")
    assert_error(personal_data(client, world.rep, account["id"]), 403, "forbidden")
    assert_error(personal_data(client, world.other_admin, account["id"]), 404, "not_found")
    assert_error(personal_data(client, world.admin, str(uuid.uuid4())), 404, "not_found")
    assert personal_data(client, world.manager, account["id"]).status_code == 200


def test_consent_is_stamped_when_its_value_changes(client: FlaskClient, world: World) -> None:
    started = datetime.now(UTC)
    account = create_account(client, world.admin, consent={"marketing_email": True})
    stamp = datetime.fromisoformat(account["consent"]["updated_at"])
    assert started - timedelta(seconds=1) <= stamp <= datetime.now(UTC), account

    # The same value again writes nothing: same stamp, same version.
    same = patch(client, world.admin, account["id"], {"consent": {"marketing_email": True}})
    assert same["consent"] == account["consent"] and same["version"] == account["version"]

    withdrawn = patch(client, world.admin, account["id"], {"consent": {"marketing_email": False}})
    assert withdrawn["consent"]["marketing_email"] is False, withdrawn
    assert datetime.fromisoformat(withdrawn["consent"]["updated_at"]) >= stamp, withdrawn
    assert withdrawn["version"] == account["version"] + 1

    # A time the client gives (when the person was asked) is kept; one in the future is not.
    asked = "2026-11-01T08:00:00+01:00"
    given = patch(client, world.admin, account["id"],
                  {"consent": {"marketing_email": True, "updated_at": asked}})  # fmt: skip
    assert given["consent"]["updated_at"] == "2026-11-01T07:00:00+00:00", given
    future = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    capped = patch(client, world.admin, account["id"],
                   {"consent": {"marketing_email": False, "updated_at": future}})  # fmt: skip
    assert datetime.fromisoformat(capped["consent"]["updated_at"]) <= datetime.now(UTC), capped

    history = personal_data(client, world.admin, account["id"]).json["consent_history"]
    assert [(h["marketing_email"], h["consented_at"][:19]) for h in history] == [
        (True, stamp.astimezone(UTC).isoformat()[:19]),
        (False, withdrawn["consent"]["updated_at"][:19]),
        (True, "2026-11-01T07:00:00"),
        (False, capped["consent"]["updated_at"][:19]),
    ], history
    assert [h["version"] for h in history] == [1, 2, 3, 4], history


def test_consent_pushed_by_a_phone_is_stamped_too(client: FlaskClient, world: World) -> None:
    phone = Phone(client, login(client, world.rep.email)["access_token"])
    account_id = str(uuid.uuid4())
    result = phone.push([upsert("accounts", account_id, {
        "kind": "person", "status": "lead", "name": "Maria", "consent": {"marketing_email": True},
    })])  # fmt: skip
    assert result["results"][0]["status"] == "applied", result
    consent = fetch(client, world.rep, "accounts", account_id)["consent"]
    assert consent["marketing_email"] is True and consent["updated_at"], consent
    history = personal_data(client, world.admin, account_id).json["consent_history"]
    assert [h["marketing_email"] for h in history] == [True], history
