"""Refresh token rotation and reuse detection, logout, access token expiry and forgery, /me."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import timedelta

import pytest
from flask.testing import FlaskClient
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import update

from fieldsync.auth.models import AuthSession
from fieldsync.db import utcnow
from fieldsync.extensions import db
from tests.auth.helpers import (
    LOGOUT,
    ME,
    REFRESH,
    assert_error,
    bearer,
    error_fields,
    fresh_ip,
    is_uuid,
    login_ok,
    post_refresh,
)
from tests.conftest import TOKEN_KEYS, World, make_app

ACCESS_SALT = "fieldsync.access"


def me_status(client: FlaskClient, token: str) -> int:
    return client.get(ME, headers=bearer(token)).status_code


def session_id_of(tokens: dict) -> str:
    """The refresh token is ``<session id>.<generation>.<secret>``."""
    return tokens["refresh_token"].split(".", 1)[0]


# --- refresh ---------------------------------------------------------------------------------


def test_refresh_returns_a_new_pair_in_the_login_shape(client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    response = post_refresh(client, tokens["refresh_token"])
    assert response.status_code == 200, response.json
    body = response.json
    assert set(body) == TOKEN_KEYS, body
    assert body["token_type"] == "Bearer", body
    assert body["expires_in"] == 900, body
    assert body["device_id"] == tokens["device_id"], body
    assert body["user"] == tokens["user"], body
    assert body["refresh_token"] != tokens["refresh_token"], body
    assert me_status(client, body["access_token"]) == 200


def test_refresh_chain_rotates_several_times(client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    seen = {tokens["refresh_token"]}
    for _ in range(4):
        response = post_refresh(client, tokens["refresh_token"])
        assert response.status_code == 200, response.json
        tokens = response.json
        assert tokens["refresh_token"] not in seen, tokens
        seen.add(tokens["refresh_token"])
    assert me_status(client, tokens["access_token"]) == 200


def test_reused_refresh_token_fails_and_revokes_the_session(client, world: World) -> None:
    first = login_ok(client, "rep@acme.test")
    second = post_refresh(client, first["refresh_token"])
    assert second.status_code == 200, second.json
    newest = second.json
    assert me_status(client, newest["access_token"]) == 200

    replay = post_refresh(client, first["refresh_token"])
    assert_error(replay, 401, "unauthorized")

    # The replay revoked the whole session: the newest pair is dead too, and that stuck.
    assert_error(post_refresh(client, newest["refresh_token"]), 401, "unauthorized")
    assert_error(client.get(ME, headers=bearer(newest["access_token"])), 401, "unauthorized")
    assert_error(client.get(ME, headers=bearer(first["access_token"])), 401, "unauthorized")


def test_reuse_revokes_only_that_session(client, world: World) -> None:
    stolen = login_ok(client, "rep@acme.test")
    other_device = login_ok(client, "rep@acme.test")
    assert post_refresh(client, stolen["refresh_token"]).status_code == 200
    assert post_refresh(client, stolen["refresh_token"]).status_code == 401
    assert me_status(client, other_device["access_token"]) == 200
    assert me_status(client, world.rep.token) == 200
    assert post_refresh(client, other_device["refresh_token"]).status_code == 200


def test_reused_token_after_revocation_keeps_failing(client, world: World) -> None:
    first = login_ok(client, "rep@acme.test")
    assert post_refresh(client, first["refresh_token"]).status_code == 200
    for _ in range(3):
        assert_error(post_refresh(client, first["refresh_token"]), 401, "unauthorized")


def test_a_new_login_on_the_same_device_works_after_reuse_revocation(client, world) -> None:
    device_id = str(uuid.uuid4())
    first = login_ok(client, "rep@acme.test", device_id=device_id)
    assert post_refresh(client, first["refresh_token"]).status_code == 200
    assert post_refresh(client, first["refresh_token"]).status_code == 401
    again = login_ok(client, "rep@acme.test", device_id=device_id)
    assert me_status(client, again["access_token"]) == 200


def test_old_access_token_stays_valid_until_expiry_after_a_refresh(client, world) -> None:
    """Rotation concerns refresh tokens; an access token lives its (short) TTL."""
    tokens = login_ok(client, "rep@acme.test")
    assert post_refresh(client, tokens["refresh_token"]).status_code == 200
    assert me_status(client, tokens["access_token"]) == 200


def _bump_generation(token: str, by: int) -> str:
    session_id, generation, secret = token.split(".", 2)
    return f"{session_id}.{int(generation) + by}.{secret}"


@pytest.mark.parametrize(
    "make_token",
    [
        lambda t: "garbage",
        lambda t: "a.b.c",
        lambda t: "..",
        lambda t: f"{uuid.uuid4()}.1.{t.split('.', 2)[2]}",  # unknown session
        lambda t: t.rsplit(".", 1)[0] + ".wrongsecret",  # right session, wrong secret
        lambda t: _bump_generation(t, 1),  # a generation from the future
        lambda t: t.split(".", 1)[0],  # session id alone
        lambda t: t + "x",
        lambda t: t.replace(".1.", ".-1.", 1),
        lambda t: "é" * 40,
    ],
    ids=[
        "garbage",
        "dots",
        "empty-parts",
        "unknown-session",
        "wrong-secret",
        "future-generation",
        "id-only",
        "suffix",
        "negative-generation",
        "non-ascii",
    ],
)
def test_bad_refresh_tokens_are_401(client, world: World, make_token) -> None:
    tokens = login_ok(client, "rep@acme.test")
    response = post_refresh(client, make_token(tokens["refresh_token"]))
    assert_error(response, 401, "unauthorized")


def test_a_forged_refresh_token_does_not_revoke_the_real_session(client, world) -> None:
    tokens = login_ok(client, "rep@acme.test")
    for forged in (
        tokens["refresh_token"].rsplit(".", 1)[0] + ".wrongsecret",
        _bump_generation(tokens["refresh_token"], 5),
    ):
        assert post_refresh(client, forged).status_code == 401
    assert me_status(client, tokens["access_token"]) == 200
    assert post_refresh(client, tokens["refresh_token"]).status_code == 200


def test_a_forged_older_generation_does_not_revoke_the_session(client, world: World) -> None:
    """Reuse detection needs a token the server really issued. The session id alone (which every
    access token carries, readable) must not let anyone end someone else's session."""
    tokens = login_ok(client, "rep@acme.test")
    session_id = session_id_of(tokens)
    for forged in (
        f"{session_id}.0.anything",
        f"{session_id}.0.nonce.mac",
        f"{session_id}.-5.x.y",
        f"{session_id}.1.x.y",
    ):
        assert_error(post_refresh(client, forged), 401, "unauthorized")
    assert me_status(client, tokens["access_token"]) == 200
    response = post_refresh(client, tokens["refresh_token"])
    assert response.status_code == 200, response.json


def test_a_real_token_of_an_older_generation_still_triggers_reuse_detection(client, world) -> None:
    first = login_ok(client, "rep@acme.test")
    second = post_refresh(client, first["refresh_token"]).json
    third = post_refresh(client, second["refresh_token"]).json
    assert_error(post_refresh(client, first["refresh_token"]), 401, "unauthorized")
    assert me_status(client, third["access_token"]) == 401
    assert_error(post_refresh(client, third["refresh_token"]), 401, "unauthorized")


def test_the_session_id_is_readable_in_access_tokens(client, world: World) -> None:
    """Why the test above matters: access tokens are signed, not encrypted."""
    import base64

    tokens = login_ok(client, "rep@acme.test")
    payload = tokens["access_token"].split(".", 1)[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode()
    assert session_id_of(tokens) in decoded


@pytest.mark.parametrize("suffix", ["\ud800", "\x00", "\udfff\ud800", ".\ud800"])
def test_refresh_token_with_unstorable_text_is_a_client_error(client, world, suffix) -> None:
    tokens = login_ok(client, "rep@acme.test")
    response = client.post(
        REFRESH,
        json={"refresh_token": tokens["refresh_token"] + suffix},
        environ_base={"REMOTE_ADDR": fresh_ip()},
    )
    assert response.status_code in (401, 422), response.json
    assert_error(
        response,
        response.status_code,
        "unauthorized" if response.status_code == 401 else "validation_error",
    )
    assert me_status(client, tokens["access_token"]) == 200


def test_access_token_is_not_a_refresh_token(client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    assert_error(post_refresh(client, tokens["access_token"]), 401, "unauthorized")
    assert_error(client.get(ME, headers=bearer(tokens["refresh_token"])), 401, "unauthorized")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"refresh_token": ""},
        {"refresh_token": None},
        {"refresh_token": 5},
        {"refresh_token": "x" * 513},
    ],
)
def test_refresh_body_validation_is_422(client, world: World, body) -> None:
    response = client.post(REFRESH, json=body, environ_base={"REMOTE_ADDR": fresh_ip()})
    assert "refresh_token" in error_fields(response), response.json


def test_refresh_unknown_field_is_422(client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    response = client.post(
        REFRESH,
        json={"refresh_token": tokens["refresh_token"], "device_id": tokens["device_id"]},
        environ_base={"REMOTE_ADDR": fresh_ip()},
    )
    assert "device_id" in error_fields(response), response.json


def test_refresh_malformed_json_and_wrong_content_type_are_400(client, world: World) -> None:
    bad_json = client.post(
        REFRESH,
        data="{not json",
        content_type="application/json",
        environ_base={"REMOTE_ADDR": fresh_ip()},
    )
    assert_error(bad_json, 400, "bad_request")
    wrong_type = client.post(
        REFRESH,
        data="refresh_token=x",
        content_type="application/x-www-form-urlencoded",
        environ_base={"REMOTE_ADDR": fresh_ip()},
    )
    assert_error(wrong_type, 400, "bad_request")


def test_expired_refresh_token_is_401(app, client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    with app.app_context():
        db.session.execute(
            update(AuthSession)
            .where(AuthSession.id == uuid.UUID(session_id_of(tokens)))
            .values(refresh_expires_at=utcnow() - timedelta(seconds=1))
        )
        db.session.commit()
    assert_error(post_refresh(client, tokens["refresh_token"]), 401, "unauthorized")


def test_refresh_of_a_deactivated_user_is_401(client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    deleted = client.delete(f"/api/v1/users/{world.rep.id}", headers=world.admin.headers)
    assert deleted.status_code == 204, deleted.json
    assert_error(post_refresh(client, tokens["refresh_token"]), 401, "unauthorized")


def test_concurrent_refreshes_with_one_token_succeed_at_most_once(app, world: World) -> None:
    clients = [app.test_client() for _ in range(4)]
    tokens = login_ok(clients[0], "rep@acme.test")
    barrier = threading.Barrier(len(clients))
    statuses: list[int] = []
    lock = threading.Lock()

    def refresh(c: FlaskClient) -> None:
        barrier.wait()
        response = post_refresh(c, tokens["refresh_token"])
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=refresh, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(statuses) == len(clients), statuses
    assert statuses.count(200) == 1, f"a refresh token must work exactly once: {statuses}"
    assert set(statuses) <= {200, 401}, statuses
    # The losers presented a token that was already used: reuse detection revoked the session.
    assert me_status(clients[0], tokens["access_token"]) == 401


# --- logout ----------------------------------------------------------------------------------


def test_logout_is_204_and_the_access_token_dies_at_once(client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    response = client.post(LOGOUT, headers=bearer(tokens["access_token"]))
    assert response.status_code == 204, response.get_data(as_text=True)
    assert response.get_data() == b""
    assert_error(client.get(ME, headers=bearer(tokens["access_token"])), 401, "unauthorized")
    assert_error(client.post(LOGOUT, headers=bearer(tokens["access_token"])), 401, "unauthorized")


def test_refresh_after_logout_is_401(client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    assert client.post(LOGOUT, headers=bearer(tokens["access_token"])).status_code == 204
    assert_error(post_refresh(client, tokens["refresh_token"]), 401, "unauthorized")


def test_logout_after_a_refresh_kills_the_rotated_tokens(client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    rotated = post_refresh(client, tokens["refresh_token"]).json
    assert client.post(LOGOUT, headers=bearer(tokens["access_token"])).status_code == 204
    assert me_status(client, rotated["access_token"]) == 401
    assert_error(post_refresh(client, rotated["refresh_token"]), 401, "unauthorized")


def test_logout_ends_every_session_of_the_device(client, world: World) -> None:
    device_id = str(uuid.uuid4())
    first = login_ok(client, "rep@acme.test", device_id=device_id)
    second = login_ok(client, "rep@acme.test", device_id=device_id)
    assert client.post(LOGOUT, headers=bearer(second["access_token"])).status_code == 204
    assert me_status(client, first["access_token"]) == 401
    assert me_status(client, second["access_token"]) == 401


def test_logout_leaves_other_devices_of_the_user_working(client, world: World) -> None:
    phone = login_ok(client, "rep@acme.test")
    tablet = login_ok(client, "rep@acme.test")
    assert client.post(LOGOUT, headers=bearer(phone["access_token"])).status_code == 204
    assert me_status(client, tablet["access_token"]) == 200
    assert me_status(client, world.rep.token) == 200
    assert post_refresh(client, tablet["refresh_token"]).status_code == 200
    # Other users are untouched as well.
    assert me_status(client, world.rep2.token) == 200


def test_logout_with_a_body_still_works(client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    response = client.post(LOGOUT, json={}, headers=bearer(tokens["access_token"]))
    assert response.status_code == 204, response.json


def test_login_again_after_logout_works_on_the_same_device(client, world: World) -> None:
    device_id = str(uuid.uuid4())
    tokens = login_ok(client, "rep@acme.test", device_id=device_id)
    assert client.post(LOGOUT, headers=bearer(tokens["access_token"])).status_code == 204
    again = login_ok(client, "rep@acme.test", device_id=device_id)
    assert again["device_id"] == device_id
    assert me_status(client, again["access_token"]) == 200


# --- access tokens: expiry and forgery -------------------------------------------------------


class _BackdatedSigner(TimestampSigner):
    seconds_ago = 0

    def get_timestamp(self) -> int:
        return int(time.time()) - self.seconds_ago


def forge_access_token(secret: str, session_id: str, *, seconds_ago: int = 0) -> str:
    signer = type("Signer", (_BackdatedSigner,), {"seconds_ago": seconds_ago})
    serializer = URLSafeTimedSerializer(secret, salt=ACCESS_SALT, signer=signer)
    return str(serializer.dumps({"sid": session_id}))


def test_a_token_signed_like_the_app_is_accepted(app, client, world: World) -> None:
    """Sanity check of the forging helper, so the expiry tests below prove something."""
    tokens = login_ok(client, "rep@acme.test")
    token = forge_access_token(app.config["SECRET_KEY"], session_id_of(tokens), seconds_ago=5)
    response = client.get(ME, headers=bearer(token))
    assert response.status_code == 200, response.json
    assert response.json["id"] == str(world.rep.id)


def test_expired_access_token_is_401(app, client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    ttl = app.config["ACCESS_TOKEN_TTL"]
    old = forge_access_token(app.config["SECRET_KEY"], session_id_of(tokens), seconds_ago=ttl + 2)
    error = assert_error(client.get(ME, headers=bearer(old)), 401, "unauthorized")
    assert "expired" in error["message"].lower(), error
    # The session itself is fine: the refresh token still gets a fresh access token.
    response = post_refresh(client, tokens["refresh_token"])
    assert response.status_code == 200, response.json
    assert me_status(client, response.json["access_token"]) == 200


def test_access_token_just_inside_its_ttl_works(app, client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    ttl = app.config["ACCESS_TOKEN_TTL"]
    young = forge_access_token(app.config["SECRET_KEY"], session_id_of(tokens), seconds_ago=ttl - 5)
    assert me_status(client, young) == 200


def test_real_token_expires_when_the_clock_moves_past_the_ttl(
    app, client, world: World, monkeypatch
) -> None:
    tokens = login_ok(client, "rep@acme.test")
    assert me_status(client, tokens["access_token"]) == 200
    ttl = app.config["ACCESS_TOKEN_TTL"]
    real_time = time.time
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(real_time()) + ttl + 2)
    response = client.get(ME, headers=bearer(tokens["access_token"]))
    error = assert_error(response, 401, "unauthorized")
    assert "expired" in error["message"].lower(), error


def test_short_ttl_app_expires_tokens(database_url: str, world: World) -> None:
    """An app configured with ACCESS_TOKEN_TTL=1 announces it and enforces it (no long sleep)."""
    short = make_app(database_url, ACCESS_TOKEN_TTL=1)
    short_client = short.test_client()
    tokens = login_ok(short_client, "rep@acme.test")
    assert tokens["expires_in"] == 1, tokens
    assert me_status(short_client, tokens["access_token"]) == 200
    time.sleep(2.05)
    error = assert_error(
        short_client.get(ME, headers=bearer(tokens["access_token"])), 401, "unauthorized"
    )
    assert "expired" in error["message"].lower(), error
    with short.app_context():
        db.engine.dispose()


def test_token_signed_with_another_secret_is_401(client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    forged = forge_access_token("not-the-secret-of-the-app-0123456789", session_id_of(tokens))
    assert_error(client.get(ME, headers=bearer(forged)), 401, "unauthorized")


def test_token_with_another_salt_is_401(app, client, world: World) -> None:
    tokens = login_ok(client, "rep@acme.test")
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt="something.else")
    forged = serializer.dumps({"sid": session_id_of(tokens)})
    assert_error(client.get(ME, headers=bearer(forged)), 401, "unauthorized")


@pytest.mark.parametrize(
    "payload",
    [
        {"sid": str(uuid.uuid4())},  # no such session
        {"sid": "not-a-uuid"},
        {"sid": None},
        {"sub": "someone"},
        ["sid"],
        "sid",
        42,
        None,
    ],
    ids=["unknown-session", "bad-uuid", "null-sid", "no-sid", "list", "string", "int", "null"],
)
def test_well_signed_but_wrong_payloads_are_401(app, client, world: World, payload) -> None:
    serializer = URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=ACCESS_SALT)
    token = serializer.dumps(payload)
    assert_error(client.get(ME, headers=bearer(token)), 401, "unauthorized")


def test_tampered_access_token_is_401(client, world: World) -> None:
    token = world.rep.token
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    assert_error(client.get(ME, headers=bearer(tampered)), 401, "unauthorized")


# --- me --------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["admin", "manager", "rep", "rep2", "loner", "other_admin"])
def test_me_returns_the_caller(client, world: World, who: str) -> None:
    person = world.people[who]
    response = client.get(ME, headers=person.headers)
    assert response.status_code == 200, response.json
    body = response.json
    assert body["id"] == str(person.id), body
    assert body["email"] == person.email, body
    assert body["role"] == person.role, body
    expected_org = world.other_org_id if who == "other_admin" else world.org_id
    assert body["org_id"] == str(expected_org), body
    assert body["active"] is True, body
    assert "password" not in body and "password_hash" not in body, body
    assert is_uuid(body["id"])


def test_me_shows_the_manager_of_a_rep(client, world: World) -> None:
    body = client.get(ME, headers=world.rep.headers).json
    assert body["manager_id"] == str(world.manager.id), body
    assert client.get(ME, headers=world.loner.headers).json["manager_id"] is None


@pytest.mark.parametrize(
    "header",
    ["Bearer", "Bearer ", "Basic cmVwOnB3", "Token abc", "bearer", "Bearer  "],
)
def test_malformed_authorization_headers_are_401(client, world: World, header: str) -> None:
    assert_error(client.get(ME, headers={"Authorization": header}), 401, "unauthorized")


def test_scheme_is_case_insensitive(client, world: World) -> None:
    response = client.get(ME, headers={"Authorization": f"bearer {world.rep.token}"})
    assert response.status_code == 200, response.json
