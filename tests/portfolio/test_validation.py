"""Bad input: a 422 naming the field (or a 400 for a body that is not JSON), never a 500,
and nothing written."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import World, account_body
from tests.portfolio.helpers import (
    MILAN,
    assert_error,
    assert_invalid,
    create_account,
    create_interaction,
    create_task,
    created,
    error_fields,
    fetch,
    list_ids,
    url,
)

BIG = "x" * (8 * 1024)

# (field named in the error, the account fields that are wrong)
BAD_ACCOUNTS: list[tuple[str, dict[str, Any]]] = [
    ("email", {"email": "not-an-email"}),
    ("email", {"email": "a@"}),
    ("address.country", {"address": {"country": "XX"}}),
    ("address.country", {"address": {"country": "ITA"}}),
    ("address.country", {"address": {"country": "Italy"}}),
    ("address.country", {"address": {"country": 39}}),
    ("address.planet", {"address": {"planet": "Earth"}}),
    ("address", {"address": "Via Torino 5, Milano"}),
    ("color", {"color": "red"}),
    ("color", {"color": "#12345"}),
    ("color", {"color": "#GGGGGG"}),
    ("color", {"color": "123456"}),
    ("color", {"color": "#1234567"}),
    ("opening_hours", {"opening_hours": {"xyz": [["08:00", "12:00"]]}}),
    ("opening_hours", {"opening_hours": {"monday": [["08:00", "12:00"]]}}),
    ("opening_hours", {"opening_hours": {"mon": [["8:30", "12:00"]]}}),
    ("opening_hours", {"opening_hours": {"mon": [["08:30", "24:00"]]}}),
    ("opening_hours", {"opening_hours": {"mon": [["08:60", "12:00"]]}}),
    ("opening_hours", {"opening_hours": {"mon": [["08:30\n", "12:00"]]}}),
    ("opening_hours", {"opening_hours": {"mon": [["\u0660\u0668:30", "12:00"]]}}),  # Arabic 08
    ("opening_hours", {"opening_hours": {"mon": [["08:30"]]}}),
    ("opening_hours", {"opening_hours": {"mon": [["08:30", "12:00", "13:00"]]}}),
    ("opening_hours", {"opening_hours": {"mon": [[830, 1200]]}}),
    ("opening_hours", {"opening_hours": {"mon": "08:00-12:00"}}),
    ("opening_hours", {"opening_hours": {"mon": [["12:00", "08:00"]]}}),
    ("opening_hours", {"opening_hours": {"mon": [["12:00", "12:00"]]}}),
    ("opening_hours", {"opening_hours": {"mon": [["08:00", "12:00"], ["11:00", "14:00"]]}}),
    ("opening_hours", {"opening_hours": {"mon": [["14:00", "18:00"], ["08:00", "14:30"]]}}),
    ("opening_hours", {"opening_hours": [["08:00", "12:00"]]}),
    ("visit_every_days", {"visit_every_days": 0}),
    ("visit_every_days", {"visit_every_days": -7}),
    ("visit_every_days", {"visit_every_days": 3651}),
    ("visit_every_days", {"visit_every_days": 1.5}),
    ("visit_every_days", {"visit_every_days": "weekly"}),
    ("custom", {"custom": {"blob": BIG}}),
    ("custom", {"custom": ["not", "an", "object"]}),
    ("custom", {"custom": "text"}),
    ("kind", {"kind": "robot"}),
    ("status", {"status": "vip"}),
    ("name", {"name": ""}),
    ("name", {"name": "n" * 301}),
    ("name", {"name": 42}),
    ("contact_preference", {"contact_preference": "fax"}),
    ("employees", {"employees": -1}),
    ("employees", {"employees": 2.5}),
    ("annual_revenue", {"annual_revenue": -10}),
    ("annual_revenue", {"annual_revenue": "lots"}),
    ("tags", {"tags": "vip"}),
    ("tags", {"tags": [""]}),
    ("tags", {"tags": ["t" * 61]}),
    ("tags", {"tags": [f"t{i}" for i in range(51)]}),
    ("owner_id", {"owner_id": "not-a-uuid"}),
    ("location.source", {"location": {"lat": 45.0, "lon": 9.0, "source": "geocoder"}}),
    ("location.source", {"location": {"lat": 45.0, "lon": 9.0, "source": "satellite"}}),
    ("location.precision", {"location": {"lat": 45.0, "lon": 9.0, "precision": "country"}}),
    ("location.lat", {"location": {"lat": 91, "lon": 9.0}}),
    ("location.lat", {"location": {"lat": -90.5, "lon": 9.0}}),
    ("location.lon", {"location": {"lat": 45.0, "lon": 181}}),
    ("location.lat", {"location": {"lon": 9.0}}),
    ("location.lat", {"location": {"lat": "north", "lon": 9.0}}),
    ("location", {"location": [45.0, 9.0]}),
    ("consent.updated_at", {"consent": {"marketing_email": True,
                                        "updated_at": "2026-11-01T08:00:00"}}),
    ("consent.marketing_email", {"consent": {"marketing_email": "maybe"}}),
    ("id", {"id": "not-a-uuid"}),
    ("id", {"id": 12}),
]  # fmt: skip

SERVER_OWNED_ACCOUNT_FIELDS = (
    "version", "created_at", "updated_at", "deleted_at", "org_id", "geocode_status",
    "geocode_error", "territory_id", "last_visit_at", "visit_due_at",
)  # fmt: skip


@pytest.mark.parametrize(("field", "fields"), BAD_ACCOUNTS)
def test_a_bad_account_is_rejected_naming_the_field(
    client, world: World, field: str, fields: dict[str, Any]
) -> None:
    response = client.post(url("accounts"), json=account_body(**fields), headers=world.rep.headers)
    assert_invalid(response, field)
    assert list_ids(client, world.admin, "accounts") == set(), "nothing may be created"


@pytest.mark.parametrize(("field", "fields"), [b for b in BAD_ACCOUNTS if b[0] != "id"])
def test_a_bad_account_patch_is_rejected_and_writes_nothing(
    client, world: World, field: str, fields: dict[str, Any]
) -> None:
    record = create_account(client, world.rep)
    response = client.patch(url("accounts", record["id"]), json=fields, headers=world.rep.headers)
    assert_invalid(response, field)
    assert fetch(client, world.rep, "accounts", record["id"]) == record


@pytest.mark.parametrize("field", SERVER_OWNED_ACCOUNT_FIELDS)
def test_server_owned_account_fields_are_rejected_by_name(client, world: World, field: str) -> None:
    value = {
        "version": 3,
        "geocode_status": "ok",
        "territory_id": "6f1c1f39-2a9e-4c7e-9f49-5d2b8a5e0c11",
    }
    body = account_body(**{field: value.get(field, "2026-11-22T10:15:00Z")})
    response = client.post(url("accounts"), json=body, headers=world.rep.headers)
    fields = assert_invalid(response, field)
    assert "Read-only" in " ".join(fields[field]), response.json


def test_many_errors_are_named_together(client, world: World) -> None:
    body = account_body(email="nope", color="red", visit_every_days=0, kind="robot")
    response = client.post(url("accounts"), json=body, headers=world.rep.headers)
    assert_error(response, 422, "validation_error")
    assert {"email", "color", "visit_every_days", "kind"} <= set(error_fields(response)), (
        response.json
    )


# --- interactions, contacts, tasks -----------------------------------------------------------


BAD_INTERACTIONS: list[tuple[str, dict[str, Any]]] = [
    ("occurred_at", {"occurred_at": "2026-11-22T10:15:00"}),
    ("occurred_at", {"occurred_at": "2026-11-22"}),
    ("occurred_at", {"occurred_at": "yesterday"}),
    ("occurred_at", {"occurred_at": 1732270500}),
    ("kind", {"kind": "lunch"}),
    ("duration_minutes", {"duration_minutes": -5}),
    ("duration_minutes", {"duration_minutes": 24 * 60 + 1}),
    ("check_in.lat", {"check_in": {"lat": 100, "lon": 9.0}}),
    ("check_in.lon", {"check_in": {"lat": 45.0, "lon": -200}}),
    ("check_in.lat", {"check_in": {"lon": 9.0}}),
    ("check_in.at", {"check_in": {"lat": 45.0, "lon": 9.0, "at": "2026-11-22T10:15:00"}}),
    ("check_in.accuracy_m", {"check_in": {"lat": 45.0, "lon": 9.0, "accuracy_m": -1}}),
    ("check_in.altitude", {"check_in": {"lat": 45.0, "lon": 9.0, "altitude": 120}}),
    ("check_out.lat", {"check_out": {"lat": "here", "lon": 9.0}}),
    ("user_id", {"user_id": "6f1c1f39-2a9e-4c7e-9f49-5d2b8a5e0c11"}),
    ("verification", {"verification": {"status": "verified", "distance_m": 1}}),
    ("contact_id", {"contact_id": "not-a-uuid"}),
    ("account_id", {"account_id": "not-a-uuid"}),
    ("version", {"version": 1}),
    ("mood", {"mood": "happy"}),
]  # fmt: skip


@pytest.mark.parametrize(("field", "fields"), BAD_INTERACTIONS)
def test_a_bad_interaction_is_rejected_naming_the_field(
    client, world: World, field: str, fields: dict[str, Any]
) -> None:
    account = create_account(client, world.rep, location={"lat": MILAN[0], "lon": MILAN[1]})
    body = {"account_id": account["id"], "kind": "visit", "occurred_at": "2026-11-22T10:15:00Z",
            **fields}  # fmt: skip
    assert_invalid(client.post(url("interactions"), json=body, headers=world.rep.headers), field)
    assert list_ids(client, world.rep, "interactions") == set()
    assert fetch(client, world.rep, "accounts", account["id"])["last_visit_at"] is None


@pytest.mark.parametrize(("field", "fields"), BAD_INTERACTIONS)
def test_a_bad_interaction_patch_writes_nothing(
    client, world: World, field: str, fields: dict[str, Any]
) -> None:
    account = create_account(client, world.rep)
    record = create_interaction(client, world.rep, account["id"])
    response = client.patch(
        url("interactions", record["id"]), json=fields, headers=world.rep.headers
    )
    assert_invalid(response, field)
    assert fetch(client, world.rep, "interactions", record["id"]) == record


BAD_TASKS: list[tuple[str, dict[str, Any]]] = [
    ("title", {"title": ""}),
    ("title", {"title": "t" * 301}),
    ("kind", {"kind": "errand"}),
    ("due_at", {"due_at": "2026-12-01T09:00:00"}),
    ("due_at", {"due_at": "soon"}),
    ("done_at", {"done_at": "2026-12-01T09:00:00"}),
    ("done", {"done": "perhaps"}),
    ("assignee_id", {"assignee_id": "nobody"}),
    ("account_id", {"account_id": "nothing"}),
    ("created_by", {"created_by": "6f1c1f39-2a9e-4c7e-9f49-5d2b8a5e0c11"}),
]  # fmt: skip


@pytest.mark.parametrize(("field", "fields"), BAD_TASKS)
def test_a_bad_task_is_rejected_naming_the_field(
    client, world: World, field: str, fields: dict[str, Any]
) -> None:
    body = {"title": "Call back", **fields}
    assert_invalid(client.post(url("tasks"), json=body, headers=world.rep.headers), field)
    assert list_ids(client, world.rep, "tasks") == set()
    record = create_task(client, world.rep)
    response = client.patch(url("tasks", record["id"]), json=fields, headers=world.rep.headers)
    assert_invalid(response, field)
    assert fetch(client, world.rep, "tasks", record["id"]) == record


BAD_CONTACTS: list[tuple[str, dict[str, Any]]] = [
    ("email", {"email": "anna at example"}),
    ("last_name", {"last_name": ""}),
    ("last_name", {"last_name": "n" * 151}),
    ("is_primary", {"is_primary": "yes please"}),
    ("account_id", {"account_id": "nope"}),
    ("nickname", {"nickname": "Annie"}),
]  # fmt: skip


@pytest.mark.parametrize(("field", "fields"), BAD_CONTACTS)
def test_a_bad_contact_is_rejected_naming_the_field(
    client, world: World, field: str, fields: dict[str, Any]
) -> None:
    account = create_account(client, world.rep)
    body = {"account_id": account["id"], "last_name": "Bianchi", **fields}
    assert_invalid(client.post(url("contacts"), json=body, headers=world.rep.headers), field)
    assert list_ids(client, world.rep, "contacts") == set()


# --- query strings ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "params", "field"),
    [
        ("accounts", {"limit": "1001"}, "limit"),
        ("accounts", {"cursor": "not a cursor"}, "cursor"),
        ("accounts", {"status": "vip"}, "status"),
        ("accounts", {"kind": "robot"}, "kind"),
        ("accounts", {"territory_id": "x"}, "territory_id"),
        ("accounts", {"country": "XX"}, "country"),
        ("accounts", {"due": "sometimes"}, "due"),
        ("accounts", {"near": "milano"}, "near"),
        ("accounts", {"q": "q" * 201}, "q"),
        ("contacts", {"account_id": "x"}, "account_id"),
        ("interactions", {"verification": "nearby"}, "verification"),
        ("interactions", {"from": "2026-11-22T10:00:00"}, "from"),
        ("interactions", {"to": "9999-12-31T23:59:59-05:00"}, "to"),
        ("interactions", {"kind": "lunch"}, "kind"),
        ("tasks", {"done": "perhaps"}, "done"),
        ("tasks", {"due_before": "2026-11-22"}, "due_before"),
        ("tasks", {"due_before": "0001-01-01T00:00:00+01:00"}, "due_before"),
        ("tasks", {"limit": "5000"}, "limit"),
    ],
)
def test_bad_query_parameters_are_named(
    client, world: World, entity: str, params: dict[str, str], field: str
) -> None:
    response = client.get(url(entity), query_string=params, headers=world.admin.headers)
    assert_invalid(response, field)


# --- bodies that are not objects -------------------------------------------------------------


@pytest.mark.parametrize("entity", ["accounts", "contacts", "interactions", "tasks"])
def test_malformed_json_is_a_bad_request(client, world: World, entity: str) -> None:
    response = client.post(url(entity), data='{"name": ', content_type="application/json",
                           headers=world.admin.headers)  # fmt: skip
    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize("number", ["NaN", "Infinity", "-Infinity", "1e400", "-2E+999"])
@pytest.mark.parametrize("where", ["custom", "annual_revenue"])
def test_numbers_json_does_not_have_are_a_bad_request(
    client, world: World, number: str, where: str
) -> None:
    """Python's parser takes NaN, Infinity and 1e400 (as infinity); PostgreSQL refused them as
    a 500 and SQLite stored a value no phone could parse back. The body is not JSON: a 400."""
    value = f'{{"n": {number}}}' if where == "custom" else number
    body = json.dumps(account_body())[:-1] + f', "{where}": {value}}}'
    response = client.post(url("accounts"), data=body, content_type="application/json",
                           headers=world.rep.headers)  # fmt: skip
    assert_error(response, 400, "bad_request")
    assert list_ids(client, world.admin, "accounts") == set(), "nothing may be created"


def test_long_integers_and_their_look_alikes_are_kept_exactly(client, world: World) -> None:
    """JSON columns go through orjson, which writes integers up to 64 bits and reads longer
    ones as floats: longer ones must still come back digit for digit."""
    custom = {
        "ean": 2**70 + 1,
        "negative": -(2**64) - 7,
        "text": "12345678901234567890123",
        "nested": [{"big": 10**25}, 1.5, "\\u0000 spelled out"],
        "plain": 2**63 - 1,
    }
    record = created(client.post(url("accounts"), json=account_body(custom=custom),
                                 headers=world.rep.headers))  # fmt: skip
    assert record["custom"] == custom
    assert fetch(client, world.rep, "accounts", record["id"])["custom"] == custom


@pytest.mark.parametrize("entity", ["accounts", "contacts", "interactions", "tasks"])
def test_a_wrong_content_type_is_a_bad_request(client, world: World, entity: str) -> None:
    response = client.post(url(entity), data="name=Rossi",
                           content_type="application/x-www-form-urlencoded",
                           headers=world.admin.headers)  # fmt: skip
    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize("body", ["[1, 2]", '"text"', "42", "null", "true"])
def test_a_body_that_is_not_an_object_is_refused(client, world: World, body: str) -> None:
    response = client.post(url("accounts"), data=body, content_type="application/json",
                           headers=world.admin.headers)  # fmt: skip
    assert response.status_code in (400, 422), (response.status_code, response.json)
    assert response.json["error"]["code"] in ("bad_request", "validation_error"), response.json
    assert list_ids(client, world.admin, "accounts") == set()


def test_an_unwritable_instant_is_invalid_not_a_500(client, world: World) -> None:
    account = create_account(client, world.rep)
    for occurred_at in ("9999-12-31T23:59:59-05:00", "0001-01-01T00:30:00+01:00"):
        body = {"account_id": account["id"], "kind": "visit", "occurred_at": occurred_at}
        response = client.post(url("interactions"), json=body, headers=world.rep.headers)
        assert_invalid(response, "occurred_at")
        response = client.post(url("tasks"), json={"title": "x", "due_at": occurred_at},
                               headers=world.rep.headers)  # fmt: skip
        assert_invalid(response, "due_at")


UNSTORABLE_TEXT = [
    ("accounts", "name", {"name": "Bottega\x00Rossi"}),
    ("accounts", "notes", {"notes": "bad \ud800 surrogate"}),
    ("accounts", "custom", {"custom": {"k": "nul \x00 inside"}}),
    ("accounts", "custom", {"custom": {"nul\x00key": 1}}),
    ("accounts", "tags", {"tags": ["nul\x00"]}),
    ("accounts", "address", {"address": {"city": "Mil\x00ano"}}),
    ("accounts", "opening_hours", {"opening_hours": {"mon": [["08:00\x00", "12:00"]]}}),
    ("contacts", "last_name", {"last_name": "Bian\x00chi"}),
    ("interactions", "report", {"report": "\ud83d alone"}),
    ("tasks", "title", {"title": "\x00"}),
]  # fmt: skip


@pytest.mark.parametrize(("entity", "field", "fields"), UNSTORABLE_TEXT)
def test_text_no_database_can_store_is_invalid_not_a_500(
    client, world: World, entity: str, field: str, fields: dict[str, Any]
) -> None:
    """PostgreSQL refuses NUL characters, and a lone surrogate is not UTF-8 at all."""
    account = create_account(client, world.rep)
    base = {
        "accounts": account_body(),
        "contacts": {"account_id": account["id"], "last_name": "Bianchi"},
        "interactions": {"account_id": account["id"], "kind": "call",
                         "occurred_at": "2026-11-22T10:15:00Z"},
        "tasks": {"title": "Call back"},
    }[entity]  # fmt: skip
    response = client.post(url(entity), json={**base, **fields}, headers=world.rep.headers)
    assert_invalid(response, field)
    record = created(client.post(url(entity), json=base, headers=world.rep.headers))
    response = client.patch(url(entity, record["id"]), json=fields, headers=world.rep.headers)
    assert_invalid(response, field)
    assert fetch(client, world.rep, entity, record["id"]) == record


@pytest.mark.parametrize(
    ("entity", "param"),
    [("accounts", "q"), ("accounts", "tag"), ("accounts", "industry"), ("contacts", "q")],
)
def test_a_nul_in_a_filter_is_invalid_not_a_500(
    client, world: World, entity: str, param: str
) -> None:
    create_account(client, world.admin, tags=["a"], industry="Food")
    response = client.get(url(entity), query_string={param: "a\x00"}, headers=world.admin.headers)
    assert_invalid(response, param)


@pytest.mark.parametrize("entity", ["accounts", "contacts", "interactions", "tasks"])
def test_a_deeply_nested_body_is_a_bad_request(client, world: World, entity: str) -> None:
    response = client.post(url(entity), data="[" * 100_000, content_type="application/json",
                           headers=world.admin.headers)  # fmt: skip
    assert_error(response, 400, "bad_request")
    nested = '{"kind": "company", "status": "lead", "name": "x", "custom": ' + "[" * 5000
    response = client.post(url("accounts"), data=nested, content_type="application/json",
                           headers=world.admin.headers)  # fmt: skip
    assert_error(response, 400, "bad_request")
    assert list_ids(client, world.admin, "accounts") == set()
