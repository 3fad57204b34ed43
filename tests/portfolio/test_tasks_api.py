"""Tasks: done/done_at, the assignee, tasks with and without an account, filters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.conftest import World
from tests.portfolio.helpers import (
    assert_invalid,
    create_account,
    create_task,
    fetch,
    list_ids,
    new_id,
    url,
)


def patch(client, person, task_id: str, body: dict) -> dict:
    response = client.patch(url("tasks", task_id), json=body, headers=person.headers)
    assert response.status_code == 200, (response.status_code, response.json)
    return dict(response.json)


def instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_done_sets_done_at(client, world: World) -> None:
    task = create_task(client, world.rep)
    assert not task["done"] and task["done_at"] is None, task
    before = datetime.now(UTC) - timedelta(seconds=5)
    done = patch(client, world.rep, task["id"], {"done": True})
    assert done["done"] is True, done
    assert done["done_at"] is not None, done
    assert before <= instant(done["done_at"]) <= datetime.now(UTC) + timedelta(seconds=5), done


def test_a_task_created_done_has_done_at(client, world: World) -> None:
    task = create_task(client, world.rep, done=True)
    assert task["done_at"] is not None, task


def test_a_given_done_at_is_kept(client, world: World) -> None:
    task = create_task(client, world.rep, done=True, done_at="2026-11-20T17:00:00+01:00")
    assert instant(task["done_at"]) == instant("2026-11-20T16:00:00Z"), task


def test_reopening_clears_done_at(client, world: World) -> None:
    task = create_task(client, world.rep, done=True)
    reopened = patch(client, world.rep, task["id"], {"done": False})
    assert reopened["done"] is False and reopened["done_at"] is None, reopened


def test_the_assignee_defaults_to_the_creator(client, world: World) -> None:
    task = create_task(client, world.rep)
    assert task["assignee_id"] == str(world.rep.id), task
    assert task["created_by"] == str(world.rep.id), task


def test_an_assignee_may_be_named(client, world: World) -> None:
    task = create_task(client, world.manager, assignee_id=str(world.rep.id))
    assert task["assignee_id"] == str(world.rep.id), task
    assert task["created_by"] == str(world.manager.id), task


@pytest.mark.parametrize("who", ["unknown", "other_org"])
def test_an_assignee_outside_the_organisation_is_invalid(client, world: World, who: str) -> None:
    assignee = new_id() if who == "unknown" else str(world.other_admin.id)
    response = client.post(url("tasks"), json={"title": "x", "assignee_id": assignee},
                           headers=world.admin.headers)  # fmt: skip
    assert_invalid(response, "assignee_id")
    task = create_task(client, world.admin)
    response = client.patch(url("tasks", task["id"]), json={"assignee_id": assignee},
                            headers=world.admin.headers)  # fmt: skip
    assert_invalid(response, "assignee_id")
    assert fetch(client, world.admin, "tasks", task["id"]) == task


def test_a_task_may_name_an_account(client, world: World) -> None:
    account = create_account(client, world.rep)
    task = create_task(client, world.rep, account_id=account["id"], kind="visit",
                       due_at="2026-12-01T09:00:00Z")  # fmt: skip
    assert task["account_id"] == account["id"], task
    assert instant(task["due_at"]) == instant("2026-12-01T09:00:00Z"), task


def test_an_unknown_account_is_invalid(client, world: World) -> None:
    response = client.post(url("tasks"), json={"title": "x", "account_id": new_id()},
                           headers=world.rep.headers)  # fmt: skip
    assert_invalid(response, "account_id")
    task = create_task(client, world.rep)
    response = client.patch(url("tasks", task["id"]), json={"account_id": new_id()},
                            headers=world.rep.headers)  # fmt: skip
    assert_invalid(response, "account_id")


def test_an_account_can_be_detached(client, world: World) -> None:
    account = create_account(client, world.rep)
    task = create_task(client, world.rep, account_id=account["id"])
    assert patch(client, world.rep, task["id"], {"account_id": None})["account_id"] is None


def test_filter_by_done(client, world: World) -> None:
    never_touched = create_task(client, world.admin)["id"]
    open_task = create_task(client, world.admin, done=False)["id"]
    finished = create_task(client, world.admin, done=True)["id"]
    assert list_ids(client, world.admin, "tasks", done="true") == {finished}
    open_ids = list_ids(client, world.admin, "tasks", done="false")
    assert open_ids == {never_touched, open_task}, "a task never marked done is open"


def test_filter_by_assignee_and_account(client, world: World) -> None:
    account = create_account(client, world.admin)
    for_rep = create_task(client, world.admin, assignee_id=str(world.rep.id))["id"]
    on_account = create_task(client, world.admin, account_id=account["id"])["id"]
    assert list_ids(client, world.admin, "tasks", assignee_id=str(world.rep.id)) == {for_rep}
    assert list_ids(client, world.admin, "tasks", account_id=account["id"]) == {on_account}


def test_filter_due_before(client, world: World) -> None:
    soon = create_task(client, world.admin, due_at="2026-11-25T09:00:00Z")["id"]
    create_task(client, world.admin, due_at="2026-12-25T09:00:00Z")
    create_task(client, world.admin)
    ids = list_ids(client, world.admin, "tasks", due_before="2026-12-01T00:00:00Z")
    assert ids == {soon}
