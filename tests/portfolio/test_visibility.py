"""Who sees what: tenancy and the role rules, for every endpoint of the portfolio.

The scene: a territory around Milan assigned to ``rep``; accounts owned by rep, rep2 (both
report to manager), loner (no manager) and manager; one account placed in the territory with
no owner; one with neither owner nor territory. Each account has a contact, an interaction and
a task; rep and loner each also have a task with no account.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.conftest import World, login
from tests.portfolio.helpers import (
    ENTITIES,
    MILAN,
    ROME,
    assert_error,
    assert_invalid,
    create_account,
    create_contact,
    create_interaction,
    create_task,
    create_territory,
    fetch,
    get,
    list_ids,
    url,
)

ACCOUNT_LABELS = ("rep", "rep2", "loner", "manager", "territory", "unowned")
VISIBLE_ACCOUNTS = {
    "admin": set(ACCOUNT_LABELS),
    "manager": {"rep", "rep2", "manager", "territory"},
    "rep": {"rep", "territory"},
    "rep2": {"rep2"},
    "loner": {"loner"},
    "other_admin": set(),
}
# Tasks with no account: visible to their assignee/creator and to whoever holds their scope.
VISIBLE_FREE_TASKS = {
    "admin": {"rep", "loner"},
    "manager": {"rep"},
    "rep": {"rep"},
    "rep2": set(),
    "loner": {"loner"},
    "other_admin": set(),
}
ROLES = tuple(VISIBLE_ACCOUNTS)
PATCHES = {
    "accounts": {"notes": "changed"},
    "contacts": {"notes": "changed"},
    "interactions": {"report": "changed"},
    "tasks": {"notes": "changed"},
}


@dataclass
class Scene:
    territory: dict
    # entity -> label -> id; for tasks, "free:<label>" are the tasks with no account
    ids: dict[str, dict[str, str]] = field(default_factory=dict)

    def visible(self, entity: str, role: str) -> set[str]:
        expected = {self.ids[entity][label] for label in VISIBLE_ACCOUNTS[role]}
        if entity == "tasks":
            expected |= {self.ids["tasks"][f"free:{label}"] for label in VISIBLE_FREE_TASKS[role]}
        return expected

    def hidden(self, entity: str, role: str) -> set[str]:
        return set(self.ids[entity].values()) - self.visible(entity, role)


@pytest.fixture
def scene(client, world: World) -> Scene:
    territory = create_territory(client, world.manager, [world.rep.id])
    owners = {"rep": world.rep, "rep2": world.rep2, "loner": world.loner, "manager": world.manager}
    accounts = {label: create_account(client, person, name=f"Account of {label}")
                for label, person in owners.items()}  # fmt: skip
    accounts["territory"] = create_account(
        client, world.admin, name="In the territory", location={"lat": MILAN[0], "lon": MILAN[1]}
    )
    accounts["unowned"] = create_account(client, world.admin, name="Nobody's")
    assert accounts["territory"]["territory_id"] == territory["id"], accounts["territory"]
    assert accounts["territory"]["owner_id"] is None, accounts["territory"]
    assert accounts["unowned"]["owner_id"] is None, accounts["unowned"]
    scene = Scene(territory=territory)
    scene.ids["accounts"] = {label: a["id"] for label, a in accounts.items()}
    scene.ids["contacts"] = {label: create_contact(client, world.admin, a["id"])["id"]
                             for label, a in accounts.items()}  # fmt: skip
    scene.ids["interactions"] = {label: create_interaction(client, world.admin, a["id"])["id"]
                                 for label, a in accounts.items()}  # fmt: skip
    scene.ids["tasks"] = {label: create_task(client, world.admin, account_id=a["id"])["id"]
                          for label, a in accounts.items()}  # fmt: skip
    scene.ids["tasks"]["free:rep"] = create_task(client, world.rep)["id"]
    scene.ids["tasks"]["free:loner"] = create_task(client, world.loner)["id"]
    return scene


# --- reading ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("entity", ENTITIES)
def test_lists_hold_exactly_what_the_role_sees(
    client, world: World, scene: Scene, role: str, entity: str
) -> None:
    person = world.people[role]
    got = list_ids(client, person, entity)
    expected = scene.visible(entity, role)
    names = {v: k for k, v in scene.ids[entity].items()}
    assert got == expected, (
        role,
        entity,
        sorted(names.get(i, i) for i in got),
        sorted(names[i] for i in expected),
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("entity", ENTITIES)
def test_get_answers_404_for_what_the_role_cannot_see(
    client, world: World, scene: Scene, role: str, entity: str
) -> None:
    person = world.people[role]
    for record_id in scene.visible(entity, role):
        response = get(client, person, entity, record_id)
        assert response.status_code == 200, (role, entity, response.json)
    for record_id in scene.hidden(entity, role):
        assert_error(get(client, person, entity, record_id), 404, "not_found")


@pytest.mark.parametrize("entity", ENTITIES)
def test_lists_filtered_by_a_hidden_account_are_empty(
    client, world: World, scene: Scene, entity: str
) -> None:
    hidden_account = scene.ids["accounts"]["rep2"]
    params = (
        {"owner_id": str(world.rep2.id)} if entity == "accounts" else {"account_id": hidden_account}
    )
    assert list_ids(client, world.rep, entity, **params) == set()
    assert list_ids(client, world.other_admin, entity, **params) == set()


# --- writing ---------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("entity", ENTITIES)
def test_patch_and_delete_of_hidden_records_are_404_and_change_nothing(
    client, world: World, scene: Scene, role: str, entity: str
) -> None:
    person = world.people[role]
    for record_id in scene.hidden(entity, role):
        before = fetch(client, world.admin, entity, record_id)
        response = client.patch(
            url(entity, record_id), json=PATCHES[entity], headers=person.headers
        )
        assert_error(response, 404, "not_found")
        assert_error(
            client.delete(url(entity, record_id), headers=person.headers), 404, "not_found"
        )
        assert fetch(client, world.admin, entity, record_id) == before, (role, entity)


@pytest.mark.parametrize("role", ["manager", "rep", "rep2", "loner"])
@pytest.mark.parametrize("entity", ENTITIES)
def test_each_role_edits_and_deletes_what_it_sees(
    client, world: World, scene: Scene, role: str, entity: str
) -> None:
    person = world.people[role]
    for record_id in scene.visible(entity, role):
        response = client.patch(
            url(entity, record_id), json=PATCHES[entity], headers=person.headers
        )
        assert response.status_code == 200, (role, entity, response.json)
    for record_id in scene.visible(entity, role):
        response = client.delete(url(entity, record_id), headers=person.headers)
        assert response.status_code == 204, (role, entity, response.json)


@pytest.mark.parametrize(
    ("role", "label"),
    [
        ("rep", "rep2"),
        ("rep", "unowned"),
        ("rep2", "territory"),
        ("loner", "rep"),
        ("manager", "loner"),
        ("other_admin", "rep"),
        ("other_admin", "unowned"),
    ],
)
@pytest.mark.parametrize("entity", ["contacts", "interactions", "tasks"])
def test_children_cannot_be_attached_to_an_account_out_of_sight(
    client, world: World, scene: Scene, role: str, label: str, entity: str
) -> None:
    person = world.people[role]
    account_id = scene.ids["accounts"][label]
    bodies = {
        "contacts": {"account_id": account_id, "last_name": "Intruder"},
        "interactions": {"account_id": account_id, "kind": "call",
                         "occurred_at": "2026-11-22T10:00:00Z"},
        "tasks": {"account_id": account_id, "title": "Intrude"},
    }  # fmt: skip
    before = list_ids(client, world.admin, entity)
    response = client.post(url(entity), json=bodies[entity], headers=person.headers)
    assert_invalid(response, "account_id")
    assert list_ids(client, world.admin, entity) == before


@pytest.mark.parametrize("entity", ["contacts", "interactions", "tasks"])
def test_children_cannot_be_moved_to_an_account_out_of_sight(
    client, world: World, scene: Scene, entity: str
) -> None:
    record_id = scene.ids[entity]["rep"]
    before = fetch(client, world.rep, entity, record_id)
    response = client.patch(
        url(entity, record_id),
        json={"account_id": scene.ids["accounts"]["rep2"]},
        headers=world.rep.headers,
    )
    assert_invalid(response, "account_id")
    assert fetch(client, world.rep, entity, record_id) == before


# --- territories and teams -------------------------------------------------------------------


def test_reassigning_the_territory_moves_its_accounts(client, world: World, scene: Scene) -> None:
    response = client.patch(
        f"/api/v1/territories/{scene.territory['id']}",
        json={"rep_ids": [str(world.rep2.id)]},
        headers=world.manager.headers,
    )
    assert response.status_code == 200, response.json
    account_id = scene.ids["accounts"]["territory"]
    assert get(client, world.rep, "accounts", account_id).status_code == 404
    assert fetch(client, world.rep2, "accounts", account_id)["id"] == account_id
    assert scene.ids["contacts"]["territory"] in list_ids(client, world.rep2, "contacts")
    assert scene.ids["contacts"]["territory"] not in list_ids(client, world.rep, "contacts")
    assert fetch(client, world.manager, "accounts", account_id)["id"] == account_id


def test_moving_an_account_out_of_the_territory_hides_it(
    client, world: World, scene: Scene
) -> None:
    account_id = scene.ids["accounts"]["territory"]
    response = client.patch(url("accounts", account_id),
                            json={"location": {"lat": ROME[0], "lon": ROME[1]}},
                            headers=world.admin.headers)  # fmt: skip
    assert response.status_code == 200, response.json
    assert response.json["territory_id"] is None, response.json
    assert get(client, world.rep, "accounts", account_id).status_code == 404
    assert scene.ids["interactions"]["territory"] not in list_ids(client, world.rep, "interactions")


def test_an_account_created_in_a_rep_territory_is_seen_at_once(
    client, world: World, scene: Scene
) -> None:
    account = create_account(client, world.rep2, location={"lat": MILAN[0], "lon": MILAN[1]})
    assert account["territory_id"] == scene.territory["id"], account
    assert fetch(client, world.rep, "accounts", account["id"])["id"] == account["id"]
    assert fetch(client, world.rep2, "accounts", account["id"])["id"] == account["id"]


def test_a_territory_created_later_places_existing_accounts(client, world: World) -> None:
    account = create_account(client, world.admin, location={"lat": MILAN[0], "lon": MILAN[1]})
    assert get(client, world.loner, "accounts", account["id"]).status_code == 404
    create_territory(client, world.admin, [world.loner.id])
    assert fetch(client, world.loner, "accounts", account["id"])["territory_id"] is not None


def test_a_manager_without_a_team_sees_the_organisation(client, world: World, scene: Scene) -> None:
    response = client.post(
        "/api/v1/users",
        json={"email": "solo@acme.test", "name": "Solo", "role": "manager",
              "password": "correct horse battery"},
        headers=world.admin.headers,
    )  # fmt: skip
    assert response.status_code == 201, response.json
    token = login(client, "solo@acme.test")["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    for entity in ENTITIES:
        response = client.get(url(entity), query_string={"limit": 1000}, headers=headers)
        assert response.status_code == 200, response.json
        got = {item["id"] for item in response.json["items"]}
        assert got == scene.visible(entity, "admin"), entity


def test_a_rep_in_the_team_of_a_sub_manager_is_in_the_top_manager_scope(
    client, world: World
) -> None:
    response = client.post(
        "/api/v1/users",
        json={"email": "sub@acme.test", "name": "Sub", "role": "manager",
              "password": "correct horse battery", "manager_id": str(world.manager.id)},
        headers=world.admin.headers,
    )  # fmt: skip
    assert response.status_code == 201, response.json
    sub_id = response.json["id"]
    response = client.post(
        "/api/v1/users",
        json={"email": "deep@acme.test", "name": "Deep", "role": "rep",
              "password": "correct horse battery", "manager_id": sub_id},
        headers=world.admin.headers,
    )  # fmt: skip
    assert response.status_code == 201, response.json
    account = create_account(client, world.admin, owner_id=response.json["id"])
    assert fetch(client, world.manager, "accounts", account["id"])["id"] == account["id"]
    assert get(client, world.rep, "accounts", account["id"]).status_code == 404


# --- tenancy ---------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES)
def test_another_organisation_sees_nothing_of_acme(
    client, world: World, scene: Scene, entity: str
) -> None:
    assert list_ids(client, world.other_admin, entity) == set()
    for record_id in scene.ids[entity].values():
        assert_error(get(client, world.other_admin, entity, record_id), 404, "not_found")


@pytest.mark.parametrize("entity", ENTITIES)
def test_acme_sees_nothing_of_another_organisation(client, world: World, entity: str) -> None:
    account = create_account(client, world.other_admin)
    theirs = {
        "accounts": lambda: account,
        "contacts": lambda: create_contact(client, world.other_admin, account["id"]),
        "interactions": lambda: create_interaction(client, world.other_admin, account["id"]),
        "tasks": lambda: create_task(client, world.other_admin, account_id=account["id"]),
    }[entity]()
    for role in ("admin", "manager", "rep", "loner"):
        person = world.people[role]
        assert theirs["id"] not in list_ids(client, person, entity), role
        assert_error(get(client, person, entity, theirs["id"]), 404, "not_found")
        response = client.patch(
            url(entity, theirs["id"]), json=PATCHES[entity], headers=person.headers
        )
        assert_error(response, 404, "not_found")
        assert_error(
            client.delete(url(entity, theirs["id"]), headers=person.headers), 404, "not_found"
        )
    assert fetch(client, world.other_admin, entity, theirs["id"]) == theirs


def test_filtering_on_another_organisation_leaks_nothing(
    client, world: World, scene: Scene
) -> None:
    response = client.get(url("accounts"), query_string={"owner_id": str(world.rep.id)},
                          headers=world.other_admin.headers)  # fmt: skip
    assert response.status_code == 200, response.json
    assert response.json["items"] == [], response.json
    response = client.get(url("accounts"), query_string={"territory_id": scene.territory["id"]},
                          headers=world.other_admin.headers)  # fmt: skip
    assert response.status_code == 200, response.json
    assert response.json["items"] == [], response.json
