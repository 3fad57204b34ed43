"""Every auth/users/devices endpoint refuses a missing or bad token, and the other
organisation's admin can neither see nor change acme's users, devices or sessions."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.auth.helpers import (
    DEVICES,
    LOGOUT,
    ME,
    USERS,
    assert_error,
    bearer,
    login_ok,
    post_refresh,
)
from tests.conftest import World

ANY_ID = "00000000-0000-4000-8000-000000000000"

PROTECTED = [
    ("post", LOGOUT, None),
    ("get", ME, None),
    ("get", USERS, None),
    (
        "post",
        USERS,
        {"email": "x@acme.test", "name": "X", "role": "rep", "password": "long enough password"},
    ),
    ("get", f"{USERS}/{ANY_ID}", None),
    ("patch", f"{USERS}/{ANY_ID}", {"name": "X"}),
    ("delete", f"{USERS}/{ANY_ID}", None),
    ("get", DEVICES, None),
    ("delete", f"{DEVICES}/{ANY_ID}", None),
]
IDS = [f"{method.upper()} {path}" for method, path, _ in PROTECTED]


def call(client, method: str, path: str, body: Any, headers: dict[str, str] | None = None):
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if body is not None:
        kwargs["json"] = body
    return getattr(client, method)(path, **kwargs)


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED, ids=IDS)
def test_no_token_is_401(client, world: World, method: str, path: str, body) -> None:
    assert_error(call(client, method, path, body), 401, "unauthorized")


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED, ids=IDS)
def test_garbage_token_is_401(client, world: World, method: str, path: str, body) -> None:
    response = call(client, method, path, body, bearer("not.a.token"))
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize(("method", "path", "body"), PROTECTED, ids=IDS)
def test_logged_out_token_is_401(client, world: World, method: str, path: str, body) -> None:
    tokens = login_ok(client, "admin@acme.test")
    assert client.post(LOGOUT, headers=bearer(tokens["access_token"])).status_code == 204
    response = call(client, method, path, body, bearer(tokens["access_token"]))
    assert_error(response, 401, "unauthorized")


def test_no_token_is_checked_before_the_body(client, world: World) -> None:
    """Without a token, a malformed body still answers 401: nothing is parsed for strangers."""
    response = client.post(USERS, data="{", content_type="application/json")
    assert_error(response, 401, "unauthorized")
    response = client.post(USERS, data="x", content_type="text/plain")
    assert_error(response, 401, "unauthorized")


def test_no_token_on_an_unknown_user_does_not_reveal_anything(client, world: World) -> None:
    known = client.get(f"{USERS}/{world.rep.id}")
    unknown = client.get(f"{USERS}/{uuid.uuid4()}")
    assert known.status_code == unknown.status_code == 401
    assert known.json == unknown.json


# --- tenant isolation ------------------------------------------------------------------------


def test_other_admin_me_is_their_own(client, world: World) -> None:
    me = client.get(ME, headers=world.other_admin.headers).json
    assert me["org_id"] == str(world.other_org_id), me
    assert me["id"] == str(world.other_admin.id), me


def test_other_admin_lists_no_acme_users_or_devices(client, world: World) -> None:
    users = client.get(USERS, headers=world.other_admin.headers)
    assert users.status_code == 200, users.json
    assert [u["id"] for u in users.json["items"]] == [str(world.other_admin.id)], users.json
    devices = client.get(DEVICES, headers=world.other_admin.headers)
    assert devices.status_code == 200, devices.json
    assert {d["user_id"] for d in devices.json["items"]} == {str(world.other_admin.id)}, (
        devices.json
    )
    acme_emails = {p.email for k, p in world.people.items() if k != "other_admin"}
    text = users.get_data(as_text=True) + devices.get_data(as_text=True)
    assert not any(email in text for email in acme_emails), text


@pytest.mark.parametrize("who", ["admin", "manager", "rep", "loner"])
def test_other_admin_cannot_read_change_or_delete_acme_users(client, world, who: str) -> None:
    target = world.people[who]
    url = f"{USERS}/{target.id}"
    before = client.get(url, headers=world.admin.headers).json
    headers = world.other_admin.headers
    assert_error(client.get(url, headers=headers), 404, "not_found")
    for change in (
        {"name": "Pwned"},
        {"role": "admin"},
        {"password": "a new password here"},
        {"email": "pwned@other.test"},
        {"manager_id": str(world.other_admin.id)},
    ):
        assert_error(client.patch(url, json=change, headers=headers), 404, "not_found")
    assert_error(client.delete(url, headers=headers), 404, "not_found")
    after = client.get(url, headers=world.admin.headers).json
    assert after == before, (before, after)
    assert client.get(ME, headers=target.headers).status_code == 200  # not logged out


def test_other_admin_cannot_attach_users_to_acme(client, world: World) -> None:
    response = client.post(
        USERS,
        json={
            "email": "spy@other.test",
            "name": "Spy",
            "role": "rep",
            "password": "long enough password",
            "manager_id": str(world.manager.id),
        },
        headers=world.other_admin.headers,
    )
    assert response.status_code == 422, response.json
    assert "manager_id" in response.json["error"]["details"]["fields"], response.json
    assert str(world.manager.id) not in {
        u.get("manager_id")
        for u in client.get(USERS, headers=world.admin.headers).json["items"]
        if u["email"] == "spy@other.test"
    }


def test_users_created_by_other_admin_land_in_their_org(client, world: World) -> None:
    response = client.post(
        USERS,
        json={
            "email": "new@other.test",
            "name": "New",
            "role": "manager",
            "password": "long enough password",
        },
        headers=world.other_admin.headers,
    )
    assert response.status_code == 201, response.json
    assert response.json["org_id"] == str(world.other_org_id), response.json
    acme_ids = {u["id"] for u in client.get(USERS, headers=world.admin.headers).json["items"]}
    assert response.json["id"] not in acme_ids


def test_other_admin_cannot_revoke_acme_devices(client, world: World) -> None:
    phone = login_ok(client, "rep@acme.test")
    response = client.delete(f"{DEVICES}/{phone['device_id']}", headers=world.other_admin.headers)
    assert_error(response, 404, "not_found")
    assert client.get(ME, headers=bearer(phone["access_token"])).status_code == 200
    assert post_refresh(client, phone["refresh_token"]).status_code == 200


def test_other_admin_logout_touches_only_their_device(client, world: World) -> None:
    assert client.post(LOGOUT, headers=world.other_admin.headers).status_code == 204
    assert_error(client.get(ME, headers=world.other_admin.headers), 401, "unauthorized")
    for key in ("admin", "manager", "rep", "rep2", "loner"):
        assert client.get(ME, headers=world.people[key].headers).status_code == 200, key


def test_other_admin_password_change_touches_only_their_sessions(client, world: World) -> None:
    response = client.patch(
        f"{USERS}/{world.other_admin.id}",
        json={"password": "a new password here"},
        headers=world.other_admin.headers,
    )
    assert response.status_code == 200, response.json
    for key in ("admin", "manager", "rep", "rep2", "loner"):
        assert client.get(ME, headers=world.people[key].headers).status_code == 200, key


def test_other_admin_cannot_make_a_user_of_theirs_report_to_acme(client, world: World) -> None:
    created = client.post(
        USERS,
        json={
            "email": "r@other.test",
            "name": "R",
            "role": "rep",
            "password": "long enough password",
        },
        headers=world.other_admin.headers,
    ).json
    response = client.patch(
        f"{USERS}/{created['id']}",
        json={"manager_id": str(world.manager.id)},
        headers=world.other_admin.headers,
    )
    assert response.status_code == 422, response.json
    assert created["id"] not in {
        u["id"] for u in client.get(USERS, headers=world.manager.headers).json["items"]
    }
