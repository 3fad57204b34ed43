"""Device sync health, the conflict log's filters, paging and visibility, and authentication of
the sync endpoints, through HTTP."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import Person, World, login
from tests.sync.device import Phone, upsert

ACCOUNT = {"kind": "company", "status": "lead", "name": "Bottega"}
LONG_AGO = datetime.now(UTC) - timedelta(days=1)


def phone_for(client: FlaskClient, person: Person) -> tuple[Phone, str]:
    tokens = login(client, person.email)
    return Phone(client, tokens["access_token"]), str(tokens["device_id"])


def devices(client: FlaskClient, person: Person) -> dict[str, dict[str, Any]]:
    response = client.get("/api/v1/devices", headers=person.headers)
    assert response.status_code == 200, response.json
    return {item["id"]: item for item in response.json["items"]}


def conflict_page(client: FlaskClient, person: Person, **params: Any) -> dict[str, Any]:
    response = client.get("/api/v1/conflicts", query_string=params, headers=person.headers)
    assert response.status_code == 200, f"{person.email}: {response.json}"
    return dict(response.json)


def conflict_ids(client: FlaskClient, person: Person, **params: Any) -> set[str]:
    return {c["id"] for c in conflict_page(client, person, limit=1000, **params)["items"]}


def create(phone: Phone, entity: str, fields: dict[str, Any]) -> str:
    record_id = str(uuid.uuid4())
    result = phone.push([upsert(entity, record_id, fields)])
    assert result["results"][0]["status"] == "applied", result
    return record_id


def lose(
    client: FlaskClient,
    phone: Phone,
    editor: Person,
    entity: str,
    record_id: str,
    fields: dict[str, Any],
) -> list[dict[str, Any]]:
    """``editor`` changes the fields on the server, then the phone pushes older edits of the
    same fields: they lose, and the conflicts of the push result are returned."""
    response = client.patch(
        f"/api/v1/{entity}/{record_id}",
        headers=editor.headers,
        json={name: f"server {value}" for name, value in fields.items()},
    )
    assert response.status_code == 200, response.json
    base = response.json["version"] - 1
    result = phone.push([upsert(entity, record_id, fields, base_version=base, changed_at=LONG_AGO)])
    outcome = result["results"][0]
    assert outcome["status"] == "merged", f"the older edit must lose: {outcome}"
    return list(outcome["conflicts"])


# --- devices ---------------------------------------------------------------------------------


def test_devices_show_last_push_pull_and_changeset(client: FlaskClient, world: World) -> None:
    phone, device_id = phone_for(client, world.rep)
    _, idle_id = phone_for(client, world.rep)
    before = devices(client, world.rep)[device_id]
    assert (before["last_push_at"], before["last_pull_at"], before["last_changeset_id"]) == (
        None,
        None,
        None,
    ), f"a new device has not synced: {before}"

    started = datetime.now(UTC)
    changeset = str(uuid.uuid4())
    phone.push([upsert("accounts", str(uuid.uuid4()), ACCOUNT)], changeset_id=changeset)
    after_push = devices(client, world.rep)[device_id]
    assert after_push["last_changeset_id"] == changeset, after_push
    assert datetime.fromisoformat(after_push["last_push_at"]) >= started - timedelta(seconds=1)
    assert after_push["last_pull_at"] is None, "no pull yet"

    phone.pull()
    after_pull = devices(client, world.rep)[device_id]
    assert datetime.fromisoformat(after_pull["last_pull_at"]) >= started - timedelta(seconds=1)
    assert after_pull["last_changeset_id"] == changeset

    # A replayed changeset is not a new push.
    phone.push([upsert("accounts", str(uuid.uuid4()), ACCOUNT)])
    latest = devices(client, world.rep)[device_id]["last_changeset_id"]
    assert latest != changeset, "the newest applied changeset is shown"

    idle = devices(client, world.rep)[idle_id]
    assert (idle["last_push_at"], idle["last_pull_at"], idle["last_changeset_id"]) == (
        None,
        None,
        None,
    ), "another device of the rep is untouched"
    assert device_id in devices(client, world.manager), "the rep's manager sees the device"
    assert device_id in devices(client, world.admin), "an admin sees the device"
    assert device_id not in devices(client, world.rep2), "another rep does not"
    assert device_id not in devices(client, world.other_admin), "another org does not"


def test_devices_show_how_far_the_cursor_lags(client: FlaskClient, world: World) -> None:
    """The contract asks GET /api/v1/devices to show how far each device's cursor lags."""
    phone, device_id = phone_for(client, world.rep)
    listed = devices(client, world.rep)[device_id]
    key = "cursor_lag"
    assert key in listed, f"GET /api/v1/devices must show the cursor lag: {sorted(listed)}"
    assert listed[key] is None, "a device that never pulled has no position to lag from"
    account_id = create(phone, "accounts", ACCOUNT)
    phone.pull()
    caught_up = devices(client, world.rep)[device_id][key]
    assert isinstance(caught_up, int) and caught_up >= 0
    for i in range(3):
        client.patch(
            f"/api/v1/accounts/{account_id}", json={"name": f"N{i}"}, headers=world.manager.headers
        )
    behind = devices(client, world.rep)[device_id][key]
    assert behind == caught_up + 3, f"three changes since the pull: lag {caught_up} -> {behind}"


# --- conflicts -------------------------------------------------------------------------------


def test_conflicts_filter_by_entity_and_record(client: FlaskClient, world: World) -> None:
    phone, _ = phone_for(client, world.rep)
    first = create(phone, "accounts", ACCOUNT)
    second = create(phone, "accounts", ACCOUNT)
    contact = create(phone, "contacts", {"account_id": first, "last_name": "Rossi"})
    lose(client, phone, world.manager, "accounts", first, {"name": "A1", "phone": "1"})
    lose(client, phone, world.manager, "accounts", second, {"name": "A2"})
    lose(client, phone, world.manager, "contacts", contact, {"last_name": "C"})

    everything = conflict_page(client, world.manager, limit=1000)["items"]
    assert len(everything) == 4, everything
    by_record = conflict_page(client, world.manager, record_id=first)["items"]
    assert sorted(c["field"] for c in by_record) == ["name", "phone"], by_record
    assert {c["record_id"] for c in by_record} == {first}
    contacts = conflict_page(client, world.manager, entity="contacts")["items"]
    assert [(c["entity"], c["record_id"], c["field"]) for c in contacts] == [
        ("contacts", contact, "last_name")
    ], contacts
    both = conflict_page(client, world.manager, entity="accounts", record_id=second)["items"]
    assert [(c["field"], c["kept"], c["discarded"]) for c in both] == [
        ("name", "server A2", "A2")
    ], both
    assert conflict_page(client, world.manager, entity="contacts", record_id=first)["items"] == []
    assert conflict_page(client, world.manager, record_id=str(uuid.uuid4()))["items"] == []

    for params in (
        {"entity": "invoices"},
        {"record_id": "nope"},
        {"cursor": "!!"},
        {"limit": 0},
        {"limit": 1001},
    ):
        response = client.get(
            "/api/v1/conflicts", query_string=params, headers=world.manager.headers
        )
        assert response.status_code == 422, f"{params}: 422, got {response.status_code}"
        assert response.json["error"]["code"] == "validation_error"


def test_conflicts_page_newest_first(client: FlaskClient, world: World) -> None:
    phone, _ = phone_for(client, world.rep)
    account_id = create(phone, "accounts", ACCOUNT)
    fields = {"name": "n", "phone": "p", "mobile": "m", "industry": "i", "notes": "x"}
    lose(client, phone, world.manager, "accounts", account_id, fields)
    lose(client, phone, world.manager, "accounts", account_id, {"website": "w", "title": "t"})
    everything = conflict_page(client, world.rep, limit=1000)
    assert len(everything["items"]) == 7 and everything["next_cursor"] is None

    pages, cursor = [], None
    while True:
        page = conflict_page(client, world.rep, limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(page["items"]) <= 2
        pages.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [len(p) for p in pages] == [2, 2, 2, 1], "seven conflicts in pages of two"
    paged = [c["id"] for p in pages for c in p]
    assert len(set(paged)) == 7, "no conflict twice"
    assert paged == [c["id"] for c in everything["items"]], "paging keeps the order"
    logged = [datetime.fromisoformat(c["logged_at"]) for p in pages for c in p]
    assert logged == sorted(logged, reverse=True), "newest first"
    assert {c["field"] for c in pages[0]} <= {"website", "title"}, "the later push comes first"


def test_rep_sees_own_discarded_writes_only(client: FlaskClient, world: World) -> None:
    rep_phone, _ = phone_for(client, world.rep)
    rep2_phone, _ = phone_for(client, world.rep2)
    mine = create(rep_phone, "accounts", ACCOUNT)
    theirs = create(rep2_phone, "accounts", ACCOUNT)
    lose(client, rep_phone, world.manager, "accounts", mine, {"name": "rep's"})
    lose(client, rep2_phone, world.manager, "accounts", theirs, {"name": "rep2's"})
    # The rep's later edit replaces the manager's value: that loser is the manager's.
    response = client.patch(
        f"/api/v1/accounts/{mine}", json={"phone": "manager's"}, headers=world.manager.headers
    )
    base = response.json["version"] - 1
    rep_phone.push([upsert("accounts", mine, {"phone": "rep wins"}, base_version=base)])

    rep_view = conflict_page(client, world.rep, limit=1000)["items"]
    assert [(c["record_id"], c["discarded"]) for c in rep_view] == [(mine, "rep's")], (
        f"a rep's inbox holds their own discarded writes only: {rep_view}"
    )
    assert all(c["discarded_by"] == str(world.rep.id) for c in rep_view)
    rep2_view = conflict_page(client, world.rep2, limit=1000)["items"]
    assert [(c["record_id"], c["discarded"]) for c in rep2_view] == [(theirs, "rep2's")]
    manager_view = conflict_page(client, world.manager, limit=1000)["items"]
    assert sorted(str(c["discarded"]) for c in manager_view) == ["manager's", "rep's", "rep2's"], (
        f"the manager sees the conflicts of the team's records: {manager_view}"
    )
    assert len(conflict_page(client, world.admin, limit=1000)["items"]) == 3
    assert conflict_page(client, world.loner)["items"] == [], "an outsider rep sees nothing"
    assert conflict_page(client, world.other_admin)["items"] == [], "another org sees nothing"
    assert conflict_page(client, world.other_admin, record_id=mine)["items"] == []


def test_conflicts_of_a_task_without_account_are_in_scope(
    client: FlaskClient, world: World
) -> None:
    """A task with no account is in its assignee's scope, so in their manager's and the
    admin's: its conflicts are too."""
    phone, _ = phone_for(client, world.rep)
    task_id = create(phone, "tasks", {"title": "Loose"})
    lose(client, phone, world.manager, "tasks", task_id, {"title": "Rep's title"})

    for person in (world.rep, world.manager, world.admin):
        items = conflict_page(client, person, record_id=task_id)["items"]
        assert [(c["entity"], c["field"], c["discarded"]) for c in items] == [
            ("tasks", "title", "Rep's title")
        ], f"{person.role} must see the task's conflict"
    assert conflict_page(client, world.rep2, record_id=task_id)["items"] == []
    assert conflict_page(client, world.other_admin, record_id=task_id)["items"] == []


# --- authentication --------------------------------------------------------------------------


SYNC_REQUESTS = [
    ("POST", "/api/v1/sync/push"),
    ("GET", "/api/v1/sync/pull"),
    ("GET", "/api/v1/conflicts"),
    ("GET", "/api/v1/quarantine"),
]


def _call(client: FlaskClient, method: str, path: str, headers: dict[str, str]) -> Any:
    body = {
        "changeset_id": str(uuid.uuid4()),
        "device_time": datetime.now(UTC).isoformat(),
        "mutations": [upsert("accounts", str(uuid.uuid4()), ACCOUNT)],
    }
    if method == "POST":
        return client.post(path, json=body, headers=headers)
    return client.get(path, headers=headers)


@pytest.mark.parametrize(("method", "path"), SYNC_REQUESTS)
def test_sync_endpoints_need_a_token(
    client: FlaskClient, world: World, method: str, path: str
) -> None:
    for label, headers in (
        ("no token", {}),
        ("not bearer", {"Authorization": f"Basic {world.admin.token}"}),
        ("bad token", {"Authorization": "Bearer not-a-token"}),
    ):
        response = _call(client, method, path, headers)
        assert response.status_code == 401, f"{method} {path} with {label}: 401"
        assert response.json["error"]["code"] == "unauthorized"

    phone, _ = phone_for(client, world.admin)
    assert client.post("/api/v1/auth/logout", headers=phone.headers).status_code == 204
    response = _call(client, method, path, phone.headers)
    assert response.status_code == 401, f"{method} {path} after logout: 401"
    assert conflict_page(client, world.admin)["items"] == []
    accounts = client.get("/api/v1/accounts", headers=world.admin.headers).json["items"]
    assert accounts == [], "nothing was pushed without a valid token"


@pytest.mark.parametrize("number", ["NaN", "Infinity", "1e400"])
def test_a_push_holding_a_number_json_does_not_have_is_a_400_and_applies_nothing(
    client: FlaskClient, world: World, number: str
) -> None:
    """Python's parser would take it; the body is not JSON. Nothing of the changeset is applied
    or kept, so the same changeset_id sent again as valid JSON applies whole."""
    phone = Phone(client, login(client, world.rep.email)["access_token"])
    changeset_id, account_id = str(uuid.uuid4()), str(uuid.uuid4())
    fields = {"kind": "company", "status": "lead", "name": "Rossi", "annual_revenue": 1.0}
    body = {
        "changeset_id": changeset_id,
        "device_time": datetime.now(UTC).isoformat(),
        "mutations": [upsert("accounts", account_id, fields)],
    }
    raw = json.dumps(body).replace('"annual_revenue": 1.0', f'"annual_revenue": {number}')
    response = client.post("/api/v1/sync/push", data=raw, content_type="application/json",
                           headers=phone.headers)  # fmt: skip
    assert response.status_code == 400, response.json
    assert response.json["error"]["code"] == "bad_request"
    fetched = client.get(f"/api/v1/accounts/{account_id}", headers=world.rep.headers)
    assert fetched.status_code == 404, "nothing of the changeset was applied"

    result = phone.push(body["mutations"], changeset_id=changeset_id)
    assert [r["status"] for r in result["results"]] == ["applied"], result


def test_integers_beyond_64_bits_are_pushed_pulled_and_answered_exactly(
    client: FlaskClient, world: World
) -> None:
    """JSON has no integer limit: a custom value a phone sends comes back as it was, in the
    push's answer (a conflict shows it), in every pull and through REST. (The pull's encoder
    could not write it: every pull of the scope answered 500.)"""
    big = 123456789012345678901234567890
    phone = Phone(client, login(client, world.rep.email)["access_token"])
    account_id = str(uuid.uuid4())
    fields = {**ACCOUNT, "custom": {"erp": big, "negative": -(2**64)}}
    result = phone.push([upsert("accounts", account_id, fields)])
    assert [r["status"] for r in result["results"]] == ["applied"], result
    phone.pull()
    assert phone.store["accounts"][account_id]["custom"] == {"erp": big, "negative": -(2**64)}
    fetched = client.get(f"/api/v1/accounts/{account_id}", headers=world.rep.headers)
    assert fetched.json["custom"]["erp"] == big

    # An older edit of the same field loses: the answer shows both values, exactly.
    stale = upsert("accounts", account_id, {"custom": {"erp": big + 1}}, base_version=0,
                   changed_at=LONG_AGO)  # fmt: skip
    result = phone.push([stale])
    conflict = result["results"][0]["conflicts"][0]
    assert (conflict["kept"]["erp"], conflict["discarded"]["erp"]) == (big, big + 1), result
