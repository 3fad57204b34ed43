from __future__ import annotations

from tests.conftest import World, account_body, login
from tests.sync.device import Phone


def _device(client, headers, device_id: str) -> dict:
    items = client.get("/api/v1/devices", headers=headers).json["items"]
    return next(item for item in items if item["id"] == device_id)


def test_devices_show_cursor_lag(client, world: World) -> None:
    tokens = login(client, world.rep.email)
    phone = Phone(client, tokens["access_token"])
    assert _device(client, world.admin.headers, tokens["device_id"])["cursor_lag"] is None
    phone.pull()
    assert _device(client, world.admin.headers, tokens["device_id"])["cursor_lag"] == 0
    for index in range(3):
        client.post(
            "/api/v1/accounts", json=account_body(name=f"N{index}"), headers=world.admin.headers
        )
    lagging = _device(client, world.admin.headers, tokens["device_id"])
    assert lagging["cursor_lag"] >= 3, lagging
    assert lagging["last_pull_at"] is not None
    phone.pull()
    assert _device(client, world.admin.headers, tokens["device_id"])["cursor_lag"] == 0
