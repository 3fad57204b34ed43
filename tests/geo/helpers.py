"""Shapes and small HTTP helpers shared by the territory tests."""

from __future__ import annotations

import uuid
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import Person, account_body

TERRITORIES = "/api/v1/territories"
ACCOUNTS = "/api/v1/accounts"

# Around Milan: a big square (~0.4° x 0.3°) and a small one inside it, both holding CENTRE.
CENTRE = {"lat": 45.46, "lon": 9.19}
OUTSIDE_SMALL = {"lat": 45.33, "lon": 9.35}  # in the big square only
FAR_AWAY = {"lat": 41.90, "lon": 12.50}  # Rome: in neither


def square(lon0: float, lat0: float, lon1: float, lat1: float) -> dict[str, Any]:
    return {
        "type": "Polygon",
        "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]],
    }


BIG = square(9.0, 45.3, 9.4, 45.6)
SMALL = square(9.15, 45.43, 9.25, 45.5)
ROME = square(12.3, 41.8, 12.7, 42.0)


def create_territory(client: FlaskClient, who: Person, **fields: Any) -> TestResponse:
    body = {"name": "Territory", **fields}
    return client.post(TERRITORIES, json=body, headers=who.headers)


def new_territory(client: FlaskClient, who: Person, **fields: Any) -> dict[str, Any]:
    """Create a territory that must succeed; return its body."""
    response = create_territory(client, who, **fields)
    assert response.status_code == 201, f"territory creation failed: {response.json}"
    return dict(response.json)


def new_account(client: FlaskClient, who: Person, **fields: Any) -> dict[str, Any]:
    response = client.post(ACCOUNTS, json=account_body(**fields), headers=who.headers)
    assert response.status_code == 201, f"account creation failed: {response.json}"
    return dict(response.json)


def get_account(client: FlaskClient, who: Person, account_id: str) -> dict[str, Any]:
    response = client.get(f"{ACCOUNTS}/{account_id}", headers=who.headers)
    assert response.status_code == 200, f"account {account_id} unreadable: {response.json}"
    return dict(response.json)


def patch_territory(
    client: FlaskClient, who: Person, territory_id: str, **fields: Any
) -> TestResponse:
    return client.patch(f"{TERRITORIES}/{territory_id}", json=fields, headers=who.headers)


def listed_account_ids(client: FlaskClient, who: Person) -> set[str]:
    response = client.get(ACCOUNTS, headers=who.headers, query_string={"limit": 1000})
    assert response.status_code == 200, response.json
    return {item["id"] for item in response.json["items"]}


def listed_territory_ids(client: FlaskClient, who: Person) -> set[str]:
    response = client.get(TERRITORIES, headers=who.headers)
    assert response.status_code == 200, response.json
    return {item["id"] for item in response.json["items"]}


def error_fields(response: TestResponse) -> dict[str, list[str]]:
    body = response.json or {}
    return dict(((body.get("error") or {}).get("details") or {}).get("fields") or {})


def some_id() -> str:
    return str(uuid.uuid4())
