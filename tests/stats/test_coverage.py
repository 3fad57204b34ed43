"""Coverage statistics on a hand-built organisation, exact figures, both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import Person, World
from tests.portfolio.helpers import (
    MILAN,
    ROME,
    assert_error,
    assert_invalid,
    create_account,
    create_interaction,
    create_territory,
)

COVERAGE = "/api/v1/stats/coverage"
ROME_SQUARE = {
    "type": "Polygon",
    "coordinates": [[[12.45, 41.88], [12.55, 41.88], [12.55, 41.93], [12.45, 41.93],
                     [12.45, 41.88]]],
}  # fmt: skip
# The end of the report: the start of tomorrow (every account below is created today).
END = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)


def days_before_end(days: int) -> str:
    return (END - timedelta(days=days)).isoformat()


@pytest.fixture
def org(client: FlaskClient, world: World) -> dict[str, Any]:
    milan = create_territory(client, world.admin, [world.rep.id], name="Milano")
    rome = create_territory(client, world.admin, [world.rep2.id], geometry=ROME_SQUARE,
                            name="Roma")  # fmt: skip
    at_milan = {"location": {"lat": MILAN[0], "lon": MILAN[1]}}
    at_rome = {"location": {"lat": ROME[0], "lon": ROME[1]}}
    a1 = create_account(client, world.admin, name="A1", status="customer", visit_every_days=30,
                        **at_milan)  # fmt: skip
    a2 = create_account(client, world.admin, name="A2", status="lead", visit_every_days=10,
                        **at_milan)  # fmt: skip
    create_account(client, world.admin, name="A3", status="prospect", **at_milan)
    b1 = create_account(client, world.admin, name="B1", status="lead", visit_every_days=30,
                        **at_rome)  # fmt: skip
    create_account(client, world.admin, name="B2", status="customer", visit_every_days=30,
                   **at_rome)  # fmt: skip
    o1 = create_account(client, world.rep, name="O1", status="lead", visit_every_days=60)
    # The admin's own account outside any territory: in the admin's scope only.
    create_account(client, world.admin, name="X", status="customer", visit_every_days=30)
    assert {a1["territory_id"], a2["territory_id"], b1["territory_id"]} == {
        milan["id"], rome["id"]}  # fmt: skip

    def interaction(person: Person, account: dict[str, Any], kind: str, days: int) -> None:
        create_interaction(client, person, account["id"], kind=kind,
                           occurred_at=days_before_end(days))  # fmt: skip

    interaction(world.rep, a1, "visit", 13)
    interaction(world.rep, a1, "call", 8)
    interaction(world.manager, a1, "visit", 3)
    interaction(world.rep, a2, "visit", 53)
    interaction(world.rep2, b1, "visit", 5)
    interaction(world.rep, o1, "visit", 22)
    interaction(world.rep, o1, "email", 2)  # neither a visit nor a call
    response = client.patch(f"/api/v1/accounts/{a2['id']}", json={"status": "customer"},
                            headers=world.admin.headers)  # fmt: skip
    assert response.status_code == 200, response.json
    return {"milan": milan["id"], "rome": rome["id"]}


def coverage(client: FlaskClient, person: Person, **params: Any) -> dict[str, Any]:
    params = {"from": days_before_end(30), "to": END.isoformat(), **params}
    response = client.get(COVERAGE, query_string=params, headers=person.headers)
    assert response.status_code == 200, response.json
    return dict(response.json)


def figures(
    accounts: int,
    with_cadence: int,
    within: int,
    visits: int = 0,
    calls: int = 0,
    leads: int = 0,
    prospects: int = 0,
    conversions: int = 0,
) -> dict[str, Any]:
    return {
        "accounts": accounts, "with_cadence": with_cadence, "visited_within_cadence": within,
        "overdue": with_cadence - within, "visits": visits, "calls": calls,
        "new_leads": leads, "new_prospects": prospects, "conversions": conversions,
        "coverage_pct": round(100 * within / with_cadence, 1) if with_cadence else None,
    }  # fmt: skip


def by_name(report: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    return {item["name"]: {k: v for k, v in item.items() if k not in ("id", "name")}
            for item in report["items"]}  # fmt: skip


def test_by_rep_for_an_admin(client: FlaskClient, world: World, org: dict[str, Any]) -> None:
    report = coverage(client, world.admin, group_by="rep")
    assert report["group_by"] == "rep"
    assert datetime.fromisoformat(report["to"]) == END, report
    assert by_name(report) == {
        # A1, A2, A3 (territory) and O1 (owned); A2 is overdue (53 days, cadence 10).
        "Rep": figures(4, 3, 2, visits=2, calls=1, leads=2, prospects=1, conversions=1),
        "Rep2": figures(2, 2, 1, visits=1, leads=1),
        "Loner": figures(0, 0, 0),
    }, report
    ids = {item["name"]: item["id"] for item in report["items"]}
    assert ids == {"Rep": str(world.rep.id), "Rep2": str(world.rep2.id),
                   "Loner": str(world.loner.id)}  # fmt: skip
    # The whole organisation once: X is the admin's, never visited, so overdue.
    assert report["totals"] == figures(7, 6, 3, visits=4, calls=1, leads=3, prospects=1,
                                       conversions=1)  # fmt: skip


def test_by_territory(client: FlaskClient, world: World, org: dict[str, Any]) -> None:
    report = coverage(client, world.admin, group_by="territory")
    assert by_name(report) == {
        # The manager's visit of A1 counts for the territory (anyone's visits on its accounts).
        "Milano": figures(3, 2, 1, visits=2, calls=1, leads=1, prospects=1, conversions=1),
        "Roma": figures(2, 2, 1, visits=1, leads=1),
        None: figures(2, 2, 1, visits=1, leads=1),  # O1 and X: no territory
    }, report
    ids = [item["id"] for item in report["items"]]
    assert ids == [org["milan"], org["rome"], None], ids


def test_a_manager_sees_their_team_only(
    client: FlaskClient, world: World, org: dict[str, Any]
) -> None:
    report = coverage(client, world.manager, group_by="rep")
    assert set(by_name(report)) == {"Rep", "Rep2"}, report  # the loner is not in the team
    assert report["totals"] == figures(6, 5, 3, visits=4, calls=1, leads=3, prospects=1,
                                       conversions=1)  # fmt: skip
    territories = by_name(coverage(client, world.manager, group_by="territory"))
    assert territories[None] == figures(1, 1, 1, visits=1, leads=1), territories


def test_a_shorter_window(client: FlaskClient, world: World, org: dict[str, Any]) -> None:
    report = coverage(client, world.admin, group_by="rep", **{"from": days_before_end(10)})
    rows = by_name(report)
    assert (rows["Rep"]["visits"], rows["Rep"]["calls"]) == (0, 1), rows
    assert rows["Rep2"]["visits"] == 1, rows
    # Coverage is measured at `to`, whatever the window.
    assert rows["Rep"]["visited_within_cadence"] == 2, rows
    # As of 20 days before the end, A1's visit (13 days) had not happened: within cadence
    # are O1 (22 days) only; the accounts created today do not exist yet.
    earlier = coverage(client, world.admin, group_by="rep", to=days_before_end(20),
                       **{"from": days_before_end(60)})  # fmt: skip
    assert earlier["totals"]["accounts"] == 0, earlier


def test_dates_are_days_of_the_organisation(client: FlaskClient, world: World) -> None:
    report = coverage(client, world.admin, group_by="territory",
                      **{"from": "2026-11-01", "to": "2026-11-30"})  # fmt: skip
    # Europe/Rome is UTC+1 in November; `to` includes its day.
    assert datetime.fromisoformat(report["from"]) == datetime(2026, 10, 31, 23, tzinfo=UTC)
    assert datetime.fromisoformat(report["to"]) == datetime(2026, 11, 30, 23, tzinfo=UTC)
    assert report["items"] == [] and report["totals"] == figures(0, 0, 0), report


def test_roles_and_validation(client: FlaskClient, world: World) -> None:
    assert_error(client.get(COVERAGE, query_string={"group_by": "rep"},
                            headers=world.rep.headers), 403, "forbidden")  # fmt: skip
    default = client.get(COVERAGE, query_string={"group_by": "rep"}, headers=world.admin.headers)
    assert default.status_code == 200, default.json
    span = datetime.fromisoformat(default.json["to"]) - datetime.fromisoformat(
        default.json["from"])  # fmt: skip
    assert span == timedelta(days=30), default.json
    for params, field in (
        ({}, "group_by"),
        ({"group_by": "city"}, "group_by"),
        ({"group_by": "rep", "from": "yesterday"}, "from"),
        ({"group_by": "rep", "from": "2026-13-01"}, "from"),
        ({"group_by": "rep", "to": "2026-11-01T10:00:00"}, "to"),  # no zone
        ({"group_by": "rep", "from": "2026-11-10", "to": "2026-11-01"}, "from"),
    ):
        response = client.get(COVERAGE, query_string=params, headers=world.admin.headers)
        assert_invalid(response, field)
