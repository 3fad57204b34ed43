"""Small HTTP helpers shared by the auth tests (login, refresh, error envelope checks)."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import PASSWORD

LOGIN = "/api/v1/auth/login"
REFRESH = "/api/v1/auth/refresh"
LOGOUT = "/api/v1/auth/logout"
ME = "/api/v1/me"
USERS = "/api/v1/users"
DEVICES = "/api/v1/devices"

_ips = itertools.count(1)


def fresh_ip() -> str:
    """A client address never used before in this run: keeps the per-IP login limit out of the
    way of tests that are not about it."""
    n = next(_ips)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def post_login(
    client: FlaskClient,
    email: str,
    password: str = PASSWORD,
    *,
    ip: str | None = None,
    **extra: Any,
) -> TestResponse:
    return client.post(
        LOGIN,
        json={"email": email, "password": password, **extra},
        environ_base={"REMOTE_ADDR": ip or fresh_ip()},
    )


def login_ok(client: FlaskClient, email: str, password: str = PASSWORD, **extra: Any) -> dict:
    """Log in (from a fresh address) and return the token body; fail loudly otherwise."""
    response = post_login(client, email, password, **extra)
    assert response.status_code == 200, f"login of {email} failed: {response.json}"
    return dict(response.json)


def post_refresh(client: FlaskClient, refresh_token: str) -> TestResponse:
    return client.post(
        REFRESH, json={"refresh_token": refresh_token}, environ_base={"REMOTE_ADDR": fresh_ip()}
    )


def assert_error(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    """Check the contract's error envelope and return its ``error`` object."""
    body = response.get_json(silent=True)
    assert response.status_code == status, (
        f"expected {status} {code}, got {response.status_code}: {body!r}"
    )
    assert isinstance(body, dict) and set(body) == {"error"}, f"not an error envelope: {body!r}"
    error = body["error"]
    assert error.get("code") == code, f"expected code {code}: {body!r}"
    assert isinstance(error.get("message"), str) and error["message"], f"no message: {body!r}"
    assert set(error) <= {"code", "message", "details"}, f"unexpected keys: {body!r}"
    return dict(error)


def error_fields(response: TestResponse) -> dict[str, list[str]]:
    """``details.fields`` of a 422 validation error."""
    error = assert_error(response, 422, "validation_error")
    fields = (error.get("details") or {}).get("fields")
    assert isinstance(fields, dict) and fields, f"no details.fields: {response.json!r}"
    return dict(fields)


def is_uuid(value: Any) -> bool:
    try:
        uuid.UUID(str(value))
    except ValueError:
        return False
    return True
