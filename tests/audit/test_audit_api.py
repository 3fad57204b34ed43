"""The audit log through HTTP: admins only, paged newest first, filtered."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import World
from tests.portfolio.helpers import assert_error, assert_invalid, create_account

AUDIT = "/api/v1/audit"


def test_only_admins_read_the_audit_log(client: FlaskClient, world: World) -> None:
    for person in (world.manager, world.rep):
        assert_error(client.get(AUDIT, headers=person.headers), 403, "forbidden")
    assert client.get(AUDIT).status_code == 401


def test_paged_newest_first_and_filtered(client: FlaskClient, world: World) -> None:
    accounts = [create_account(client, world.manager, name=f"A{i}") for i in range(3)]
    for account in accounts:
        url = f"/api/v1/accounts/{account['id']}/personal-data"
        assert client.get(url, headers=world.manager.headers).status_code == 200
    erased = client.post(f"/api/v1/accounts/{accounts[0]['id']}/erase",
                         headers=world.admin.headers)  # fmt: skip
    assert erased.status_code == 200, erased.json

    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(AUDIT, query_string=params, headers=world.admin.headers).json
        seen.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [e["action"] for e in seen] == ["account.erase"] + ["account.personal_data"] * 3
    assert [e["record_id"] for e in seen[1:]] == [a["id"] for a in reversed(accounts)], seen
    times = [e["at"] for e in seen]
    assert times == sorted(times, reverse=True), times

    def actions(**params) -> list[str]:
        response = client.get(AUDIT, query_string=params, headers=world.admin.headers)
        assert response.status_code == 200, response.json
        return [e["action"] for e in response.json["items"]]

    assert actions(action="account.erase") == ["account.erase"]
    assert actions(actor=str(world.admin.id)) == ["account.erase"]
    assert len(actions(actor=str(world.manager.id))) == 3
    assert actions(**{"from": seen[0]["at"]}) == ["account.erase"]
    assert len(actions(**{"to": seen[0]["at"]})) == 3
    # Another organisation's log is its own.
    assert client.get(AUDIT, headers=world.other_admin.headers).json["items"] == []
    assert_invalid(client.get(AUDIT, query_string={"action": "dance"},
                              headers=world.admin.headers), "action")  # fmt: skip
    assert_invalid(client.get(AUDIT, query_string={"cursor": "zzz"},
                              headers=world.admin.headers), "cursor")  # fmt: skip


def test_an_account_export_is_audited(client: FlaskClient, world: World) -> None:
    create_account(client, world.manager, name="Lead", status="lead")
    response = client.get("/api/v1/accounts/export", query_string={"format": "csv",
                          "status": "lead"}, headers=world.manager.headers)  # fmt: skip
    assert response.status_code == 200, response.data[:300]
    entries = client.get(AUDIT, query_string={"action": "accounts.export"},
                         headers=world.admin.headers).json["items"]  # fmt: skip
    assert len(entries) == 1 and entries[0]["actor_id"] == str(world.manager.id), entries
    assert entries[0]["details"]["format"] == "csv", entries
    assert entries[0]["details"]["filters"]["status"] == "lead", entries
