"""Scope changes reach phones on their next pull, pages are ordered and safe to retry, and
cursors that cannot be served answer 410 or 422. After every scenario the phone's store is
compared with the server's view of the user's scope (REST lists) and with the pull checksum."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from fieldsync.db import unit_of_work
from fieldsync.extensions import db
from fieldsync.sync import service
from fieldsync.sync.pull import PHASES
from tests.conftest import Person, World, login
from tests.sync.device import Phone

CHILDREN = ("contacts", "interactions", "tasks")
# What the pull checksum covers (visit plans are not in it).
CHECKSUM_ENTITIES = ("accounts", "contacts", "interactions", "tasks", "territories")


def square(lon0: float, lat0: float, lon1: float, lat1: float) -> dict[str, Any]:
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


MILAN = square(9.0, 45.3, 9.3, 45.6)
IN_MILAN = (45.46, 9.19)
TURIN = square(7.5, 44.9, 7.8, 45.2)
IN_TURIN = (45.07, 7.68)
NOWHERE = (41.9, 12.5)  # Rome: in no territory


# --- helpers ---------------------------------------------------------------------------------


def phone_for(client: FlaskClient, person: Person) -> Phone:
    """A new device of the person (each login registers one)."""
    return Phone(client, login(client, person.email)["access_token"])


def created(response: Any) -> str:
    assert response.status_code == 201, f"create failed: {response.status_code} {response.json}"
    return str(response.json["id"])


def make_territory(
    client: FlaskClient, world: World, name: str, geometry: dict[str, Any], reps: list[Person]
) -> str:
    return created(
        client.post(
            "/api/v1/territories",
            headers=world.manager.headers,
            json={"name": name, "geometry": geometry, "rep_ids": [str(p.id) for p in reps]},
        )
    )


def set_reps(client: FlaskClient, world: World, territory_id: str, reps: list[Person]) -> None:
    response = client.patch(
        f"/api/v1/territories/{territory_id}",
        headers=world.manager.headers,
        json={"rep_ids": [str(p.id) for p in reps]},
    )
    assert response.status_code == 200, response.json


def make_account(
    client: FlaskClient, world: World, name: str, point: tuple[float, float] | None, **fields: Any
) -> str:
    body: dict[str, Any] = {"kind": "company", "status": "customer", "name": name, **fields}
    if point is not None:
        body["location"] = {"lat": point[0], "lon": point[1]}
    return created(client.post("/api/v1/accounts", json=body, headers=world.manager.headers))


def add_children(client: FlaskClient, world: World, account_id: str) -> dict[str, str]:
    """A contact, an interaction and a task on the account: their ids by entity."""
    headers = world.manager.headers
    return {
        "contacts": created(
            client.post(
                "/api/v1/contacts",
                headers=headers,
                json={"account_id": account_id, "last_name": "Rossi"},
            )
        ),
        "interactions": created(
            client.post(
                "/api/v1/interactions",
                headers=headers,
                json={
                    "account_id": account_id,
                    "kind": "call",
                    "occurred_at": "2026-11-20T10:00:00Z",
                },
            )
        ),
        "tasks": created(
            client.post(
                "/api/v1/tasks",
                headers=headers,
                json={"account_id": account_id, "title": "Follow up"},
            )
        ),
    }


def patch_account(
    client: FlaskClient, world: World, account_id: str, fields: dict[str, Any]
) -> dict[str, Any]:
    response = client.patch(
        f"/api/v1/accounts/{account_id}", json=fields, headers=world.manager.headers
    )
    assert response.status_code == 200, response.json
    return dict(response.json)


def pull_pages(phone: Phone, limit: int = 500, checksum: bool = False) -> list[dict[str, Any]]:
    """Pull until has_more is false, applying each page; return every page."""
    pages: list[dict[str, Any]] = []
    while True:
        params: dict[str, Any] = {"limit": limit}
        if phone.cursor:
            params["cursor"] = phone.cursor
        if checksum:
            params["checksum"] = "true"
        response = phone.client.get("/api/v1/sync/pull", query_string=params, headers=phone.headers)
        assert response.status_code == 200, response.json
        page = response.json
        for entity, changes in page["changes"].items():
            ids = [r["id"] for r in changes["upserted"]] + changes["removed"]
            assert len(ids) == len(set(ids)), f"{entity}: a record appears twice in one page"
        phone.apply(page)
        phone.cursor = page["cursor"]
        pages.append(page)
        if not page["has_more"]:
            return pages


def removed(pages: list[dict[str, Any]], entity: str) -> set[str]:
    return {rid for page in pages for rid in page["changes"][entity]["removed"]}


def upserted(pages: list[dict[str, Any]], entity: str) -> set[str]:
    return {r["id"] for page in pages for r in page["changes"][entity]["upserted"]}


def server_scope(client: FlaskClient, person: Person) -> dict[str, dict[str, int]]:
    """What the user sees through the REST lists: entity -> id -> version."""
    scope: dict[str, dict[str, int]] = {}
    for entity in CHECKSUM_ENTITIES:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
            if entity == "territories":
                params = {}
            response = client.get(f"/api/v1/{entity}", query_string=params, headers=person.headers)
            assert response.status_code == 200, response.json
            items += response.json["items"]
            cursor = response.json["next_cursor"]
            if not cursor:
                break
        scope[entity] = {item["id"]: item["version"] for item in items}
    return scope


def store_scope(phone: Phone) -> dict[str, dict[str, int]]:
    return {
        entity: {rid: record["version"] for rid, record in phone.store[entity].items()}
        for entity in CHECKSUM_ENTITIES
    }


def store_checksum(phone: Phone) -> str:
    lines = sorted(
        f"{entity}:{rid}:{record['version']}"
        for entity in CHECKSUM_ENTITIES
        for rid, record in phone.store[entity].items()
    )
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def assert_holds_scope(client: FlaskClient, phone: Phone, person: Person, label: str) -> None:
    """The phone's store is the user's scope, by the REST lists and by the pull checksum."""
    assert store_scope(phone) == server_scope(client, person), (
        f"{label}: the phone's store differs from what {person.email} sees on the server"
    )
    last = pull_pages(phone, checksum=True)[-1]
    assert last["checksum"] == store_checksum(phone), (
        f"{label}: the server's checksum differs from the phone's store"
    )
    assert store_scope(phone) == server_scope(client, person), f"{label}: after the checksum pull"


def decode(cursor: str) -> dict[str, Any]:
    return dict(json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))))


def encode(state: Any) -> str:
    raw = json.dumps(state, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def get_pull(phone: Phone, **params: Any) -> Any:
    return phone.client.get("/api/v1/sync/pull", query_string=params, headers=phone.headers)


def milan_portfolio(
    client: FlaskClient, world: World, reps: list[Person], accounts: int = 1
) -> tuple[str, list[str], dict[str, set[str]]]:
    """Territory Milan (assigned to ``reps``) with accounts inside, each with children."""
    territory_id = make_territory(client, world, "Milano", MILAN, reps)
    ids = [make_account(client, world, f"Milano {i}", IN_MILAN) for i in range(accounts)]
    children: dict[str, set[str]] = {entity: set() for entity in CHILDREN}
    for account_id in ids:
        for entity, child_id in add_children(client, world, account_id).items():
            children[entity].add(child_id)
    return territory_id, ids, children


# --- scope follows territories, owners and locations -----------------------------------------


def test_rep_phone_pulls_its_territory_accounts_with_all_children(
    client: FlaskClient, world: World
) -> None:
    territory_id, accounts, children = milan_portfolio(client, world, [world.rep], accounts=2)
    outside = make_account(client, world, "Roma", NOWHERE)
    add_children(client, world, outside)
    phone = phone_for(client, world.rep)

    pull_pages(phone)

    assert set(phone.store["territories"]) == {territory_id}, "the rep's territory"
    assert set(phone.store["accounts"]) == set(accounts), "the territory's accounts, not Roma"
    for entity in CHILDREN:
        assert set(phone.store[entity]) == children[entity], f"every {entity} of those accounts"
    assert_holds_scope(client, phone, world.rep, "first pull")


def test_territory_reassigned_to_rep2_moves_account_and_children(
    client: FlaskClient, world: World
) -> None:
    territory_id, accounts, children = milan_portfolio(client, world, [world.rep])
    rep_phone, rep2_phone = phone_for(client, world.rep), phone_for(client, world.rep2)
    pull_pages(rep_phone)
    pull_pages(rep2_phone)
    assert set(rep_phone.store["accounts"]) == set(accounts)
    assert rep2_phone.store["accounts"] == {}, "rep2 holds nothing yet"

    set_reps(client, world, territory_id, [world.rep2])

    pages = pull_pages(rep_phone)
    assert removed(pages, "accounts") >= set(accounts), "the account left the rep's scope"
    for entity in CHILDREN:
        assert removed(pages, entity) >= children[entity], f"its {entity} left with it"
        assert rep_phone.store[entity] == {}, f"the rep's phone holds no {entity} any more"
    assert territory_id in removed(pages, "territories"), "the territory is no longer the rep's"
    assert rep_phone.store["accounts"] == {} and rep_phone.store["territories"] == {}

    pages = pull_pages(rep2_phone)
    assert upserted(pages, "accounts") == set(accounts), "rep2 receives the account"
    for entity in CHILDREN:
        assert upserted(pages, entity) == children[entity], f"rep2 receives its {entity}"
    assert upserted(pages, "territories") == {territory_id}, "and the territory"

    assert_holds_scope(client, rep_phone, world.rep, "rep after the reassignment")
    assert_holds_scope(client, rep2_phone, world.rep2, "rep2 after the reassignment")


def test_owner_change_moves_account_between_phones(client: FlaskClient, world: World) -> None:
    account_id = make_account(client, world, "Owned", None, owner_id=str(world.rep.id))
    children = add_children(client, world, account_id)
    rep_phone, rep2_phone = phone_for(client, world.rep), phone_for(client, world.rep2)
    pull_pages(rep_phone)
    pull_pages(rep2_phone)
    assert set(rep_phone.store["accounts"]) == {account_id}
    assert rep2_phone.store["accounts"] == {}

    patch_account(client, world, account_id, {"owner_id": str(world.rep2.id)})

    pages = pull_pages(rep_phone)
    assert account_id in removed(pages, "accounts"), "the old owner's phone drops it"
    for entity, child_id in children.items():
        assert child_id in removed(pages, entity), f"with its {entity}"
        assert rep_phone.store[entity] == {}
    pages = pull_pages(rep2_phone)
    assert rep2_phone.store["accounts"][account_id]["owner_id"] == str(world.rep2.id)
    for entity, child_id in children.items():
        assert child_id in upserted(pages, entity), f"the new owner's phone gets its {entity}"
    assert_holds_scope(client, rep_phone, world.rep, "old owner")
    assert_holds_scope(client, rep2_phone, world.rep2, "new owner")


def test_location_moved_into_another_territory_moves_account(
    client: FlaskClient, world: World
) -> None:
    milan = make_territory(client, world, "Milano", MILAN, [world.rep])
    turin = make_territory(client, world, "Torino", TURIN, [world.rep2])
    account_id = make_account(client, world, "Mover", IN_MILAN)
    children = add_children(client, world, account_id)
    rep_phone, rep2_phone = phone_for(client, world.rep), phone_for(client, world.rep2)
    pull_pages(rep_phone)
    pull_pages(rep2_phone)
    assert rep_phone.store["accounts"][account_id]["territory_id"] == milan

    moved = patch_account(
        client, world, account_id, {"location": {"lat": IN_TURIN[0], "lon": IN_TURIN[1]}}
    )
    assert moved["territory_id"] == turin, "placement follows the new location"

    pages = pull_pages(rep_phone)
    assert account_id in removed(pages, "accounts")
    assert all(rep_phone.store[entity] == {} for entity in CHILDREN), rep_phone.store
    pages = pull_pages(rep2_phone)
    assert rep2_phone.store["accounts"][account_id]["territory_id"] == turin
    for entity, child_id in children.items():
        assert child_id in upserted(pages, entity)
    assert_holds_scope(client, rep_phone, world.rep, "rep after the move")
    assert_holds_scope(client, rep2_phone, world.rep2, "rep2 after the move")


def test_territory_assignment_reaches_the_phone(client: FlaskClient, world: World) -> None:
    territory_id = make_territory(client, world, "Torino", TURIN, [])
    phone = phone_for(client, world.rep)
    pull_pages(phone)
    assert phone.store["territories"] == {}, "not assigned yet"

    set_reps(client, world, territory_id, [world.rep])
    pages = pull_pages(phone)
    assert territory_id in upserted(pages, "territories"), "assigned: territories.upserted"
    held = phone.store["territories"][territory_id]
    assert held["rep_ids"] == [str(world.rep.id)] and held["geometry"] == TURIN, held
    assert_holds_scope(client, phone, world.rep, "assigned")

    set_reps(client, world, territory_id, [])
    pages = pull_pages(phone)
    assert territory_id in removed(pages, "territories"), "unassigned: territories.removed"
    assert phone.store["territories"] == {}
    assert_holds_scope(client, phone, world.rep, "unassigned")


@contextmanager
def sweep_logs() -> Iterator[list[logging.LogRecord]]:
    """The "pull sweep started" records the block logs (the fieldsync loggers do not propagate
    to pytest's capture)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.DEBUG)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("fieldsync.sync")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def scope_diffs(records: list[logging.LogRecord]) -> list[str]:
    return [r.scope_diff for r in records if getattr(r, "event", None) == "pull_sweep"]


def test_an_incremental_pull_compares_only_the_accounts_written_since(
    client: FlaskClient, world: World
) -> None:
    """While the rep's territories and team stay the same, an account enters or leaves the
    scope only by a write of its own: the sweep compares those accounts, not the whole scope.
    A change of the territories compares the whole scope again."""
    territory_id, accounts, _ = milan_portfolio(client, world, [world.rep], accounts=2)
    owned = make_account(client, world, "Owned", None, owner_id=str(world.rep.id))
    phone = phone_for(client, world.rep)
    with sweep_logs() as records:
        pull_pages(phone)
    assert scope_diffs(records) == ["whole"], "a first pull compares the whole scope"
    assert set(phone.store["accounts"]) == {*accounts, owned}

    patch_account(client, world, owned, {"owner_id": str(world.rep2.id)})  # leaves
    patch_account(client, world, accounts[0], {"notes": "still here"})  # stays
    newcomer = make_account(client, world, "Newcomer", IN_MILAN)  # enters
    with sweep_logs() as records:
        pages = pull_pages(phone)
    assert scope_diffs(records) == ["changed"], "only the written accounts are compared"
    assert removed(pages, "accounts") == {owned}
    # On PostgreSQL an unchanged account may come again (harmless, at the version the phone
    # holds): the window starts at the oldest transaction then open in the cluster, which
    # another test's may hold back.
    assert {accounts[0], newcomer} <= upserted(pages, "accounts") <= {*accounts, newcomer}
    assert_holds_scope(client, phone, world.rep, "after writes of accounts")

    set_reps(client, world, territory_id, [world.rep2])
    with sweep_logs() as records:
        pages = pull_pages(phone)
    assert scope_diffs(records) == ["whole"], "the territories changed: the whole scope"
    assert removed(pages, "accounts") == {*accounts, newcomer}
    assert phone.store["accounts"] == {}
    assert_holds_scope(client, phone, world.rep, "after the territory left")


# --- pages -----------------------------------------------------------------------------------


def test_first_pull_sends_accounts_then_contacts_and_tasks_then_interactions(
    client: FlaskClient, world: World
) -> None:
    _, accounts, children = milan_portfolio(client, world, [world.rep], accounts=4)
    phone = phone_for(client, world.rep)

    pages = pull_pages(phone, limit=3)

    assert len(pages) >= 6, f"16 records in pages of 3: {len(pages)} pages"
    first_seen: dict[tuple[str, str], int] = {}
    for index, page in enumerate(pages):
        size = sum(len(c["upserted"]) + len(c["removed"]) for c in page["changes"].values())
        assert size <= 3, f"page {index} holds {size} records, over the limit"
        for entity, changes in page["changes"].items():
            for record in changes["upserted"]:
                first_seen.setdefault((entity, record["id"]), index)

    def pages_of(entity: str, ids: set[str]) -> list[int]:
        missing = {i for i in ids if (entity, i) not in first_seen}
        assert not missing, f"{entity} never delivered: {missing}"
        return [first_seen[(entity, i)] for i in ids]

    last_account_page = max(pages_of("accounts", set(accounts)))
    assert last_account_page < min(pages_of("interactions", children["interactions"])), (
        "no interaction may come before the last page of accounts"
    )
    for entity in ("contacts", "tasks"):
        assert last_account_page <= min(pages_of(entity, children[entity])), (
            f"{entity} come after the accounts"
        )
        assert max(pages_of(entity, children[entity])) <= min(
            pages_of("interactions", children["interactions"])
        ), f"{entity} come before the interactions (the history comes last)"
    assert_holds_scope(client, phone, world.rep, "paged first pull")


def test_lost_page_is_served_again_with_the_same_cursor(client: FlaskClient, world: World) -> None:
    milan_portfolio(client, world, [world.rep], accounts=3)
    phone = phone_for(client, world.rep)

    first = get_pull(phone, limit=2).json
    assert first["has_more"] is True
    again = get_pull(phone, limit=2).json  # the first response was lost: start over
    assert again["changes"] == first["changes"], "a lost first page comes back the same"

    cursor = again["cursor"]
    second = get_pull(phone, limit=2, cursor=cursor).json
    retried = get_pull(phone, limit=2, cursor=cursor).json
    assert retried["changes"] == second["changes"], "a retried cursor returns the same page"
    assert retried["cursor"] == second["cursor"], "and the same next cursor"

    phone.apply(again)
    phone.apply(retried)
    phone.cursor = retried["cursor"]
    pull_pages(phone, limit=2)
    assert_holds_scope(client, phone, world.rep, "after the retried pages")

    # A lost response to an incremental pull: same cursor, same changes.
    complete = phone.cursor
    patch_account(client, world, next(iter(phone.store["accounts"])), {"name": "Renamed"})
    lost = get_pull(phone, cursor=complete).json
    retry = get_pull(phone, cursor=complete).json
    assert retry["changes"] == lost["changes"], "the retried incremental pull is the same"
    assert "Renamed" in [a["name"] for a in retry["changes"]["accounts"]["upserted"]]
    phone.apply(retry)
    phone.cursor = retry["cursor"]
    assert_holds_scope(client, phone, world.rep, "after the retried incremental pull")


def test_stale_mid_sweep_cursor_after_a_newer_sweep_converges(
    client: FlaskClient, world: World
) -> None:
    """Two pull loops of one phone: one holds a mid-sweep cursor while the other starts a
    newer sweep from the last complete cursor. The stale cursor still ends in the scope."""
    territory_id, accounts, _ = milan_portfolio(client, world, [world.rep], accounts=3)
    phone = phone_for(client, world.rep)
    pull_pages(phone)
    complete = phone.cursor
    for account_id in accounts:
        patch_account(client, world, account_id, {"notes": "changed"})
    for i in range(2):
        make_account(client, world, f"New {i}", IN_MILAN)

    first = get_pull(phone, limit=1, cursor=complete).json
    assert first["has_more"], "the sweep has several pages"
    phone.apply(first)
    stale = first["cursor"]

    other_loop = Phone(phone.client, phone.token, store=phone.store, cursor=complete)
    pull_pages(other_loop, limit=2)  # a newer sweep, run to its end

    phone.cursor = stale
    pull_pages(phone, limit=1)
    assert store_scope(phone) == server_scope(client, world.rep), (
        "the stale cursor's pull ended with the phone holding its scope"
    )
    assert_holds_scope(client, phone, world.rep, "after the stale cursor")
    assert set(phone.store["territories"]) == {territory_id}


def test_stale_mid_sweep_cursor_with_scope_change_in_between_converges(
    client: FlaskClient, world: World
) -> None:
    """The abandoned sweep handed out an account that then left the scope; the newer sweep
    (from the older complete cursor) knows nothing of it. The stale cursor must still end
    with the account gone from the phone."""
    milan_portfolio(client, world, [world.rep], accounts=1)
    phone = phone_for(client, world.rep)
    pull_pages(phone)
    complete = phone.cursor
    newcomer = make_account(client, world, "Newcomer", IN_MILAN)

    first = get_pull(phone, limit=1, cursor=complete).json
    assert [a["id"] for a in first["changes"]["accounts"]["upserted"]] == [newcomer], first
    phone.apply(first)
    stale = first["cursor"]

    patch_account(client, world, newcomer, {"location": {"lat": NOWHERE[0], "lon": NOWHERE[1]}})
    other_loop = Phone(phone.client, phone.token, store=phone.store, cursor=complete)
    pull_pages(other_loop)

    phone.cursor = stale
    pull_pages(phone)
    assert newcomer not in phone.store["accounts"], (
        "the account left the scope: the phone must not keep it"
    )
    assert_holds_scope(client, phone, world.rep, "after the stale cursor and the scope change")


def test_stale_mid_sweep_cursor_with_removal_undone_converges(
    client: FlaskClient, world: World
) -> None:
    """The abandoned sweep removed an account (its territory was taken from the rep) that then
    came back (the territory was given back): the phone applied that removal, so it must get
    the account again, although the account itself never changed."""
    territory_id, accounts, children = milan_portfolio(client, world, [world.rep], accounts=1)
    phone = phone_for(client, world.rep)
    pull_pages(phone)
    complete = phone.cursor
    set_reps(client, world, territory_id, [world.rep2])

    first = get_pull(phone, limit=2, cursor=complete).json
    assert first["changes"]["territories"]["removed"] == [territory_id], first
    assert first["changes"]["accounts"]["removed"] == accounts and first["has_more"], first
    phone.apply(first)
    stale = first["cursor"]
    assert phone.store["accounts"] == {}, "the phone applied the removal"

    set_reps(client, world, territory_id, [world.rep])
    other_loop = Phone(phone.client, phone.token, store=phone.store, cursor=complete)
    pull_pages(other_loop)  # a newer sweep from the older complete cursor

    phone.cursor = stale
    pull_pages(phone)
    assert set(phone.store["accounts"]) == set(accounts), "the account is back on the phone"
    for entity in CHILDREN:
        assert set(phone.store[entity]) == children[entity], f"with its {entity}"
    assert_holds_scope(client, phone, world.rep, "after the undone removal")


# --- cursors that cannot be served -----------------------------------------------------------


def test_cursor_of_another_device_is_gone(client: FlaskClient, world: World) -> None:
    milan_portfolio(client, world, [world.rep])
    mine, other = phone_for(client, world.rep), phone_for(client, world.rep)
    pull_pages(mine)

    response = get_pull(other, cursor=mine.cursor)

    assert response.status_code == 410, f"another device's cursor: 410, got {response.json}"
    assert response.json["error"]["code"] == "gone"


def test_damaged_or_forged_cursors_are_422(client: FlaskClient, world: World) -> None:
    milan_portfolio(client, world, [world.rep], accounts=3)
    phone = phone_for(client, world.rep)
    mid = get_pull(phone, limit=1).json
    assert mid["has_more"]
    state = decode(mid["cursor"])
    window = len(PHASES) - 1
    forged = {
        "garbage": "!!not a cursor!!",
        "not json": base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        "a list": encode([1, 2, 3]),
        "missing keys": encode({"v": 1, "d": state["d"]}),
        "device not a uuid": encode({**state, "d": "phone-1"}),
        "generation not a number": encode({**state, "g": "one"}),
        "key not a uuid": encode({**state, "k": "zzz"}),
        "key a number": encode({**state, "k": 12345}),
        "key an object": encode({**state, "k": {"a": 1}}),
        "window key not a number": encode({**state, "p": window, "k": "abc"}),
        "phase negative": encode({**state, "p": -1}),
        "phase too large": encode({**state, "p": 999}),
        "phase not a number": encode({**state, "p": "x"}),
        "scope basis not text": encode({**state, "b": {"role": "admin"}}),
    }
    for label, cursor in forged.items():
        response = get_pull(phone, cursor=cursor)
        assert response.status_code == 422, (
            f"{label}: 422, got {response.status_code} {response.json}"
        )
        assert response.json["error"]["code"] == "validation_error", label
        assert "cursor" in response.json["error"]["details"]["fields"], label

    # The phone's genuine cursor still works afterwards.
    phone.apply(mid)
    phone.cursor = mid["cursor"]
    pull_pages(phone, limit=1)
    assert_holds_scope(client, phone, world.rep, "after the forged cursors")


def test_limit_bounds(client: FlaskClient, world: World) -> None:
    phone = phone_for(client, world.rep)
    for limit in (5001, 0, -1):
        response = get_pull(phone, limit=limit)
        assert response.status_code == 422, f"limit={limit}: 422, got {response.status_code}"
        assert "limit" in response.json["error"]["details"]["fields"]
    assert get_pull(phone, limit=5000).status_code == 200, "5,000 is the largest limit"


def test_pruned_cursor_is_gone_then_a_fresh_pull_works(
    app: Flask, client: FlaskClient, world: World
) -> None:
    _, accounts, _ = milan_portfolio(client, world, [world.rep], accounts=2)
    phone = phone_for(client, world.rep)
    pull_pages(phone)
    old_cursor = phone.cursor
    patch_account(client, world, accounts[0], {"name": "Changed after the pull"})
    patch_account(client, world, accounts[1], {"notes": "changed too"})

    # On PostgreSQL only the changes of transactions older than every running one (on the
    # whole server: other test runs and benchmarks too) can go, so pruning may have to wait.
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        with app.app_context(), unit_of_work(db.session):
            service.prune_changes(
                db.session, org_id=world.org_id, before=datetime.now(UTC) + timedelta(seconds=1)
            )
        response = get_pull(phone, cursor=old_cursor)
        if response.status_code != 200:
            break
        time.sleep(0.1)
    assert response.status_code == 410, f"a cursor behind the pruned log: 410 {response.json}"
    assert response.json["error"]["code"] == "gone"
    assert response.json["error"]["message"]

    fresh = Phone(client, phone.token)  # starts over: empty store, no cursor
    pull_pages(fresh)
    assert fresh.store["accounts"][accounts[0]]["name"] == "Changed after the pull"
    assert_holds_scope(client, fresh, world.rep, "after starting over")
    patch_account(client, world, accounts[1], {"name": "Later"})
    pull_pages(fresh)
    assert fresh.store["accounts"][accounts[1]]["name"] == "Later", "incremental pulls work again"
    assert_holds_scope(client, fresh, world.rep, "incremental after starting over")


@pytest.mark.concurrency
def test_pull_started_after_a_prune_is_not_gone_while_an_old_transaction_runs(
    app: Flask, client: FlaskClient, world: World, dialect: str
) -> None:
    """A transaction still running (anywhere on the server) holds the pull watermark below
    the changes committed since it began. Pruning those changes would leave every sweep that
    starts meanwhile behind the horizon: its very next pull would answer 410."""
    if dialect != "postgresql":
        pytest.skip("SQLite has one writer at a time: no transaction runs alongside")
    _, accounts, _ = milan_portfolio(client, world, [world.rep], accounts=1)
    with app.app_context():
        connection = db.engine.connect()
        try:
            connection.execute(text("SELECT pg_current_xact_id()"))  # holds an xid, open
            patch_account(client, world, accounts[0], {"name": "Changed meanwhile"})
            with unit_of_work(db.session):
                service.prune_changes(
                    db.session,
                    org_id=world.org_id,
                    before=datetime.now(UTC) + timedelta(seconds=1),
                )
            phone = phone_for(client, world.rep)
            pull_pages(phone)
            assert phone.store["accounts"][accounts[0]]["name"] == "Changed meanwhile"
            patch_account(client, world, accounts[0], {"name": "Changed again"})
            response = get_pull(phone, cursor=phone.cursor)
            assert response.status_code == 200, (
                f"a cursor from a sweep that began after the prune must be served: {response.json}"
            )
            phone.apply(response.json)
            assert phone.store["accounts"][accounts[0]]["name"] == "Changed again"
        finally:
            connection.rollback()
            connection.close()
