"""Property: several offline phones edit, create and delete at random, push in random order,
retry (lost responses, duplicated requests) and pull. At the end every phone holds exactly the
server's state of its scope, and no acknowledged write is missing."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldsync.extensions import limiter
from tests.conftest import delete_all_rows, login, make_world
from tests.sync.device import Phone, delete, upsert

FIELDS = ("name", "phone", "notes", "industry")
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


@dataclass
class Written:
    """A field value the server acknowledged as taken."""

    entity: str
    record_id: str
    field: str
    value: Any
    version: int


@dataclass
class OfflinePhone:
    phone: Phone
    email: str
    queue: list[dict[str, Any]] = field(default_factory=list)
    clock_skew: timedelta = timedelta(0)


@dataclass
class Ledger:
    acknowledged: list[Written] = field(default_factory=list)
    # (entity, id, field) -> base versions of later acknowledged writes
    bases: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)
    deleted: set[tuple[str, str]] = field(default_factory=set)
    created: set[tuple[str, str]] = field(default_factory=set)


operation = st.one_of(
    st.tuples(
        st.just("edit"),
        st.integers(0, 2),
        st.integers(0, 50),
        st.sampled_from(FIELDS),
        st.text("abcdefgh", min_size=1, max_size=6),
    ),
    st.tuples(st.just("create_account"), st.integers(0, 2)),
    st.tuples(st.just("create_contact"), st.integers(0, 2), st.integers(0, 50)),
    st.tuples(st.just("delete_contact"), st.integers(0, 2), st.integers(0, 50)),
    st.tuples(st.just("push"), st.integers(0, 2), st.sampled_from(["ok", "lost", "dup"])),
    st.tuples(st.just("pull"), st.integers(0, 2), st.sampled_from(["ok", "lost"])),
    st.tuples(st.just("tick"), st.integers(1, 120)),
)


def _pick(records: dict[str, Any], index: int) -> tuple[str, dict[str, Any]] | None:
    if not records:
        return None
    key = sorted(records)[index % len(records)]
    return key, records[key]


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(operation, min_size=5, max_size=40))
def test_offline_phones_converge_and_lose_nothing(app: Flask, ops: list[tuple[Any, ...]]) -> None:
    delete_all_rows(app)
    with app.app_context():
        limiter.reset()  # every example logs in afresh
    client = app.test_client()
    world = make_world(app, client)
    phones = [
        OfflinePhone(
            Phone(client, login(client, world.rep.email)["access_token"]), world.rep.email
        ),
        OfflinePhone(
            Phone(client, login(client, world.rep.email)["access_token"]),
            world.rep.email,
            clock_skew=timedelta(minutes=7),
        ),
        OfflinePhone(
            Phone(client, login(client, world.manager.email)["access_token"]),
            world.manager.email,
            clock_skew=timedelta(minutes=-5),
        ),
    ]
    seed = [str(uuid.uuid4()) for _ in range(3)]
    for index, account_id in enumerate(seed):
        created = client.post(
            "/api/v1/accounts",
            headers=world.rep.headers,
            json={
                "id": account_id,
                "kind": "company",
                "status": "customer",
                "name": f"Seed {index}",
            },
        )
        assert created.status_code == 201, created.json
    for offline in phones:
        offline.phone.pull()
    ledger = Ledger()
    now = T0

    def device_clock(offline: OfflinePhone) -> datetime:
        return now + offline.clock_skew

    def push(offline: OfflinePhone, mode: str) -> None:
        if not offline.queue:
            return
        changeset = str(uuid.uuid4())
        mutations, offline.queue = offline.queue, []
        result = offline.phone.push(
            mutations, changeset_id=changeset, device_time=device_clock(offline)
        )
        if mode in ("lost", "dup"):  # the response never arrived, or the request went twice
            again = offline.phone.push(
                mutations, changeset_id=changeset, device_time=device_clock(offline)
            )
            assert again == result, "a replayed changeset must answer the stored response"
        record(mutations, result["results"])

    def record(mutations: list[dict[str, Any]], results: list[dict[str, Any]]) -> None:
        assert len(results) == len(mutations)
        for mutation, outcome in zip(mutations, results, strict=True):
            assert outcome["status"] != "rejected", (mutation, outcome)
            key = (mutation["entity"], mutation["id"])
            if mutation["op"] == "delete":
                ledger.deleted.add(key)
                continue
            if mutation["base_version"] is None:
                ledger.created.add(key)
            lost = {c["field"] for c in outcome.get("conflicts", [])}
            for name, value in mutation["fields"].items():
                ledger.bases.setdefault((*key, name), []).append(mutation["base_version"] or 0)
                if outcome["status"] in ("applied", "merged") and name not in lost:
                    ledger.acknowledged.append(
                        Written(mutation["entity"], mutation["id"], name, value, outcome["version"])
                    )

    for op in ops:
        kind = op[0]
        if kind == "tick":
            now += timedelta(minutes=op[1])
            continue
        offline = phones[op[1]]
        store = offline.phone.store
        if kind == "edit":
            picked = _pick(store["accounts"], op[2])
            if picked:
                account_id, account = picked
                offline.queue.append(
                    upsert(
                        "accounts",
                        account_id,
                        {op[3]: op[4]},
                        base_version=account["version"],
                        changed_at=device_clock(offline),
                    )
                )
                account[op[3]] = op[4]
        elif kind == "create_account":
            offline.queue.append(
                upsert(
                    "accounts",
                    str(uuid.uuid4()),
                    {"kind": "company", "status": "lead", "name": f"New {len(offline.queue)}"},
                    changed_at=device_clock(offline),
                )
            )
        elif kind == "create_contact":
            picked = _pick(store["accounts"], op[2])
            if picked:
                offline.queue.append(
                    upsert(
                        "contacts",
                        str(uuid.uuid4()),
                        {"account_id": picked[0], "last_name": "Verdi"},
                        changed_at=device_clock(offline),
                    )
                )
        elif kind == "delete_contact":
            picked = _pick(store["contacts"], op[2])
            if picked:
                offline.queue.append(
                    delete(
                        "contacts",
                        picked[0],
                        picked[1]["version"],
                        changed_at=device_clock(offline),
                    )
                )
                store["contacts"].pop(picked[0])
        elif kind == "push":
            push(offline, op[2])
        elif kind == "pull":
            if op[2] == "lost":  # a page that never arrived: the cursor is simply reused
                client.get(
                    "/api/v1/sync/pull",
                    query_string={"cursor": offline.phone.cursor or ""},
                    headers=offline.phone.headers,
                )
            offline.phone.pull(limit=3)

    for offline in phones:
        push(offline, "ok")
    for offline in phones:
        last = offline.phone.pull(limit=7, checksum=True)
        server = _server_scope(client, offline.phone.headers)
        assert offline.phone.store["accounts"] == server["accounts"], "accounts diverged"
        assert offline.phone.store["contacts"] == server["contacts"], "contacts diverged"
        lines = sorted(offline.phone.versions())
        assert last["checksum"] == hashlib.sha256("\n".join(lines).encode()).hexdigest()
    _assert_nothing_lost(client, world.admin.headers, ledger)


def _server_scope(client: Any, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    scope: dict[str, dict[str, Any]] = {}
    for entity in ("accounts", "contacts", "interactions", "tasks"):
        items = client.get(f"/api/v1/{entity}", query_string={"limit": 1000}, headers=headers).json
        scope[entity] = {item["id"]: item for item in items["items"]}
    return scope


def _assert_nothing_lost(client: Any, headers: dict[str, str], ledger: Ledger) -> None:
    conflicts = client.get("/api/v1/conflicts", query_string={"limit": 1000}, headers=headers).json
    discarded = {
        (c["entity"], c["record_id"], c["field"], repr(c["discarded"])) for c in conflicts["items"]
    }
    for entity, record_id in ledger.created - ledger.deleted:
        found = client.get(f"/api/v1/{entity}/{record_id}", headers=headers)
        assert found.status_code == 200, f"acknowledged {entity} {record_id} is missing"
    for write in ledger.acknowledged:
        if (write.entity, write.record_id) in ledger.deleted:
            continue
        record = client.get(f"/api/v1/{write.entity}/{write.record_id}", headers=headers).json
        if record.get(write.field) == write.value:
            continue
        seen_by_later = any(
            base >= write.version
            for base in ledger.bases[(write.entity, write.record_id, write.field)]
        )
        logged = (write.entity, write.record_id, write.field, repr(write.value)) in discarded
        assert seen_by_later or logged, (
            f"{write.entity} {write.record_id}.{write.field}={write.value!r} "
            f"(v{write.version}) was "
            f"acknowledged but is neither on the server ({record.get(write.field)!r}), nor "
            "replaced by a write that had seen it, nor in the conflict log"
        )
