"""Collection endpoints: keyset paging, the account filters, gzip."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import World
from tests.portfolio.helpers import (
    ENTITIES,
    MILAN,
    ROME,
    assert_invalid,
    create_account,
    create_contact,
    create_interaction,
    create_task,
    create_territory,
    list_ids,
    list_page,
    url,
)


def make_records(client, world: World, entity: str, count: int) -> set[str]:
    """``count`` records of ``entity`` created by the admin; their ids."""
    if entity == "accounts":
        return {create_account(client, world.admin, name=f"Shop {i}")["id"] for i in range(count)}
    account = create_account(client, world.admin)
    makers = {
        "contacts": lambda i: create_contact(client, world.admin, account["id"], last_name=f"N{i}"),
        "interactions": lambda i: create_interaction(client, world.admin, account["id"]),
        "tasks": lambda i: create_task(client, world.admin, title=f"T{i}"),
    }
    return {makers[entity](i)["id"] for i in range(count)}


# --- paging ----------------------------------------------------------------------------------


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("limit", [1, 3, 7, 8])
def test_paging_walks_every_record_exactly_once(
    client, world: World, entity: str, limit: int
) -> None:
    expected = make_records(client, world, entity, 7)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        page = list_page(client, world.admin, entity, **params)
        assert len(page["items"]) <= limit, page
        seen.extend(item["id"] for item in page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(page["items"]) == limit, page
        assert pages < 20, "paging does not end"
    assert len(seen) == len(set(seen)), seen
    assert set(seen) == expected, (seen, expected)
    assert pages == max(1, -(-7 // limit)), (pages, limit)


def test_a_cursor_is_safe_to_reuse(client, world: World) -> None:
    make_records(client, world, "accounts", 5)
    first = list_page(client, world.admin, "accounts", limit=2)
    again = [list_page(client, world.admin, "accounts", limit=2, cursor=first["next_cursor"])
             for _ in range(2)]  # fmt: skip
    assert again[0] == again[1], again


def test_records_created_while_paging_are_not_skipped_twice(client, world: World) -> None:
    make_records(client, world, "accounts", 4)
    first = list_page(client, world.admin, "accounts", limit=2)
    create_account(client, world.admin, name="Late")
    rest = list_ids(client, world.admin, "accounts", limit=2, cursor=first["next_cursor"])
    ids = [item["id"] for item in first["items"]]
    assert not set(ids) & rest, (ids, rest)


def test_the_default_page_is_100(client, world: World) -> None:
    make_records(client, world, "accounts", 101)
    page = list_page(client, world.admin, "accounts")
    assert len(page["items"]) == 100, len(page["items"])
    assert page["next_cursor"], page["next_cursor"]
    rest = list_page(client, world.admin, "accounts", cursor=page["next_cursor"])
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None, rest


@pytest.mark.parametrize("entity", ENTITIES)
def test_limit_1000_is_allowed(client, world: World, entity: str) -> None:
    assert list_page(client, world.admin, entity, limit=1000)["items"] == []


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize("limit", ["1001", "0", "-1", "abc"])
def test_a_bad_limit_is_invalid(client, world: World, entity: str, limit: str) -> None:
    response = client.get(url(entity), query_string={"limit": limit}, headers=world.admin.headers)
    assert_invalid(response, "limit")


@pytest.mark.parametrize("entity", ENTITIES)
@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        "eyJhZnRlciI6WzFdfQ",  # {"after":[1]}
        "eyJhZnRlciI6Im5vIn0",  # {"after":"no"}
        "WzFd",  # [1]
        "e30",  # {}
        "%%%%",
        "bm90IGpzb24",  # "not json"
    ],
)
def test_a_damaged_cursor_is_invalid(client, world: World, entity: str, cursor: str) -> None:
    make_records(client, world, entity, 2)
    response = client.get(url(entity), query_string={"cursor": cursor}, headers=world.admin.headers)
    assert_invalid(response, "cursor")


# --- account filters -------------------------------------------------------------------------


def ids_of(client, world: World, **params) -> set[str]:
    return list_ids(client, world.admin, "accounts", **params)


def test_filter_by_status(client, world: World) -> None:
    lead = create_account(client, world.admin, status="lead")["id"]
    customer = create_account(client, world.admin, status="customer")["id"]
    assert ids_of(client, world, status="lead") == {lead}
    assert ids_of(client, world, status="customer") == {customer}
    assert ids_of(client, world, status="inactive") == set()
    assert_invalid(
        client.get(url("accounts"), query_string={"status": "vip"}, headers=world.admin.headers),
        "status",
    )


def test_filter_by_tag(client, world: World) -> None:
    vip = create_account(client, world.admin, tags=["vip", "wine"])["id"]
    wine = create_account(client, world.admin, tags=["wine"])["id"]
    create_account(client, world.admin, tags=[])
    create_account(client, world.admin)
    assert ids_of(client, world, tag="vip") == {vip}
    assert ids_of(client, world, tag="wine") == {vip, wine}
    assert ids_of(client, world, tag="vi") == set(), "a tag matches whole, not as a substring"
    assert ids_of(client, world, tag='"vip"') == set()


def test_filter_by_industry(client, world: World) -> None:
    food = create_account(client, world.admin, industry="Food")["id"]
    create_account(client, world.admin, industry="Pharmacy")
    create_account(client, world.admin)
    assert ids_of(client, world, industry="Food") == {food}


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("rossi", {"by_name"}),
        ("ROSSI", {"by_name"}),
        ("bologna", {"by_city"}),
        ("verdi@example", {"by_email"}),
        ("example.com", {"by_email"}),
        ("zzz", set()),
        ("%", set()),
        ("_", set()),
    ],
)
def test_filter_by_q_searches_name_city_and_email(
    client, world: World, q: str, expected: set[str]
) -> None:
    made = {
        "by_name": create_account(client, world.admin, name="Bottega Rossi")["id"],
        "by_city": create_account(client, world.admin, name="Bar Sport",
                                  address={"city": "Bologna", "country": "IT"})["id"],
        "by_email": create_account(client, world.admin, name="Caffe Nero",
                                   email="verdi@example.com")["id"],
    }  # fmt: skip
    assert ids_of(client, world, q=q) == {made[name] for name in expected}, q


def test_filter_by_owner(client, world: World) -> None:
    mine = create_account(client, world.rep)["id"]
    theirs = create_account(client, world.rep2)["id"]
    assert ids_of(client, world, owner_id=str(world.rep.id)) == {mine}
    assert ids_of(client, world, owner_id=str(world.rep2.id)) == {theirs}
    assert_invalid(
        client.get(url("accounts"), query_string={"owner_id": "x"}, headers=world.admin.headers),
        "owner_id",
    )


def test_filter_by_territory(client, world: World) -> None:
    territory = create_territory(client, world.manager, [world.rep.id])
    inside = create_account(client, world.admin, location={"lat": MILAN[0], "lon": MILAN[1]})
    outside = create_account(client, world.admin, location={"lat": ROME[0], "lon": ROME[1]})
    assert inside["territory_id"] == territory["id"], inside
    assert outside["territory_id"] is None, outside
    assert ids_of(client, world, territory_id=territory["id"]) == {inside["id"]}


def test_filter_near(client, world: World) -> None:
    duomo = create_account(client, world.admin, location={"lat": MILAN[0], "lon": MILAN[1]})
    # About 3.3 km north of the Duomo.
    north = create_account(client, world.admin, location={"lat": MILAN[0] + 0.03, "lon": MILAN[1]})
    rome = create_account(client, world.admin, location={"lat": ROME[0], "lon": ROME[1]})
    create_account(client, world.admin)  # not on the map
    near = f"{MILAN[0]},{MILAN[1]}"
    assert ids_of(client, world, near=near, radius_km=1) == {duomo["id"]}
    assert ids_of(client, world, near=near, radius_km=5) == {duomo["id"], north["id"]}
    assert ids_of(client, world, near=near) == {duomo["id"], north["id"]}, "default radius 10 km"
    assert ids_of(client, world, near=near, radius_km=600) == {duomo["id"], north["id"], rome["id"]}


@pytest.mark.parametrize("near", ["abc", "45.4", "91,9", "45,181", "45,9,1", ""])
def test_a_bad_near_is_invalid(client, world: World, near: str) -> None:
    response = client.get(url("accounts"), query_string={"near": near}, headers=world.admin.headers)
    if near == "":
        assert response.status_code in (200, 422), response.json
    else:
        assert_invalid(response, "near")


@pytest.mark.parametrize("radius", ["0", "-5", "abc", "1e9"])
def test_a_bad_radius_is_invalid(client, world: World, radius: str) -> None:
    response = client.get(
        url("accounts"), query_string={"near": "45,9", "radius_km": radius},
        headers=world.admin.headers,
    )  # fmt: skip
    assert_invalid(response, "radius_km")


def test_due_lists_accounts_whose_cadence_is_overdue(client, world: World) -> None:
    never_visited = create_account(client, world.admin, visit_every_days=30)["id"]
    no_cadence = create_account(client, world.admin)["id"]
    recent = create_account(client, world.admin, visit_every_days=30)["id"]
    old = create_account(client, world.admin, visit_every_days=30)["id"]
    now = datetime.now(UTC)
    for account_id, days_ago in ((recent, 2), (old, 45)):
        create_interaction(
            client, world.admin, account_id, kind="visit",
            occurred_at=(now - timedelta(days=days_ago)).isoformat(),
        )  # fmt: skip
    due = ids_of(client, world, due="true")
    assert due == {never_visited, old}, (due, {"never": never_visited, "old": old})
    assert no_cadence in ids_of(client, world, due="false")


def test_filters_combine(client, world: World) -> None:
    match = create_account(client, world.admin, status="lead", industry="Food", tags=["vip"])["id"]
    create_account(client, world.admin, status="customer", industry="Food", tags=["vip"])
    create_account(client, world.admin, status="lead", industry="Wine", tags=["vip"])
    create_account(client, world.admin, status="lead", industry="Food", tags=["new"])
    assert ids_of(client, world, status="lead", industry="Food", tag="vip") == {match}


def test_filters_page_too(client, world: World) -> None:
    leads = {create_account(client, world.admin, status="lead")["id"] for _ in range(5)}
    for _ in range(4):
        create_account(client, world.admin, status="customer")
    assert ids_of(client, world, status="lead", limit=2) == leads


# --- child list filters ----------------------------------------------------------------------


def test_children_filter_by_account(client, world: World) -> None:
    one = create_account(client, world.admin)["id"]
    two = create_account(client, world.admin)["id"]
    contact = create_contact(client, world.admin, one)["id"]
    create_contact(client, world.admin, two)
    interaction = create_interaction(client, world.admin, one)["id"]
    create_interaction(client, world.admin, two)
    task = create_task(client, world.admin, account_id=one)["id"]
    create_task(client, world.admin, account_id=two)
    assert list_ids(client, world.admin, "contacts", account_id=one) == {contact}
    assert list_ids(client, world.admin, "interactions", account_id=one) == {interaction}
    assert list_ids(client, world.admin, "tasks", account_id=one) == {task}


def test_contacts_filter_by_q(client, world: World) -> None:
    account = create_account(client, world.admin)["id"]
    anna = create_contact(client, world.admin, account, first_name="Anna", last_name="Bianchi")
    create_contact(client, world.admin, account, first_name="Luca", last_name="Neri",
                   email="luca@example.com")  # fmt: skip
    assert list_ids(client, world.admin, "contacts", q="anna") == {anna["id"]}
    assert list_ids(client, world.admin, "contacts", q="bianchi") == {anna["id"]}
    assert len(list_ids(client, world.admin, "contacts", q="example.com")) == 1


# --- compression -----------------------------------------------------------------------------


def test_a_large_list_is_gzipped_when_asked(client, world: World) -> None:
    for i in range(25):
        create_account(client, world.admin, name=f"Shop {i}", notes="Long notes. " * 30)
    response = client.get(
        url("accounts"), headers={**world.admin.headers, "Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200, response.status_code
    assert response.headers.get("Content-Encoding") == "gzip", dict(response.headers)
    body = json.loads(gzip.decompress(response.data))
    assert len(body["items"]) == 25, len(body["items"])
    assert len(response.data) < len(json.dumps(body)), "compressed is smaller"


def test_a_list_is_not_gzipped_unless_asked(client, world: World) -> None:
    for i in range(25):
        create_account(client, world.admin, name=f"Shop {i}", notes="Long notes. " * 30)
    response = client.get(url("accounts"), headers=world.admin.headers)
    assert response.status_code == 200, response.json
    assert response.headers.get("Content-Encoding") is None, dict(response.headers)
    assert len(response.json["items"]) == 25
