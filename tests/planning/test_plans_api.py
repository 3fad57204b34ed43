"""The plans API through the real app: planning, storing, reading, roles, validation."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from flask.testing import FlaskClient

from fieldsync.planning.planner import MAX_CANDIDATES
from tests.conftest import World
from tests.planning.plan_helpers import (
    ROME_TZ,
    due_accounts,
    plan_day,
    planned,
    post_plan,
    set_home,
    stop_ids,
)
from tests.portfolio.helpers import (
    MILAN,
    MILAN_SQUARE,
    assert_error,
    assert_invalid,
    create_account,
    create_interaction,
    create_territory,
)

HOME = {"lat": MILAN[0], "lon": MILAN[1]}


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def test_a_rep_plans_their_day_from_home_and_it_is_stored(
    client: FlaskClient, world: World
) -> None:
    set_home(client, world, world.rep, *MILAN)
    accounts = due_accounts(client, world.rep, 6)
    day = plan_day()
    response = post_plan(client, world.rep, date=day)
    plan = planned(response)
    assert response.headers["ETag"] == f'"{plan["version"]}"'
    assert plan["rep_id"] == str(world.rep.id) and plan["date"] == day.isoformat()
    assert plan["version"] == 1
    ids = {a["id"] for a in accounts}
    stops = stop_ids(plan)
    assert stops and set(stops) <= ids, plan
    # Every candidate is either visited or said to be left out.
    assert set(stops) | {u["account_id"] for u in plan["unassigned"]} == ids
    assert plan["totals"]["visits"] == len(stops)
    assert plan["totals"]["distance_km"] > 0
    previous = _minutes("08:30")
    for stop in plan["stops"]:
        assert stop["status"] == "planned"
        assert set(stop) == {"account_id", "arrival", "departure", "travel_minutes",
                             "distance_km", "status"}  # fmt: skip
        assert previous <= _minutes(stop["arrival"]) < _minutes(stop["departure"])
        assert _minutes(stop["departure"]) - _minutes(stop["arrival"]) >= 30
        previous = _minutes(stop["departure"])
    assert previous <= _minutes("17:30")
    fetched = client.get(f"/api/v1/plans/{plan['id']}", headers=world.rep.headers)
    assert fetched.status_code == 200
    assert {k: fetched.json[k] for k in plan} == plan


def test_replanning_a_day_replaces_the_plan_and_keeps_stop_statuses(
    client: FlaskClient, world: World
) -> None:
    set_home(client, world, world.rep, *MILAN)
    due_accounts(client, world.rep, 4)
    day = plan_day()
    first = planned(post_plan(client, world.rep, date=day))
    done = first["stops"][0]["account_id"]
    patched = client.patch(
        f"/api/v1/plans/{first['id']}/stops/{done}", json={"status": "done"},
        headers=world.rep.headers,
    )  # fmt: skip
    assert patched.status_code == 200, patched.json
    fewer = [done, first["stops"][1]["account_id"]]
    again = planned(post_plan(client, world.rep, date=day, account_ids=fewer))
    assert again["id"] == first["id"], "a re-plan rewrites the day's plan"
    assert again["version"] > patched.json["version"]
    statuses = {s["account_id"]: s["status"] for s in again["stops"]}
    assert statuses == {done: "done", fewer[1]: "planned"}, again
    listed = client.get(
        "/api/v1/plans", query_string={"date": day.isoformat()}, headers=world.rep.headers
    ).json["items"]
    assert [p["id"] for p in listed] == [first["id"]], "one plan per rep and day"


def test_explicit_account_ids_and_start_without_a_home(client: FlaskClient, world: World) -> None:
    accounts = due_accounts(client, world.rep, 5)
    chosen = [accounts[0]["id"], accounts[3]["id"]]
    plan = planned(post_plan(client, world.rep, date=plan_day(), start=HOME, account_ids=chosen))
    assert set(stop_ids(plan)) | {u["account_id"] for u in plan["unassigned"]} == set(chosen)
    assert set(stop_ids(plan)) == set(chosen)


def test_no_start_and_no_home_is_422_naming_start(client: FlaskClient, world: World) -> None:
    due_accounts(client, world.rep, 1)
    assert_invalid(post_plan(client, world.rep, date=plan_day()), "start")


def test_roles(client: FlaskClient, world: World) -> None:
    for person in (world.rep, world.rep2, world.loner):
        set_home(client, world, person, *MILAN)
    due_accounts(client, world.rep, 2)
    day = plan_day()
    assert_error(post_plan(client, world.rep, date=day, rep_id=str(world.rep2.id)), 403,
                 "forbidden")  # fmt: skip
    by_manager = planned(post_plan(client, world.manager, date=day, rep_id=str(world.rep.id)))
    assert by_manager["rep_id"] == str(world.rep.id)
    assert by_manager["stops"], "the rep's accounts, as the rep sees them"
    # The loner does not report to the manager.
    assert_error(post_plan(client, world.manager, date=day, rep_id=str(world.loner.id)), 403,
                 "forbidden")  # fmt: skip
    assert planned(post_plan(client, world.admin, date=day, rep_id=str(world.loner.id)))
    # Another organisation's admin: the rep does not exist for them.
    assert_error(post_plan(client, world.other_admin, date=day, rep_id=str(world.rep.id)),
                 404, "not_found")  # fmt: skip
    plan_id = by_manager["id"]
    assert client.get(f"/api/v1/plans/{plan_id}", headers=world.rep.headers).status_code == 200
    assert client.get(f"/api/v1/plans/{plan_id}", headers=world.manager.headers).status_code == 200
    for outsider in (world.rep2, world.loner, world.other_admin):
        assert_error(client.get(f"/api/v1/plans/{plan_id}", headers=outsider.headers), 404,
                     "not_found")  # fmt: skip
    assert_error(client.get(f"/api/v1/plans/{uuid.uuid4()}", headers=world.admin.headers), 404,
                 "not_found")  # fmt: skip


def test_lists_show_each_person_what_they_may_see(client: FlaskClient, world: World) -> None:
    for person in (world.rep, world.rep2):
        set_home(client, world, person, *MILAN)
        due_accounts(client, person, 1)
    day = plan_day()
    mine = planned(post_plan(client, world.rep, date=day))
    planned(post_plan(client, world.rep, date=day + timedelta(days=1)))
    theirs = planned(post_plan(client, world.rep2, date=day))

    def ids(person: Any, **query: Any) -> list[str]:
        response = client.get("/api/v1/plans", query_string=query, headers=person.headers)
        assert response.status_code == 200, response.json
        assert set(response.json) == {"items", "next_cursor"}
        return [p["id"] for p in response.json["items"]]

    assert len(ids(world.rep)) == 2 and theirs["id"] not in ids(world.rep)
    assert ids(world.rep, rep_id=str(world.rep2.id)) == [], "a rep sees their own plans only"
    assert set(ids(world.manager, date=day.isoformat())) == {mine["id"], theirs["id"]}
    assert ids(world.manager, rep_id=str(world.rep2.id)) == [theirs["id"]]
    assert ids(world.other_admin) == []
    # Paging: one by one, by date then id, nothing twice.
    seen, cursor = [], None
    while True:
        query: dict[str, Any] = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/plans", query_string=query, headers=world.admin.headers).json
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 3
    assert_invalid(
        client.get("/api/v1/plans", query_string={"cursor": "junk"}, headers=world.admin.headers),
        "cursor",
    )
    assert_invalid(
        client.get("/api/v1/plans", query_string={"date": "23/11"}, headers=world.admin.headers),
        "date",
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"day_start": "17:00", "day_end": "09:00"}, "day_end"),
        ({"day_start": "09:00", "day_end": "09:00"}, "day_end"),
        ({"day_start": "9h"}, "day_start"),
        ({"day_start": "09:00\n"}, "day_start"),
        ({"day_start": "\u0660\u0669:00"}, "day_start"),  # Arabic-Indic digits
        ({"start": {"lat": 91, "lon": 9.19}}, "start.lat"),
        ({"end": {"lat": 45.4, "lon": 181}}, "end.lon"),
        ({"colour": "red"}, "colour"),
        ({"date": "2026-02-30"}, "date"),
        ({"date": "tomorrow"}, "date"),
        ({"breaks": [{"start": "07:00", "end": "08:00", "minutes": 30}]}, "breaks.0"),
        ({"breaks": [{"start": "13:00", "end": "12:00"}]}, "breaks.0.end"),
        ({"breaks": [{"start": "12:00", "end": "13:00", "minutes": 90}]}, "breaks.0.minutes"),
        ({"max_stops": 0}, "max_stops"),
        ({"default_visit_minutes": 0}, "default_visit_minutes"),
        ({"rep_id": "not-a-uuid"}, "rep_id"),
        ({"id": str(uuid.uuid4())}, "id"),
    ],
)
def test_invalid_requests_are_422_naming_the_field(
    client: FlaskClient, world: World, body: dict[str, Any], field: str
) -> None:
    set_home(client, world, world.rep, *MILAN)
    request = {"date": plan_day().isoformat(), **body}
    assert_invalid(client.post("/api/v1/plans", json=request, headers=world.rep.headers), field)


def test_fixed_appointments_are_checked(client: FlaskClient, world: World) -> None:
    set_home(client, world, world.rep, *MILAN)
    day = plan_day()
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
    shop = create_account(
        client, world.rep, location=HOME, visit_every_days=30,
        opening_hours={weekday: [["09:00", "12:00"]]},
    )  # fmt: skip
    fixed = {"account_id": shop["id"], "at": "15:00"}
    assert_invalid(post_plan(client, world.rep, date=day, fixed=[fixed]), "fixed.0.at")
    outside_day = {"account_id": shop["id"], "at": "07:00"}
    assert_invalid(post_plan(client, world.rep, date=day, fixed=[outside_day]), "fixed.0.at")
    stranger = create_account(client, world.rep2, location=HOME)
    foreign = {"account_id": stranger["id"], "at": "10:00"}
    assert_invalid(post_plan(client, world.rep, date=day, fixed=[foreign]), "fixed.0.account_id")
    kept = planned(
        post_plan(client, world.rep, date=day, fixed=[{"account_id": shop["id"], "at": "10:00"}])
    )
    stop = next(s for s in kept["stops"] if s["account_id"] == shop["id"])
    assert stop["arrival"] == "10:00", kept


def test_account_ids_must_be_visible_and_at_most_2000(client: FlaskClient, world: World) -> None:
    set_home(client, world, world.rep, *MILAN)
    day = plan_day().isoformat()
    stranger = create_account(client, world.rep2, location=HOME)
    response = post_plan(client, world.rep, date=day, account_ids=[stranger["id"]])
    fields = assert_invalid(response, "account_ids")
    assert stranger["id"] in fields["account_ids"][0]
    other_org = create_account(client, world.other_admin, location=HOME)
    assert_invalid(post_plan(client, world.rep, date=day, account_ids=[other_org["id"]]),
                   "account_ids")  # fmt: skip
    too_many = [str(uuid.uuid4()) for _ in range(MAX_CANDIDATES + 1)]
    assert_invalid(post_plan(client, world.rep, date=day, account_ids=too_many), "account_ids")


def test_a_day_where_nothing_fits_is_200_with_everything_unassigned(
    client: FlaskClient, world: World
) -> None:
    set_home(client, world, world.rep, *MILAN)
    day = plan_day()
    weekday = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")[day.weekday()]
    other_day = "tue" if weekday == "mon" else "mon"
    closed = create_account(client, world.rep, location=HOME, visit_every_days=7,
                            opening_hours={other_day: [["09:00", "18:00"]]})  # fmt: skip
    far = create_account(client, world.rep, location={"lat": 41.9, "lon": 12.5},
                         visit_every_days=7)  # fmt: skip
    nowhere = create_account(client, world.rep, visit_every_days=7)
    plan = planned(post_plan(client, world.rep, date=day, day_start="08:00", day_end="08:40"))
    assert plan["stops"] == [] and plan["totals"]["visits"] == 0
    reasons = {u["account_id"]: u["reason"] for u in plan["unassigned"]}
    assert set(reasons) == {closed["id"], far["id"], nowhere["id"]}, plan
    assert reasons[closed["id"]] == "closed"
    assert reasons[nowhere["id"]] == "no_location"


def test_a_week_spreads_the_accounts(client: FlaskClient, world: World) -> None:
    set_home(client, world, world.rep, *MILAN)
    accounts = due_accounts(client, world.rep, 12)
    start = plan_day()
    response = post_plan(client, world.rep, "/week", week_start=start, days=3, max_stops=3)
    plans = planned(response)["plans"]
    assert [p["date"] for p in plans] == [(start + timedelta(days=i)).isoformat()
                                          for i in range(3)]  # fmt: skip
    everywhere = [a for p in plans for a in stop_ids(p)]
    assert len(everywhere) == len(set(everywhere)), "no account twice in a week"
    assert all(len(stop_ids(p)) <= 3 for p in plans)
    assert set(everywhere) <= {a["id"] for a in accounts}
    assert len(everywhere) == 9, plans
    assert_error(post_plan(client, world.rep, "/week", week_start=start,
                           rep_id=str(world.rep2.id)), 403, "forbidden")  # fmt: skip
    assert_invalid(post_plan(client, world.rep, "/week", week_start=start, days=8), "days")
    bad_fixed = [{"account_id": accounts[0]["id"], "at": "10:00",
                  "date": (start + timedelta(days=9)).isoformat()}]  # fmt: skip
    assert_invalid(post_plan(client, world.rep, "/week", week_start=start, fixed=bad_fixed),
                   "fixed.0.date")  # fmt: skip


def test_a_team_day_gives_no_account_twice(client: FlaskClient, world: World) -> None:
    set_home(client, world, world.rep, *MILAN)
    set_home(client, world, world.rep2, MILAN[0] + 0.03, MILAN[1] + 0.03)
    territory = create_territory(client, world.admin, [world.rep.id, world.rep2.id],
                                 geometry=MILAN_SQUARE)  # fmt: skip
    accounts = due_accounts(client, world.admin, 10)
    day = plan_day()
    plans = planned(post_plan(client, world.manager, "/team", territory_id=territory["id"],
                              date=day))["plans"]  # fmt: skip
    assert {p["rep_id"] for p in plans} == {str(world.rep.id), str(world.rep2.id)}
    everywhere = [a for p in plans for a in stop_ids(p)]
    assert len(everywhere) == len(set(everywhere)), "no account twice in a team"
    assert set(everywhere) == {a["id"] for a in accounts}
    only = planned(post_plan(client, world.manager, "/team", territory_id=territory["id"],
                             date=day, rep_ids=[str(world.rep2.id)]))["plans"]  # fmt: skip
    assert [p["rep_id"] for p in only] == [str(world.rep2.id)]
    assert_error(post_plan(client, world.rep, "/team", territory_id=territory["id"], date=day),
                 403, "forbidden")  # fmt: skip
    assert_error(post_plan(client, world.manager, "/team", territory_id=str(uuid.uuid4()),
                           date=day), 404, "not_found")  # fmt: skip
    assert_error(post_plan(client, world.other_admin, "/team", territory_id=territory["id"],
                           date=day), 404, "not_found")  # fmt: skip
    assert_error(post_plan(client, world.manager, "/team", territory_id=territory["id"],
                           date=day, rep_ids=[str(world.loner.id)]), 403, "forbidden")  # fmt: skip


def test_stop_status_by_rest(client: FlaskClient, world: World) -> None:
    set_home(client, world, world.rep, *MILAN)
    due_accounts(client, world.rep, 3)
    plan = planned(post_plan(client, world.rep, date=plan_day()))
    stop = plan["stops"][0]["account_id"]
    url = f"/api/v1/plans/{plan['id']}/stops/{stop}"
    response = client.patch(url, json={"status": "skipped"}, headers=world.rep.headers)
    assert response.status_code == 200, response.json
    assert response.json["stops"][0]["status"] == "skipped"
    assert response.json["version"] == plan["version"] + 1
    assert response.json["actual"]["skipped"] == 1
    by_manager = client.patch(url, json={"status": "done"}, headers=world.manager.headers)
    assert by_manager.status_code == 200 and by_manager.json["stops"][0]["status"] == "done"
    stale = client.patch(
        url,
        json={"status": "planned"},
        headers={**world.rep.headers, "If-Match": f'"{plan["version"]}"'},
    )
    assert_error(stale, 412, "precondition_failed")
    assert_error(client.patch(url, json={"status": "done"}, headers=world.rep2.headers), 404,
                 "not_found")  # fmt: skip
    unknown = f"/api/v1/plans/{plan['id']}/stops/{uuid.uuid4()}"
    assert_error(client.patch(unknown, json={"status": "done"}, headers=world.rep.headers), 404,
                 "not_found")  # fmt: skip
    assert_invalid(client.patch(url, json={"status": "late"}, headers=world.rep.headers),
                   "status")  # fmt: skip
    assert_invalid(client.patch(url, json={"status": "done", "arrival": "09:00"},
                                headers=world.rep.headers), "arrival")  # fmt: skip


def test_a_visit_marks_its_stop_done_and_shows_in_the_actual(
    client: FlaskClient, world: World
) -> None:
    set_home(client, world, world.rep, *MILAN)
    accounts = due_accounts(client, world.rep, 3)
    day = plan_day()
    plan = planned(
        post_plan(client, world.rep, date=day, account_ids=[accounts[0]["id"], accounts[1]["id"]])
    )
    at = datetime.combine(day, time(10, 15), ROME_TZ).isoformat()
    create_interaction(client, world.rep, accounts[1]["id"], kind="visit", occurred_at=at)
    create_interaction(client, world.rep, accounts[2]["id"], kind="visit", occurred_at=at)
    create_interaction(client, world.rep, accounts[0]["id"], kind="call", occurred_at=at)
    late = datetime.combine(day + timedelta(days=1), time(0, 30), ROME_TZ).isoformat()
    create_interaction(client, world.rep, accounts[0]["id"], kind="visit", occurred_at=late)
    response = client.get(f"/api/v1/plans/{plan['id']}", headers=world.rep.headers)
    assert response.status_code == 200
    body = response.json
    statuses = {s["account_id"]: s["status"] for s in body["stops"]}
    assert statuses == {accounts[0]["id"]: "planned", accounts[1]["id"]: "done"}, body
    assert body["version"] == plan["version"] + 1
    assert body["actual"] == {
        "done": 1, "skipped": 0, "planned": 1, "visits": 2,
        "visited_stops": [accounts[1]["id"]], "unplanned_visits": [accounts[2]["id"]],
        "completion": 0.5, "distance_km_planned": plan["totals"]["distance_km"],
        "travel_minutes_planned": plan["totals"]["travel_minutes"],
    }  # fmt: skip


def test_appointments_of_a_week_or_a_team_are_named_by_their_index(
    client: FlaskClient, world: World
) -> None:
    for person in (world.rep, world.rep2):
        set_home(client, world, person, *MILAN)
    every_day = {day: [["09:00", "10:00"]] for day in ("mon", "tue", "wed", "thu", "fri")}
    every_day |= {"sat": [["09:00", "10:00"]], "sun": [["09:00", "10:00"]]}
    first = create_account(client, world.rep, location=HOME, opening_hours=every_day)
    second = create_account(client, world.rep, location=HOME, opening_hours=every_day)
    start = plan_day()
    fixed = [
        {"account_id": first["id"], "at": "09:00", "date": start.isoformat()},
        {
            "account_id": second["id"],
            "at": "15:00",
            "date": (start + timedelta(days=1)).isoformat(),
        },
    ]
    response = post_plan(client, world.rep, "/week", week_start=start, days=2, fixed=fixed)
    fields = assert_invalid(response, "fixed.1.at")
    assert "fixed.0.at" not in fields, fields
    fixed[1]["at"] = "09:00"
    plans = planned(post_plan(client, world.rep, "/week", week_start=start, days=2, fixed=fixed))
    firsts = [(p["stops"][0]["account_id"], p["stops"][0]["arrival"]) for p in plans["plans"]]
    assert firsts == [(first["id"], "09:00"), (second["id"], "09:00")], plans
    territory = create_territory(client, world.admin, [world.rep.id, world.rep2.id])
    team_fixed = [
        {"account_id": first["id"], "at": "09:00", "rep_id": str(world.rep.id)},
        {"account_id": second["id"], "at": "16:00", "rep_id": str(world.rep.id)},
    ]
    body = {"territory_id": territory["id"], "date": start, "fixed": team_fixed}
    assert_invalid(post_plan(client, world.manager, "/team", **body), "fixed.1.at")
    team_fixed[1] = {"account_id": second["id"], "at": "09:15", "rep_id": str(world.loner.id)}
    assert_invalid(post_plan(client, world.manager, "/team", **body), "fixed.1.rep_id")
