"""Visit plans on phones: pulled with the scope, stop statuses pushed back, visits marking
stops done, and the pull serialiser writing what the read schema dumps."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from fieldsync.extensions import db
from fieldsync.planning.models import VisitPlan
from fieldsync.planning.schemas import VisitPlanSchema
from fieldsync.sync import serialise
from fieldsync.sync.models import Conflict, QuarantinedMutation
from tests.conftest import World, login
from tests.planning.plan_helpers import (
    ROME_TZ,
    due_accounts,
    plan_day,
    planned,
    post_plan,
    set_home,
)
from tests.portfolio.helpers import MILAN
from tests.sync.device import Phone, delete, upsert


def phone_for(client: FlaskClient, email: str) -> Phone:
    return Phone(client, login(client, email)["access_token"])


def _plan_for(client: FlaskClient, world: World, person: Any, count: int = 3, **body: Any) -> Any:
    set_home(client, world, person, *MILAN)
    due_accounts(client, person, count)
    return planned(post_plan(client, person, date=body.pop("date", plan_day()), **body))


def stops_push(plan_id: str, *stops: tuple[str, str], **extra: Any) -> dict[str, Any]:
    fields = {"stops": [{"account_id": a, "status": s} for a, s in stops], **extra}
    return upsert("visit_plans", plan_id, fields, base_version=1)


def test_plans_reach_their_rep_by_pull_and_changes_follow(
    client: FlaskClient, world: World
) -> None:
    plan = _plan_for(client, world, world.rep)
    rep_phone, rep2_phone = phone_for(client, world.rep.email), phone_for(client, world.rep2.email)
    manager_phone = phone_for(client, world.manager.email)
    last = rep_phone.pull(limit=2, checksum=True)
    assert rep_phone.store["visit_plans"] == {plan["id"]: plan}
    lines = "\n".join(sorted(rep_phone.versions()))
    assert last["checksum"] == hashlib.sha256(lines.encode()).hexdigest(), "plans counted"
    rep2_phone.pull()
    assert rep2_phone.store["visit_plans"] == {}, "another rep's plan stays off the phone"
    manager_phone.pull()
    assert set(manager_phone.store["visit_plans"]) == {plan["id"]}, "a manager's team plans"
    # A change of the plan (a stop done on the web) and a new plan arrive on the next pull.
    stop = plan["stops"][0]["account_id"]
    client.patch(f"/api/v1/plans/{plan['id']}/stops/{stop}", json={"status": "done"},
                 headers=world.manager.headers)  # fmt: skip
    tomorrow = planned(post_plan(client, world.rep, date=plan_day() + timedelta(days=1)))
    rep_phone.pull(checksum=True)
    held = rep_phone.store["visit_plans"]
    assert set(held) == {plan["id"], tomorrow["id"]}
    assert held[plan["id"]]["version"] == plan["version"] + 1
    assert held[plan["id"]]["stops"][0]["status"] == "done"
    assert held[tomorrow["id"]] == tomorrow


def test_old_plans_leave_the_phone(client: FlaskClient, world: World, app: Flask) -> None:
    plan = _plan_for(client, world, world.rep)
    phone = phone_for(client, world.rep.email)
    phone.pull()
    assert plan["id"] in phone.store["visit_plans"]
    with app.app_context():  # the plan is a month old now
        row = db.session.get(VisitPlan, uuid.UUID(plan["id"]))
        assert row is not None
        row.date = date.today() - timedelta(days=30)
        db.session.commit()
    phone.pull()
    assert plan["id"] not in phone.store["visit_plans"]
    response = client.get(f"/api/v1/plans/{plan['id']}", headers=world.rep.headers)
    assert response.status_code == 200, "still readable on the web"


def test_a_stop_done_by_push_flows_back(client: FlaskClient, world: World) -> None:
    plan = _plan_for(client, world, world.rep)
    phone = phone_for(client, world.rep.email)
    phone.pull()
    first, second = (s["account_id"] for s in plan["stops"][:2])
    result = phone.push([stops_push(plan["id"], (first, "done"), (second, "skipped"))])
    assert result["results"][0]["status"] == "applied", result
    assert result["results"][0]["version"] == plan["version"] + 1
    body = client.get(f"/api/v1/plans/{plan['id']}", headers=world.manager.headers).json
    statuses = {s["account_id"]: s["status"] for s in body["stops"]}
    assert statuses[first] == "done" and statuses[second] == "skipped"
    assert body["actual"]["done"] == 1 and body["actual"]["skipped"] == 1
    phone.pull(checksum=True)
    assert phone.store["visit_plans"][plan["id"]]["version"] == body["version"]
    assert phone.store["visit_plans"][plan["id"]]["stops"] == body["stops"]


def test_a_later_edit_of_a_stop_wins_and_the_loser_is_logged(
    client: FlaskClient, world: World, app: Flask
) -> None:
    plan = _plan_for(client, world, world.rep)
    phone = phone_for(client, world.rep.email)
    stop = plan["stops"][0]["account_id"]
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    client.patch(f"/api/v1/plans/{plan['id']}/stops/{stop}", json={"status": "skipped"},
                 headers=world.manager.headers)  # fmt: skip
    mutation = upsert("visit_plans", plan["id"], {"stops": [{"account_id": stop,
                      "status": "done"}]}, base_version=1, changed_at=long_ago)  # fmt: skip
    result = phone.push([mutation])["results"][0]
    assert result["status"] == "merged", result
    assert result["conflicts"] == [
        {"field": f"stops.{stop}.status", "kept": "skipped", "discarded": "done"}
    ]
    with app.app_context():
        logged = db.session.execute(select(Conflict)).scalars().all()
        assert [(c.entity, c.kept, c.discarded) for c in logged] == [
            ("visit_plans", "skipped", "done")
        ]
    inbox = client.get("/api/v1/conflicts", headers=world.rep.headers).json["items"]
    assert [c["record_id"] for c in inbox] == [plan["id"]]


def test_pushes_that_touch_more_than_stop_statuses_are_rejected(
    client: FlaskClient, world: World, app: Flask
) -> None:
    plan = _plan_for(client, world, world.rep)
    theirs = _plan_for(client, world, world.rep2)
    phone = phone_for(client, world.rep.email)
    stop = plan["stops"][0]["account_id"]
    mutations = [
        stops_push(plan["id"], (stop, "done"), totals={"visits": 0}),
        upsert("visit_plans", plan["id"], {"date": "2030-01-01"}, base_version=1),
        upsert(
            "visit_plans",
            plan["id"],
            {"stops": [{"account_id": stop, "status": "done", "arrival": "09:00"}]},
        ),
        stops_push(plan["id"], (stop, "finished")),
        stops_push(plan["id"], (str(uuid.uuid4()), "done")),
        stops_push(theirs["id"], (theirs["stops"][0]["account_id"], "done")),
        stops_push(str(uuid.uuid4()), (stop, "done")),
        delete("visit_plans", plan["id"], base_version=1),
    ]
    results = phone.push(mutations)["results"]
    assert [r["status"] for r in results] == ["rejected"] * len(mutations), results
    errors = [r["errors"] for r in results]
    assert "totals" in errors[0]
    assert "date" in errors[1]
    assert "stops.0.arrival" in errors[2]
    assert "stops.0.status" in errors[3]
    assert "stops.0.account_id" in errors[4]
    assert "_mutation" in errors[5] and "_mutation" in errors[6] and "_mutation" in errors[7]
    body = client.get(f"/api/v1/plans/{plan['id']}", headers=world.rep.headers).json
    assert body["version"] == plan["version"] and body["stops"] == plan["stops"]
    with app.app_context():
        kept = db.session.execute(select(QuarantinedMutation)).scalars().all()
        assert len(kept) == len(mutations), "nothing typed on a phone is lost"


def test_a_pushed_visit_marks_its_stop_done(client: FlaskClient, world: World) -> None:
    plan = _plan_for(client, world, world.rep)
    phone = phone_for(client, world.rep.email)
    phone.pull()
    stop = plan["stops"][-1]["account_id"]
    at = datetime.combine(date.fromisoformat(plan["date"]), time(16, 0), ROME_TZ)
    visit = upsert(
        "interactions",
        str(uuid.uuid4()),
        {"account_id": stop, "kind": "visit", "occurred_at": at.isoformat()},
    )
    assert phone.push([visit])["results"][0]["status"] == "applied"
    last = phone.pull(checksum=True)
    lines = "\n".join(sorted(phone.versions()))
    assert last["checksum"] == hashlib.sha256(lines.encode()).hexdigest()
    held = phone.store["visit_plans"][plan["id"]]
    assert held["version"] == plan["version"] + 1
    assert {s["account_id"]: s["status"] for s in held["stops"]}[stop] == "done"
    body = client.get(f"/api/v1/plans/{plan['id']}", headers=world.rep.headers).json
    assert body["actual"]["visited_stops"] == [stop]


def test_the_pull_serialiser_writes_what_the_schema_dumps() -> None:
    now = datetime(2026, 11, 22, 9, 12, 30, tzinfo=UTC)
    plan = VisitPlan(
        id=uuid.uuid4(), org_id=uuid.uuid4(), rep_id=uuid.uuid4(), date=date(2026, 11, 23),
        version=3, created_at=now, updated_at=now + timedelta(seconds=1), deleted_at=None,
        stops=[{"status": "done", "distance_km": 1.5, "travel_minutes": 4, "departure": "09:30",
                "arrival": "09:00", "account_id": str(uuid.uuid4())}],
        unassigned=[{"reason": "closed", "account_id": str(uuid.uuid4())}],
        totals={"visits": 1, "travel_minutes": 8, "distance_km": 3.0},
    )  # fmt: skip
    expected = VisitPlanSchema().dump(plan)
    got = serialise.dump("visit_plans", plan)
    assert got == expected
    assert list(got) == list(expected)
    assert list(got["stops"][0]) == list(expected["stops"][0]), "nested keys in schema order"
    assert list(got["totals"]) == list(expected["totals"])
