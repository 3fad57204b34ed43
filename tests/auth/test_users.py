"""/api/v1/users: creation by role, listing scopes, reading, changing and deactivating users."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.auth.helpers import (
    ME,
    USERS,
    assert_error,
    bearer,
    error_fields,
    is_uuid,
    login_ok,
    post_login,
    post_refresh,
)
from tests.conftest import PASSWORD, World

NEW_PASSWORD = "a brand new passphrase"


def new_user(**fields: Any) -> dict[str, Any]:
    body = {
        "email": f"u{uuid.uuid4().hex[:10]}@acme.test",
        "name": "New Person",
        "role": "rep",
        "password": "long enough password",
    }
    body.update(fields)
    return body


def user_ids(client: FlaskClient, headers: dict[str, str]) -> set[str]:
    response = client.get(USERS, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["next_cursor"] is None, response.json
    return {item["id"] for item in response.json["items"]}


def user_url(user_id: Any) -> str:
    return f"{USERS}/{user_id}"


# --- create ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["admin", "manager", "rep"])
def test_admin_creates_users_of_every_role(client, world: World, role: str) -> None:
    body = new_user(role=role, email=f"New.{role}@Acme.Test", name=f"New {role}")
    response = client.post(USERS, json=body, headers=world.admin.headers)
    assert response.status_code == 201, response.json
    created = response.json
    assert is_uuid(created["id"]), created
    assert created["org_id"] == str(world.org_id), created
    assert created["role"] == role, created
    assert created["name"] == f"New {role}", created
    assert created["email"] == f"new.{role}@acme.test", created  # stored lowercased
    assert created["active"] is True, created
    assert created["version"] == 1, created
    assert "password" not in created and "password_hash" not in created, created
    # The new user can log in with the password given, and sees themself.
    tokens = login_ok(client, body["email"], body["password"])
    assert tokens["user"]["role"] == role, tokens
    me = client.get(ME, headers=bearer(tokens["access_token"]))
    assert me.json["id"] == created["id"], me.json


def test_admin_creates_a_rep_under_a_manager(client, world: World) -> None:
    response = client.post(
        USERS, json=new_user(manager_id=str(world.manager.id)), headers=world.admin.headers
    )
    assert response.status_code == 201, response.json
    assert response.json["manager_id"] == str(world.manager.id), response.json
    assert response.json["id"] in user_ids(client, world.manager.headers)


def test_admin_created_user_without_manager_has_none(client, world: World) -> None:
    response = client.post(USERS, json=new_user(), headers=world.admin.headers)
    assert response.status_code == 201, response.json
    assert response.json["manager_id"] is None, response.json


def test_create_with_home_location(client, world: World) -> None:
    body = new_user(home_location={"lat": 45.46, "lon": 9.19})
    response = client.post(USERS, json=body, headers=world.admin.headers)
    assert response.status_code == 201, response.json
    assert response.json["home_location"] == {"lat": 45.46, "lon": 9.19}, response.json


@pytest.mark.parametrize(
    "email", ["rep@acme.test", "REP@ACME.TEST", " rep@acme.test", "admin@other.test"]
)
def test_duplicate_email_is_409(client, world: World, email: str) -> None:
    response = client.post(USERS, json=new_user(email=email), headers=world.admin.headers)
    if response.status_code == 422:  # a leading space may be refused as an invalid email
        assert "email" in error_fields(response), response.json
        return
    assert_error(response, 409, "conflict")


def test_email_of_a_deactivated_user_stays_taken(client, world: World) -> None:
    assert client.delete(user_url(world.rep2.id), headers=world.admin.headers).status_code == 204
    body = new_user(email="rep2@acme.test")
    response = client.post(USERS, json=body, headers=world.admin.headers)
    assert_error(response, 409, "conflict")


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"email": ""}, "email"),
        ({"email": None}, "email"),
        ({"role": "superuser"}, "role"),
        ({"role": "Admin"}, "role"),
        ({"role": None}, "role"),
        ({"password": "short"}, "password"),
        ({"password": "1234567"}, "password"),
        ({"password": "p" * 257}, "password"),
        ({"name": ""}, "name"),
        ({"name": "n" * 201}, "name"),
        ({"manager_id": "not-a-uuid"}, "manager_id"),
        ({"home_location": {"lat": 91, "lon": 0}}, "home_location.lat"),
        ({"home_location": {"lat": 45}}, "home_location.lon"),
    ],
)
def test_invalid_user_fields_are_422(client, world: World, fields, bad: str) -> None:
    response = client.post(USERS, json=new_user(**fields), headers=world.admin.headers)
    assert bad in error_fields(response), response.json


@pytest.mark.parametrize(
    ("fields", "bad"),
    [
        ({"name": "Bad\x00Name"}, "name"),
        ({"name": "Bad \ud800"}, "name"),
        ({"password": "long enough\udc00"}, "password"),
        ({"password": "long enough\x00"}, "password"),
        ({"email": "a\x00b@acme.test"}, "email"),
    ],
)
def test_unstorable_text_is_422_not_500(client, world: World, fields, bad: str) -> None:
    created = client.post(USERS, json=new_user(**fields), headers=world.admin.headers)
    assert bad in error_fields(created), created.json
    patched = client.patch(user_url(world.rep.id), json=fields, headers=world.admin.headers)
    assert bad in error_fields(patched), patched.json


def test_concurrent_creates_of_one_email_give_one_201_and_409s(app, world: World) -> None:
    """A double-submitted form: the losers of the race get 409, never a 500."""
    body = new_user(email="double@acme.test")
    clients = [app.test_client() for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    results: list[tuple[int, object]] = []
    lock = threading.Lock()

    def create(c) -> None:
        barrier.wait()
        response = c.post(USERS, json=body, headers=world.admin.headers)
        with lock:
            results.append((response.status_code, response.json))

    threads = [threading.Thread(target=create, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(status for status, _ in results) == [201, 409, 409, 409], results
    for status, payload in results:
        if status == 409:
            assert payload["error"]["code"] == "conflict", payload


@pytest.mark.parametrize("missing", ["email", "name", "role", "password"])
def test_missing_required_user_field_is_422(client, world: World, missing: str) -> None:
    body = new_user()
    del body[missing]
    response = client.post(USERS, json=body, headers=world.admin.headers)
    assert set(error_fields(response)) == {missing}, response.json


@pytest.mark.parametrize("field", ["id", "org_id", "active", "version", "created_at"])
def test_server_owned_fields_are_refused_by_name(client, world: World, field: str) -> None:
    value: Any = str(uuid.uuid4()) if field.endswith("id") else 1
    response = client.post(USERS, json=new_user(**{field: value}), headers=world.admin.headers)
    assert field in error_fields(response), response.json


def test_unknown_user_field_is_422(client, world: World) -> None:
    response = client.post(USERS, json=new_user(nickname="Bob"), headers=world.admin.headers)
    assert "nickname" in error_fields(response), response.json


def test_invalid_create_creates_nothing(client, world: World) -> None:
    before = user_ids(client, world.admin.headers)
    client.post(USERS, json=new_user(password="short"), headers=world.admin.headers)
    client.post(USERS, json=new_user(role="boss"), headers=world.admin.headers)
    assert user_ids(client, world.admin.headers) == before


@pytest.mark.parametrize("who", ["rep", "manager"])
def test_manager_id_must_name_a_manager_or_admin(client, world: World, who: str) -> None:
    # A rep cannot be someone's manager (and the admin path checks it as the manager path does).
    response = client.post(
        USERS,
        json=new_user(manager_id=str(world.rep.id)),
        headers=world.people["admin" if who == "rep" else "manager"].headers,
    )
    assert "manager_id" in error_fields(response), response.json


def test_manager_id_of_another_org_is_422(client, world: World) -> None:
    response = client.post(
        USERS, json=new_user(manager_id=str(world.other_admin.id)), headers=world.admin.headers
    )
    assert "manager_id" in error_fields(response), response.json


def test_manager_id_unknown_is_422(client, world: World) -> None:
    response = client.post(
        USERS, json=new_user(manager_id=str(uuid.uuid4())), headers=world.admin.headers
    )
    assert "manager_id" in error_fields(response), response.json


def test_manager_creates_a_rep_of_their_own_team(client, world: World) -> None:
    response = client.post(USERS, json=new_user(), headers=world.manager.headers)
    assert response.status_code == 201, response.json
    assert response.json["role"] == "rep", response.json
    assert response.json["manager_id"] == str(world.manager.id), response.json
    assert response.json["id"] in user_ids(client, world.manager.headers)


def test_manager_may_name_themself_as_manager(client, world: World) -> None:
    response = client.post(
        USERS, json=new_user(manager_id=str(world.manager.id)), headers=world.manager.headers
    )
    assert response.status_code == 201, response.json


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_manager_cannot_create_admins_or_managers(client, world: World, role: str) -> None:
    response = client.post(USERS, json=new_user(role=role), headers=world.manager.headers)
    assert_error(response, 403, "forbidden")
    assert_error(post_login(client, "nobody@acme.test"), 401, "unauthorized")


def test_manager_cannot_create_a_rep_for_someone_else(client, world: World) -> None:
    response = client.post(
        USERS, json=new_user(manager_id=str(world.admin.id)), headers=world.manager.headers
    )
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize("who", ["rep", "loner"])
@pytest.mark.parametrize("role", ["rep", "manager", "admin"])
def test_reps_cannot_create_users(client, world: World, who: str, role: str) -> None:
    body = new_user(role=role)
    response = client.post(USERS, json=body, headers=world.people[who].headers)
    assert_error(response, 403, "forbidden")
    assert_error(post_login(client, body["email"], body["password"]), 401, "unauthorized")


# --- list and read ---------------------------------------------------------------------------


def test_admin_lists_every_user_of_the_org_and_none_of_the_other(client, world: World) -> None:
    response = client.get(USERS, headers=world.admin.headers)
    assert response.status_code == 200, response.json
    items = response.json["items"]
    acme = {str(p.id) for k, p in world.people.items() if k != "other_admin"}
    assert {item["id"] for item in items} == acme, response.json
    assert all(item["org_id"] == str(world.org_id) for item in items), response.json
    assert str(world.other_admin.id) not in str(response.json)


def test_list_items_have_the_user_shape(client, world: World) -> None:
    items = client.get(USERS, headers=world.admin.headers).json["items"]
    for item in items:
        assert {"id", "org_id", "role", "name", "email", "manager_id", "active", "version"} <= set(
            item
        ), item
        assert "password" not in item and "password_hash" not in item, item


def test_manager_lists_self_and_team(client, world: World) -> None:
    expected = {str(world.manager.id), str(world.rep.id), str(world.rep2.id)}
    assert user_ids(client, world.manager.headers) == expected


def test_manager_team_includes_reps_of_sub_managers(client, world: World) -> None:
    sub = client.post(
        USERS,
        json=new_user(role="manager", manager_id=str(world.manager.id)),
        headers=world.admin.headers,
    ).json
    sub_rep = client.post(
        USERS, json=new_user(manager_id=sub["id"]), headers=world.admin.headers
    ).json
    assert {sub["id"], sub_rep["id"]} <= user_ids(client, world.manager.headers)


def test_rep_lists_self_and_own_manager(client, world: World) -> None:
    assert user_ids(client, world.rep.headers) == {str(world.rep.id), str(world.manager.id)}


def test_rep_without_manager_lists_only_self(client, world: World) -> None:
    assert user_ids(client, world.loner.headers) == {str(world.loner.id)}


def test_other_org_admin_lists_only_their_org(client, world: World) -> None:
    assert user_ids(client, world.other_admin.headers) == {str(world.other_admin.id)}


def test_list_shows_deactivated_users_to_admins_as_inactive(client, world: World) -> None:
    assert client.delete(user_url(world.rep2.id), headers=world.admin.headers).status_code == 204
    items = client.get(USERS, headers=world.admin.headers).json["items"]
    by_id = {item["id"]: item for item in items}
    assert by_id[str(world.rep2.id)]["active"] is False, items


@pytest.mark.parametrize(
    ("who", "target", "status"),
    [
        ("admin", "rep", 200),
        ("admin", "manager", 200),
        ("admin", "loner", 200),
        ("manager", "rep", 200),
        ("manager", "manager", 200),
        ("manager", "loner", 404),
        ("manager", "admin", 404),
        ("rep", "rep", 200),
        ("rep", "manager", 200),
        ("rep", "rep2", 404),
        ("rep", "admin", 404),
        ("loner", "manager", 404),
        ("admin", "other_admin", 404),
        ("other_admin", "admin", 404),
        ("other_admin", "rep", 404),
    ],
)
def test_get_one_user_follows_visibility(client, world, who: str, target: str, status) -> None:
    response = client.get(user_url(world.people[target].id), headers=world.people[who].headers)
    if status == 200:
        assert response.status_code == 200, response.json
        assert response.json["id"] == str(world.people[target].id), response.json
    else:
        assert_error(response, 404, "not_found")


def test_get_unknown_or_malformed_user_id_is_404(client, world: World) -> None:
    assert_error(client.get(user_url(uuid.uuid4()), headers=world.admin.headers), 404, "not_found")
    assert_error(client.get(user_url("not-a-uuid"), headers=world.admin.headers), 404, "not_found")


def test_other_org_user_answers_exactly_like_a_missing_one(client, world: World) -> None:
    foreign = client.get(user_url(world.other_admin.id), headers=world.admin.headers)
    missing = client.get(user_url(uuid.uuid4()), headers=world.admin.headers)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json == missing.json, (foreign.json, missing.json)


# --- update ----------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "manager", "rep", "loner"])
def test_anyone_changes_their_own_name(client, world: World, who: str) -> None:
    person = world.people[who]
    before = client.get(ME, headers=person.headers).json
    response = client.patch(user_url(person.id), json={"name": "Renamed"}, headers=person.headers)
    assert response.status_code == 200, response.json
    assert response.json["name"] == "Renamed", response.json
    assert response.json["version"] == before["version"] + 1, (before, response.json)
    assert client.get(ME, headers=person.headers).json["name"] == "Renamed"


def test_self_password_change_works_and_keeps_the_current_session(client, world) -> None:
    response = client.patch(
        user_url(world.rep.id), json={"password": NEW_PASSWORD}, headers=world.rep.headers
    )
    assert response.status_code == 200, response.json
    assert "password" not in response.json and "password_hash" not in response.json
    assert client.get(ME, headers=world.rep.headers).status_code == 200  # the caller stays in
    assert_error(post_login(client, "rep@acme.test", PASSWORD), 401, "unauthorized")
    login_ok(client, "rep@acme.test", NEW_PASSWORD)


def test_password_change_revokes_the_other_sessions_of_that_user(client, world: World) -> None:
    phone = login_ok(client, "rep@acme.test")
    tablet = login_ok(client, "rep@acme.test")
    response = client.patch(
        user_url(world.rep.id),
        json={"password": NEW_PASSWORD},
        headers=bearer(phone["access_token"]),
    )
    assert response.status_code == 200, response.json
    assert client.get(ME, headers=bearer(phone["access_token"])).status_code == 200
    assert_error(client.get(ME, headers=bearer(tablet["access_token"])), 401, "unauthorized")
    assert_error(client.get(ME, headers=world.rep.headers), 401, "unauthorized")
    assert_error(post_refresh(client, tablet["refresh_token"]), 401, "unauthorized")
    # The caller's own refresh chain survives.
    assert post_refresh(client, phone["refresh_token"]).status_code == 200
    # Nobody else was logged out.
    for other in ("rep2", "manager", "admin"):
        assert client.get(ME, headers=world.people[other].headers).status_code == 200


def test_admin_resetting_a_password_logs_the_user_out_everywhere(client, world: World) -> None:
    response = client.patch(
        user_url(world.rep.id), json={"password": NEW_PASSWORD}, headers=world.admin.headers
    )
    assert response.status_code == 200, response.json
    assert_error(client.get(ME, headers=world.rep.headers), 401, "unauthorized")
    assert client.get(ME, headers=world.admin.headers).status_code == 200
    login_ok(client, "rep@acme.test", NEW_PASSWORD)


def test_name_change_does_not_revoke_sessions(client, world: World) -> None:
    phone = login_ok(client, "rep@acme.test")
    response = client.patch(user_url(world.rep.id), json={"name": "R"}, headers=world.rep.headers)
    assert response.status_code == 200, response.json
    assert client.get(ME, headers=bearer(phone["access_token"])).status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        {"role": "admin"},
        {"role": "manager"},
        {"role": "rep"},
        {"manager_id": None},
        {"email": "me@acme.test"},
    ],
)
def test_rep_cannot_change_privileged_fields_of_themself(client, world: World, change) -> None:
    response = client.patch(user_url(world.rep.id), json=change, headers=world.rep.headers)
    assert_error(response, 403, "forbidden")
    me = client.get(ME, headers=world.rep.headers).json
    assert me["role"] == "rep" and me["manager_id"] == str(world.manager.id), me
    assert me["email"] == "rep@acme.test", me


def test_forbidden_patch_changes_nothing_at_all(client, world: World) -> None:
    before = client.get(ME, headers=world.rep.headers).json
    response = client.patch(
        user_url(world.rep.id), json={"name": "Sneaky", "role": "admin"}, headers=world.rep.headers
    )
    assert_error(response, 403, "forbidden")
    after = client.get(ME, headers=world.rep.headers).json
    assert after == before, (before, after)


def test_manager_cannot_promote_themself(client, world: World) -> None:
    response = client.patch(
        user_url(world.manager.id), json={"role": "admin"}, headers=world.manager.headers
    )
    assert_error(response, 403, "forbidden")


def test_rep_cannot_change_another_user(client, world: World) -> None:
    manager = client.patch(
        user_url(world.manager.id), json={"name": "Hacked"}, headers=world.rep.headers
    )
    assert_error(manager, 403, "forbidden")
    invisible = client.patch(user_url(world.rep2.id), json={"name": "X"}, headers=world.rep.headers)
    assert_error(invisible, 404, "not_found")
    assert client.get(ME, headers=world.manager.headers).json["name"] == "Manager"


def test_rep_cannot_change_another_users_password(client, world: World) -> None:
    response = client.patch(
        user_url(world.manager.id), json={"password": NEW_PASSWORD}, headers=world.rep.headers
    )
    assert_error(response, 403, "forbidden")
    login_ok(client, "manager@acme.test", PASSWORD)


def test_admin_changes_a_role_and_it_applies_at_once(client, world: World) -> None:
    response = client.patch(
        user_url(world.rep.id), json={"role": "manager"}, headers=world.admin.headers
    )
    assert response.status_code == 200, response.json
    assert response.json["role"] == "manager", response.json
    me = client.get(ME, headers=world.rep.headers)  # the existing token carries the new role
    assert me.json["role"] == "manager", me.json
    created = client.post(USERS, json=new_user(), headers=world.rep.headers)
    assert created.status_code == 201, created.json


def test_demoted_admin_loses_admin_rights_at_once(client, world: World) -> None:
    second_admin = client.post(USERS, json=new_user(role="admin"), headers=world.admin.headers).json
    response = client.patch(
        user_url(world.admin.id), json={"role": "rep"}, headers=world.admin.headers
    )
    assert response.status_code == 200, response.json
    assert_error(client.post(USERS, json=new_user(), headers=world.admin.headers), 403, "forbidden")
    assert second_admin["role"] == "admin"


def test_admin_changes_email_manager_and_home(client, world: World) -> None:
    response = client.patch(
        user_url(world.loner.id),
        json={
            "email": "Loner.New@Acme.Test",
            "manager_id": str(world.manager.id),
            "home_location": {"lat": 45.0, "lon": 9.0},
        },
        headers=world.admin.headers,
    )
    assert response.status_code == 200, response.json
    body = response.json
    assert body["email"] == "loner.new@acme.test", body
    assert body["manager_id"] == str(world.manager.id), body
    assert body["home_location"] == {"lat": 45.0, "lon": 9.0}, body
    login_ok(client, "loner.new@acme.test")
    assert_error(post_login(client, "loner@acme.test"), 401, "unauthorized")
    assert str(world.loner.id) in user_ids(client, world.manager.headers)


def test_email_change_to_a_taken_address_is_409(client, world: World) -> None:
    for email in ("rep2@acme.test", "ADMIN@other.test"):
        response = client.patch(
            user_url(world.rep.id), json={"email": email}, headers=world.admin.headers
        )
        assert_error(response, 409, "conflict")
    assert client.get(user_url(world.rep.id), headers=world.admin.headers).json["email"] == (
        "rep@acme.test"
    )


def test_email_change_to_the_same_address_is_fine(client, world: World) -> None:
    response = client.patch(
        user_url(world.rep.id), json={"email": "REP@acme.test"}, headers=world.admin.headers
    )
    assert response.status_code == 200, response.json


def test_manager_cannot_manage_themself(client, world: World) -> None:
    response = client.patch(
        user_url(world.manager.id),
        json={"manager_id": str(world.manager.id)},
        headers=world.admin.headers,
    )
    assert "manager_id" in error_fields(response), response.json


@pytest.mark.parametrize(
    ("change", "bad"),
    [
        ({"role": "owner"}, "role"),
        ({"email": "nope"}, "email"),
        ({"password": "short"}, "password"),
        ({"name": ""}, "name"),
        ({"name": None}, "name"),
        ({"manager_id": str(uuid.uuid4())}, "manager_id"),
        ({"id": str(uuid.uuid4())}, "id"),
        ({"version": 7}, "version"),
        ({"active": False}, "active"),
        ({"org_id": str(uuid.uuid4())}, "org_id"),
        ({"shoe_size": 42}, "shoe_size"),
    ],
)
def test_invalid_patch_is_422(client, world: World, change, bad: str) -> None:
    response = client.patch(user_url(world.rep.id), json=change, headers=world.admin.headers)
    assert bad in error_fields(response), response.json


def test_patch_malformed_json_and_content_type_are_400(client, world: World) -> None:
    malformed = client.patch(
        user_url(world.rep.id),
        data="{",
        content_type="application/json",
        headers=world.rep.headers,
    )
    assert_error(malformed, 400, "bad_request")
    wrong_type = client.patch(
        user_url(world.rep.id),
        data="name=x",
        content_type="text/plain",
        headers=world.rep.headers,
    )
    assert_error(wrong_type, 400, "bad_request")


def test_manager_changes_a_rep_of_their_team(client, world: World) -> None:
    response = client.patch(
        user_url(world.rep.id), json={"name": "Team Rep"}, headers=world.manager.headers
    )
    assert response.status_code == 200, response.json
    assert response.json["name"] == "Team Rep"


def test_manager_cannot_promote_a_rep(client, world: World) -> None:
    response = client.patch(
        user_url(world.rep.id), json={"role": "manager"}, headers=world.manager.headers
    )
    assert_error(response, 403, "forbidden")
    assert client.get(ME, headers=world.rep.headers).json["role"] == "rep"


def test_manager_cannot_change_reps_outside_the_team_or_admins(client, world: World) -> None:
    loner = client.patch(
        user_url(world.loner.id), json={"name": "X"}, headers=world.manager.headers
    )
    assert_error(loner, 404, "not_found")
    admin = client.patch(
        user_url(world.admin.id), json={"name": "X"}, headers=world.manager.headers
    )
    assert_error(admin, 404, "not_found")


def test_other_org_admin_cannot_change_acme_users(client, world: World) -> None:
    for change in ({"name": "Pwned"}, {"password": NEW_PASSWORD}, {"role": "admin"}):
        response = client.patch(
            user_url(world.rep.id), json=change, headers=world.other_admin.headers
        )
        assert_error(response, 404, "not_found")
    me = client.get(ME, headers=world.rep.headers)
    assert me.status_code == 200, me.json  # no password change revoked anything
    assert me.json["name"] == "Rep" and me.json["role"] == "rep", me.json


# --- delete ----------------------------------------------------------------------------------


def test_admin_deactivates_a_user(client, world: World) -> None:
    device = login_ok(client, "rep@acme.test")
    response = client.delete(user_url(world.rep.id), headers=world.admin.headers)
    assert response.status_code == 204, response.json
    assert response.get_data() == b""
    assert_error(client.get(ME, headers=world.rep.headers), 401, "unauthorized")
    assert_error(client.get(ME, headers=bearer(device["access_token"])), 401, "unauthorized")
    assert_error(post_refresh(client, device["refresh_token"]), 401, "unauthorized")
    assert_error(post_login(client, "rep@acme.test"), 401, "unauthorized")
    kept = client.get(user_url(world.rep.id), headers=world.admin.headers)
    assert kept.status_code == 200 and kept.json["active"] is False, kept.json


def test_deactivation_leaves_other_users_logged_in(client, world: World) -> None:
    assert client.delete(user_url(world.rep.id), headers=world.admin.headers).status_code == 204
    for other in ("rep2", "manager", "loner", "admin", "other_admin"):
        assert client.get(ME, headers=world.people[other].headers).status_code == 200, other


def test_admin_cannot_delete_themself(client, world: World) -> None:
    response = client.delete(user_url(world.admin.id), headers=world.admin.headers)
    assert_error(response, 403, "forbidden")
    assert client.get(ME, headers=world.admin.headers).status_code == 200


def test_admin_deletes_a_manager(client, world: World) -> None:
    response = client.delete(user_url(world.manager.id), headers=world.admin.headers)
    assert response.status_code == 204, response.json
    assert_error(client.get(ME, headers=world.manager.headers), 401, "unauthorized")


def test_manager_deletes_own_rep(client, world: World) -> None:
    response = client.delete(user_url(world.rep2.id), headers=world.manager.headers)
    assert response.status_code == 204, response.json
    assert_error(client.get(ME, headers=world.rep2.headers), 401, "unauthorized")
    assert_error(post_login(client, "rep2@acme.test"), 401, "unauthorized")


@pytest.mark.parametrize(("target", "status"), [("admin", 404), ("loner", 404), ("manager", 403)])
def test_manager_cannot_delete_outside_their_team(client, world, target: str, status) -> None:
    response = client.delete(user_url(world.people[target].id), headers=world.manager.headers)
    assert_error(response, status, "forbidden" if status == 403 else "not_found")
    assert client.get(ME, headers=world.people[target].headers).status_code == 200


def test_manager_cannot_delete_a_sub_manager(client, world: World) -> None:
    sub = client.post(
        USERS,
        json=new_user(role="manager", manager_id=str(world.manager.id)),
        headers=world.admin.headers,
    ).json
    response = client.delete(user_url(sub["id"]), headers=world.manager.headers)
    assert_error(response, 403, "forbidden")


@pytest.mark.parametrize(
    ("target", "status"), [("rep", 403), ("manager", 403), ("rep2", 404), ("admin", 404)]
)
def test_rep_cannot_delete_users(client, world: World, target: str, status: int) -> None:
    response = client.delete(user_url(world.people[target].id), headers=world.rep.headers)
    assert_error(response, status, "forbidden" if status == 403 else "not_found")
    assert client.get(ME, headers=world.people[target].headers).status_code == 200


def test_other_org_admin_cannot_delete_acme_users(client, world: World) -> None:
    for who in ("rep", "manager", "admin"):
        response = client.delete(user_url(world.people[who].id), headers=world.other_admin.headers)
        assert_error(response, 404, "not_found")
        assert client.get(ME, headers=world.people[who].headers).status_code == 200, who


def test_delete_unknown_user_is_404(client, world: World) -> None:
    response = client.delete(user_url(uuid.uuid4()), headers=world.admin.headers)
    assert_error(response, 404, "not_found")
