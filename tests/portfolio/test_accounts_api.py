"""Accounts: the rules of the contract beyond plain CRUD (ownership, geocoding state, nested
values, cadence)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.conftest import World, account_body
from tests.portfolio.helpers import (
    MILAN,
    assert_invalid,
    create_account,
    created,
    fetch,
    url,
)

ADDRESS = {
    "street": "Via Torino 5", "postal_code": "20123", "city": "Milano", "region": "Lombardia",
    "country": "IT",
}  # fmt: skip
PIN = {"lat": MILAN[0], "lon": MILAN[1], "precision": "rooftop", "source": "manual"}


def patch(client, person, account_id: str, body: dict[str, Any]) -> dict[str, Any]:
    response = client.patch(url("accounts", account_id), json=body, headers=person.headers)
    assert response.status_code == 200, (response.status_code, response.json)
    return dict(response.json)


def test_every_field_round_trips(client, world: World) -> None:
    body = account_body(
        kind="person", status="lead", name="Maria Rossi", title="Dott.ssa", first_name="Maria",
        last_name="Rossi", email="maria@example.com", phone="+39 02 1234 5678",
        mobile="+39 333 123 4567", website="https://example.com", industry="Pharmacy",
        vat_number="IT01234567890", legal_form="Ditta individuale", annual_revenue=125000.5,
        employees=4, address=ADDRESS, location=PIN, tags=["vip", "wine"], color="#A1B2C3",
        contact_preference="visit", visit_every_days=30,
        opening_hours={"mon": [["08:30", "12:30"], ["14:00", "18:00"]],
                       "sat": [["09:00", "12:00"]]},
        consent={"marketing_email": True, "updated_at": "2026-11-01T08:00:00Z"},
        notes="Prefers mornings.", custom={"erp_code": "C-001", "score": 7, "nested": {"a": [1]}},
    )  # fmt: skip
    record = created(client.post(url("accounts"), json=body, headers=world.admin.headers))
    for name in (
        "kind", "status", "name", "title", "first_name", "last_name", "email", "phone", "mobile",
        "website", "industry", "vat_number", "legal_form", "annual_revenue", "employees",
        "address", "tags", "color", "contact_preference", "visit_every_days", "opening_hours",
        "notes", "custom",
    ):  # fmt: skip
        assert record[name] == body[name], (name, record)
    assert record["location"] == PIN, record
    assert record["consent"]["marketing_email"] is True, record
    assert record["consent"]["updated_at"].startswith("2026-11-01T08:00:00"), record
    assert fetch(client, world.admin, "accounts", record["id"]) == record


def test_a_lowercase_country_is_accepted_and_upper_cased(client, world: World) -> None:
    record = create_account(client, world.admin, address={"city": "Roma", "country": "it"})
    assert record["address"]["country"] == "IT", record
    patched = patch(client, world.admin, record["id"], {"address": {"country": "fr"}})
    assert patched["address"]["country"] == "FR", patched


def test_a_colour_is_accepted_in_either_case(client, world: World) -> None:
    record = create_account(client, world.admin, color="#a1b2c3")
    assert record["color"].upper() == "#A1B2C3", record


def test_consent_without_a_time_gets_one(client, world: World) -> None:
    record = create_account(client, world.admin, consent={"marketing_email": False})
    assert record["consent"]["marketing_email"] is False, record
    assert record["consent"]["updated_at"], record


def test_custom_just_under_8_kb_is_accepted(client, world: World) -> None:
    custom = {"blob": "x" * (8 * 1024 - 20)}
    record = create_account(client, world.admin, custom=custom)
    assert record["custom"] == custom, {k: v for k, v in record.items() if k != "custom"}


def test_adjacent_opening_ranges_are_accepted(client, world: World) -> None:
    hours = {"tue": [["08:00", "12:00"], ["12:00", "13:00"]], "sun": []}
    record = create_account(client, world.admin, opening_hours=hours)
    assert record["opening_hours"] == hours, record


# --- ownership -------------------------------------------------------------------------------


def test_an_account_a_rep_creates_is_owned_by_the_rep(client, world: World) -> None:
    record = create_account(client, world.rep)
    assert record["owner_id"] == str(world.rep.id), record
    assert fetch(client, world.rep, "accounts", record["id"])["owner_id"] == str(world.rep.id)


def test_a_rep_sending_a_null_owner_still_owns_the_account(client, world: World) -> None:
    """Phones send every field, null when empty: null names no other owner."""
    record = create_account(client, world.rep, owner_id=None)
    assert record["owner_id"] == str(world.rep.id), record
    assert fetch(client, world.rep, "accounts", record["id"])["id"] == record["id"]


def test_a_rep_may_name_another_owner(client, world: World) -> None:
    record = create_account(client, world.rep, owner_id=str(world.rep2.id))
    assert record["owner_id"] == str(world.rep2.id), record
    assert fetch(client, world.rep2, "accounts", record["id"])["id"] == record["id"]


def test_an_admin_may_name_an_owner(client, world: World) -> None:
    record = create_account(client, world.admin, owner_id=str(world.loner.id))
    assert record["owner_id"] == str(world.loner.id), record


@pytest.mark.parametrize("who", ["unknown", "other_org"])
def test_an_owner_outside_the_organisation_is_invalid(client, world: World, who: str) -> None:
    owner = (
        "6f1c1f39-2a9e-4c7e-9f49-5d2b8a5e0c11" if who == "unknown" else str(world.other_admin.id)
    )
    response = client.post(
        url("accounts"), json=account_body(owner_id=owner), headers=world.admin.headers
    )
    assert_invalid(response, "owner_id")
    record = create_account(client, world.admin)
    response = client.patch(
        url("accounts", record["id"]), json={"owner_id": owner}, headers=world.admin.headers
    )
    assert_invalid(response, "owner_id")
    assert fetch(client, world.admin, "accounts", record["id"]) == record


def test_changing_the_owner_moves_the_account_between_reps(client, world: World) -> None:
    record = create_account(client, world.rep)
    patch(client, world.manager, record["id"], {"owner_id": str(world.rep2.id)})
    assert client.get(url("accounts", record["id"]), headers=world.rep.headers).status_code == 404
    assert fetch(client, world.rep2, "accounts", record["id"])["version"] == 2


# --- geocoding state -------------------------------------------------------------------------


def test_a_location_given_by_a_person_makes_the_status_manual(client, world: World) -> None:
    record = create_account(client, world.rep, address=ADDRESS, location=PIN)
    assert record["geocode_status"] == "manual", record
    assert record["location"] == PIN, record


@pytest.mark.parametrize("source", ["gps", "manual"])
def test_a_pin_keeps_its_source(client, world: World, source: str) -> None:
    record = create_account(
        client, world.rep, location={"lat": MILAN[0], "lon": MILAN[1], "source": source}
    )
    assert record["location"]["source"] == source, record
    assert record["geocode_status"] == "manual", record


def test_an_address_without_location_is_pending(client, world: World) -> None:
    record = create_account(client, world.rep, address=ADDRESS)
    assert record["geocode_status"] == "pending", record
    assert record["location"] is None, record


def test_no_address_and_no_location_is_not_pending(client, world: World) -> None:
    record = create_account(client, world.rep)
    assert record["geocode_status"] in (None, "failed"), record


def test_a_later_pin_makes_a_pending_account_manual(client, world: World) -> None:
    record = create_account(client, world.rep, address=ADDRESS)
    patched = patch(client, world.rep, record["id"], {"location": PIN})
    assert patched["geocode_status"] == "manual", patched
    assert patched["location"] == PIN, patched


def test_a_later_address_change_makes_it_pending_again(client, world: World) -> None:
    record = create_account(client, world.rep, address=ADDRESS, location=PIN)
    patched = patch(
        client, world.rep, record["id"], {"address": {**ADDRESS, "street": "Via Roma 1"}}
    )
    assert patched["geocode_status"] == "pending", patched
    assert patched["address"]["street"] == "Via Roma 1", patched
    assert fetch(client, world.rep, "accounts", record["id"])["geocode_status"] == "pending"


def test_the_same_address_again_changes_nothing(client, world: World) -> None:
    record = create_account(client, world.rep, address=ADDRESS, location=PIN)
    patched = patch(client, world.rep, record["id"], {"address": ADDRESS})
    assert patched["geocode_status"] == "manual", patched
    assert patched["version"] == record["version"], patched


def test_changing_something_else_keeps_the_manual_status(client, world: World) -> None:
    record = create_account(client, world.rep, address=ADDRESS, location=PIN)
    patched = patch(client, world.rep, record["id"], {"notes": "Ring twice"})
    assert patched["geocode_status"] == "manual", patched
    assert patched["location"] == PIN, patched


# --- cadence ---------------------------------------------------------------------------------


def test_a_cadence_never_visited_is_due_now(client, world: World) -> None:
    record = create_account(client, world.rep, visit_every_days=30)
    assert record["visit_due_at"] is not None, record
    due, created_at = (datetime.fromisoformat(record[k]) for k in ("visit_due_at", "created_at"))
    assert due <= created_at + timedelta(seconds=1), record


def test_removing_the_cadence_clears_the_due_date(client, world: World) -> None:
    record = create_account(client, world.rep, visit_every_days=30)
    patched = patch(client, world.rep, record["id"], {"visit_every_days": None})
    assert patched["visit_every_days"] is None, patched
    assert patched["visit_due_at"] is None, patched


# --- nested values on patch ------------------------------------------------------------------


def test_patching_tags_replaces_the_list(client, world: World) -> None:
    record = create_account(client, world.rep, tags=["a", "b"])
    assert patch(client, world.rep, record["id"], {"tags": ["c"]})["tags"] == ["c"]
    assert patch(client, world.rep, record["id"], {"tags": None})["tags"] is None


def test_removing_the_location(client, world: World) -> None:
    record = create_account(client, world.rep, address=ADDRESS, location=PIN)
    patched = patch(client, world.rep, record["id"], {"location": None})
    assert patched["location"] is None, patched
    assert patched["geocode_status"] == "pending", patched


def test_clearing_the_address(client, world: World) -> None:
    record = create_account(client, world.rep, address=ADDRESS)
    patched = patch(client, world.rep, record["id"], {"address": None})
    assert patched["address"] is None, patched
    assert patched["geocode_status"] != "pending", patched
