"""The account status history behind conversion counts: every write path records it, dated
when the status really changed (a phone's offline edit at its corrected time)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from flask.testing import FlaskClient

from tests.conftest import World, login
from tests.sync.device import Phone, upsert


def history(client: FlaskClient, world: World, account_id: str) -> list[tuple]:
    data = client.get(f"/api/v1/accounts/{account_id}/personal-data",
                      headers=world.admin.headers).json  # fmt: skip
    return [(h["from_status"], h["to_status"], h["changed_at"]) for h in data["status_history"]]


def test_a_phone_conversion_counts_when_it_was_made(client: FlaskClient, world: World) -> None:
    phone = Phone(client, login(client, world.rep.email)["access_token"])
    account_id = str(uuid.uuid4())
    created = phone.push([upsert("accounts", account_id, {"kind": "company", "status": "lead",
                                                          "name": "Bar Sport"})])  # fmt: skip
    assert created["results"][0]["status"] == "applied", created
    converted_at = datetime.now(UTC) - timedelta(days=2)  # offline, two days ago
    result = phone.push([upsert("accounts", account_id, {"status": "customer"}, base_version=1,
                                changed_at=converted_at)])  # fmt: skip
    assert result["results"][0]["status"] == "applied", result
    # Writing the same status again records nothing.
    same = phone.push([upsert("accounts", account_id, {"status": "customer"}, base_version=2)])
    assert same["results"][0]["status"] == "applied", same

    steps = history(client, world, account_id)
    assert [(a, b) for a, b, _ in steps] == [(None, "lead"), ("lead", "customer")], steps
    assert abs(datetime.fromisoformat(steps[1][2]) - converted_at) < timedelta(seconds=5), steps

    def conversions(**params: str) -> int:
        response = client.get("/api/v1/stats/coverage", headers=world.manager.headers,
                              query_string={"group_by": "rep", **params})  # fmt: skip
        assert response.status_code == 200, response.json
        return int(response.json["totals"]["conversions"])

    day_ago = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    assert conversions(to=day_ago) == 1
    assert conversions(**{"from": day_ago}) == 0
