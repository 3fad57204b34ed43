from __future__ import annotations

import hashlib
import uuid

from fieldsync.extensions import db
from fieldsync.sync.models import Changeset
from fieldsync.sync.push import mutations_digest, standard_mutations_digest
from tests.conftest import World, login
from tests.sync.device import Phone, delete, upsert


def phone_for(client, email: str) -> Phone:
    return Phone(client, login(client, email)["access_token"])


def test_push_creates_then_pull_delivers_to_another_device(client, world: World) -> None:
    phone = phone_for(client, world.rep.email)
    account_id = str(uuid.uuid4())
    contact_id = str(uuid.uuid4())
    result = phone.push(
        [
            upsert("accounts", account_id, {"kind": "company", "status": "lead", "name": "Alfa"}),
            upsert("contacts", contact_id, {"account_id": account_id, "last_name": "Rossi"}),
        ]
    )
    assert [r["status"] for r in result["results"]] == ["applied", "applied"], result
    other = phone_for(client, world.rep.email)
    other.pull(checksum=True)
    assert set(other.store["accounts"]) == {account_id}
    assert set(other.store["contacts"]) == {contact_id}
    phone.pull()
    assert phone.store["accounts"][account_id]["version"] == 1


def test_incremental_pull_and_checksum(client, world: World) -> None:
    phone = phone_for(client, world.rep.email)
    account_id = str(uuid.uuid4())
    phone.push([upsert("accounts", account_id, {"kind": "company", "status": "lead", "name": "A"})])
    last = phone.pull(checksum=True)
    lines = sorted(phone.versions())
    assert last["checksum"] == hashlib.sha256("\n".join(lines).encode()).hexdigest()
    client.patch(
        f"/api/v1/accounts/{account_id}", json={"name": "B"}, headers=world.manager.headers
    )
    page = phone.pull()
    assert [a["name"] for a in page["changes"]["accounts"]["upserted"]] == ["B"]
    assert phone.store["accounts"][account_id]["version"] == 2
    client.delete(f"/api/v1/accounts/{account_id}", headers=world.manager.headers)
    page = phone.pull()
    assert page["changes"]["accounts"]["removed"] == [account_id]
    assert phone.store["accounts"] == {}


def test_field_level_merge(client, world: World) -> None:
    phone = phone_for(client, world.rep.email)
    account_id = str(uuid.uuid4())
    phone.push([upsert("accounts", account_id, {"kind": "company", "status": "lead", "name": "A"})])
    # Server-side edit of another field after the phone's base version 1.
    client.patch(
        f"/api/v1/accounts/{account_id}", json={"phone": "+39 02 1"}, headers=world.manager.headers
    )
    result = phone.push([upsert("accounts", account_id, {"name": "A2"}, base_version=1)])
    assert result["results"][0]["status"] == "applied", result
    record = client.get(f"/api/v1/accounts/{account_id}", headers=world.manager.headers).json
    assert (record["name"], record["phone"]) == ("A2", "+39 02 1")


def test_replay_and_conflicting_reuse(client, world: World) -> None:
    phone = phone_for(client, world.rep.email)
    changeset = str(uuid.uuid4())
    mutation = upsert(
        "accounts", str(uuid.uuid4()), {"kind": "company", "status": "lead", "name": "A"}
    )
    first = phone.push([mutation], changeset_id=changeset)
    again = phone.push([mutation], changeset_id=changeset)
    assert first == again
    response = client.post(
        "/api/v1/sync/push",
        json={"changeset_id": changeset, "device_time": "2026-01-01T00:00:00Z", "mutations": []},
        headers=phone.headers,
    )
    assert response.status_code == 409, response.json


def test_a_changeset_stored_with_the_standard_librarys_digest_still_replays(
    app, client, world: World
) -> None:
    """Servers before 2026-11-23 stored the digest of the standard library's canonical JSON;
    a phone retrying such a changeset after an upgrade gets its stored response, not a 409."""
    phone = phone_for(client, world.rep.email)
    changeset = str(uuid.uuid4())
    fields = {"kind": "company", "status": "lead", "name": "Caffè Nero", "annual_revenue": 1e16}
    mutations = [upsert("accounts", str(uuid.uuid4()), fields)]
    first = phone.push(mutations, changeset_id=changeset)
    old_digest = standard_mutations_digest(mutations)
    assert old_digest != mutations_digest(mutations)  # non-ASCII text, 1e16: not the same bytes
    with app.app_context():
        stored = db.session.get(Changeset, uuid.UUID(changeset))
        stored.body_sha256 = old_digest
        db.session.commit()
    assert phone.push(mutations, changeset_id=changeset) == first
    other = [upsert("accounts", mutations[0]["id"], {**fields, "name": "Caffè Blu"})]
    response = client.post(
        "/api/v1/sync/push",
        json={"changeset_id": changeset, "device_time": "2026-01-01T00:00:00Z",
              "mutations": other},
        headers=phone.headers,
    )  # fmt: skip
    assert response.status_code == 409, response.json


def test_rejected_mutation_does_not_block_others(client, world: World) -> None:
    phone = phone_for(client, world.rep.email)
    result = phone.push(
        [
            upsert(
                "accounts", str(uuid.uuid4()), {"kind": "company", "status": "weird", "name": "A"}
            ),
            upsert(
                "accounts", str(uuid.uuid4()), {"kind": "company", "status": "lead", "name": "B"}
            ),
            delete("tasks", str(uuid.uuid4()), 3),
        ]
    )
    assert [r["status"] for r in result["results"]] == ["rejected", "applied", "rejected"]
    assert "status" in result["results"][0]["errors"]
    quarantine = client.get("/api/v1/quarantine", headers=world.admin.headers).json
    assert len(quarantine["items"]) == 2
