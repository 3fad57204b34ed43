"""Push merge rules, through HTTP: field-level merge, clock correction, deletes, retries,
idempotency, limits, rejected mutations and the quarantine, scope and tenancy checks."""

from __future__ import annotations

import io
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

import fieldsync.sync.push as push_module
from tests.conftest import World, login
from tests.sync.device import Phone, delete, upsert

ACCOUNT = {"kind": "company", "status": "lead", "name": "Bottega"}


# --- helpers ---------------------------------------------------------------------------------


def phone_for(client: FlaskClient, email: str) -> tuple[Phone, str]:
    """A new device of the user: the phone and its device id."""
    tokens = login(client, email)
    return Phone(client, tokens["access_token"]), str(tokens["device_id"])


def iso(moment: datetime) -> str:
    return moment.isoformat()


def raw_push(
    client: FlaskClient,
    headers: dict[str, str],
    mutations: list[Any],
    *,
    changeset_id: str | None = None,
    device_time: datetime | None = None,
) -> Any:
    body = {
        "changeset_id": changeset_id or str(uuid.uuid4()),
        "device_time": iso(device_time or datetime.now(UTC)),
        "mutations": mutations,
    }
    return client.post("/api/v1/sync/push", json=body, headers=headers)


def statuses(result: dict[str, Any]) -> list[str]:
    return [r["status"] for r in result["results"]]


def create_account(phone: Phone, **fields: Any) -> str:
    account_id = str(uuid.uuid4())
    result = phone.push([upsert("accounts", account_id, {**ACCOUNT, **fields})])
    assert statuses(result) == ["applied"], f"creating the account by push failed: {result}"
    return account_id


def get_json(client: FlaskClient, path: str, headers: dict[str, str]) -> dict[str, Any]:
    response = client.get(path, headers=headers)
    assert response.status_code == 200, f"GET {path} -> {response.status_code}: {response.json}"
    return dict(response.json)


def record(
    client: FlaskClient, entity: str, record_id: str, headers: dict[str, str]
) -> dict[str, Any]:
    return get_json(client, f"/api/v1/{entity}/{record_id}", headers)


def patch(
    client: FlaskClient,
    entity: str,
    record_id: str,
    fields: dict[str, Any],
    headers: dict[str, str],
) -> dict[str, Any]:
    response = client.patch(f"/api/v1/{entity}/{record_id}", json=fields, headers=headers)
    assert response.status_code == 200, f"PATCH {entity}/{record_id}: {response.json}"
    return dict(response.json)


def conflicts(client: FlaskClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/conflicts", query_string=params, headers=headers)
    assert response.status_code == 200, response.json
    return list(response.json["items"])


def quarantine(client: FlaskClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/quarantine", query_string=params, headers=headers)
        assert response.status_code == 200, response.json
        items += response.json["items"]
        cursor = response.json["next_cursor"]
        if not cursor:
            return items


def list_ids(client: FlaskClient, entity: str, headers: dict[str, str]) -> set[str]:
    page = get_json(client, f"/api/v1/{entity}?limit=1000", headers)
    return {item["id"] for item in page["items"]}


# --- field-level merge -----------------------------------------------------------------------


def test_different_fields_changed_on_both_sides_both_survive(
    client: FlaskClient, world: World
) -> None:
    phone, _ = phone_for(client, world.rep.email)
    account_id = create_account(phone)
    patch(client, "accounts", account_id, {"phone": "+39 02 1111"}, world.manager.headers)

    result = phone.push([upsert("accounts", account_id, {"name": "Bottega Nuova"}, base_version=1)])

    assert statuses(result) == ["applied"], f"disjoint fields must merge cleanly: {result}"
    assert result["results"][0]["version"] == 3, "create, server edit, device edit: version 3"
    assert "conflicts" not in result["results"][0], "no field was changed on both sides"
    stored = record(client, "accounts", account_id, world.manager.headers)
    assert (stored["name"], stored["phone"]) == ("Bottega Nuova", "+39 02 1111"), (
        "both the device's and the server's field must survive"
    )
    assert conflicts(client, world.admin.headers, record_id=account_id) == [], (
        "a clean merge logs no conflict"
    )


def test_same_field_later_device_edit_wins(client: FlaskClient, world: World) -> None:
    phone, _ = phone_for(client, world.rep.email)
    account_id = create_account(phone)
    patch(client, "accounts", account_id, {"name": "Server name"}, world.manager.headers)

    now = datetime.now(UTC)  # the device edited after the server did, clocks agree
    result = phone.push(
        [upsert("accounts", account_id, {"name": "Device name"}, base_version=1, changed_at=now)],
        device_time=now,
    )

    assert statuses(result) == ["applied"], f"the later edit (device) must win: {result}"
    assert record(client, "accounts", account_id, world.manager.headers)["name"] == "Device name"
    logged = conflicts(client, world.manager.headers, record_id=account_id)
    assert [(c["field"], c["kept"], c["discarded"], c["reason"]) for c in logged] == [
        ("name", "Device name", "Server name", "older_edit_replaced")
    ], f"the replaced server value must stay findable in the conflict log: {logged}"


def test_same_field_later_server_edit_wins_and_loser_is_logged(
    client: FlaskClient, world: World
) -> None:
    phone, device_id = phone_for(client, world.rep.email)
    account_id = create_account(phone)
    before_server_edit = datetime.now(UTC) - timedelta(minutes=10)
    patch(
        client,
        "accounts",
        account_id,
        {"name": "Server name", "phone": "+39 1"},
        world.manager.headers,
    )

    result = phone.push(
        [
            upsert(
                "accounts",
                account_id,
                {"name": "Device name", "phone": "+39 2", "notes": "n"},
                base_version=1,
                changed_at=before_server_edit,
            )
        ],
    )

    outcome = result["results"][0]
    assert outcome["status"] == "merged", f"fields lost to a newer edit: merged, got {outcome}"
    assert sorted(outcome["conflicts"], key=lambda c: c["field"]) == [
        {"field": "name", "kept": "Server name", "discarded": "Device name"},
        {"field": "phone", "kept": "+39 1", "discarded": "+39 2"},
    ], f"conflicts must list each losing field with kept and discarded values: {outcome}"
    stored = record(client, "accounts", account_id, world.manager.headers)
    assert (stored["name"], stored["phone"], stored["notes"]) == ("Server name", "+39 1", "n"), (
        "the newer server values are kept, the untouched field takes the device's value"
    )
    assert outcome["version"] == stored["version"] == 3, "the merge still wrote notes"

    inbox = conflicts(client, world.rep.headers, record_id=account_id)
    assert sorted((c["field"], c["kept"], c["discarded"]) for c in inbox) == [
        ("name", "Server name", "Device name"),
        ("phone", "+39 1", "+39 2"),
    ], f"the rep's conflict inbox must hold the discarded values: {inbox}"
    for item in inbox:
        assert item["entity"] == "accounts" and item["record_id"] == account_id
        assert item["reason"] == "newer_edit_kept"
        assert item["discarded_by"] == str(world.rep.id), "the loser is the rep"
        assert item["device_id"] == device_id, "the conflict names the rep's device"
        assert item["changed_at"] and item["logged_at"], "times of the edit and of the log"


def _server_edit_then_device_edit(
    client: FlaskClient, world: World, phone: Phone, *, changed_at: datetime, device_time: datetime
) -> dict[str, Any]:
    """A fresh account, a server edit of its name now, then the device's edit of the name."""
    account_id = create_account(phone)
    patch(client, "accounts", account_id, {"name": "Server"}, world.manager.headers)
    result = phone.push(
        [upsert("accounts", account_id, {"name": "Device"}, base_version=1, changed_at=changed_at)],
        device_time=device_time,
    )
    stored = record(client, "accounts", account_id, world.manager.headers)
    return {"status": result["results"][0]["status"], "name": stored["name"]}


def test_device_clock_two_hours_fast_is_corrected(client: FlaskClient, world: World) -> None:
    """The device edited 10 minutes before the server edit, but its clock runs 2 hours fast:
    its changed_at reads later than the server edit; corrected, it is earlier and loses."""
    phone, _ = phone_for(client, world.rep.email)
    fast = timedelta(hours=2)
    real_edit = datetime.now(UTC) - timedelta(minutes=10)

    skewed = _server_edit_then_device_edit(
        client, world, phone, changed_at=real_edit + fast, device_time=datetime.now(UTC) + fast
    )
    assert skewed == {"status": "merged", "name": "Server"}, (
        f"a fast device clock must be corrected by its offset: the server edit is later {skewed}"
    )

    # The same changed_at from a device whose clock claims to be right wins: the offset
    # (device_time against receive time) is what decided.
    trusted = _server_edit_then_device_edit(
        client, world, phone, changed_at=real_edit + fast, device_time=datetime.now(UTC)
    )
    assert trusted == {"status": "applied", "name": "Device"}, (
        f"without the 2-hour offset the device's edit reads as the later one: {trusted}"
    )


def test_device_clock_two_hours_slow_is_corrected(client: FlaskClient, world: World) -> None:
    """The device edited after the server edit, but its clock runs 2 hours slow: its
    changed_at reads earlier than the server edit; corrected, it is later and wins."""
    phone, _ = phone_for(client, world.rep.email)
    slow = timedelta(hours=2)

    def device_now() -> datetime:
        return datetime.now(UTC) - slow  # what the slow device's clock shows

    account_id = create_account(phone)
    patch(client, "accounts", account_id, {"name": "Server"}, world.manager.headers)
    edit = device_now()  # made just now, after the server edit, on the slow clock
    result = phone.push(
        [upsert("accounts", account_id, {"name": "Device"}, base_version=1, changed_at=edit)],
        device_time=device_now(),
    )
    assert statuses(result) == ["applied"], f"corrected, the slow device's edit is later: {result}"
    assert record(client, "accounts", account_id, world.manager.headers)["name"] == "Device"

    uncorrected = _server_edit_then_device_edit(
        client, world, phone, changed_at=device_now(), device_time=datetime.now(UTC)
    )
    assert uncorrected == {"status": "merged", "name": "Server"}, (
        f"the same slow changed_at with no offset reads 2 hours old and loses: {uncorrected}"
    )


def test_far_future_changed_at_is_capped_at_receive_time(client: FlaskClient, world: World) -> None:
    """corrected = min(changed_at + offset, received): an edit stamped in 2200 by a device whose
    clock is otherwise right counts as made when it arrived, so a later edit still beats it."""
    rep_phone, _ = phone_for(client, world.rep.email)
    manager_phone, _ = phone_for(client, world.manager.email)
    account_id = create_account(rep_phone)
    far_future = datetime(2200, 1, 1, tzinfo=UTC)

    first = rep_phone.push(
        [
            upsert(
                "accounts", account_id, {"name": "Year 2200"}, base_version=1, changed_at=far_future
            )
        ],
        device_time=datetime.now(UTC),
    )
    assert statuses(first) == ["applied"]

    later = datetime.now(UTC)  # a later real-time edit, by a device that never saw the first
    second = manager_phone.push(
        [upsert("accounts", account_id, {"name": "Later"}, base_version=1, changed_at=later)],
        device_time=later,
    )
    assert statuses(second) == ["applied"], (
        f"the year-2200 stamp was capped at its receive time, so the later edit wins: {second}"
    )
    assert record(client, "accounts", account_id, world.manager.headers)["name"] == "Later"
    logged = conflicts(client, world.manager.headers, record_id=account_id)
    assert len(logged) == 1 and logged[0]["discarded"] == "Year 2200", logged
    replaced_at = datetime.fromisoformat(logged[0]["changed_at"])
    assert replaced_at <= datetime.now(UTC), (
        f"the replaced edit is stamped with its (capped) receive time, not 2200: {replaced_at}"
    )


def test_exact_tie_keeps_server_value(
    client: FlaskClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the receive clock pinned, corrected times are exact: a tie keeps the server value,
    one microsecond later wins."""
    rep_phone, _ = phone_for(client, world.rep.email)
    manager_phone, _ = phone_for(client, world.manager.email)
    account_id = create_account(rep_phone)
    received = [datetime.now(UTC).replace(microsecond=0) + timedelta(minutes=1)]
    monkeypatch.setattr(push_module, "utcnow", lambda: received[0])
    r1 = received[0]

    # Stored at R1 exactly: a far-future changed_at is capped at the receive time.
    first = rep_phone.push(
        [
            upsert(
                "accounts",
                account_id,
                {"name": "A"},
                base_version=1,
                changed_at=datetime(2200, 1, 1, tzinfo=UTC),
            )
        ],
        device_time=r1,
    )
    assert statuses(first) == ["applied"]

    # An hour later a device 3 hours slow pushes an edit made, in real time, exactly at R1.
    received[0] = r1 + timedelta(hours=1)
    slow = timedelta(hours=3)
    tie = manager_phone.push(
        [upsert("accounts", account_id, {"name": "B"}, base_version=1, changed_at=r1 - slow)],
        device_time=received[0] - slow,
    )
    assert tie["results"][0]["status"] == "merged", f"a tie keeps the server value: {tie}"
    assert tie["results"][0]["conflicts"] == [{"field": "name", "kept": "A", "discarded": "B"}]

    later = manager_phone.push(
        [
            upsert(
                "accounts",
                account_id,
                {"name": "C"},
                base_version=1,
                changed_at=r1 - slow + timedelta(microseconds=1),
            )
        ],
        device_time=received[0] - slow,
    )
    assert statuses(later) == ["applied"], f"one microsecond after the tie wins: {later}"
    assert record(client, "accounts", account_id, world.manager.headers)["name"] == "C"


# --- deletes ---------------------------------------------------------------------------------


def test_delete_wins_over_concurrent_update_and_logs_it(client: FlaskClient, world: World) -> None:
    phone, _ = phone_for(client, world.rep.email)
    account_id = create_account(phone)
    patch(client, "accounts", account_id, {"phone": "+39 02 999"}, world.manager.headers)

    result = phone.push([delete("accounts", account_id, base_version=1)])

    assert statuses(result) == ["applied"], f"a delete beats a concurrent update: {result}"
    response = client.get(f"/api/v1/accounts/{account_id}", headers=world.manager.headers)
    assert response.status_code == 404, "the account is deleted"
    logged = conflicts(client, world.manager.headers, record_id=account_id)
    phone_entries = [c for c in logged if c["field"] == "phone"]
    assert phone_entries, f"the concurrent update's value must reach the conflict log: {logged}"
    assert phone_entries[0]["discarded"] == "+39 02 999"
    assert phone_entries[0]["kept"] is None
    assert {c["reason"] for c in logged} == {"deleted_over_update"}, logged
    assert not [c for c in logged if c["field"] == "name"], (
        "a field the device had already seen (base_version) is not a concurrent update"
    )
    page = phone.pull()
    assert account_id not in phone.store["accounts"], f"the phone drops the account: {page}"


def test_update_of_deleted_record_answers_deleted_and_keeps_the_edit(
    client: FlaskClient, world: World
) -> None:
    phone, device_id = phone_for(client, world.rep.email)
    account_id = create_account(phone)
    response = client.delete(f"/api/v1/accounts/{account_id}", headers=world.manager.headers)
    assert response.status_code == 204

    result = phone.push(
        [upsert("accounts", account_id, {"notes": "typed offline"}, base_version=1)]
    )

    assert statuses(result) == ["deleted"], f"an edit of a deleted record: {result}"
    assert (
        client.get(f"/api/v1/accounts/{account_id}", headers=world.manager.headers).status_code
        == 404
    ), "still deleted"
    inbox = conflicts(client, world.rep.headers, record_id=account_id)
    assert [(c["field"], c["discarded"], c["reason"], c["device_id"]) for c in inbox] == [
        ("notes", "typed offline", "record_deleted", device_id)
    ], f"the edit must be kept in the conflict log: {inbox}"


# --- retries and idempotency -----------------------------------------------------------------


def test_create_retried_under_new_changeset_id_is_not_duplicated(
    client: FlaskClient, world: World
) -> None:
    """A phone that lost track of a changeset sends its creates again under a new id: same
    records, same fields. Nothing is duplicated, nothing conflicts, every result is applied."""
    phone, _ = phone_for(client, world.rep.email)
    account_id, contact_id, interaction_id, task_id = (str(uuid.uuid4()) for _ in range(4))
    edited = datetime.now(UTC) - timedelta(minutes=5)
    mutations = [
        upsert(
            "accounts",
            account_id,
            {
                **ACCOUNT,
                "address": {"street": "Via Roma 1", "city": "Milano", "country": "it"},
                "consent": {"marketing_email": True},
                "tags": ["vip"],
                "location": {"lat": 45.46, "lon": 9.19},
            },
            changed_at=edited,
        ),
        upsert(
            "contacts",
            contact_id,
            {"account_id": account_id, "last_name": "Rossi"},
            changed_at=edited,
        ),
        upsert(
            "interactions",
            interaction_id,
            {
                "account_id": account_id,
                "kind": "call",
                "occurred_at": "2026-11-22T09:40:00+02:00",
            },
            changed_at=edited,
        ),
        upsert(
            "tasks",
            task_id,
            {"title": "Call back", "account_id": account_id, "due_at": "2026-11-23T09:00:00+01:00"},
            changed_at=edited,
        ),
    ]
    first = phone.push(mutations)
    assert statuses(first) == ["applied"] * 4, first

    # Retried later, once by a device whose offset makes the edits look newer, once older.
    for shift in (timedelta(hours=-1), timedelta(hours=1)):
        device_time = datetime.now(UTC) + shift
        again = phone.push(mutations, device_time=device_time)
        assert statuses(again) == ["applied"] * 4, (
            f"a retried create is applied, not merged or rejected: {again}"
        )
        assert [r["version"] for r in again["results"]] == [1, 1, 1, 1], (
            f"the same values again write nothing: {again}; "
            f"conflicts: {conflicts(client, world.admin.headers)}"
        )
    for entity, record_id in (
        ("accounts", account_id),
        ("contacts", contact_id),
        ("interactions", interaction_id),
        ("tasks", task_id),
    ):
        assert list_ids(client, entity, world.rep.headers) == {record_id}, f"one {entity} record"
        assert record(client, entity, record_id, world.rep.headers)["version"] == 1
    assert conflicts(client, world.admin.headers) == [], "a retried create is no conflict"


def test_changeset_replay_returns_stored_response_and_changes_nothing(
    client: FlaskClient, world: World
) -> None:
    phone, _ = phone_for(client, world.rep.email)
    account_id = create_account(phone)
    patch(client, "accounts", account_id, {"name": "Server"}, world.manager.headers)
    changeset = str(uuid.uuid4())
    old = datetime.now(UTC) - timedelta(hours=1)
    new_id = str(uuid.uuid4())
    mutations = [
        upsert(
            "accounts",
            account_id,
            {"name": "Device", "phone": "+39 3"},
            base_version=1,
            changed_at=old,
        ),
        upsert("accounts", new_id, ACCOUNT),
        upsert("accounts", str(uuid.uuid4()), {**ACCOUNT, "status": "weird"}),
    ]
    first = phone.push(mutations, changeset_id=changeset)
    assert statuses(first) == ["merged", "applied", "rejected"], first
    versions = {
        i: record(client, "accounts", i, world.manager.headers)["version"]
        for i in (account_id, new_id)
    }
    logged = len(conflicts(client, world.admin.headers))
    quarantined = len(quarantine(client, world.admin.headers))

    # A retry (a new device_time, as a phone would send) answers the stored response.
    replay = phone.push(
        mutations, changeset_id=changeset, device_time=datetime.now(UTC) + timedelta(hours=3)
    )
    assert replay == first, "a replayed changeset_id must answer the stored response unchanged"
    assert {
        i: record(client, "accounts", i, world.manager.headers)["version"]
        for i in (account_id, new_id)
    } == versions, "a replay writes nothing"
    assert len(conflicts(client, world.admin.headers)) == logged, "a replay logs no new conflict"
    assert len(quarantine(client, world.admin.headers)) == quarantined, "nor quarantines again"

    other = raw_push(
        client,
        phone.headers,
        [upsert("accounts", account_id, {"name": "Other"}, base_version=3)],
        changeset_id=changeset,
    )
    assert other.status_code == 409, f"same changeset_id, other mutations: 409 {other.json}"
    assert other.json["error"]["code"] == "conflict"
    assert record(client, "accounts", account_id, world.manager.headers)["name"] == "Server"


# --- limits ----------------------------------------------------------------------------------


def _nothing_applied(client: FlaskClient, world: World, phone: Phone, changeset: str) -> None:
    assert list_ids(client, "accounts", world.admin.headers) == set(), "nothing was created"
    assert quarantine(client, world.admin.headers) == [], "nothing was quarantined"
    # The changeset was not recorded either: the id can be used for a fresh push.
    retry = phone.push([upsert("accounts", str(uuid.uuid4()), ACCOUNT)], changeset_id=changeset)
    assert statuses(retry) == ["applied"], f"the refused changeset_id must still be free: {retry}"


def test_more_than_1000_mutations_is_413_and_nothing_applied(
    client: FlaskClient, world: World
) -> None:
    phone, _ = phone_for(client, world.rep.email)
    changeset = str(uuid.uuid4())
    mutations = [upsert("accounts", str(uuid.uuid4()), ACCOUNT) for _ in range(1001)]

    response = raw_push(client, phone.headers, mutations, changeset_id=changeset)

    assert response.status_code == 413, f"1,001 mutations: 413, got {response.status_code}"
    assert response.json["error"]["code"] == "payload_too_large"
    _nothing_applied(client, world, phone, changeset)


def _big_body(changeset: str, size: int) -> bytes:
    """A changeset of one valid create and one mutation padded to ``size`` bytes in all."""
    body = {
        "changeset_id": changeset,
        "device_time": iso(datetime.now(UTC)),
        "mutations": [
            upsert("accounts", str(uuid.uuid4()), ACCOUNT),
            upsert("accounts", str(uuid.uuid4()), {**ACCOUNT, "notes": ""}),
        ],
    }
    base = len(json.dumps(body).encode())
    body["mutations"][1]["fields"]["notes"] = "x" * (size - base)
    data = json.dumps(body).encode()
    assert len(data) == size
    return data


@pytest.mark.parametrize("size", [5 * 1024 * 1024 + 1, 7 * 1024 * 1024])
def test_body_over_5_mb_is_413_and_nothing_applied(
    client: FlaskClient, world: World, size: int
) -> None:
    phone, _ = phone_for(client, world.rep.email)
    changeset = str(uuid.uuid4())
    response = client.post(
        "/api/v1/sync/push",
        data=_big_body(changeset, size),
        content_type="application/json",
        headers=phone.headers,
    )
    assert response.status_code == 413, f"{size} bytes: 413, got {response.status_code}"
    assert response.json["error"]["code"] == "payload_too_large"
    _nothing_applied(client, world, phone, changeset)


def test_chunked_body_over_5_mb_is_413_and_nothing_applied(
    client: FlaskClient, world: World
) -> None:
    """Without a Content-Length (chunked transfer, as gunicorn passes it on) the 5 MB limit
    still holds."""
    phone, _ = phone_for(client, world.rep.email)
    changeset = str(uuid.uuid4())
    data = _big_body(changeset, 5 * 1024 * 1024 + 100)
    response = client.post(
        "/api/v1/sync/push",
        input_stream=io.BytesIO(data),
        content_type="application/json",
        headers={**phone.headers, "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413, (
        f"a chunked body over 5 MB: 413, got {response.status_code} {response.json}"
    )
    _nothing_applied(client, world, phone, changeset)


# --- rejected mutations and the quarantine ---------------------------------------------------


def test_malformed_mutations_are_rejected_alone_and_quarantined(
    client: FlaskClient, world: World
) -> None:
    phone, device_id = phone_for(client, world.rep.email)
    good_1, good_2 = str(uuid.uuid4()), str(uuid.uuid4())
    cases: list[tuple[Any, str]] = [  # (mutation, the errors key that must name the problem)
        ("not an object", "_mutation"),
        (42, "_mutation"),
        (None, "_mutation"),
        ({**upsert("accounts", str(uuid.uuid4()), ACCOUNT), "entity": "invoices"}, "entity"),
        ({**upsert("accounts", str(uuid.uuid4()), ACCOUNT), "op": "merge"}, "op"),
        (upsert("accounts", "not-a-uuid", ACCOUNT), "id"),
        (upsert("accounts", str(uuid.uuid4()), {**ACCOUNT, "shoe_size": 44}), "shoe_size"),
        (upsert("accounts", str(uuid.uuid4()), {**ACCOUNT, "version": 7}), "version"),
        (
            upsert("accounts", str(uuid.uuid4()), {**ACCOUNT, "territory_id": str(uuid.uuid4())}),
            "territory_id",
        ),
        (upsert("accounts", str(uuid.uuid4()), {**ACCOUNT, "status": "weird"}), "status"),
        (upsert("accounts", str(uuid.uuid4()), {**ACCOUNT, "email": "not-an-email"}), "email"),
        (upsert("accounts", str(uuid.uuid4()), {"kind": "company", "status": "lead"}), "name"),
        (
            {**upsert("accounts", str(uuid.uuid4()), ACCOUNT), "changed_at": "yesterday"},
            "changed_at",
        ),
        ({**upsert("accounts", str(uuid.uuid4()), ACCOUNT), "colour": "red"}, "colour"),
        ({**upsert("accounts", str(uuid.uuid4()), ACCOUNT), "fields": ["name"]}, "fields"),
        (upsert("interactions", str(uuid.uuid4()), {"kind": "call"}), "account_id"),
        # An edit's nested value is whole: a location without its longitude is invalid.
        (upsert("accounts", good_1, {"location": {"lat": 45.0}}, base_version=1), "location.lon"),
    ]
    mutations: list[Any] = [upsert("accounts", good_1, ACCOUNT)]
    mutations += [mutation for mutation, _ in cases]
    mutations.append(upsert("accounts", good_2, {**ACCOUNT, "name": "Second"}))

    result = phone.push(mutations)

    results = result["results"]
    assert len(results) == len(mutations), "one result per mutation, in order"
    assert results[0]["status"] == results[-1]["status"] == "applied", (
        f"valid mutations of the same changeset apply: {results[0]}, {results[-1]}"
    )
    for (mutation, key), outcome in zip(cases, results[1:-1], strict=True):
        assert outcome["status"] == "rejected", f"{mutation!r} must be rejected: {outcome}"
        assert key in outcome["errors"], f"errors must name {key!r} for {mutation!r}: {outcome}"
        assert "version" not in outcome, "a rejected mutation has no version"
    assert list_ids(client, "accounts", world.rep.headers) == {good_1, good_2}, (
        "only the valid mutations were applied"
    )

    items = quarantine(client, world.admin.headers)
    assert len(items) == len(cases), f"every rejected mutation is quarantined: {len(items)}"
    for item in items:
        assert item["device_id"] == device_id and item["user_id"] == str(world.rep.id), item
        assert item["changeset_id"] == result["changeset_id"]
        assert item["errors"], "the quarantine keeps the errors"
    kept = [item["mutation"] for item in items]
    for mutation, _ in cases:
        expected = mutation if isinstance(mutation, dict) else {"value": mutation}
        assert expected in kept, f"the quarantine keeps the whole mutation: {mutation!r}"

    for person in (world.rep, world.manager):
        response = client.get("/api/v1/quarantine", headers=person.headers)
        assert response.status_code == 403, f"{person.role} may not read the quarantine"
        assert response.json["error"]["code"] == "forbidden"
    assert quarantine(client, world.other_admin.headers) == [], "another org sees none of it"


def test_text_a_database_cannot_hold_is_not_a_500(client: FlaskClient, world: World) -> None:
    """A NUL character (PostgreSQL text and JSONB refuse it) or a lone surrogate (not UTF-8)
    fails one mutation at most, never the changeset: the others apply, the response is 200."""
    phone, _ = phone_for(client, world.rep.email)
    good = str(uuid.uuid4())
    bad = [
        upsert("accounts", str(uuid.uuid4()), {**ACCOUNT, "name": "Nul\x00name"}),
        upsert("accounts", str(uuid.uuid4()), {**ACCOUNT, "custom": {"k": "nul\x00"}}),
        upsert("accounts", str(uuid.uuid4()), {**ACCOUNT, "bogus\x00": 1}),
        upsert("accounts", str(uuid.uuid4()), {**ACCOUNT, "name": "Lone \ud800 surrogate"}),
        {"entity": "accounts\x00", "op": "upsert", "id": "\x00", "fields": {}},
    ]
    response = raw_push(client, phone.headers, [*bad, upsert("accounts", good, ACCOUNT)])
    assert response.status_code == 200, f"a bad value never gives a 500: {response.json}"
    results = response.json["results"]
    assert results[-1]["status"] == "applied", results
    rejected = [r for r in results[:-1] if r["status"] == "rejected"]
    for outcome in results[:-1]:
        assert outcome["status"] in ("applied", "rejected"), outcome
    assert results[2]["status"] == results[4]["status"] == "rejected", results
    assert len(quarantine(client, world.admin.headers)) == len(rejected), (
        "whatever was refused is quarantined"
    )


def test_record_of_another_organisation_is_rejected(client: FlaskClient, world: World) -> None:
    response = client.post(
        "/api/v1/accounts", json={**ACCOUNT, "name": "Theirs"}, headers=world.other_admin.headers
    )
    assert response.status_code == 201
    theirs = response.json["id"]
    phone, _ = phone_for(client, world.rep.email)

    result = phone.push(
        [
            upsert("accounts", theirs, {"name": "Hijacked"}, base_version=1),
            upsert("accounts", theirs, {**ACCOUNT, "name": "Hijacked"}),
            delete("accounts", theirs, base_version=1),
            upsert("contacts", str(uuid.uuid4()), {"account_id": theirs, "last_name": "Spy"}),
        ]
    )

    assert statuses(result) == ["rejected"] * 4, f"another org's records are off limits: {result}"
    for outcome in result["results"][:3]:
        assert "id" in outcome["errors"], f"errors name the id: {outcome}"
    assert "account_id" in result["results"][3]["errors"], result["results"][3]
    stored = record(client, "accounts", theirs, world.other_admin.headers)
    assert (stored["name"], stored["version"]) == ("Theirs", 1), "their record is untouched"
    assert len(quarantine(client, world.admin.headers)) == 4
    assert quarantine(client, world.other_admin.headers) == [], "nothing leaks to the other org"


def test_record_outside_the_reps_scope_is_rejected(client: FlaskClient, world: World) -> None:
    rep2_phone, _ = phone_for(client, world.rep2.email)
    theirs = create_account(rep2_phone, name="Rep2's")
    phone, _ = phone_for(client, world.rep.email)

    result = phone.push(
        [
            upsert("accounts", theirs, {"name": "Mine now"}, base_version=1),
            delete("accounts", theirs, base_version=1),
            upsert("contacts", str(uuid.uuid4()), {"account_id": theirs, "last_name": "Bianchi"}),
            upsert("tasks", str(uuid.uuid4()), {"title": "Steal", "account_id": theirs}),
        ]
    )

    assert statuses(result) == ["rejected"] * 4, f"out of scope: rejected, got {result}"
    assert "_mutation" in result["results"][0]["errors"]
    assert "_mutation" in result["results"][1]["errors"]
    assert "account_id" in result["results"][2]["errors"]
    assert "account_id" in result["results"][3]["errors"]
    stored = record(client, "accounts", theirs, world.rep2.headers)
    assert (stored["name"], stored["version"]) == ("Rep2's", 1), "rep2's account is untouched"


def test_child_created_offline_on_a_deleted_account(client: FlaskClient, world: World) -> None:
    """The phone adds a contact and a visit to an account deleted meanwhile: those creates are
    rejected with errors on account_id and kept whole in the quarantine; the rest applies."""
    phone, _ = phone_for(client, world.rep.email)
    account_id = create_account(phone)
    assert (
        client.delete(f"/api/v1/accounts/{account_id}", headers=world.manager.headers).status_code
        == 204
    )
    contact = upsert("contacts", str(uuid.uuid4()), {"account_id": account_id, "last_name": "Neri"})
    visit = upsert(
        "interactions",
        str(uuid.uuid4()),
        {
            "account_id": account_id,
            "kind": "visit",
            "occurred_at": iso(datetime.now(UTC)),
            "report": "typed in the car",
        },
    )
    task = upsert("tasks", str(uuid.uuid4()), {"title": "Loose task"})

    result = phone.push([contact, visit, task])

    assert statuses(result) == ["rejected", "rejected", "applied"], result
    assert "account_id" in result["results"][0]["errors"]
    assert "account_id" in result["results"][1]["errors"]
    kept = [item["mutation"] for item in quarantine(client, world.admin.headers)]
    assert contact in kept and visit in kept, "nothing typed on the phone is lost"


# --- derived values --------------------------------------------------------------------------


def test_interaction_check_in_gets_verification(client: FlaskClient, world: World) -> None:
    phone, _ = phone_for(client, world.rep.email)
    lat, lon = 45.4642, 9.19
    account_id = create_account(phone, location={"lat": lat, "lon": lon, "source": "gps"})
    near, far, blind = (str(uuid.uuid4()) for _ in range(3))
    occurred = iso(datetime.now(UTC))

    def visit(check_in: dict[str, Any] | None) -> dict[str, Any]:
        return {
            "account_id": account_id,
            "kind": "visit",
            "occurred_at": occurred,
            "check_in": check_in,
        }

    result = phone.push(
        [
            upsert(
                "interactions", near, visit({"lat": lat + 0.0004, "lon": lon, "accuracy_m": 10})
            ),
            upsert("interactions", far, visit({"lat": lat + 0.05, "lon": lon, "accuracy_m": 10})),
            upsert("interactions", blind, visit(None)),
        ]
    )
    assert statuses(result) == ["applied"] * 3, result

    phone.pull()
    got = {i: phone.store["interactions"][i]["verification"] for i in (near, far, blind)}
    assert got[near]["status"] == "verified", f"~45 m from the account: verified {got[near]}"
    assert 30 < got[near]["distance_m"] < 60, got[near]
    assert got[far]["status"] == "far", f"~5.6 km away: far {got[far]}"
    assert 5000 < got[far]["distance_m"] < 6000, got[far]
    assert got[blind]["status"] == "unverified", f"no check-in: unverified {got[blind]}"
    listed = get_json(client, "/api/v1/interactions?verification=far", world.manager.headers)
    assert [i["id"] for i in listed["items"]] == [far], "the server filters on the verification"


def test_pushed_visit_sets_last_visit_at_and_phone_learns_it(
    client: FlaskClient, world: World
) -> None:
    phone, _ = phone_for(client, world.rep.email)
    account_id = create_account(phone, visit_every_days=30)
    phone.pull()
    assert phone.store["accounts"][account_id]["last_visit_at"] is None
    version = phone.store["accounts"][account_id]["version"]
    visited = datetime(2026, 11, 20, 10, 30, tzinfo=UTC)

    result = phone.push(
        [
            upsert(
                "interactions",
                str(uuid.uuid4()),
                {"account_id": account_id, "kind": "visit", "occurred_at": iso(visited)},
            )
        ]
    )
    assert statuses(result) == ["applied"], result

    page = phone.pull()
    upserted = {a["id"]: a for a in page["changes"]["accounts"]["upserted"]}
    assert account_id in upserted, f"the next pull carries the account again: {page['changes']}"
    held = phone.store["accounts"][account_id]
    assert datetime.fromisoformat(held["last_visit_at"]) == visited, held
    assert datetime.fromisoformat(held["visit_due_at"]) == visited + timedelta(days=30), held
    assert held["version"] > version, "the account's version moved"
    assert held == record(client, "accounts", account_id, world.rep.headers), (
        "the phone holds the server's account"
    )
