"""Property: whatever moves accounts in and out of scopes (locations, owners, territory
assignments, deletes, creates) and however phones pull (to the end, or a page then abandoned,
then from their last complete cursor or the abandoned one), after every pull that runs a sweep
from start to end each phone holds exactly the accounts its user sees, with their children (a
sweep resumed after later changes ends in the scope as of its start; the next one catches up).

Incremental sweeps compare only the accounts written since the last sweep while the scope's
basis is unchanged (``pull.scope_basis``); this holds them to the whole-scope answer."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from fieldsync.extensions import limiter
from tests.conftest import Person, delete_all_rows, login, make_world
from tests.sync.device import Phone

MILAN = {"type": "Polygon", "coordinates": [[[9.0, 45.3], [9.3, 45.3], [9.3, 45.6], [9.0, 45.6],
                                             [9.0, 45.3]]]}  # fmt: skip
TURIN = {"type": "Polygon", "coordinates": [[[7.5, 44.9], [7.8, 44.9], [7.8, 45.2], [7.5, 45.2],
                                             [7.5, 44.9]]]}  # fmt: skip
SPOTS = {"milan": (45.46, 9.19), "turin": (45.07, 7.68), "rome": (41.9, 12.5)}

operation = st.one_of(
    st.tuples(st.just("move"), st.integers(0, 20), st.sampled_from(sorted(SPOTS))),
    st.tuples(st.just("owner"), st.integers(0, 20), st.sampled_from(["rep", "rep2", None])),
    st.tuples(st.just("assign"), st.sampled_from(["milan", "turin"]),
              st.sampled_from([(), ("rep",), ("rep2",), ("rep", "rep2")])),
    st.tuples(st.just("delete"), st.integers(0, 20)),
    st.tuples(st.just("create"), st.sampled_from(sorted(SPOTS)),
              st.sampled_from(["rep", "rep2", None])),
    st.tuples(st.just("pull"), st.integers(0, 2),
              st.sampled_from(["whole", "abandon", "resume_abandoned"])),
)  # fmt: skip


def visible_accounts(client: FlaskClient, person: Person) -> set[str]:
    ids: set[str] = set()
    cursor = None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/accounts", query_string=params, headers=person.headers)
        assert response.status_code == 200, response.json
        ids |= {item["id"] for item in response.json["items"]}
        cursor = response.json["next_cursor"]
        if not cursor:
            return ids


@settings(
    max_examples=15,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=5, max_size=30))
def test_phones_hold_exactly_their_scope_whatever_moves(
    app: Flask, ops: list[tuple[Any, ...]]
) -> None:
    delete_all_rows(app)
    with app.app_context():
        limiter.reset()  # every example logs in afresh
    client = app.test_client()
    world = make_world(app, client)
    people = {"rep": world.rep, "rep2": world.rep2}
    manager = world.admin.headers  # sees every account, in a territory or not

    def ok(response: Any, status: int = 200) -> dict[str, Any]:
        assert response.status_code == status, response.json
        return dict(response.json or {})

    territories = {
        name: ok(client.post("/api/v1/territories", headers=manager, json={
            "name": name, "geometry": shape, "rep_ids": [str(people[rep].id)]}), 201)["id"]
        for name, shape, rep in (("milan", MILAN, "rep"), ("turin", TURIN, "rep2"))
    }  # fmt: skip
    accounts: list[str | None] = []

    def create(spot: str, owner: str | None) -> None:
        lat, lon = SPOTS[spot]
        body: dict[str, Any] = {
            "kind": "company", "status": "customer", "name": f"A{len(accounts)}",
            "location": {"lat": lat, "lon": lon},
            "owner_id": str(people[owner].id) if owner else None,
        }  # fmt: skip
        account_id = ok(client.post("/api/v1/accounts", headers=manager, json=body), 201)["id"]
        ok(client.post("/api/v1/contacts", headers=manager,
                       json={"account_id": account_id, "last_name": "Rossi"}), 201)  # fmt: skip
        accounts.append(account_id)

    for spot, owner in (("milan", None), ("turin", None), ("rome", "rep"), ("milan", "rep2")):
        create(spot, owner)
    owners = [("rep", world.rep), ("rep2", world.rep2), ("rep", world.rep)]
    phones = [Phone(client, login(client, person.email)["access_token"]) for _, person in owners]
    complete: list[str | None] = [None] * len(phones)  # each phone's last complete cursor
    abandoned: list[str | None] = [None] * len(phones)  # a cursor taken in a sweep it left

    def check(index: int) -> None:
        phone, person = phones[index], owners[index][1]
        held = set(phone.store["accounts"])
        assert held == visible_accounts(client, person), f"phone {index} after a complete pull"
        children = {c["account_id"] for c in phone.store["contacts"].values()}
        assert children <= held, "contacts only of held accounts"

    def pull_whole(index: int, cursor: str | None) -> None:
        phones[index].cursor = cursor
        phones[index].pull(limit=3)
        complete[index] = phones[index].cursor
        if cursor is not None and cursor == abandoned[index]:
            # A sweep is the scope as of its start: resuming one begun before later changes
            # ends in that scope (what entered since comes with the next sweep).
            abandoned[index] = None
            return
        check(index)

    for index in range(len(phones)):
        pull_whole(index, None)

    for op in ops:
        kind = op[0]
        live = [a for a in accounts if a is not None]
        if kind == "move" and live:
            lat, lon = SPOTS[op[2]]
            ok(client.patch(f"/api/v1/accounts/{live[op[1] % len(live)]}", headers=manager,
                            json={"location": {"lat": lat, "lon": lon}}))  # fmt: skip
        elif kind == "owner" and live:
            owner = str(people[op[2]].id) if op[2] else None
            ok(client.patch(f"/api/v1/accounts/{live[op[1] % len(live)]}", headers=manager,
                            json={"owner_id": owner}))  # fmt: skip
        elif kind == "assign":
            ok(client.patch(f"/api/v1/territories/{territories[op[1]]}", headers=manager,
                            json={"rep_ids": [str(people[r].id) for r in op[2]]}))  # fmt: skip
        elif kind == "delete" and live:
            target = live[op[1] % len(live)]
            ok(client.delete(f"/api/v1/accounts/{target}", headers=manager), 204)
            accounts[accounts.index(target)] = None
        elif kind == "create":
            create(op[1], op[2])
        elif kind == "pull":
            index, how = op[1], op[2]
            if how == "abandon":  # one page of a new sweep, applied, then the loop stops
                phone = phones[index]
                query = {"limit": 1, "cursor": complete[index]}
                url = "/api/v1/sync/pull"
                page = ok(client.get(url, query_string=query, headers=phone.headers))
                phone.apply(page)
                if page["has_more"]:
                    abandoned[index] = page["cursor"]  # kept: a newer sweep may start first
                else:
                    complete[index] = page["cursor"]
                    check(index)
            elif how == "resume_abandoned" and abandoned[index]:
                pull_whole(index, abandoned[index])
            else:
                pull_whole(index, complete[index])

    for index in range(len(phones)):
        if abandoned[index]:
            pull_whole(index, abandoned[index])
        pull_whole(index, complete[index])
