from __future__ import annotations

from tests.conftest import World, account_body


def test_rep_creates_and_reads_an_account(client, world: World) -> None:
    created = client.post("/api/v1/accounts", json=account_body(), headers=world.rep.headers)
    assert created.status_code == 201, created.json
    assert created.json["owner_id"] == str(world.rep.id)
    fetched = client.get(f"/api/v1/accounts/{created.json['id']}", headers=world.rep.headers)
    assert fetched.status_code == 200
    assert fetched.headers["ETag"] == '"1"'
