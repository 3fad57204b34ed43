"""Helpers for the visit-plan tests: reps with a home, due accounts around Milan, plan calls."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.conftest import Person, World
from tests.portfolio.helpers import MILAN, create_account

ROME_TZ = ZoneInfo("Europe/Rome")
# Small offsets around the Duomo: a town's worth of clients, a few km apart.
OFFSETS = [(0.010 * (i % 5) - 0.02, 0.012 * (i // 5) - 0.02) for i in range(25)]


def plan_day() -> date:
    """A day ahead, local to the organisation (Europe/Rome), so every account is due by it."""
    return datetime.now(ROME_TZ).date() + timedelta(days=1)


def set_home(client: FlaskClient, world: World, person: Person, lat: float, lon: float) -> None:
    response = client.patch(
        f"/api/v1/users/{person.id}",
        json={"home_location": {"lat": lat, "lon": lon}},
        headers=world.admin.headers,
    )
    assert response.status_code == 200, response.json


def due_accounts(
    client: FlaskClient, person: Person, count: int, **fields: Any
) -> list[dict[str, Any]]:
    """Accounts owned by ``person`` near Milan with a cadence and never visited: due now."""
    accounts = []
    for i in range(count):
        d_lat, d_lon = OFFSETS[i % len(OFFSETS)]
        body = {
            "name": f"Cliente {i}",
            "location": {"lat": MILAN[0] + d_lat, "lon": MILAN[1] + d_lon},
            "visit_every_days": 30,
            **fields,
        }
        accounts.append(create_account(client, person, **body))
    return accounts


def post_plan(client: FlaskClient, person: Person, path: str = "", **body: Any) -> TestResponse:
    body = {key: value.isoformat() if isinstance(value, date) else value
            for key, value in body.items()}  # fmt: skip
    return client.post(f"/api/v1/plans{path}", json=body, headers=person.headers)


def planned(response: TestResponse) -> dict[str, Any]:
    assert response.status_code == 200, (response.status_code, response.json)
    return dict(response.json)


def stop_ids(plan: dict[str, Any]) -> list[str]:
    return [stop["account_id"] for stop in plan["stops"]]
