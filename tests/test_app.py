"""The app shell: error envelope for every failure class, health probes, docs, settings."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from fieldsync import create_app
from fieldsync.config import ConfigurationError, normalise_database_url
from tests.conftest import TEST_SETTINGS, World


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return body["error"]


def test_health_probes(client) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready"}


def test_unknown_path_and_method_use_the_envelope(client, world: World) -> None:
    assert_envelope(
        client.get("/api/v1/nothing-here", headers=world.admin.headers), 404, "not_found"
    )
    error = client.put("/api/v1/accounts", json={}, headers=world.admin.headers)
    assert_envelope(error, 405, "method_not_allowed")
    assert "POST" in error.headers["Allow"]


def test_unexpected_exception_is_a_500_with_correlation_id_and_no_internals(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app({**TEST_SETTINGS, "DATABASE_URL": database_url})

    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("secret internal detail")

    response = app.test_client().get("/boom")
    error = assert_envelope(response, 500, "internal_error")
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert len(error["details"]["correlation_id"]) >= 16


def test_database_down_answers_503_with_retry_after() -> None:
    # Nothing listens on port 9: every connection attempt fails at once.
    app = create_app({**TEST_SETTINGS, "DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none"})
    client = app.test_client()
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["Retry-After"]
    login = client.post("/api/v1/auth/login", json={"email": "a@b.test", "password": "x"})
    assert_envelope(login, 503, "unavailable")
    assert int(login.headers["Retry-After"]) > 0
    token = client.get("/api/v1/accounts", headers={"Authorization": "Bearer abc.def"})
    # An unparseable token is refused before the database is asked.
    assert_envelope(token, 401, "unauthorized")


def test_malformed_json_and_wrong_content_type_are_400(client, world: World) -> None:
    bad_json = client.post(
        "/api/v1/accounts",
        data="{not json",
        headers={**world.rep.headers, "Content-Type": "application/json"},
    )
    assert_envelope(bad_json, 400, "bad_request")
    form = client.post("/api/v1/accounts", data={"name": "x"}, headers=world.rep.headers)
    assert_envelope(form, 400, "bad_request")
    array = client.post("/api/v1/accounts", json=[1, 2], headers=world.rep.headers)
    assert array.status_code in (400, 422), array.json
    assert "error" in array.json


def test_body_over_the_size_limit_is_413(client, world: World) -> None:
    huge = json.dumps({"name": "x" * (7 * 1024 * 1024)})
    response = client.post(
        "/api/v1/accounts",
        data=huge,
        headers={**world.rep.headers, "Content-Type": "application/json"},
    )
    assert_envelope(response, 413, "payload_too_large")


def test_openapi_document_describes_the_contract(client) -> None:
    from openapi_spec_validator import validate

    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json
    validate(spec)
    paths = set(spec["paths"])
    for path in [
        "/api/v1/auth/login",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/users",
        "/api/v1/users/{user_id}",
        "/api/v1/devices",
        "/api/v1/devices/{device_id}",
        "/api/v1/accounts",
        "/api/v1/accounts/{record_id}",
        "/api/v1/contacts",
        "/api/v1/interactions",
        "/api/v1/tasks",
        "/api/v1/territories",
        "/api/v1/territories/{territory_id}",
    ]:
        assert path in paths, f"{path} missing from the OpenAPI document"
    assert "validation_error" in spec["info"]["description"]
    assert "bearerAuth" in spec["components"]["securitySchemes"]


def test_docs_page_works_offline(client) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/docs/assets/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    with client.get("/docs/assets/swagger-ui-bundle.js") as asset:
        assert asset.status_code == 200 and len(asset.data) > 100_000


def test_gzip_when_asked(client, world: World) -> None:
    for index in range(30):
        client.post(
            "/api/v1/accounts",
            json={"kind": "company", "status": "lead", "name": f"Compressible {index}"},
            headers=world.admin.headers,
        )
    plain = client.get("/api/v1/accounts", headers=world.admin.headers)
    zipped = client.get(
        "/api/v1/accounts", headers={**world.admin.headers, "Accept-Encoding": "gzip"}
    )
    assert zipped.headers.get("Content-Encoding") == "gzip"
    assert len(zipped.data) < len(plain.data) / 3


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ConfigurationError, match="FIELDSYNC_SECRET_KEY"):
        create_app({"ENV": "production", "DATABASE_URL": "sqlite://"})
    with pytest.raises(ConfigurationError):
        create_app({"ENV": "production", "SECRET_KEY": "short", "DATABASE_URL": "sqlite://"})
    app = create_app({"ENV": "production", "SECRET_KEY": "k" * 40, "DATABASE_URL": "sqlite://"})
    assert isinstance(app, Flask)


def test_settings_come_from_fieldsync_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDSYNC_ACCESS_TOKEN_TTL", "123")
    monkeypatch.setenv("FIELDSYNC_DATABASE_URL", "postgresql://u@h:5432/d")
    app = create_app()
    assert app.config["ACCESS_TOKEN_TTL"] == 123
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@h:5432/d"
    monkeypatch.setenv("FIELDSYNC_ACCESS_TOKEN_TTL", "soon")
    with pytest.raises(ConfigurationError, match="integer"):
        create_app()


def test_plain_postgresql_url_gets_our_driver() -> None:
    assert normalise_database_url("postgres://x@y/z") == "postgresql+psycopg://x@y/z"
    assert normalise_database_url("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"
