"""POST /api/v1/auth/login: the token body, credentials, input validation, device ids."""

from __future__ import annotations

import threading
import uuid

import pytest

from tests.auth.helpers import (
    DEVICES,
    LOGIN,
    ME,
    assert_error,
    bearer,
    error_fields,
    fresh_ip,
    is_uuid,
    login_ok,
    post_login,
)
from tests.conftest import PASSWORD, TOKEN_KEYS, World


def test_login_body_matches_the_contract(app, client, world: World) -> None:
    response = post_login(client, "rep@acme.test")
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == TOKEN_KEYS, body
    assert body["token_type"] == "Bearer", body
    assert isinstance(body["access_token"], str) and body["access_token"], body
    assert isinstance(body["refresh_token"], str) and body["refresh_token"], body
    assert body["access_token"] != body["refresh_token"], body
    assert body["expires_in"] == app.config["ACCESS_TOKEN_TTL"] == 900, body
    assert body["user"] == {
        "id": str(world.rep.id),
        "org_id": str(world.org_id),
        "role": "rep",
        "name": "Rep",
        "email": "rep@acme.test",
    }, body
    assert is_uuid(body["device_id"]), body
    assert "password" not in str(body).lower(), body


def test_login_token_works_for_me(client, world: World) -> None:
    body = login_ok(client, "manager@acme.test")
    me = client.get(ME, headers=bearer(body["access_token"]))
    assert me.status_code == 200, me.json
    assert me.json["id"] == str(world.manager.id), me.json


def test_login_each_time_without_device_id_registers_a_new_device(client, world: World) -> None:
    first = login_ok(client, "rep@acme.test")
    second = login_ok(client, "rep@acme.test")
    assert first["device_id"] != second["device_id"], (first, second)
    assert first["access_token"] != second["access_token"]


def test_client_chosen_device_id_is_kept(client, world: World) -> None:
    device_id = str(uuid.uuid4())
    body = login_ok(
        client,
        "rep@acme.test",
        device_id=device_id,
        device_name="Pixel 8",
        platform="android",
        app_version="1.4.2",
    )
    assert body["device_id"] == device_id, body
    listed = client.get(DEVICES, headers=bearer(body["access_token"]))
    assert listed.status_code == 200, listed.json
    devices = {d["id"]: d for d in listed.json["items"]}
    assert device_id in devices, listed.json
    assert devices[device_id]["name"] == "Pixel 8", listed.json
    assert devices[device_id]["platform"] == "android", listed.json
    assert devices[device_id]["app_version"] == "1.4.2", listed.json
    assert devices[device_id]["user_id"] == str(world.rep.id), listed.json


def test_logging_in_again_with_the_same_device_id_reuses_the_device(client, world: World) -> None:
    device_id = str(uuid.uuid4())
    first = login_ok(client, "rep@acme.test", device_id=device_id, app_version="1.0")
    second = login_ok(client, "rep@acme.test", device_id=device_id, app_version="1.1")
    assert first["device_id"] == second["device_id"] == device_id, (first, second)
    listed = client.get(DEVICES, headers=bearer(second["access_token"]))
    matching = [d for d in listed.json["items"] if d["id"] == device_id]
    assert len(matching) == 1, listed.json
    assert matching[0]["app_version"] == "1.1", listed.json
    # Both sessions of the device are live: a second login does not log the first out.
    for token in (first["access_token"], second["access_token"]):
        assert client.get(ME, headers=bearer(token)).status_code == 200


def test_email_is_case_and_space_insensitive(client, world: World) -> None:
    body = login_ok(client, "  REP@Acme.Test ")
    assert body["user"]["id"] == str(world.rep.id), body


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("rep@acme.test", "wrong password!"),
        ("rep@acme.test", PASSWORD.upper()),
        ("rep@acme.test", PASSWORD + " "),
        ("nobody@acme.test", PASSWORD),
        ("nobody@nowhere.test", "whatever"),
    ],
)
def test_wrong_credentials_are_401(client, world: World, email: str, password: str) -> None:
    response = post_login(client, email, password)
    error = assert_error(response, 401, "unauthorized")
    assert "details" not in error, response.json


def test_wrong_password_and_unknown_email_answer_alike(client, world: World) -> None:
    wrong_password = post_login(client, "rep@acme.test", "not the password")
    unknown_email = post_login(client, "ghost@acme.test", "not the password")
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert wrong_password.json == unknown_email.json, (wrong_password.json, unknown_email.json)


def test_deactivated_user_cannot_log_in(client, world: World) -> None:
    deleted = client.delete(f"/api/v1/users/{world.rep2.id}", headers=world.admin.headers)
    assert deleted.status_code == 204, deleted.json
    assert_error(post_login(client, "rep2@acme.test"), 401, "unauthorized")


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ({}, {"email", "password"}),
        ({"email": "rep@acme.test"}, {"password"}),
        ({"password": PASSWORD}, {"email"}),
        ({"device_id": str(uuid.uuid4())}, {"email", "password"}),
    ],
)
def test_missing_fields_are_422_naming_them(client, world: World, body, missing) -> None:
    response = client.post(LOGIN, json=body, environ_base={"REMOTE_ADDR": fresh_ip()})
    fields = error_fields(response)
    assert set(fields) == missing, response.json
    for name in missing:
        assert all(isinstance(m, str) and m for m in fields[name]), response.json


def test_unknown_field_is_422_naming_it(client, world: World) -> None:
    response = post_login(client, "rep@acme.test", remember_me=True)
    fields = error_fields(response)
    assert "remember_me" in fields, response.json


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"device_id": "not-a-uuid"}, "device_id"),
        ({"device_id": 12}, "device_id"),
        ({"device_name": "x" * 201}, "device_name"),
        ({"platform": "p" * 41}, "platform"),
        ({"app_version": 1.2}, "app_version"),
    ],
)
def test_invalid_optional_fields_are_422(client, world: World, extra, field) -> None:
    response = post_login(client, "rep@acme.test", **extra)
    assert field in error_fields(response), response.json


@pytest.mark.parametrize(
    "body",
    [
        {"email": "", "password": PASSWORD},
        {"email": "rep@acme.test", "password": ""},
        {"email": 42, "password": PASSWORD},
        {"email": "rep@acme.test", "password": None},
        {"email": ["rep@acme.test"], "password": PASSWORD},
        {"email": "rep@acme.test", "password": "p" * 257},
    ],
)
def test_wrongly_typed_or_empty_credentials_are_422(client, world: World, body) -> None:
    response = client.post(LOGIN, json=body, environ_base={"REMOTE_ADDR": fresh_ip()})
    fields = error_fields(response)
    assert set(fields) <= {"email", "password"}, response.json


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"password": "\ud800"}, "password"),
        ({"password": "correct horse\x00"}, "password"),
        ({"email": "\ud800@acme.test"}, "email"),
        ({"email": "rep@acme.test\x00"}, "email"),
        ({"device_name": "Pixel\x00"}, "device_name"),
        ({"device_name": "Pixel \udcff"}, "device_name"),
        ({"platform": "\x00"}, "platform"),
        ({"app_version": "1.0\ud83d"}, "app_version"),
    ],
)
def test_unstorable_text_is_422_not_500(client, world: World, extra, field: str) -> None:
    """A NUL (PostgreSQL refuses it) or a lone surrogate (not UTF-8: the hasher and the
    drivers refuse it) is a bad input like any other."""
    body = {"email": "rep@acme.test", "password": PASSWORD, **extra}
    response = client.post(LOGIN, json=body, environ_base={"REMOTE_ADDR": fresh_ip()})
    assert field in error_fields(response), response.json


def test_valid_unicode_is_fine(client, world: World) -> None:
    body = login_ok(client, "rep@acme.test", device_name="Téléphone de Zoë 📱")
    listed = client.get(DEVICES, headers=bearer(body["access_token"])).json["items"]
    assert "Téléphone de Zoë 📱" in {d["name"] for d in listed}, listed


def test_concurrent_logins_with_one_new_device_id_all_succeed(app, world: World) -> None:
    """A phone that double-submits its first login: both land on the same device, no 500."""
    device_id = str(uuid.uuid4())
    clients = [app.test_client() for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    results: list[tuple[int, object]] = []
    lock = threading.Lock()

    def attempt(c) -> None:
        barrier.wait()
        response = post_login(c, "rep@acme.test", device_id=device_id)
        with lock:
            results.append((response.status_code, response.json))

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert [status for status, _ in results] == [200] * len(clients), results
    assert {body["device_id"] for _, body in results} == {device_id}, results
    listed = client_devices(app, results[0][1]["access_token"])
    assert [d["id"] for d in listed].count(device_id) == 1, listed


def test_concurrent_logins_of_two_users_with_one_device_id(app, world: World) -> None:
    device_id = str(uuid.uuid4())
    clients = [app.test_client() for _ in range(4)]
    emails = ["rep@acme.test", "rep2@acme.test"] * 2
    barrier = threading.Barrier(len(clients))
    results: list[tuple[str, int]] = []
    lock = threading.Lock()

    def attempt(c, email: str) -> None:
        barrier.wait()
        response = post_login(c, email, device_id=device_id)
        with lock:
            results.append((email, response.status_code))

    threads = [
        threading.Thread(target=attempt, args=(c, e)) for c, e in zip(clients, emails, strict=True)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(status for _, status in results) == [200, 200, 409, 409], results
    winners = {email for email, status in results if status == 200}
    assert len(winners) == 1, results


def client_devices(app, token: str) -> list[dict]:
    response = app.test_client().get(DEVICES, headers=bearer(token))
    assert response.status_code == 200, response.json
    return list(response.json["items"])


def test_malformed_json_is_400_bad_request(client, world: World) -> None:
    response = client.post(
        LOGIN,
        data='{"email": "rep@acme.test", "password": ',
        content_type="application/json",
        environ_base={"REMOTE_ADDR": fresh_ip()},
    )
    assert_error(response, 400, "bad_request")


@pytest.mark.parametrize("raw", ["null", "[]", '"rep@acme.test"', "42", "true"])
def test_json_that_is_not_an_object_is_a_client_error(client, world: World, raw: str) -> None:
    response = client.post(
        LOGIN, data=raw, content_type="application/json", environ_base={"REMOTE_ADDR": fresh_ip()}
    )
    assert response.status_code in (400, 422), response.json
    assert_error(response, response.status_code, CODES[response.status_code])


CODES = {400: "bad_request", 422: "validation_error"}


@pytest.mark.parametrize("depth", [50, 1000, 50_000])
def test_deeply_nested_json_is_a_client_error_not_500(client, world: World, depth: int) -> None:
    raw = '{"email": ' + "[" * depth + "]" * depth + ', "password": "x"}'
    response = client.post(
        LOGIN, data=raw, content_type="application/json", environ_base={"REMOTE_ADDR": fresh_ip()}
    )
    assert response.status_code in (400, 422), response.json
    assert_error(response, response.status_code, CODES[response.status_code])
    patch = client.patch(
        f"/api/v1/users/{world.rep.id}",
        data=raw.replace("email", "name"),
        content_type="application/json",
        headers=world.rep.headers,
    )
    assert patch.status_code in (400, 422), patch.json
    assert_error(patch, patch.status_code, CODES[patch.status_code])


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("email=rep@acme.test&password=x", "application/x-www-form-urlencoded"),
        ('{"email": "rep@acme.test", "password": "correct horse battery"}', "text/plain"),
        ("<login/>", "application/xml"),
    ],
)
def test_wrong_content_type_is_400(client, world: World, data: str, content_type: str) -> None:
    response = client.post(
        LOGIN, data=data, content_type=content_type, environ_base={"REMOTE_ADDR": fresh_ip()}
    )
    assert_error(response, 400, "bad_request")


def test_json_body_without_content_type_is_400(client, world: World) -> None:
    response = client.post(
        LOGIN,
        data=b'{"email": "rep@acme.test", "password": "correct horse battery"}',
        environ_base={"REMOTE_ADDR": fresh_ip()},
    )
    assert_error(response, 400, "bad_request")


def test_empty_body_is_422_naming_the_required_fields(client, world: World) -> None:
    response = client.post(LOGIN, environ_base={"REMOTE_ADDR": fresh_ip()})
    assert response.status_code in (400, 422), response.json
    if response.status_code == 422:
        assert {"email", "password"} <= set(error_fields(response)), response.json
    else:
        assert_error(response, 400, "bad_request")


def test_device_id_of_another_user_is_409(client, world: World) -> None:
    device_id = str(uuid.uuid4())
    owner = login_ok(client, "rep@acme.test", device_id=device_id)
    response = post_login(client, "rep2@acme.test", device_id=device_id)
    assert_error(response, 409, "conflict")
    # The device still belongs to its owner, whose session keeps working.
    assert client.get(ME, headers=bearer(owner["access_token"])).status_code == 200
    listed = client.get(DEVICES, headers=world.admin.headers).json["items"]
    assert [d["user_id"] for d in listed if d["id"] == device_id] == [str(world.rep.id)], listed


def test_device_id_of_a_user_of_another_org_is_409(client, world: World) -> None:
    device_id = str(uuid.uuid4())
    login_ok(client, "admin@other.test", device_id=device_id)
    assert_error(post_login(client, "rep@acme.test", device_id=device_id), 409, "conflict")
    acme_devices = client.get(DEVICES, headers=world.admin.headers).json["items"]
    assert device_id not in {d["id"] for d in acme_devices}, acme_devices


def test_device_conflict_with_a_wrong_password_is_401_not_409(client, world: World) -> None:
    """The 409 must not let anyone probe device ids without the right password."""
    device_id = str(uuid.uuid4())
    login_ok(client, "rep@acme.test", device_id=device_id)
    response = post_login(client, "rep2@acme.test", "wrong password!", device_id=device_id)
    assert_error(response, 401, "unauthorized")


def test_login_does_not_need_a_token_but_ignores_a_bad_one(client, world: World) -> None:
    response = client.post(
        LOGIN,
        json={"email": "rep@acme.test", "password": PASSWORD},
        headers=bearer("garbage"),
        environ_base={"REMOTE_ADDR": fresh_ip()},
    )
    assert response.status_code == 200, response.json


def test_login_get_is_405_in_the_envelope(client, world: World) -> None:
    response = client.get(LOGIN)
    assert_error(response, 405, "method_not_allowed")
