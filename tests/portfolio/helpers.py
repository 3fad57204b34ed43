"""Helpers for the portfolio tests: create records through HTTP, walk lists, check errors."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import Person, account_body

ENTITIES = ("accounts", "contacts", "interactions", "tasks")

# Milan's Duomo, and a small square around it (lon/lat, GeoJSON order).
MILAN = (45.4642, 9.1900)
MILAN_SQUARE = {
    "type": "Polygon",
    "coordinates": [[[9.15, 45.44], [9.23, 45.44], [9.23, 45.49], [9.15, 45.49], [9.15, 45.44]]],
}
ROME = (41.9028, 12.4964)


def new_id() -> str:
    return str(uuid.uuid4())


def url(entity: str, record_id: Any = None) -> str:
    return f"/api/v1/{entity}" if record_id is None else f"/api/v1/{entity}/{record_id}"


def created(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 201, (response.status_code, response.json)
    return dict(response.json)


def create_account(client: FlaskClient, person: Person, **fields: Any) -> dict[str, Any]:
    return created(
        client.post(url("accounts"), json=account_body(**fields), headers=person.headers)
    )


def create_contact(
    client: FlaskClient, person: Person, account_id: Any, **fields: Any
) -> dict[str, Any]:
    body = {"account_id": str(account_id), "last_name": "Bianchi", **fields}
    return created(client.post(url("contacts"), json=body, headers=person.headers))


def create_interaction(
    client: FlaskClient, person: Person, account_id: Any, **fields: Any
) -> dict[str, Any]:
    body = {
        "account_id": str(account_id),
        "kind": "call",
        "occurred_at": "2026-11-22T10:15:00Z",
        **fields,
    }
    return created(client.post(url("interactions"), json=body, headers=person.headers))


def create_task(client: FlaskClient, person: Person, **fields: Any) -> dict[str, Any]:
    body = {"title": "Call back", **fields}
    return created(client.post(url("tasks"), json=body, headers=person.headers))


def create_territory(
    client: FlaskClient,
    person: Person,
    rep_ids: list[Any],
    geometry: dict[str, Any] | None = None,
    **fields: Any,
) -> dict[str, Any]:
    body = {
        "name": "Milano centro",
        "geometry": geometry or MILAN_SQUARE,
        "rep_ids": [str(r) for r in rep_ids],
        **fields,
    }
    return created(client.post("/api/v1/territories", json=body, headers=person.headers))


def get(client: FlaskClient, person: Person, entity: str, record_id: Any) -> TestResponse:
    return client.get(url(entity, record_id), headers=person.headers)


def fetch(client: FlaskClient, person: Person, entity: str, record_id: Any) -> dict[str, Any]:
    response = get(client, person, entity, record_id)
    assert response.status_code == 200, (response.status_code, response.json)
    return dict(response.json)


def list_page(client: FlaskClient, person: Person, entity: str, **params: Any) -> dict[str, Any]:
    response = client.get(url(entity), query_string=params, headers=person.headers)
    assert response.status_code == 200, (response.status_code, response.json)
    assert set(response.json) == {"items", "next_cursor"}, response.json
    return dict(response.json)


def list_all(
    client: FlaskClient, person: Person, entity: str, **params: Any
) -> list[dict[str, Any]]:
    """Every item of a list, following next_cursor; fails on a record seen twice."""
    items: list[dict[str, Any]] = []
    cursor = None
    for _ in range(1000):
        query = dict(params)
        if cursor:
            query["cursor"] = cursor
        page = list_page(client, person, entity, **query)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids)), f"a record appeared twice: {ids}"
    return items


def list_ids(client: FlaskClient, person: Person, entity: str, **params: Any) -> set[str]:
    return {item["id"] for item in list_all(client, person, entity, **params)}


def error_fields(response: TestResponse) -> dict[str, list[str]]:
    body = response.json or {}
    return dict(((body.get("error") or {}).get("details") or {}).get("fields") or {})


def assert_error(response: TestResponse, status: int, code: str) -> dict[str, Any]:
    """The contract's error envelope with the given status and code."""
    assert response.status_code == status, (response.status_code, response.json)
    body = response.json
    assert isinstance(body, dict) and "error" in body, body
    assert body["error"]["code"] == code, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"], body
    return dict(body["error"])


def assert_invalid(response: TestResponse, field: str) -> dict[str, list[str]]:
    """A 422 whose details.fields names ``field`` (or one of its nested parts)."""
    assert_error(response, 422, "validation_error")
    fields = error_fields(response)
    named = [name for name in fields if name == field or name.startswith(f"{field}.")]
    assert named, f"{field!r} not named in details.fields: {response.json}"
    assert all(fields[name] for name in named), response.json
    return fields
