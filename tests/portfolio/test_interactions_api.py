"""Interactions: the author, last_visit_at of the account, check-in verification, filters."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import World
from tests.portfolio.helpers import (
    MILAN,
    assert_invalid,
    create_account,
    create_contact,
    create_interaction,
    created,
    fetch,
    list_ids,
    new_id,
    url,
)

PIN = {"lat": MILAN[0], "lon": MILAN[1], "precision": "rooftop", "source": "gps"}


def instant(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value.replace("Z", "+00:00"))


def last_visit(client, world: World, account_id: str) -> datetime | None:
    return instant(fetch(client, world.admin, "accounts", account_id)["last_visit_at"])


# --- the author ------------------------------------------------------------------------------


def test_the_author_is_the_caller(client, world: World) -> None:
    account = create_account(client, world.rep)
    mine = create_interaction(client, world.rep, account["id"])
    assert mine["user_id"] == str(world.rep.id), mine
    by_manager = create_interaction(client, world.manager, account["id"])
    assert by_manager["user_id"] == str(world.manager.id), by_manager


def test_editing_keeps_the_author(client, world: World) -> None:
    account = create_account(client, world.rep)
    interaction = create_interaction(client, world.rep, account["id"])
    response = client.patch(
        url("interactions", interaction["id"]), json={"report": "Edited by the boss"},
        headers=world.manager.headers,
    )  # fmt: skip
    assert response.status_code == 200, response.json
    assert response.json["user_id"] == str(world.rep.id), response.json


def test_the_author_cannot_be_chosen(client, world: World) -> None:
    account = create_account(client, world.rep)
    response = client.post(
        url("interactions"),
        json={"account_id": account["id"], "kind": "call", "occurred_at": "2026-11-22T10:00:00Z",
              "user_id": str(world.rep2.id)},
        headers=world.rep.headers,
    )  # fmt: skip
    assert_invalid(response, "user_id")


def test_filter_by_author_and_kind(client, world: World) -> None:
    account = create_account(client, world.rep)
    call = create_interaction(client, world.rep, account["id"], kind="call")
    visit = create_interaction(client, world.manager, account["id"], kind="visit")
    ids = list_ids(client, world.admin, "interactions", user_id=str(world.rep.id))
    assert ids == {call["id"]}
    assert list_ids(client, world.admin, "interactions", kind="visit") == {visit["id"]}


def test_filter_by_time_window(client, world: World) -> None:
    account = create_account(client, world.rep)
    early = create_interaction(client, world.rep, account["id"], occurred_at="2026-10-01T09:00:00Z")
    late = create_interaction(client, world.rep, account["id"], occurred_at="2026-11-01T09:00:00Z")
    window = {"from": "2026-10-15T00:00:00Z", "to": "2026-12-01T00:00:00+01:00"}
    assert list_ids(client, world.admin, "interactions", **window) == {late["id"]}
    assert list_ids(client, world.admin, "interactions", to="2026-10-15T00:00:00Z") == {early["id"]}


def test_occurred_at_keeps_its_instant(client, world: World) -> None:
    account = create_account(client, world.rep)
    record = create_interaction(
        client, world.rep, account["id"], occurred_at="2026-11-22T12:15:00+02:00"
    )
    assert instant(record["occurred_at"]) == instant("2026-11-22T10:15:00Z"), record


# --- last_visit_at ---------------------------------------------------------------------------


def test_a_visit_sets_the_last_visit_of_the_account(client, world: World) -> None:
    account = create_account(client, world.rep)
    assert account["last_visit_at"] is None, account
    create_interaction(client, world.rep, account["id"], kind="visit",
                       occurred_at="2026-11-20T09:00:00+01:00")  # fmt: skip
    assert last_visit(client, world, account["id"]) == instant("2026-11-20T08:00:00Z")


def test_the_latest_visit_wins_and_calls_do_not_count(client, world: World) -> None:
    account = create_account(client, world.rep)
    create_interaction(client, world.rep, account["id"], kind="visit",
                       occurred_at="2026-11-20T09:00:00Z")  # fmt: skip
    create_interaction(client, world.rep, account["id"], kind="visit",
                       occurred_at="2026-11-10T09:00:00Z")  # fmt: skip
    create_interaction(client, world.rep, account["id"], kind="call",
                       occurred_at="2026-11-25T09:00:00Z")  # fmt: skip
    assert last_visit(client, world, account["id"]) == instant("2026-11-20T09:00:00Z")


def test_a_call_alone_sets_no_last_visit(client, world: World) -> None:
    account = create_account(client, world.rep)
    create_interaction(client, world.rep, account["id"], kind="call")
    assert last_visit(client, world, account["id"]) is None


def test_deleting_a_visit_recomputes_the_last_visit(client, world: World) -> None:
    account = create_account(client, world.rep)
    older = create_interaction(client, world.rep, account["id"], kind="visit",
                               occurred_at="2026-11-10T09:00:00Z")  # fmt: skip
    newer = create_interaction(client, world.rep, account["id"], kind="visit",
                               occurred_at="2026-11-20T09:00:00Z")  # fmt: skip
    response = client.delete(url("interactions", newer["id"]), headers=world.rep.headers)
    assert response.status_code == 204, response.json
    assert last_visit(client, world, account["id"]) == instant("2026-11-10T09:00:00Z")
    response = client.delete(url("interactions", older["id"]), headers=world.rep.headers)
    assert response.status_code == 204, response.json
    assert last_visit(client, world, account["id"]) is None


def test_changing_a_visit_recomputes_the_last_visit(client, world: World) -> None:
    account = create_account(client, world.rep)
    visit = create_interaction(client, world.rep, account["id"], kind="visit",
                               occurred_at="2026-11-20T09:00:00Z")  # fmt: skip
    response = client.patch(
        url("interactions", visit["id"]),
        json={"occurred_at": "2026-11-21T09:00:00Z"},
        headers=world.rep.headers,
    )
    assert response.status_code == 200, response.json
    assert last_visit(client, world, account["id"]) == instant("2026-11-21T09:00:00Z")
    response = client.patch(url("interactions", visit["id"]), json={"kind": "call"},
                            headers=world.rep.headers)  # fmt: skip
    assert response.status_code == 200, response.json
    assert last_visit(client, world, account["id"]) is None


def test_moving_a_visit_to_another_account_moves_the_last_visit(client, world: World) -> None:
    first = create_account(client, world.rep)
    second = create_account(client, world.rep)
    visit = create_interaction(client, world.rep, first["id"], kind="visit",
                               occurred_at="2026-11-20T09:00:00Z")  # fmt: skip
    response = client.patch(url("interactions", visit["id"]), json={"account_id": second["id"]},
                            headers=world.rep.headers)  # fmt: skip
    assert response.status_code == 200, response.json
    assert last_visit(client, world, first["id"]) is None
    assert last_visit(client, world, second["id"]) == instant("2026-11-20T09:00:00Z")


def test_a_visit_bumps_the_account_version(client, world: World) -> None:
    account = create_account(client, world.rep)
    create_interaction(client, world.rep, account["id"], kind="visit")
    after = fetch(client, world.admin, "accounts", account["id"])
    assert after["version"] > account["version"], after


# --- check-in verification -------------------------------------------------------------------


def visit_with(client, world: World, account_id: str, check_in) -> dict:
    body = {"account_id": account_id, "kind": "visit", "occurred_at": "2026-11-22T10:00:00Z",
            "check_in": check_in}  # fmt: skip
    return created(client.post(url("interactions"), json=body, headers=world.rep.headers))


def test_a_check_in_near_the_account_is_verified(client, world: World) -> None:
    account = create_account(client, world.rep, location=PIN)
    fix = {"lat": MILAN[0] + 0.0003, "lon": MILAN[1], "accuracy_m": 10,
           "at": "2026-11-22T10:00:00Z"}  # fmt: skip
    record = visit_with(client, world, account["id"], fix)
    assert record["verification"]["status"] == "verified", record
    assert 20 < record["verification"]["distance_m"] < 50, record
    assert record["check_in"]["lat"] == fix["lat"], record


def test_a_check_in_far_from_the_account_is_far(client, world: World) -> None:
    account = create_account(client, world.rep, location=PIN)
    record = visit_with(client, world, account["id"], {"lat": MILAN[0] + 0.05, "lon": MILAN[1]})
    assert record["verification"]["status"] == "far", record
    assert record["verification"]["distance_m"] > 5000, record


def test_a_poor_fix_widens_the_radius(client, world: World) -> None:
    account = create_account(client, world.rep, location=PIN)
    fix = {"lat": MILAN[0] + 0.003, "lon": MILAN[1]}  # about 330 m away
    assert visit_with(client, world, account["id"], fix)["verification"]["status"] == "far"
    fix = {**fix, "accuracy_m": 500}
    assert visit_with(client, world, account["id"], fix)["verification"]["status"] == "verified"


def test_a_visit_without_a_fix_is_unverified(client, world: World) -> None:
    account = create_account(client, world.rep, location=PIN)
    record = visit_with(client, world, account["id"], None)
    assert record["verification"]["status"] == "unverified", record


def test_a_check_in_at_an_account_not_on_the_map_is_unverified(client, world: World) -> None:
    account = create_account(client, world.rep)
    record = visit_with(client, world, account["id"], {"lat": MILAN[0], "lon": MILAN[1]})
    assert record["verification"]["status"] == "unverified", record


def test_a_new_check_in_is_verified_again(client, world: World) -> None:
    account = create_account(client, world.rep, location=PIN)
    record = visit_with(client, world, account["id"], None)
    response = client.patch(url("interactions", record["id"]),
                            json={"check_in": {"lat": MILAN[0] + 0.05, "lon": MILAN[1]}},
                            headers=world.rep.headers)  # fmt: skip
    assert response.status_code == 200, response.json
    assert response.json["verification"]["status"] == "far", response.json


def test_filter_by_verification(client, world: World) -> None:
    account = create_account(client, world.rep, location=PIN)
    near = visit_with(client, world, account["id"], {"lat": MILAN[0], "lon": MILAN[1]})
    far = visit_with(client, world, account["id"], {"lat": MILAN[0] + 0.05, "lon": MILAN[1]})
    blind = visit_with(client, world, account["id"], None)
    assert list_ids(client, world.admin, "interactions", verification="far") == {far["id"]}
    assert list_ids(client, world.admin, "interactions", verification="verified") == {near["id"]}
    assert list_ids(client, world.admin, "interactions", verification="unverified") == {blind["id"]}
    response = client.get(url("interactions"), query_string={"verification": "nearby"},
                          headers=world.admin.headers)  # fmt: skip
    assert_invalid(response, "verification")


# --- contact_id ------------------------------------------------------------------------------


def test_a_contact_of_the_same_account_is_accepted(client, world: World) -> None:
    account = create_account(client, world.rep)
    contact = create_contact(client, world.rep, account["id"])
    record = create_interaction(client, world.rep, account["id"], contact_id=contact["id"])
    assert record["contact_id"] == contact["id"], record


@pytest.mark.parametrize("which", ["other_account", "unknown", "deleted"])
def test_contact_id_must_name_a_live_contact_of_the_account(
    client, world: World, which: str
) -> None:
    account = create_account(client, world.rep)
    other = create_account(client, world.rep)
    if which == "other_account":
        contact_id = create_contact(client, world.rep, other["id"])["id"]
    elif which == "unknown":
        contact_id = new_id()
    else:
        contact_id = create_contact(client, world.rep, account["id"])["id"]
        assert (
            client.delete(url("contacts", contact_id), headers=world.rep.headers).status_code == 204
        )
    body = {"account_id": account["id"], "kind": "call", "occurred_at": "2026-11-22T10:00:00Z",
            "contact_id": contact_id}  # fmt: skip
    assert_invalid(client.post(url("interactions"), json=body, headers=world.rep.headers),
                   "contact_id")  # fmt: skip
    record = create_interaction(client, world.rep, account["id"])
    response = client.patch(url("interactions", record["id"]), json={"contact_id": contact_id},
                            headers=world.rep.headers)  # fmt: skip
    assert_invalid(response, "contact_id")
    assert fetch(client, world.rep, "interactions", record["id"]) == record


def test_moving_to_another_account_checks_the_contact(client, world: World) -> None:
    account = create_account(client, world.rep)
    other = create_account(client, world.rep)
    contact = create_contact(client, world.rep, account["id"])
    record = create_interaction(client, world.rep, account["id"], contact_id=contact["id"])
    response = client.patch(url("interactions", record["id"]), json={"account_id": other["id"]},
                            headers=world.rep.headers)  # fmt: skip
    assert_invalid(response, "contact_id")
