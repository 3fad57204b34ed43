"""The REST contract shared by accounts, contacts, interactions and tasks: client-chosen ids,
ETags, partial PATCH with If-Match, soft DELETE."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import Person, World, account_body
from tests.portfolio.helpers import (
    ENTITIES,
    assert_error,
    assert_invalid,
    create_account,
    created,
    fetch,
    get,
    list_ids,
    new_id,
    url,
)

PATCHES: dict[str, dict[str, Any]] = {
    "accounts": {"phone": "+39 02 9999 0000"},
    "contacts": {"role": "Buyer"},
    "interactions": {"report": "Met the owner; wants samples."},
    "tasks": {"notes": "Bring the new catalogue"},
}
SECOND_PATCHES: dict[str, dict[str, Any]] = {
    "accounts": {"phone": "+39 02 1111 2222"},
    "contacts": {"role": "Owner"},
    "interactions": {"report": "Second thoughts."},
    "tasks": {"notes": "Never mind"},
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "accounts": ("kind", "status", "name"),
    "contacts": ("account_id", "last_name"),
    "interactions": ("account_id", "kind", "occurred_at"),
    "tasks": ("title",),
}
OPTIONAL: dict[str, tuple[str, ...]] = {
    "accounts": (
        "title", "first_name", "last_name", "email", "phone", "mobile", "website", "industry",
        "vat_number", "legal_form", "annual_revenue", "employees", "address", "location",
        "owner_id", "tags", "color", "contact_preference", "visit_every_days", "opening_hours",
        "consent", "notes", "custom",
    ),
    "contacts": ("first_name", "role", "email", "phone", "is_primary", "notes"),
    "interactions": (
        "contact_id", "duration_minutes", "outcome", "report", "check_in", "check_out",
        "next_step",
    ),
    "tasks": ("account_id", "assignee_id", "kind", "due_at", "done", "done_at", "notes"),
}  # fmt: skip
# Fields the server keeps, per entity, beyond the common ones.
SERVER_OWNED: dict[str, tuple[str, ...]] = {
    "accounts": ("geocode_status", "geocode_error", "territory_id", "last_visit_at"),
    "contacts": (),
    "interactions": ("user_id", "verification"),
    "tasks": ("created_by",),
}
COMMON_SERVER_OWNED = ("version", "created_at", "updated_at")


def valid_body(client: FlaskClient, person: Person, entity: str) -> dict[str, Any]:
    """A valid creation body (the parent account, if any, is created by ``person``)."""
    if entity == "accounts":
        return account_body(
            industry="Wine", phone="+39 02 1234 5678", address={"city": "Milano", "country": "IT"}
        )
    account = create_account(client, person)
    if entity == "contacts":
        return {
            "account_id": account["id"], "last_name": "Bianchi", "first_name": "Anna",
            "email": "anna@example.com",
        }  # fmt: skip
    if entity == "interactions":
        return {
            "account_id": account["id"], "kind": "call", "occurred_at": "2026-11-20T09:00:00Z",
            "outcome": "interested",
        }  # fmt: skip
    return {
        "account_id": account["id"], "title": "Send the price list", "kind": "follow_up",
        "due_at": "2026-12-01T09:00:00Z",
    }  # fmt: skip


def make(client: FlaskClient, person: Person, entity: str, **extra: Any) -> dict[str, Any]:
    body = {**valid_body(client, person, entity), **extra}
    return created(client.post(url(entity), json=body, headers=person.headers))


# --- create --------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES)
def test_create_keeps_the_client_chosen_id(client, world: World, entity: str) -> None:
    record_id = new_id()
    body = {**valid_body(client, world.admin, entity), "id": record_id}
    response = client.post(url(entity), json=body, headers=world.admin.headers)
    record = created(response)
    assert record["id"] == record_id, response.json
    assert record["version"] == 1, response.json
    assert response.headers.get("ETag") == '"1"', (response.headers, response.json)
    for name, value in body.items():
        if isinstance(value, dict):  # nested values come back with every part named
            assert {k: record[name][k] for k in value} == value, (name, response.json)
        elif name not in ("id", "occurred_at", "due_at"):
            assert record[name] == value, (name, response.json)
    fetched = fetch(client, world.admin, entity, record_id)
    assert fetched == record, (fetched, record)


@pytest.mark.parametrize("entity", ENTITIES)
def test_create_without_id_gets_a_server_uuid(client, world: World, entity: str) -> None:
    record = make(client, world.admin, entity)
    assert len(record["id"]) == 36, record
    assert fetch(client, world.admin, entity, record["id"])["id"] == record["id"]


@pytest.mark.parametrize("entity", ENTITIES)
def test_a_reused_id_is_a_conflict_and_changes_nothing(client, world: World, entity: str) -> None:
    first = make(client, world.admin, entity, id=new_id())
    again = {**valid_body(client, world.admin, entity), **PATCHES[entity], "id": first["id"]}
    response = client.post(url(entity), json=again, headers=world.admin.headers)
    assert_error(response, 409, "conflict")
    assert fetch(client, world.admin, entity, first["id"]) == first


@pytest.mark.parametrize("entity", ENTITIES)
def test_the_id_of_a_deleted_record_cannot_be_reused(client, world: World, entity: str) -> None:
    first = make(client, world.admin, entity, id=new_id())
    deleted = client.delete(url(entity, first["id"]), headers=world.admin.headers)
    assert deleted.status_code == 204, deleted.json
    body = {**valid_body(client, world.admin, entity), "id": first["id"]}
    response = client.post(url(entity), json=body, headers=world.admin.headers)
    assert_error(response, 409, "conflict")
    assert get(client, world.admin, entity, first["id"]).status_code == 404


@pytest.mark.parametrize("entity", ENTITIES)
def test_an_id_used_in_another_organisation_is_refused(client, world: World, entity: str) -> None:
    theirs = make(client, world.admin, entity, id=new_id())
    body = {**valid_body(client, world.other_admin, entity), "id": theirs["id"]}
    response = client.post(url(entity), json=body, headers=world.other_admin.headers)
    assert_error(response, 409, "conflict")
    assert fetch(client, world.admin, entity, theirs["id"]) == theirs
    assert get(client, world.other_admin, entity, theirs["id"]).status_code == 404


@pytest.mark.parametrize(("entity", "field"), [(e, f) for e in ENTITIES for f in REQUIRED[e]])
def test_a_required_field_is_required(client, world: World, entity: str, field: str) -> None:
    body = valid_body(client, world.admin, entity)
    del body[field]
    response = client.post(url(entity), json=body, headers=world.admin.headers)
    assert_invalid(response, field)
    assert list_ids(client, world.admin, entity) == set(), "nothing may be created"


@pytest.mark.parametrize(("entity", "field"), [(e, f) for e in ENTITIES for f in REQUIRED[e]])
def test_a_required_field_cannot_be_null(client, world: World, entity: str, field: str) -> None:
    body = {**valid_body(client, world.admin, entity), field: None}
    assert_invalid(client.post(url(entity), json=body, headers=world.admin.headers), field)


@pytest.mark.parametrize(("entity", "field"), [(e, f) for e in ENTITIES for f in REQUIRED[e]])
def test_patch_cannot_null_a_required_field(client, world: World, entity: str, field: str) -> None:
    record = make(client, world.admin, entity)
    response = client.patch(
        url(entity, record["id"]), json={field: None}, headers=world.admin.headers
    )
    assert_invalid(response, field)
    assert fetch(client, world.admin, entity, record["id"]) == record


@pytest.mark.parametrize("entity", ENTITIES)
def test_every_optional_field_may_be_null(client, world: World, entity: str) -> None:
    body = valid_body(client, world.admin, entity)
    body.update(dict.fromkeys(OPTIONAL[entity]))
    record = created(client.post(url(entity), json=body, headers=world.admin.headers))
    for name in OPTIONAL[entity]:
        if not (entity == "tasks" and name == "assignee_id"):
            assert record[name] is None, (name, record)


@pytest.mark.parametrize("entity", ENTITIES)
def test_only_the_required_fields_are_enough(client, world: World, entity: str) -> None:
    body = valid_body(client, world.admin, entity)
    minimal = {name: body[name] for name in REQUIRED[entity]}
    record = created(client.post(url(entity), json=minimal, headers=world.admin.headers))
    assert record["version"] == 1, record


# --- get -------------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES)
def test_get_answers_the_version_as_etag(client, world: World, entity: str) -> None:
    record = make(client, world.admin, entity)
    response = get(client, world.admin, entity, record["id"])
    assert response.status_code == 200, response.json
    assert response.headers.get("ETag") == '"1"', (response.headers, response.json)
    patched = client.patch(
        url(entity, record["id"]), json=PATCHES[entity], headers=world.admin.headers
    )
    assert patched.status_code == 200, patched.json
    assert patched.headers.get("ETag") == '"2"', patched.headers
    again = get(client, world.admin, entity, record["id"])
    assert again.headers.get("ETag") == '"2"', (again.headers, again.json)
    assert again.json["version"] == 2, again.json


@pytest.mark.parametrize("entity", ENTITIES)
def test_get_of_an_unknown_id_is_not_found(client, world: World, entity: str) -> None:
    assert_error(get(client, world.admin, entity, new_id()), 404, "not_found")


@pytest.mark.parametrize("entity", ENTITIES)
def test_get_of_a_malformed_id_is_not_found(client, world: World, entity: str) -> None:
    assert_error(get(client, world.admin, entity, "not-a-uuid"), 404, "not_found")


@pytest.mark.parametrize("entity", ENTITIES)
def test_requests_without_a_token_are_unauthorized(client, world: World, entity: str) -> None:
    record = make(client, world.admin, entity)
    assert_error(client.get(url(entity)), 401, "unauthorized")
    assert_error(client.get(url(entity, record["id"])), 401, "unauthorized")
    assert_error(client.patch(url(entity, record["id"]), json={}), 401, "unauthorized")
    assert_error(client.delete(url(entity, record["id"])), 401, "unauthorized")
    assert fetch(client, world.admin, entity, record["id"]) == record


# --- patch -----------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES)
def test_patch_changes_only_the_fields_sent(client, world: World, entity: str) -> None:
    before = make(client, world.admin, entity)
    response = client.patch(
        url(entity, before["id"]), json=PATCHES[entity], headers=world.admin.headers
    )
    assert response.status_code == 200, response.json
    after = response.json
    assert after["version"] == before["version"] + 1, after
    for name, value in PATCHES[entity].items():
        assert after[name] == value, (name, after)
    untouched = set(before) - set(PATCHES[entity]) - {"version", "updated_at"}
    for name in untouched:
        assert after[name] == before[name], (name, before, after)
    assert fetch(client, world.admin, entity, before["id"]) == after


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("if_match", ['"1"', "1", 'W/"1"', ' "1" '])
def test_patch_with_a_current_if_match(client, world: World, entity: str, if_match: str) -> None:
    record = make(client, world.admin, entity)
    response = client.patch(
        url(entity, record["id"]),
        json=PATCHES[entity],
        headers={**world.admin.headers, "If-Match": if_match},
    )
    assert response.status_code == 200, (if_match, response.json)
    assert response.json["version"] == 2, response.json


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("if_match", ['"1"', "1"])
def test_a_stale_if_match_is_412_and_writes_nothing(
    client, world: World, entity: str, if_match: str
) -> None:
    record = make(client, world.admin, entity)
    first = client.patch(
        url(entity, record["id"]), json=PATCHES[entity], headers=world.admin.headers
    )
    assert first.status_code == 200, first.json
    stale = client.patch(
        url(entity, record["id"]),
        json=SECOND_PATCHES[entity],
        headers={**world.admin.headers, "If-Match": if_match},
    )
    assert_error(stale, 412, "precondition_failed")
    assert fetch(client, world.admin, entity, record["id"]) == first.json


@pytest.mark.parametrize("entity", ENTITIES)
def test_an_if_match_from_the_future_is_412(client, world: World, entity: str) -> None:
    record = make(client, world.admin, entity)
    response = client.patch(
        url(entity, record["id"]),
        json=PATCHES[entity],
        headers={**world.admin.headers, "If-Match": '"7"'},
    )
    assert_error(response, 412, "precondition_failed")
    assert fetch(client, world.admin, entity, record["id"]) == record


@pytest.mark.parametrize("entity", ENTITIES)
def test_a_malformed_if_match_is_a_bad_request(client, world: World, entity: str) -> None:
    record = make(client, world.admin, entity)
    response = client.patch(
        url(entity, record["id"]),
        json=PATCHES[entity],
        headers={**world.admin.headers, "If-Match": '"abc"'},
    )
    assert_error(response, 400, "bad_request")
    assert fetch(client, world.admin, entity, record["id"]) == record


@pytest.mark.parametrize("entity", ENTITIES)
def test_successive_patches_bump_the_version(client, world: World, entity: str) -> None:
    record = make(client, world.admin, entity)
    for version, patch in ((2, PATCHES[entity]), (3, SECOND_PATCHES[entity])):
        response = client.patch(
            url(entity, record["id"]),
            json=patch,
            headers={**world.admin.headers, "If-Match": f'"{version - 1}"'},
        )
        assert response.status_code == 200, response.json
        assert response.json["version"] == version, response.json


@pytest.mark.parametrize("entity", ENTITIES)
def test_patch_of_an_unknown_id_is_not_found(client, world: World, entity: str) -> None:
    response = client.patch(
        url(entity, new_id()), json=PATCHES[entity], headers=world.admin.headers
    )
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("entity", "field"),
    [(e, f) for e in ENTITIES for f in (*COMMON_SERVER_OWNED, *SERVER_OWNED[e], "id")],
)
def test_patch_rejects_server_owned_fields_by_name(
    client, world: World, entity: str, field: str
) -> None:
    record = make(client, world.admin, entity)
    value: Any = 9 if field == "version" else None
    response = client.patch(
        url(entity, record["id"]),
        json={**PATCHES[entity], field: value},
        headers=world.admin.headers,
    )
    assert_invalid(response, field)
    assert fetch(client, world.admin, entity, record["id"]) == record


@pytest.mark.parametrize(
    ("entity", "field"),
    [(e, f) for e in ENTITIES for f in (*COMMON_SERVER_OWNED, *SERVER_OWNED[e])],
)
def test_create_rejects_server_owned_fields_by_name(
    client, world: World, entity: str, field: str
) -> None:
    body = {**valid_body(client, world.admin, entity), field: 1 if field == "version" else None}
    assert_invalid(client.post(url(entity), json=body, headers=world.admin.headers), field)


@pytest.mark.parametrize("entity", ENTITIES)
def test_unknown_fields_are_rejected_by_name(client, world: World, entity: str) -> None:
    body = {**valid_body(client, world.admin, entity), "favourite_colour": "blue"}
    assert_invalid(
        client.post(url(entity), json=body, headers=world.admin.headers), "favourite_colour"
    )
    record = make(client, world.admin, entity)
    response = client.patch(
        url(entity, record["id"]), json={"favourite_colour": "blue"}, headers=world.admin.headers
    )
    assert_invalid(response, "favourite_colour")


@pytest.mark.parametrize("entity", ENTITIES)
def test_an_empty_patch_changes_nothing(client, world: World, entity: str) -> None:
    record = make(client, world.admin, entity)
    response = client.patch(url(entity, record["id"]), json={}, headers=world.admin.headers)
    assert response.status_code == 200, response.json
    assert response.json == record


# --- delete ----------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES)
def test_delete_is_soft_and_hides_the_record(client, world: World, entity: str) -> None:
    record = make(client, world.admin, entity)
    keep = make(client, world.admin, entity)
    response = client.delete(url(entity, record["id"]), headers=world.admin.headers)
    assert response.status_code == 204, response.json
    assert response.data == b"", response.data
    assert_error(get(client, world.admin, entity, record["id"]), 404, "not_found")
    visible = list_ids(client, world.admin, entity)
    assert record["id"] not in visible, visible
    assert keep["id"] in visible, visible
    patched = client.patch(
        url(entity, record["id"]), json=PATCHES[entity], headers=world.admin.headers
    )
    assert_error(patched, 404, "not_found")
    assert_error(
        client.delete(url(entity, record["id"]), headers=world.admin.headers), 404, "not_found"
    )


@pytest.mark.parametrize("entity", ENTITIES)
def test_delete_with_a_stale_if_match_is_412(client, world: World, entity: str) -> None:
    record = make(client, world.admin, entity)
    patched = client.patch(
        url(entity, record["id"]), json=PATCHES[entity], headers=world.admin.headers
    )
    assert patched.status_code == 200, patched.json
    response = client.delete(
        url(entity, record["id"]), headers={**world.admin.headers, "If-Match": '"1"'}
    )
    assert_error(response, 412, "precondition_failed")
    assert fetch(client, world.admin, entity, record["id"]) == patched.json


@pytest.mark.parametrize("entity", ENTITIES)
def test_delete_with_the_current_if_match(client, world: World, entity: str) -> None:
    record = make(client, world.admin, entity)
    response = client.delete(
        url(entity, record["id"]), headers={**world.admin.headers, "If-Match": "1"}
    )
    assert response.status_code == 204, response.json
    assert get(client, world.admin, entity, record["id"]).status_code == 404


@pytest.mark.parametrize("entity", ENTITIES)
def test_delete_of_an_unknown_id_is_not_found(client, world: World, entity: str) -> None:
    assert_error(
        client.delete(url(entity, new_id()), headers=world.admin.headers), 404, "not_found"
    )


@pytest.mark.parametrize("entity", ("contacts", "interactions", "tasks"))
def test_children_of_a_deleted_account_are_kept(client, world: World, entity: str) -> None:
    child = make(client, world.admin, entity)
    account_id = child["account_id"]
    deleted = client.delete(url("accounts", account_id), headers=world.admin.headers)
    assert deleted.status_code == 204, deleted.json
    assert get(client, world.admin, "accounts", account_id).status_code == 404
    assert fetch(client, world.admin, entity, child["id"]) == child
    assert child["id"] in list_ids(client, world.admin, entity)
    assert child["id"] in list_ids(client, world.admin, entity, account_id=account_id)


@pytest.mark.parametrize("entity", ("contacts", "interactions", "tasks"))
def test_children_of_a_deleted_account_stay_visible_to_its_rep(
    client, world: World, entity: str
) -> None:
    child = make(client, world.rep, entity)
    deleted = client.delete(url("accounts", child["account_id"]), headers=world.rep.headers)
    assert deleted.status_code == 204, deleted.json
    assert fetch(client, world.rep, entity, child["id"]) == child
    assert child["id"] in list_ids(client, world.rep, entity)
    assert child["id"] not in list_ids(client, world.rep2, entity)


@pytest.mark.parametrize("entity", ("contacts", "interactions", "tasks"))
def test_children_of_a_deleted_account_can_still_be_edited(
    client, world: World, entity: str
) -> None:
    child = make(client, world.rep, entity)
    deleted = client.delete(url("accounts", child["account_id"]), headers=world.rep.headers)
    assert deleted.status_code == 204, deleted.json
    response = client.patch(
        url(entity, child["id"]), json=PATCHES[entity], headers=world.rep.headers
    )
    assert response.status_code == 200, response.json
    assert response.json["version"] == 2, response.json
