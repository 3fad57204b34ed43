"""/api/v1/devices: listing per role and revoking a lost phone."""

from __future__ import annotations

import uuid

import pytest
from flask.testing import FlaskClient

from tests.auth.helpers import (
    DEVICES,
    ME,
    assert_error,
    bearer,
    login_ok,
    post_refresh,
)
from tests.conftest import World


def device_ids(client: FlaskClient, headers: dict[str, str]) -> set[str]:
    response = client.get(DEVICES, headers=headers)
    assert response.status_code == 200, response.json
    assert response.json["next_cursor"] is None, response.json
    return {item["id"] for item in response.json["items"]}


def devices_by_id(client: FlaskClient, headers: dict[str, str]) -> dict[str, dict]:
    response = client.get(DEVICES, headers=headers)
    assert response.status_code == 200, response.json
    return {item["id"]: item for item in response.json["items"]}


@pytest.fixture
def phones(client: FlaskClient, world: World) -> dict[str, dict]:
    """One extra, named phone per acme person and the other admin, with its tokens."""
    result = {}
    for key, person in world.people.items():
        device_id = str(uuid.uuid4())
        result[key] = login_ok(
            client,
            person.email,
            device_id=device_id,
            device_name=f"{key} phone",
            platform="ios",
            app_version="2.0.0",
        )
    return result


def test_device_list_shape(client, world: World, phones) -> None:
    devices = devices_by_id(client, world.rep.headers)
    phone = devices[phones["rep"]["device_id"]]
    assert phone["user_id"] == str(world.rep.id), phone
    assert phone["name"] == "rep phone" and phone["platform"] == "ios", phone
    assert phone["app_version"] == "2.0.0", phone
    assert phone["revoked_at"] is None, phone
    assert phone["last_seen_at"] is not None, phone
    for key in ("last_push_at", "last_pull_at", "last_changeset_id", "created_at"):
        assert key in phone, phone


def test_rep_sees_only_own_devices(client, world: World, phones) -> None:
    devices = devices_by_id(client, world.rep.headers)
    assert len(devices) == 2, devices  # the world login and the phone
    assert {d["user_id"] for d in devices.values()} == {str(world.rep.id)}, devices
    assert phones["rep"]["device_id"] in devices


def test_loner_sees_only_own_devices(client, world: World, phones) -> None:
    devices = devices_by_id(client, world.loner.headers)
    assert {d["user_id"] for d in devices.values()} == {str(world.loner.id)}, devices


def test_manager_sees_the_team_devices(client, world: World, phones) -> None:
    devices = devices_by_id(client, world.manager.headers)
    owners = {d["user_id"] for d in devices.values()}
    assert owners == {str(world.manager.id), str(world.rep.id), str(world.rep2.id)}, devices
    assert len(devices) == 6, devices
    assert phones["loner"]["device_id"] not in devices
    assert phones["admin"]["device_id"] not in devices


def test_admin_sees_the_org_devices_and_none_of_the_other_org(client, world, phones) -> None:
    devices = devices_by_id(client, world.admin.headers)
    acme = {str(p.id) for k, p in world.people.items() if k != "other_admin"}
    assert {d["user_id"] for d in devices.values()} == acme, devices
    assert len(devices) == 10, devices
    assert phones["other_admin"]["device_id"] not in devices


def test_other_org_admin_sees_only_their_devices(client, world: World, phones) -> None:
    devices = devices_by_id(client, world.other_admin.headers)
    assert {d["user_id"] for d in devices.values()} == {str(world.other_admin.id)}, devices
    assert phones["other_admin"]["device_id"] in devices


def test_owner_revokes_a_lost_phone(client, world: World, phones) -> None:
    lost = phones["rep"]
    response = client.delete(f"{DEVICES}/{lost['device_id']}", headers=world.rep.headers)
    assert response.status_code == 204, response.json
    assert response.get_data() == b""
    assert_error(client.get(ME, headers=bearer(lost["access_token"])), 401, "unauthorized")
    assert_error(post_refresh(client, lost["refresh_token"]), 401, "unauthorized")
    # The rep's other device keeps working and the listing shows the revocation.
    assert client.get(ME, headers=world.rep.headers).status_code == 200
    listed = devices_by_id(client, world.rep.headers)[lost["device_id"]]
    assert listed["revoked_at"] is not None, listed


def test_revoking_the_current_device_ends_its_own_session(client, world: World, phones) -> None:
    phone = phones["rep"]
    response = client.delete(
        f"{DEVICES}/{phone['device_id']}", headers=bearer(phone["access_token"])
    )
    assert response.status_code == 204, response.json
    assert_error(client.get(ME, headers=bearer(phone["access_token"])), 401, "unauthorized")


def test_revocation_ends_every_session_of_the_device(client, world: World) -> None:
    device_id = str(uuid.uuid4())
    first = login_ok(client, "rep@acme.test", device_id=device_id)
    second = login_ok(client, "rep@acme.test", device_id=device_id)
    rotated = post_refresh(client, second["refresh_token"]).json
    response = client.delete(f"{DEVICES}/{device_id}", headers=world.admin.headers)
    assert response.status_code == 204, response.json
    for tokens in (first, rotated):
        assert_error(client.get(ME, headers=bearer(tokens["access_token"])), 401, "unauthorized")
        assert_error(post_refresh(client, tokens["refresh_token"]), 401, "unauthorized")


def test_admin_revokes_anyones_device(client, world: World, phones) -> None:
    for key in ("rep", "manager", "loner"):
        phone = phones[key]
        response = client.delete(f"{DEVICES}/{phone['device_id']}", headers=world.admin.headers)
        assert response.status_code == 204, response.json
        assert_error(client.get(ME, headers=bearer(phone["access_token"])), 401, "unauthorized")
        assert_error(post_refresh(client, phone["refresh_token"]), 401, "unauthorized")
        # Their world session (another device) is untouched.
        assert client.get(ME, headers=world.people[key].headers).status_code == 200


def test_manager_cannot_revoke_a_team_reps_device(client, world: World, phones) -> None:
    phone = phones["rep"]
    response = client.delete(f"{DEVICES}/{phone['device_id']}", headers=world.manager.headers)
    assert_error(response, 403, "forbidden")
    assert client.get(ME, headers=bearer(phone["access_token"])).status_code == 200


@pytest.mark.parametrize(
    ("who", "owner"),
    [
        ("rep", "rep2"),
        ("rep", "manager"),
        ("rep2", "rep"),
        ("loner", "rep"),
        ("manager", "loner"),
        ("manager", "admin"),
        ("rep", "admin"),
    ],
)
def test_same_org_non_admin_cannot_revoke_another_users_device(
    client, world: World, phones, who: str, owner: str
) -> None:
    """403 where the caller can see the device, 404 where it is outside their scope."""
    phone = phones[owner]
    response = client.delete(f"{DEVICES}/{phone['device_id']}", headers=world.people[who].headers)
    assert response.status_code in (403, 404), response.json
    assert_error(
        response, response.status_code, "forbidden" if response.status_code == 403 else "not_found"
    )
    assert client.get(ME, headers=bearer(phone["access_token"])).status_code == 200
    assert post_refresh(client, phone["refresh_token"]).status_code == 200


def test_other_org_admin_gets_404_and_revokes_nothing(client, world: World, phones) -> None:
    for key in ("rep", "admin"):
        phone = phones[key]
        response = client.delete(
            f"{DEVICES}/{phone['device_id']}", headers=world.other_admin.headers
        )
        assert_error(response, 404, "not_found")
        assert client.get(ME, headers=bearer(phone["access_token"])).status_code == 200


def test_acme_admin_cannot_revoke_other_org_device(client, world: World, phones) -> None:
    phone = phones["other_admin"]
    response = client.delete(f"{DEVICES}/{phone['device_id']}", headers=world.admin.headers)
    assert_error(response, 404, "not_found")
    assert client.get(ME, headers=bearer(phone["access_token"])).status_code == 200


def test_foreign_device_answers_like_a_missing_one(client, world: World, phones) -> None:
    foreign = client.delete(
        f"{DEVICES}/{phones['other_admin']['device_id']}", headers=world.admin.headers
    )
    missing = client.delete(f"{DEVICES}/{uuid.uuid4()}", headers=world.admin.headers)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json == missing.json, (foreign.json, missing.json)


def test_unknown_and_malformed_device_ids_are_404(client, world: World) -> None:
    assert_error(
        client.delete(f"{DEVICES}/{uuid.uuid4()}", headers=world.admin.headers), 404, "not_found"
    )
    assert_error(
        client.delete(f"{DEVICES}/not-a-uuid", headers=world.admin.headers), 404, "not_found"
    )


def test_logging_in_again_with_a_revoked_device_id_reactivates_it(client, world, phones) -> None:
    lost = phones["rep"]
    assert (
        client.delete(f"{DEVICES}/{lost['device_id']}", headers=world.admin.headers).status_code
        == 204
    )
    found = login_ok(client, "rep@acme.test", device_id=lost["device_id"])
    assert found["device_id"] == lost["device_id"], found
    assert client.get(ME, headers=bearer(found["access_token"])).status_code == 200
    listed = devices_by_id(client, world.rep.headers)[lost["device_id"]]
    assert listed["revoked_at"] is None, listed
    assert listed["name"] == "rep phone", listed  # the device record was kept
    # The tokens issued before the revocation stay dead.
    assert_error(client.get(ME, headers=bearer(lost["access_token"])), 401, "unauthorized")
    assert_error(post_refresh(client, lost["refresh_token"]), 401, "unauthorized")


def test_revoked_device_id_cannot_be_taken_over_by_another_user(client, world, phones) -> None:
    lost = phones["rep"]
    client.delete(f"{DEVICES}/{lost['device_id']}", headers=world.rep.headers)
    response = client.post(
        "/api/v1/auth/login",
        json={
            "email": "rep2@acme.test",
            "password": "correct horse battery",
            "device_id": lost["device_id"],
        },
    )
    assert_error(response, 409, "conflict")


def test_revoking_twice_is_harmless(client, world: World, phones) -> None:
    url = f"{DEVICES}/{phones['rep']['device_id']}"
    assert client.delete(url, headers=world.admin.headers).status_code == 204
    second = client.delete(url, headers=world.admin.headers)
    assert second.status_code == 204, second.json


def test_deactivated_users_devices_stay_listed_for_admins(client, world, phones) -> None:
    assert (
        client.delete(f"/api/v1/users/{world.rep2.id}", headers=world.admin.headers).status_code
        == 204
    )
    assert phones["rep2"]["device_id"] in device_ids(client, world.admin.headers)
