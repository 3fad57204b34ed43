"""Contacts: the account they belong to, fields, moves between accounts."""

from __future__ import annotations

from tests.conftest import World
from tests.portfolio.helpers import (
    assert_invalid,
    create_account,
    create_contact,
    created,
    fetch,
    list_ids,
    new_id,
    url,
)


def test_every_field_round_trips(client, world: World) -> None:
    account = create_account(client, world.rep)
    body = {
        "id": new_id(), "account_id": account["id"], "first_name": "Anna", "last_name": "Bianchi",
        "role": "Buyer", "email": "anna@example.com", "phone": "+39 02 1234", "is_primary": True,
        "notes": "Call after 10.",
    }  # fmt: skip
    record = created(client.post(url("contacts"), json=body, headers=world.rep.headers))
    for name, value in body.items():
        assert record[name] == value, (name, record)
    assert fetch(client, world.rep, "contacts", record["id"]) == record


def test_an_unknown_account_is_invalid(client, world: World) -> None:
    response = client.post(url("contacts"), json={"account_id": new_id(), "last_name": "B"},
                           headers=world.admin.headers)  # fmt: skip
    assert_invalid(response, "account_id")
    assert list_ids(client, world.admin, "contacts") == set()


def test_a_deleted_account_takes_no_new_contacts(client, world: World) -> None:
    account = create_account(client, world.admin)
    assert (
        client.delete(url("accounts", account["id"]), headers=world.admin.headers).status_code
        == 204
    )
    response = client.post(url("contacts"), json={"account_id": account["id"], "last_name": "B"},
                           headers=world.admin.headers)  # fmt: skip
    assert_invalid(response, "account_id")


def test_a_contact_can_move_to_another_account(client, world: World) -> None:
    first = create_account(client, world.rep)
    second = create_account(client, world.rep)
    contact = create_contact(client, world.rep, first["id"])
    response = client.patch(url("contacts", contact["id"]), json={"account_id": second["id"]},
                            headers=world.rep.headers)  # fmt: skip
    assert response.status_code == 200, response.json
    assert response.json["account_id"] == second["id"], response.json
    assert list_ids(client, world.rep, "contacts", account_id=second["id"]) == {contact["id"]}
    assert list_ids(client, world.rep, "contacts", account_id=first["id"]) == set()


def test_a_contact_cannot_move_to_an_account_out_of_sight(client, world: World) -> None:
    mine = create_account(client, world.rep)
    theirs = create_account(client, world.rep2)
    contact = create_contact(client, world.rep, mine["id"])
    response = client.patch(url("contacts", contact["id"]), json={"account_id": theirs["id"]},
                            headers=world.rep.headers)  # fmt: skip
    assert_invalid(response, "account_id")
    assert fetch(client, world.rep, "contacts", contact["id"]) == contact


def test_a_bad_email_is_invalid(client, world: World) -> None:
    account = create_account(client, world.rep)
    response = client.post(url("contacts"),
                           json={"account_id": account["id"], "last_name": "B", "email": "nope"},
                           headers=world.rep.headers)  # fmt: skip
    assert_invalid(response, "email")


def test_several_contacts_per_account(client, world: World) -> None:
    account = create_account(client, world.rep)
    ids = {create_contact(client, world.rep, account["id"], last_name=n)["id"] for n in "ABC"}
    assert list_ids(client, world.rep, "contacts", account_id=account["id"]) == ids
