"""The demo organisation: built through the services, visible through the API, idempotent."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
import shapely
from flask import Flask
from flask.testing import FlaskClient
from shapely.geometry import shape
from sqlalchemy import func, select

import fieldsync.demo as demo
from fieldsync.auth.models import Organisation, User
from fieldsync.db import unit_of_work
from fieldsync.demo import DEMO_PASSWORD, DemoResult, build_demo
from fieldsync.extensions import db
from fieldsync.geo.models import Territory, TerritoryRep
from fieldsync.geo.schemas import TerritoryCreateSchema
from fieldsync.portfolio import schemas
from fieldsync.portfolio.models import Account, Contact, Interaction, Task
from fieldsync.portfolio.service import jsonable
from fieldsync.web import AUTH_SETTINGS_KEY

ACCOUNT_COUNT = 40
MANAGER = "manager@demo.fieldsync.test"
REPS = ("rep.milano@demo.fieldsync.test", "rep.paris@demo.fieldsync.test",
        "rep.madrid@demo.fieldsync.test")  # fmt: skip
CREATE_SCHEMAS = {
    "accounts": schemas.AccountCreateSchema,
    "contacts": schemas.ContactCreateSchema,
    "interactions": schemas.InteractionCreateSchema,
    "tasks": schemas.TaskCreateSchema,
}
MODELS = (Organisation, User, Territory, TerritoryRep, Account, Contact, Interaction, Task)


def build(app: Flask, count: int = ACCOUNT_COUNT) -> DemoResult:
    with app.app_context(), unit_of_work(db.session):
        return build_demo(db.session, app.extensions[AUTH_SETTINGS_KEY], account_count=count)


def row_counts(app: Flask) -> dict[str, int]:
    with app.app_context():
        return {
            model.__name__: db.session.scalar(select(func.count()).select_from(model)) or 0
            for model in MODELS
        }


def login(client: FlaskClient, email: str) -> tuple[dict[str, str], str]:
    response = client.post("/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.json
    return {"Authorization": f"Bearer {response.json['access_token']}"}, response.json["user"]["id"]


def list_all(client: FlaskClient, path: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        response = client.get(path, query_string=query, headers=headers)
        assert response.status_code == 200, response.json
        items += response.json["items"]
        cursor = response.json["next_cursor"]
        if cursor is None:
            return items


def as_wire(data: dict[str, Any]) -> dict[str, Any]:
    return dict(json.loads(json.dumps(jsonable(data))))


def test_every_record_is_valid_input_of_the_contract(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the demo writes would be accepted by the REST API as it stands."""
    created: Counter[str] = Counter()
    real_create_record, real_create_territory = demo.create_record, demo.create_territory

    def checked_record(session: Any, *, actor: Any, entity: str, data: dict[str, Any]) -> Any:
        CREATE_SCHEMAS[entity]().load(as_wire(data))
        created[entity] += 1
        return real_create_record(session, actor=actor, entity=entity, data=data)

    def checked_territory(session: Any, *, actor: Any, data: dict[str, Any]) -> Any:
        TerritoryCreateSchema().load(as_wire(data))
        created["territories"] += 1
        return real_create_territory(session, actor=actor, data=data)

    monkeypatch.setattr(demo, "create_record", checked_record)
    monkeypatch.setattr(demo, "create_territory", checked_territory)
    result = build(app)
    assert result.accounts == created["accounts"] == ACCOUNT_COUNT
    assert created["territories"] == 5
    assert created["contacts"] >= ACCOUNT_COUNT // 2
    assert created["interactions"] >= ACCOUNT_COUNT
    assert created["tasks"] > 0
    assert [role for role, _ in result.logins] == ["admin", "manager", "rep", "rep", "rep"]


def test_manager_sees_everything_and_reps_their_scope(app: Flask, client: FlaskClient) -> None:
    result = build(app)
    headers, _ = login(client, MANAGER)
    everything = list_all(client, "/api/v1/accounts", headers)
    assert len(everything) == result.accounts == ACCOUNT_COUNT

    seen_by_reps: set[str] = set()
    for email in REPS:
        rep_headers, rep_id = login(client, email)
        territories = {t["id"] for t in list_all(client, "/api/v1/territories", rep_headers)}
        assert territories, f"{email} has no territory"
        visible = list_all(client, "/api/v1/accounts", rep_headers)
        assert 0 < len(visible) < len(everything)
        for account in visible:
            assert account["territory_id"] in territories or account["owner_id"] == rep_id
        seen_by_reps |= {a["id"] for a in visible}
        me = client.get("/api/v1/me", headers=rep_headers).json
        assert me["role"] == "rep"
    # Key accounts owned by the manager outside every territory are the only ones reps miss.
    for account in everything:
        if account["id"] not in seen_by_reps:
            assert account["territory_id"] is None and "key-account" in account["tags"]


def test_accounts_are_located_placed_and_lived_in(app: Flask, client: FlaskClient) -> None:
    build(app)
    headers, _ = login(client, MANAGER)
    accounts = list_all(client, "/api/v1/accounts", headers)
    territories = list_all(client, "/api/v1/territories", headers)
    polygons = [(t["id"], shape(t["geometry"])) for t in territories if t["geometry"]]
    postal = {(t["country"], code): t["id"] for t in territories if t["postal_codes"]
              for code in t["postal_codes"]}  # fmt: skip

    placed = 0
    for account in accounts:
        # Addresses only: the embedded gazetteer put every account on the map.
        assert account["geocode_status"] == "ok", (account["address"], account["geocode_error"])
        assert account["location"]["precision"] == "postcode"
        assert account["location"]["source"] == "geocoder"
        address = account["address"]
        assert address["country"] in {"IT", "FR", "ES", "DE"}
        assert address["city"] and address["street"] and address["postal_code"]
        assert account["phone"].startswith("+")
        point = (account["location"]["lon"], account["location"]["lat"])
        inside = [tid for tid, polygon in polygons if shapely.intersects_xy(polygon, *point)]
        by_code = postal.get((address["country"], address["postal_code"]))
        expected = by_code or (inside[0] if inside else None)
        assert account["territory_id"] == expected, account["name"]
        placed += expected is not None
        if account["kind"] == "company":
            assert account["legal_form"] and account["name"].endswith(account["legal_form"])
    assert 0 < placed < len(accounts)
    assert {a["status"] for a in accounts} >= {"customer", "prospect"}

    contacts = list_all(client, "/api/v1/contacts", headers)
    companies = {a["id"] for a in accounts if a["kind"] == "company"}
    assert {c["account_id"] for c in contacts} == companies
    interactions = list_all(client, "/api/v1/interactions", headers)
    visits = [i for i in interactions if i["kind"] == "visit"]
    assert visits and all(v["check_in"] and v["user_id"] for v in visits)
    assert Counter(v["verification"]["status"] for v in visits)["verified"] > len(visits) / 2
    visited = {v["account_id"] for v in visits}
    assert all(a["last_visit_at"] for a in accounts if a["id"] in visited)
    tasks = list_all(client, "/api/v1/tasks", headers)
    assert {t["done"] for t in tasks} == {True, False}


def test_building_twice_creates_nothing_new(app: Flask) -> None:
    first = build(app)
    before = row_counts(app)
    second = build(app, count=ACCOUNT_COUNT + 10)
    assert second == first
    assert row_counts(app) == before


def test_the_cli_builds_the_demo_and_prints_the_logins(app: Flask) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["demo", "--accounts", "30"])
    assert result.exit_code == 0, result.output
    assert "(30 accounts)" in result.output
    assert DEMO_PASSWORD in result.output
    for email in ("admin@demo.fieldsync.test", MANAGER, *REPS):
        assert email in result.output
    again = runner.invoke(args=["demo", "--accounts", "30"])
    assert again.exit_code == 0, again.output
    assert again.output == result.output


def test_a_demo_rep_gets_a_feasible_day_and_week_plan_on_the_phone(
    app: Flask, client: FlaskClient
) -> None:
    """The issue's 'done when': plans from the demo's own data, delivered by pull."""
    build(app, count=120)
    headers, rep_id = login(client, REPS[0])
    day = client.post("/api/v1/plans", json={"date": "2026-12-01"}, headers=headers)
    assert day.status_code == 200, day.json
    plan = day.json
    assert plan["rep_id"] == rep_id and plan["stops"], f"a day with visits: {plan}"
    times = [(stop["arrival"], stop["departure"]) for stop in plan["stops"]]
    assert all("08:30" <= a <= d <= "17:30" for a, d in times), times
    assert [a for a, _ in times] == sorted(a for a, _ in times), "stops in time order"
    assert plan["totals"]["visits"] == len(plan["stops"])
    week = client.post(
        "/api/v1/plans/week", json={"week_start": "2026-12-07", "days": 5}, headers=headers
    )
    assert week.status_code == 200, week.json
    visited = [stop["account_id"] for p in week.json["plans"] for stop in p["stops"]]
    assert len(week.json["plans"]) == 5 and visited, week.json
    assert len(visited) == len(set(visited)), "no account twice in a week"

    pulled: dict[str, Any] = {}
    cursor = None
    while True:
        response = client.get(
            "/api/v1/sync/pull",
            query_string={"cursor": cursor} if cursor else {},
            headers=headers,
        )
        assert response.status_code == 200, response.json
        plans = response.json["changes"].get("visit_plans", {})
        pulled.update({p["id"]: p for p in plans.get("upserted", [])})
        cursor = response.json["cursor"]
        if not response.json["has_more"]:
            break
    wanted = {plan["id"], *(p["id"] for p in week.json["plans"])}
    assert wanted <= set(pulled), "the rep's phone receives the day and the week"
