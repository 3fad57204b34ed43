"""Urgency of a visit: the pure score, the facts read from the database in bulk, and
``GET /api/v1/accounts?due=true`` ordered by it with working pages."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from fieldsync.config import ConfigurationError, load_settings
from fieldsync.extensions import db
from fieldsync.planning.due import (
    DueFacts,
    UrgencyWeights,
    account_urgencies,
    days_overdue,
    due_accounts,
    load_due_facts,
    rank,
    urgency,
)
from fieldsync.portfolio.models import Account
from tests.conftest import World
from tests.portfolio.helpers import (
    assert_invalid,
    create_account,
    create_interaction,
    create_task,
    list_all,
    list_page,
    url,
)

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def facts(**fields: object) -> DueFacts:
    values: dict[str, object] = {
        "account_id": uuid.UUID(int=1), "status": "customer", "visit_every_days": 30,
        "last_visit_at": NOW - timedelta(days=30), "created_at": NOW - timedelta(days=400),
        "annual_revenue": None, "open_tasks_due": 0, "last_contact_at": None,
    }  # fmt: skip
    values.update(fields)
    return DueFacts(**values)  # type: ignore[arg-type]


def test_days_overdue_against_the_cadence() -> None:
    assert days_overdue(facts(), NOW) == pytest.approx(0)
    assert days_overdue(facts(last_visit_at=NOW - timedelta(days=40)), NOW) == pytest.approx(10)
    assert days_overdue(facts(last_visit_at=NOW - timedelta(days=5)), NOW) == pytest.approx(-25)
    assert days_overdue(facts(visit_every_days=None), NOW) is None
    never = facts(last_visit_at=None, created_at=NOW - timedelta(days=3))
    assert days_overdue(never, NOW) == pytest.approx(3), "never visited: due since creation"


def test_overdue_dominates() -> None:
    late = facts(last_visit_at=NOW - timedelta(days=60))  # a whole cadence late
    on_time = facts(
        status="customer", open_tasks_due=1, annual_revenue=5e6,
        last_visit_at=NOW - timedelta(days=30),
    )  # fmt: skip
    assert urgency(late, NOW) > urgency(on_time, NOW)
    # relative to the cadence: 10 days late on a 14-day cadence beats 10 on a 90-day one
    short = facts(visit_every_days=14, last_visit_at=NOW - timedelta(days=24))
    long = facts(visit_every_days=90, last_visit_at=NOW - timedelta(days=100))
    assert urgency(short, NOW) > urgency(long, NOW)


def test_status_tasks_value_and_silence_each_add() -> None:
    base = facts(status="lead")
    assert urgency(facts(status="customer"), NOW) > urgency(facts(status="prospect"), NOW)
    assert urgency(facts(status="prospect"), NOW) > urgency(base, NOW)
    assert urgency(base, NOW) > urgency(facts(status="inactive"), NOW)
    assert urgency(replace(base, open_tasks_due=2), NOW) > urgency(base, NOW)
    richer = urgency(replace(base, annual_revenue=1e6), NOW)
    assert urgency(replace(base, annual_revenue=1e7), NOW) - richer == pytest.approx(0.5, abs=0.01)
    recent_call = replace(base, last_contact_at=NOW - timedelta(days=1))
    assert urgency(base, NOW) > urgency(recent_call, NOW), "a recent call lowers the silence"


def test_weights_turn_terms_off_and_scores_stay_positive() -> None:
    off = UrgencyWeights(overdue=0, tasks=0, status=0, value=0, silence=0)
    assert urgency(facts(open_tasks_due=3, annual_revenue=1e9), NOW, off) == 1.0
    assert urgency(facts(status="inactive", visit_every_days=None), NOW) > 0
    weights = UrgencyWeights.from_settings({"URGENCY_WEIGHT_TASKS": "3", "URGENCY_WEIGHT_VALUE": 0})
    assert (weights.tasks, weights.value, weights.overdue) == (3.0, 0.0, 1.0)
    with pytest.raises(ValueError):
        UrgencyWeights.from_settings({"URGENCY_WEIGHT_STATUS": -1})


def test_rank_is_deterministic() -> None:
    a, b, c = uuid.UUID(int=3), uuid.UUID(int=1), uuid.UUID(int=2)
    assert rank({a: 5.0, b: 5.0, c: 9.0}) == [c, b, a]


# --- with the database ------------------------------------------------------------------------


def test_facts_are_read_in_bulk(app, client, world: World) -> None:
    now = datetime.now(UTC)
    visited = create_account(client, world.admin, visit_every_days=30)["id"]
    create_interaction(client, world.admin, visited, kind="visit",
                       occurred_at=(now - timedelta(days=40)).isoformat())  # fmt: skip
    create_interaction(client, world.admin, visited, kind="call",
                       occurred_at=(now - timedelta(days=2)).isoformat())  # fmt: skip
    create_task(
        client, world.admin, account_id=visited, due_at=(now - timedelta(days=1)).isoformat()
    )
    create_task(
        client, world.admin, account_id=visited, due_at=(now + timedelta(days=5)).isoformat()
    )
    create_task(client, world.admin, account_id=visited, done=True,
                due_at=(now - timedelta(days=3)).isoformat())  # fmt: skip
    quiet = create_account(client, world.admin, status="lead")["id"]
    with app.app_context():
        accounts = db.session.execute(
            select(Account).where(Account.id.in_([uuid.UUID(visited), uuid.UUID(quiet)]))
        ).scalars()
        found = load_due_facts(db.session, accounts, now)
    v, q = found[uuid.UUID(visited)], found[uuid.UUID(quiet)]
    assert v.open_tasks_due == 1, "only open tasks already due count"
    assert v.last_contact_at is not None and v.last_contact_at > now - timedelta(days=3), v
    assert v.last_visit_at is not None and v.last_visit_at < now - timedelta(days=39), v
    assert days_overdue(v, now) == pytest.approx(10, abs=0.01)
    assert (q.open_tasks_due, q.last_contact_at, q.visit_every_days) == (0, None, None)


def _overdue_accounts(client, world: World) -> dict[str, str]:
    """Accounts of known urgency order: very late, late with a task, just due, a lead."""
    now = datetime.now(UTC)
    made = {}
    for name, status, days_ago in (
        ("very_late", "customer", 90), ("late", "customer", 45), ("just_due", "customer", 31),
        ("lead", "lead", 31), ("recent", "customer", 3),
    ):  # fmt: skip
        made[name] = create_account(
            client, world.admin, name=name, status=status, visit_every_days=30
        )["id"]
        create_interaction(client, world.admin, made[name], kind="visit",
                           occurred_at=(now - timedelta(days=days_ago)).isoformat())  # fmt: skip
    create_task(client, world.admin, account_id=made["just_due"], title="Bring the samples",
                due_at=(now - timedelta(hours=1)).isoformat())  # fmt: skip
    return made


def test_due_accounts_are_most_urgent_first(client, world: World) -> None:
    made = _overdue_accounts(client, world)
    items = list_all(client, world.admin, "accounts", due="true")
    assert [i["name"] for i in items] == ["very_late", "late", "just_due", "lead"], items
    # pages of one walk the same order, each account once
    paged = list_all(client, world.admin, "accounts", due="true", limit=1)
    assert [i["id"] for i in paged] == [i["id"] for i in items]
    assert made["recent"] not in {i["id"] for i in paged}


def test_due_order_with_other_filters_and_scope(client, world: World) -> None:
    _overdue_accounts(client, world)
    leads = list_all(client, world.admin, "accounts", due="true", status="lead")
    assert [i["name"] for i in leads] == ["lead"]
    assert list_all(client, world.other_admin, "accounts", due="true") == []


def test_due_order_pages_keep_their_instant(client, world: World) -> None:
    _overdue_accounts(client, world)
    first = list_page(client, world.admin, "accounts", due="true", limit=2)
    second = list_page(client, world.admin, "accounts", due="true", limit=2,
                       cursor=first["next_cursor"])  # fmt: skip
    assert [i["name"] for i in first["items"] + second["items"]] == [
        "very_late", "late", "just_due", "lead"
    ]  # fmt: skip
    assert second["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "e30",  # {}
        "eyJhdCI6Im5vdyIsInNjb3JlIjoxLCJpZCI6IngifQ",  # {"at":"now","score":1,"id":"x"}
        "garbage!!",
    ],
)
def test_a_damaged_due_cursor_is_invalid(client, world: World, cursor: str) -> None:
    response = client.get(
        url("accounts"), query_string={"due": "true", "cursor": cursor},
        headers=world.admin.headers,
    )  # fmt: skip
    assert_invalid(response, "cursor")


def test_due_accounts_for_planning(app, client, world: World) -> None:
    made = _overdue_accounts(client, world)
    now = datetime.now(UTC)
    with app.app_context():
        found = due_accounts(
            db.session, condition=Account.org_id == world.org_id, until=now, now=now, limit=3
        )
        scores = account_urgencies(db.session, found, now=now)
    assert [a.name for a in found] == ["very_late", "late", "just_due"]
    assert made["recent"] not in {str(a.id) for a in found}
    assert list(scores.values()) == sorted(scores.values(), reverse=True)


@pytest.mark.parametrize(
    "override",
    [
        {"URGENCY_WEIGHT_TASKS": -1},
        {"URGENCY_WEIGHT_VALUE": "lots"},
        {"TRAVEL_SPEED_KMH": 0},
        {"TRAVEL_ROAD_FACTOR": 0.8},
        {"OSRM_TIMEOUT": -5},
    ],
)
def test_planning_settings_that_cannot_work_are_refused(tmp_path, override: dict) -> None:
    with pytest.raises(ConfigurationError):
        load_settings(str(tmp_path), override)
    assert load_settings(str(tmp_path))["URGENCY_WEIGHT_OVERDUE"] == 1.0
