"""Sync benchmarks: push throughput, initial pull of a large scope, incremental pull latency.

Per database (a fresh SQLite file or a fresh PostgreSQL database, built by the migrations):

1. setup: an organisation, its admin, a manager, the rep under test and another rep, a dozen
   territories (through the services), then the rep's portfolio (10,000 accounts, 30,000
   contacts, 100,000 interactions) and a smaller one of the other rep, written with bulk
   inserts that store exactly the rows the services would write (see ``Portfolio``; checked
   against ``create_record`` at the start of every run, see ``check_against_service``);
2. a real server (``fieldsync serve``: gunicorn, 2 workers x 2 threads) and phones speaking
   HTTP with gzip through ``requests``:
   a. initial pull of the rep's scope with ``limit=5000`` (seconds, peak RSS of the workers,
      gzip bytes per account);
   b. incremental pulls: another phone of the rep pushes 100 changes, the phone under test
      pulls; the median of the pull latencies;
   c. push: changesets of 500 mixed mutations (mutations/s end to end), then the same rows
      written with SQLAlchemy Core ``executemany`` in-process, as a ratio.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import time
import uuid
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

from flask import Flask
from sqlalchemy import JSON, bindparam, insert, literal_column, select, text, update
from sqlalchemy.orm import Session

from bench.common import (
    PASSWORD,
    Phone,
    Server,
    fresh_database,
    make_app,
    median,
    reference_cpu_ms,
)
from fieldsync.auth.actor import Actor
from fieldsync.auth.service import add_user, create_organisation
from fieldsync.db import unit_of_work, utcnow
from fieldsync.extensions import db
from fieldsync.geo.service import (
    PlacementIndex,
    build_placement_index,
    create_territory,
    verify_check_in,
)
from fieldsync.portfolio import schemas as ps
from fieldsync.portfolio.models import Account, Contact, Interaction
from fieldsync.portfolio.service import (
    ACCOUNT_PLAIN_FIELDS,
    CONTACT_FIELDS,
    INTERACTION_FIELDS,
    create_record,
    jsonable,
)
from fieldsync.sync.models import Change
from fieldsync.web import AUTH_SETTINGS_KEY

NAME = "sync"

# The scope under test, and the goals of the brief.
# FIELDSYNC_BENCH_SCALE (default 1) shrinks the data for a quick trial run; at least 0.25.
SCALE = float(os.environ.get("FIELDSYNC_BENCH_SCALE", "1"))
SCOPE = {
    k: int(v * SCALE)
    for k, v in {"accounts": 10_000, "contacts": 30_000, "interactions": 100_000}.items()
}
OTHER_SCOPE = {
    k: int(v * SCALE)
    for k, v in {"accounts": 1_000, "contacts": 3_000, "interactions": 10_000}.items()
}
PULL_LIMIT = 5000
PUSH_CHANGESETS = 12
PUSH_SIZE = 500
# Then the server's throughput: phones of the rep pushing at the same time, each its own
# changesets one after another (a team syncing at the end of the day).
CONCURRENT_PHONES = 4
CONCURRENT_CHANGESETS = 6  # per phone: long enough that start and end do not dominate
INCREMENTAL_CHANGES = 100
INCREMENTAL_REPETITIONS = 25
INITIAL_REPETITIONS = 3
GOALS = {
    "push_mutations_per_s": 2000.0,  # PostgreSQL
    "initial_pull_s": 15.0,
    "initial_pull_peak_rss_mb": 400.0,
    "incremental_pull_median_ms": 50.0,
}

# Milan, where the rep under test works; the other rep works in Turin.
MILAN = (45.38, 45.54, 9.05, 9.30)  # lat_min, lat_max, lon_min, lon_max
TURIN = (45.00, 45.15, 7.55, 7.80)
OTHER_AREAS = [(40.0 + i * 0.5, 40.3 + i * 0.5, 12.0 + i * 0.4, 12.3 + i * 0.4) for i in range(9)]
LOMBARDY = (45.0, 46.5, 8.5, 10.5)  # overlaps Milan: the smaller territory must win

STREETS = (
    "Via Roma",
    "Corso Buenos Aires",
    "Via Torino",
    "Viale Monza",
    "Via Padova",
    "Corso Como",
    "Via Dante",
    "Via Solferino",
    "Via Manzoni",
    "Via Tortona",
)
SURNAMES = (
    "Rossi",
    "Bianchi",
    "Colombo",
    "Ferrari",
    "Russo",
    "Esposito",
    "Ricci",
    "Marino",
    "Greco",
    "Bruno",
    "Gallo",
    "Conti",
    "Costa",
    "Giordano",
    "Mancini",
    "Lombardi",
)
FIRST_NAMES = (
    "Giulia",
    "Marco",
    "Luca",
    "Chiara",
    "Sara",
    "Paolo",
    "Elena",
    "Andrea",
    "Francesca",
    "Davide",
    "Anna",
    "Matteo",
)
INDUSTRIES = ("retail", "pharmacy", "hardware", "food", "bar", "optician", "bakery", "florist")
ROLES = ("Owner", "Buyer", "Store manager", "Accountant", "Assistant")
TAGS = ("key", "north", "promo-2026", "new", "chain", "independent", "b2b")
OUTCOMES = (
    "Order placed",
    "Call back next week",
    "Interested in the new line",
    "Not in, left samples",
    "Complained about delivery times",
)
HOURS = {
    day: [["08:30", "12:30"], ["15:00", "19:30"]] for day in ("mon", "tue", "wed", "thu", "fri")
}


def rectangle(area: tuple[float, float, float, float]) -> dict[str, Any]:
    lat0, lat1, lon0, lon1 = area
    ring = [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]
    return {"type": "Polygon", "coordinates": [ring]}


# --- the rows the services write ---------------------------------------------------------------


def _blank(table: Any) -> dict[str, Any]:
    """Every column, at its scalar default (``executemany`` wants the same keys in each row)."""
    return {
        column.key: column.default.arg
        if column.default is not None and column.default.is_scalar
        else None
        for column in table.columns
    }


def _stamp(row: dict[str, Any], fields: set[str], version: int, at: datetime) -> None:
    """What ``records.mark_written`` does to a created record."""
    row["version"] = version
    row["field_versions"] = {name: version for name in sorted(fields)}
    row["field_times"] = {name: at.isoformat() for name in sorted(fields)}


def account_row(
    data: dict[str, Any],
    *,
    org_id: uuid.UUID,
    actor: Actor,
    index: PlacementIndex,
    now: datetime,
    edited_at: datetime | None = None,
) -> dict[str, Any]:
    """The row ``create_record(entity="accounts")`` stores for ``data`` (loaded by the schema)."""
    row = _blank(Account.__table__)
    row.update(
        id=data["id"], org_id=org_id, created_at=now, updated_at=now, created_by=actor.user_id
    )
    if data.get("owner_id") is None and not actor.is_admin:
        data = {**data, "owner_id": actor.user_id}
    fields: set[str] = set()
    for name in ACCOUNT_PLAIN_FIELDS:
        if data.get(name) is not None:
            value = data[name]
            row[name] = jsonable(value) if isinstance(value, dict | list) else value
            fields.add(name)
    address = data.get("address") or {}
    for name in Account.ADDRESS_FIELDS:
        if address.get(name) is not None:
            row[name] = address[name]
            fields.add("address")
    location = data.get("location")
    if location is not None:
        row.update(
            lat=location["lat"],
            lon=location["lon"],
            location_precision=location.get("precision") or "rooftop",
            location_source=location.get("source") or "manual",
            geocode_status="manual",
        )
        fields |= {"location", "geocode_status"}
    elif "address" in fields:
        row["geocode_status"] = "pending"
        fields.add("geocode_status")
    if fields & {"location", "address"}:
        row["territory_id"] = index.territory_for(
            row["lat"], row["lon"], row["country"], row["postal_code"]
        )
        if row["territory_id"] is not None:
            fields.add("territory_id")
    row["visit_due_at"] = now if row["visit_every_days"] else None  # never visited: due now
    _stamp(row, fields, 1, edited_at or now)
    return row


def contact_row(
    data: dict[str, Any], *, org_id: uuid.UUID, now: datetime, edited_at: datetime | None = None
) -> dict[str, Any]:
    row = _blank(Contact.__table__)
    row.update(id=data["id"], org_id=org_id, created_at=now, updated_at=now)
    fields = {name for name in CONTACT_FIELDS if data.get(name) is not None}
    row.update({name: data[name] for name in fields})
    _stamp(row, fields, 1, edited_at or now)
    return row


def interaction_row(
    data: dict[str, Any],
    *,
    org_id: uuid.UUID,
    actor: Actor,
    account: dict[str, Any],
    now: datetime,
    edited_at: datetime | None = None,
) -> dict[str, Any]:
    row = _blank(Interaction.__table__)
    row.update(id=data["id"], org_id=org_id, created_at=now, updated_at=now, user_id=actor.user_id)
    fields = {name for name in INTERACTION_FIELDS if data.get(name) is not None}
    for name in fields:
        value = data[name]
        row[name] = jsonable(value) if isinstance(value, dict | list) else value
    verification = verify_check_in(SimpleNamespace(**account), row["check_in"])  # type: ignore[arg-type]
    row.update(verification=verification, verification_status=verification["status"])
    _stamp(row, fields | {"verification"}, 1, edited_at or now)
    return row


def refresh_visit(account: dict[str, Any], last_visit_at: datetime, now: datetime) -> None:
    """What ``refresh_last_visit`` writes when a visit moves ``last_visit_at``."""
    account["last_visit_at"] = last_visit_at
    days = account["visit_every_days"]
    account["visit_due_at"] = last_visit_at + timedelta(days=days) if days else None
    account["version"] += 1
    account["updated_at"] = now
    for name in ("last_visit_at", "visit_due_at"):
        account["field_versions"] = {**account["field_versions"], name: account["version"]}
        account["field_times"] = {**account["field_times"], name: now.isoformat()}


def change_row(entity: str, row: dict[str, Any], txid: int | None) -> dict[str, Any]:
    """The change-log row ``sync.changelog.record_change`` appends for a write."""
    return {
        "org_id": row["org_id"],
        "entity": entity,
        "record_id": row["id"],
        "account_id": row["id"] if entity == "accounts" else row.get("account_id"),
        "prev_account_id": None,
        "version": row["version"],
        "txid": txid,
        "changed_at": row["updated_at"],
    }


# --- generated data ----------------------------------------------------------------------------


class Generator:
    """Deterministic, realistic records as the input schemas load them (Python values)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.now = utcnow()

    def point(self, area: tuple[float, float, float, float]) -> tuple[float, float]:
        lat0, lat1, lon0, lon1 = area
        margin = 0.002
        return (
            round(self.rng.uniform(lat0 + margin, lat1 - margin), 6),
            round(self.rng.uniform(lon0 + margin, lon1 - margin), 6),
        )

    def account(
        self, owner_id: uuid.UUID, area: tuple[float, float, float, float]
    ) -> dict[str, Any]:
        rng = self.rng
        surname, industry = rng.choice(SURNAMES), rng.choice(INDUSTRIES)
        name = f"{industry.title()} {surname} {rng.randrange(10_000)}"
        slug = name.lower().replace(" ", "")
        lat, lon = self.point(area)
        data: dict[str, Any] = {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "kind": "company",
            "status": rng.choice(ps.ACCOUNT_STATUSES),
            "name": name,
            "email": f"info@{slug}.example",
            "phone": f"+39 02 {rng.randrange(1000, 9999)} {rng.randrange(1000, 9999)}",
            "website": f"https://{slug}.example",
            "industry": industry,
            "vat_number": f"IT{rng.randrange(10**10, 10**11)}",
            "legal_form": rng.choice(("srl", "spa", "snc", "sas")),
            "annual_revenue": float(rng.randrange(50_000, 5_000_000)),
            "employees": rng.randrange(1, 250),
            "address": {
                "street": f"{rng.choice(STREETS)} {rng.randrange(1, 200)}",
                "postal_code": f"201{rng.randrange(10, 99)}",
                "city": "Milano",
                "region": "Lombardia",
                "country": "IT",
            },
            "location": {"lat": lat, "lon": lon, "precision": "rooftop", "source": "gps"},
            "owner_id": owner_id,
            "tags": rng.sample(TAGS, rng.randrange(0, 3)),
            "contact_preference": rng.choice(ps.CONTACT_PREFERENCES),
            "visit_every_days": rng.choice((14, 30, 30, 60, 90)),
            "opening_hours": HOURS,
            "notes": "Prefers morning visits; deliveries on Tuesdays."
            if rng.random() < 0.3
            else None,
            "custom": {"erp_code": f"C{rng.randrange(10**6):06d}"},
        }
        return {k: v for k, v in data.items() if v is not None}

    def contact(self, account_id: uuid.UUID, primary: bool) -> dict[str, Any]:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        data: dict[str, Any] = {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "account_id": account_id,
            "first_name": first,
            "last_name": last,
            "role": rng.choice(ROLES),
            "email": f"{first.lower()}.{last.lower()}@mail.example",
            "phone": f"+39 3{rng.randrange(10, 99)} {rng.randrange(100_000, 999_999)}",
            "is_primary": primary,
        }
        return data

    def interaction(
        self, account_id: uuid.UUID, spot: tuple[float, float] | None, contact_id: uuid.UUID | None
    ) -> dict[str, Any]:
        rng = self.rng
        kind = rng.choices(ps.INTERACTION_KINDS, weights=(40, 30, 15, 5, 10))[0]
        occurred = (self.now - timedelta(minutes=rng.randrange(60, 730 * 24 * 60))).replace(
            second=0, microsecond=0
        )
        data: dict[str, Any] = {
            "id": uuid.UUID(int=rng.getrandbits(128), version=4),
            "account_id": account_id,
            "kind": kind,
            "occurred_at": occurred,
            "duration_minutes": rng.choice((5, 15, 30, 45, 60)),
            "outcome": rng.choice(OUTCOMES),
            "report": "Discussed the autumn range and the delivery schedule."
            if kind == "visit"
            else None,
        }
        if contact_id is not None:
            data["contact_id"] = contact_id
        if kind == "visit" and spot is not None:
            data["check_in"] = {
                "lat": round(spot[0] + rng.uniform(-4e-4, 4e-4), 6),
                "lon": round(spot[1] + rng.uniform(-4e-4, 4e-4), 6),
                "at": occurred,
                "accuracy_m": float(rng.randrange(5, 40)),
            }
        if rng.random() < 0.2:
            data["next_step"] = "Send the quote"
        return {k: v for k, v in data.items() if v is not None}


@dataclass
class Portfolio:
    """One rep's records, with what the benchmark needs to address them later."""

    accounts: dict[uuid.UUID, dict[str, Any]] = field(default_factory=dict)  # id -> row
    contacts: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)  # account -> ids
    contact_rows: list[dict[str, Any]] = field(default_factory=list)
    interaction_rows: list[dict[str, Any]] = field(default_factory=list)


def build_portfolio(
    gen: Generator,
    *,
    org_id: uuid.UUID,
    actor: Actor,
    index: PlacementIndex,
    area: tuple[float, float, float, float],
    counts: dict[str, int],
) -> Portfolio:
    """The rows of ``counts`` records as the services would store them (creation then visits)."""
    now = gen.now
    folio = Portfolio()
    for _ in range(counts["accounts"]):
        data = gen.account(actor.user_id, area)
        folio.accounts[data["id"]] = account_row(
            data, org_id=org_id, actor=actor, index=index, now=now
        )
    account_ids = list(folio.accounts)
    for n in range(counts["contacts"]):
        account_id = account_ids[n % len(account_ids)]
        data = gen.contact(account_id, primary=n < len(account_ids))
        folio.contacts.setdefault(account_id, []).append(data["id"])
        folio.contact_rows.append(contact_row(data, org_id=org_id, now=now))
    last_visit: dict[uuid.UUID, datetime] = {}
    for n in range(counts["interactions"]):
        account_id = account_ids[n % len(account_ids)]
        account = folio.accounts[account_id]
        contacts = folio.contacts.get(account_id) or [None]
        contact_id = gen.rng.choice(contacts) if gen.rng.random() < 0.5 else None
        data = gen.interaction(account_id, (account["lat"], account["lon"]), contact_id)
        folio.interaction_rows.append(
            interaction_row(data, org_id=org_id, actor=actor, account=account, now=now)
        )
        if data["kind"] == "visit":
            last_visit[account_id] = max(
                last_visit.get(account_id, data["occurred_at"]), data["occurred_at"]
            )
    for account_id, at in last_visit.items():
        refresh_visit(folio.accounts[account_id], at, now)
    return folio


def sql_null_groups(table: Any, rows: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The rows grouped by which JSON columns they leave empty, those columns left out.

    The ORM leaves an unset JSON attribute out of its INSERT (SQL NULL), whereas ``None`` in
    an ``executemany`` row would be stored as the JSON value ``null``: leaving the column out
    stores what the service stores (and what the pull reads without parsing).
    """
    json_columns = [c.key for c in table.columns if isinstance(c.type, JSON)]
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        empty = tuple(name for name in json_columns if row.get(name) is None)
        groups.setdefault(empty, []).append({k: v for k, v in row.items() if k not in empty})
    return list(groups.values())


def _bulk(session: Session, table: Any, rows: list[dict[str, Any]], chunk: int = 2000) -> None:
    for group in sql_null_groups(table, rows):
        for start in range(0, len(group), chunk):
            session.execute(insert(table), group[start : start + chunk])


def _txid(session: Session) -> int | None:
    if session.get_bind().dialect.name != "postgresql":
        return None
    return int(
        session.execute(select(literal_column("pg_current_xact_id()::text::bigint"))).scalar_one()
    )


def store_portfolio(session: Session, folio: Portfolio) -> None:
    """Insert the rows and their change-log rows (one per write: creation, then the visit
    refresh of each visited account), a transaction per table as a bulk import would."""
    for entity, table, rows in (
        ("accounts", Account.__table__, list(folio.accounts.values())),
        ("contacts", Contact.__table__, folio.contact_rows),
        ("interactions", Interaction.__table__, folio.interaction_rows),
    ):
        with unit_of_work(session):
            txid = _txid(session)
            _bulk(session, table, rows)
            changes = [change_row(entity, row, txid) for row in rows]
            if entity == "accounts":
                for row in rows:  # the creation was version 1; a visit refresh made version 2
                    if row["version"] > 1:
                        changes.append({**change_row(entity, row, txid), "version": 1})
                changes.sort(key=lambda c: c["version"])
            _bulk(session, Change.__table__, changes)


def check_against_service(session: Session, gen: Generator, actor: Actor, area: Any) -> None:
    """Fail loudly if the bulk rows differ from what ``create_record`` writes for the same data.

    Creates an account, a contact and a visit through the service in a savepoint, compares
    every column (timestamps aside) with ``account_row``/``contact_row``/``interaction_row``,
    then rolls the savepoint back.
    """
    index = build_placement_index(session, actor.org_id)
    account_data = gen.account(actor.user_id, area)
    contact_data = gen.contact(account_data["id"], primary=True)
    visit = gen.interaction(account_data["id"], None, contact_data["id"])
    lat, lon = account_data["location"]["lat"], account_data["location"]["lon"]
    visit |= {
        "kind": "visit",
        "check_in": {"lat": lat, "lon": lon, "at": visit["occurred_at"], "accuracy_m": 10.0},
    }
    # What the wire form loads to is what the generator produced.
    for schema, data in (
        (ps.AccountCreateSchema(), account_data),
        (ps.ContactCreateSchema(), contact_data),
        (ps.InteractionCreateSchema(), visit),
    ):
        loaded = schema.load(jsonable(data))
        assert loaded == data, (type(schema).__name__, loaded, data)
    savepoint = session.begin_nested()
    try:
        now = utcnow()
        expected_account = account_row(
            account_data, org_id=actor.org_id, actor=actor, index=index, now=now
        )
        expected_contact = contact_row(contact_data, org_id=actor.org_id, now=now)
        expected_visit = interaction_row(
            visit, org_id=actor.org_id, actor=actor, account=expected_account, now=now
        )
        account = create_record(session, actor=actor, entity="accounts", data=dict(account_data))
        _compare("accounts", account, expected_account)
        contact = create_record(session, actor=actor, entity="contacts", data=dict(contact_data))
        _compare("contacts", contact, expected_contact)
        interaction = create_record(session, actor=actor, entity="interactions", data=dict(visit))
        _compare("interactions", interaction, expected_visit)
        refresh_visit(expected_account, visit["occurred_at"], now)
        _compare("accounts", account, expected_account)
        written = session.execute(
            select(Change.entity, Change.version)
            .where(Change.record_id.in_([account.id, contact.id, interaction.id]))
            .order_by(Change.seq)
        ).all()
        assert sorted(written) == [
            ("accounts", 1),
            ("accounts", 2),
            ("contacts", 1),
            ("interactions", 1),
        ], written
    finally:
        savepoint.rollback()


def _compare(entity: str, record: Any, expected: dict[str, Any]) -> None:
    for column, value in expected.items():
        actual = getattr(record, column)
        if column in ("created_at", "updated_at"):
            continue
        if column == "field_times":
            actual, value = sorted(actual or {}), sorted(value or {})
        if column == "visit_due_at" and value is not None and expected["last_visit_at"] is None:
            actual, value = actual is not None, True  # "due now": the service's own clock
        if actual != value:
            raise AssertionError(
                f"bulk {entity}.{column} = {value!r}, the service wrote {actual!r}"
            )


# --- setup -------------------------------------------------------------------------------------


@dataclass
class World:
    org_id: uuid.UUID
    rep: Actor
    rep_email: str
    folio: Portfolio
    setup_s: float
    territories: int


def build_world(app: Flask) -> World:
    started = time.perf_counter()
    gen = Generator(seed=20261122)
    settings = app.extensions[AUTH_SETTINGS_KEY]
    with app.app_context():
        session = db.session
        with unit_of_work(session):
            org, admin = create_organisation(
                session,
                settings,
                name="Bench",
                admin_email="admin@bench.test",
                admin_password=PASSWORD,
            )
            session.flush()
            manager = add_user(
                session,
                settings,
                org_id=org.id,
                email="manager@bench.test",
                name="Manager",
                role="manager",
                password=PASSWORD,
            )
            rep = add_user(
                session,
                settings,
                org_id=org.id,
                email="rep@bench.test",
                name="Rep",
                role="rep",
                password=PASSWORD,
                manager_id=manager.id,
            )
            other = add_user(
                session,
                settings,
                org_id=org.id,
                email="other@bench.test",
                name="Other",
                role="rep",
                password=PASSWORD,
                manager_id=manager.id,
            )
            admin_actor = Actor(user_id=admin.id, org_id=org.id, role="admin")
            areas = [
                ("Milano", MILAN, [rep.id]),
                ("Torino", TURIN, [other.id]),
                ("Lombardia", LOMBARDY, []),
            ]
            areas += [(f"Area {i}", area, []) for i, area in enumerate(OTHER_AREAS)]
            for name, area, reps in areas:
                create_territory(
                    session,
                    actor=admin_actor,
                    data={"name": name, "geometry": rectangle(area), "rep_ids": reps},
                )
        rep_actor = Actor(user_id=rep.id, org_id=org.id, role="rep")
        other_actor = Actor(user_id=other.id, org_id=org.id, role="rep")
        with unit_of_work(session):
            check_against_service(session, gen, rep_actor, MILAN)
        index = build_placement_index(session, org.id)
        folio = build_portfolio(
            gen, org_id=org.id, actor=rep_actor, index=index, area=MILAN, counts=SCOPE
        )
        others = build_portfolio(
            gen, org_id=org.id, actor=other_actor, index=index, area=TURIN, counts=OTHER_SCOPE
        )
        store_portfolio(session, folio)
        store_portfolio(session, others)
        session.close()
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
        db.engine.dispose()
    return World(
        org_id=org.id,
        rep=rep_actor,
        rep_email="rep@bench.test",
        folio=folio,
        setup_s=time.perf_counter() - started,
        territories=len(areas),
    )


# --- the benchmarks ----------------------------------------------------------------------------


def _one_initial_pull(server: Server, world: World) -> dict[str, Any]:
    phone = Phone(server.base, world.rep_email).login()
    pages = 0
    account_gzip = 0
    account_records = 0
    encodings: set[str] = set()
    server_cpu, client_cpu = server.cpu_seconds(), time.process_time()
    started = time.perf_counter()
    while True:
        page, _, encoding = phone.pull_page(PULL_LIMIT)
        pages += 1
        encodings.add(encoding)
        accounts = page["changes"]["accounts"]["upserted"]
        if accounts:
            # The accounts part of the page as the server writes JSON (compact), gzip level 6
            # (Flask-Compress's default).
            part = json.dumps(accounts, separators=(",", ":")).encode()
            account_gzip += len(gzip.compress(part, compresslevel=6))
            account_records += len(accounts)
        if not page["has_more"]:
            break
    elapsed = time.perf_counter() - started
    counts = {entity: len(records) for entity, records in phone.store.items()}
    for entity, expected in SCOPE.items():
        if counts.get(entity) != expected:
            raise AssertionError(
                f"initial pull delivered {counts.get(entity)} {entity}, not {expected}"
            )
    return {
        "seconds": elapsed,
        "server_cpu_s": server.cpu_seconds() - server_cpu,
        "client_cpu_s": time.process_time() - client_cpu,
        "pages": pages,
        "records": sum(counts.values()),
        "wire_bytes": phone.wire_bytes,
        "encodings": sorted(encodings),
        "gzip_bytes_per_account": account_gzip / max(account_records, 1),
        "phone": phone,
    }


def initial_pull(server: Server, world: World) -> dict[str, Any]:
    """``INITIAL_REPETITIONS`` first pulls, each by a newly logged-in phone; the medians."""
    rss_before = server.rss_mb()
    runs = [_one_initial_pull(server, world) for _ in range(INITIAL_REPETITIONS)]
    first = runs[0]
    return {
        "seconds": median([run["seconds"] for run in runs]),
        "all_seconds": [run["seconds"] for run in runs],
        "server_cpu_s": median([run["server_cpu_s"] for run in runs]),
        "client_cpu_s": median([run["client_cpu_s"] for run in runs]),
        "pages": first["pages"],
        "records": first["records"],
        "wire_bytes": first["wire_bytes"],
        "encodings": first["encodings"],
        "gzip_bytes_per_account": first["gzip_bytes_per_account"],
        "peak_rss_mb": server.peak_rss_mb(),
        "rss_before_mb": rss_before,
        "phone": runs[-1]["phone"],
    }


def incremental_pulls(server: Server, world: World, phone: Phone) -> dict[str, Any]:
    """Another phone of the rep pushes 100 changes; the phone under test pulls them."""
    writer = Phone(server.base, world.rep_email).login()
    rng = random.Random(7)
    latencies: list[float] = []
    cpu_ms: list[float] = []
    delivered: list[int] = []
    pages_per_pull: list[int] = []
    store = phone.store
    for repetition in range(INCREMENTAL_REPETITIONS):
        picks = (
            [("accounts", rid) for rid in rng.sample(sorted(store["accounts"]), 60)]
            + [("contacts", rid) for rid in rng.sample(sorted(store["contacts"]), 25)]
            + [("interactions", rid) for rid in rng.sample(sorted(store["interactions"]), 15)]
        )
        mutations = []
        for entity, rid in picks:
            value = f"bench {repetition}"
            fields = {"outcome": value} if entity == "interactions" else {"phone": value}
            mutations.append(
                {
                    "entity": entity,
                    "op": "upsert",
                    "id": rid,
                    "base_version": store[entity][rid]["version"],
                    "changed_at": utcnow().isoformat(),
                    "fields": fields,
                }
            )
        result = writer.push(mutations)
        statuses = {r["status"] for r in result["results"]}
        if statuses != {"applied"}:
            raise AssertionError(f"incremental changes not applied: {result['results'][:3]}")
        server_cpu = server.cpu_seconds()
        started = time.perf_counter()
        pages, records = 0, 0
        while True:
            page, _, _ = phone.pull_page(PULL_LIMIT)
            pages += 1
            records += sum(len(c["upserted"]) + len(c["removed"]) for c in page["changes"].values())
            if not page["has_more"]:
                break
        latencies.append((time.perf_counter() - started) * 1000)
        cpu_ms.append((server.cpu_seconds() - server_cpu) * 1000)
        delivered.append(records)
        pages_per_pull.append(pages)
        for (entity, rid), mutation in zip(picks, mutations, strict=True):
            got = store[entity][rid]
            key = "outcome" if entity == "interactions" else "phone"
            if got[key] != mutation["fields"][key]:
                raise AssertionError(f"{entity} {rid} not delivered by the incremental pull")
    return {
        "median_ms": median(latencies),
        "p90_ms": sorted(latencies)[int(len(latencies) * 0.9) - 1],
        "min_ms": min(latencies),
        "repetitions": len(latencies),
        "server_cpu_ms_median": median(cpu_ms),
        "records_median": median([float(n) for n in delivered]),
        "pages_max": max(pages_per_pull),
    }


def _push_changeset(
    gen: Generator,
    world: World,
    fresh_pool: list[uuid.UUID],
    update_pool: list[uuid.UUID],
    versions: dict[str, int],
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """500 mutations in edit order, in units of five: a new account, a contact of it, a visit
    to it, a contact or a call on an existing account, an update of another existing account.

    Returns the mutations (wire form) and the loaded data of each, for the raw comparison.
    """
    mutations: list[dict[str, Any]] = []
    loaded: dict[str, Any] = {"accounts": [], "contacts": [], "interactions": [], "updates": []}
    for unit in range(PUSH_SIZE // 5):
        account = gen.account(world.rep.user_id, MILAN)
        spot = (account["location"]["lat"], account["location"]["lon"])
        contact = gen.contact(account["id"], primary=True)
        visit = gen.interaction(account["id"], spot, contact["id"])
        visit["kind"] = "visit"
        visit.setdefault(
            "check_in",
            {"lat": spot[0], "lon": spot[1], "at": visit["occurred_at"], "accuracy_m": 12.0},
        )
        existing = fresh_pool.pop()
        if unit % 2:
            other: tuple[str, dict[str, Any]] = ("contacts", gen.contact(existing, primary=False))
        else:
            call = gen.interaction(existing, None, None)
            call["kind"] = "call"
            call.pop("check_in", None)
            call.pop("report", None)
            other = ("interactions", call)
        target = update_pool.pop()
        change = {
            "phone": f"+39 02 {gen.rng.randrange(10**7, 10**8)}",
            "notes": "Moved the warehouse.",
        }
        for entity, data in (
            ("accounts", account),
            ("contacts", contact),
            ("interactions", visit),
            other,
        ):
            wire = {k: v for k, v in jsonable(data).items()}
            mutations.append(
                {
                    "entity": entity,
                    "op": "upsert",
                    "id": wire.pop("id"),
                    "base_version": None,
                    "changed_at": utcnow().isoformat(),
                    "fields": wire,
                }
            )
            loaded[entity].append(data)
        version = versions[str(target)]  # as the phone last pulled it
        mutations.append(
            {
                "entity": "accounts",
                "op": "upsert",
                "id": str(target),
                "base_version": version,
                "changed_at": utcnow().isoformat(),
                "fields": change,
            }
        )
        loaded["updates"].append({"id": target, **change})
    return mutations, loaded


def push(server: Server, world: World, app: Flask, versions: dict[str, int]) -> dict[str, Any]:
    gen = Generator(seed=99)
    phone = Phone(server.base, world.rep_email).login()
    # Accounts nobody touches during the run: some get new contacts and calls, others updates.
    ids = sorted(world.folio.accounts)
    random.Random(3).shuffle(ids)
    count = PUSH_CHANGESETS + CONCURRENT_PHONES * CONCURRENT_CHANGESETS
    units = count * PUSH_SIZE // 5
    fresh_pool, update_pool = ids[:units], ids[units : 2 * units]
    changesets = [
        _push_changeset(gen, world, fresh_pool, update_pool, versions) for _ in range(count)
    ]
    sequential, concurrent = changesets[:PUSH_CHANGESETS], changesets[PUSH_CHANGESETS:]
    seconds: list[float] = []
    statuses: dict[str, int] = {}
    server_cpu = server.cpu_seconds()
    for mutations, _ in sequential:
        started = time.perf_counter()
        result = phone.push(mutations)
        seconds.append(time.perf_counter() - started)
        _count_statuses(result, statuses)
    server_cpu = server.cpu_seconds() - server_cpu
    total = PUSH_CHANGESETS * PUSH_SIZE
    together = push_concurrently(server, world, [mutations for mutations, _ in concurrent])
    _count_statuses({"results": together.pop("results")}, statuses)
    if set(statuses) != {"applied"}:
        raise AssertionError(f"push results: {statuses}")
    raw_seconds = raw_executemany(app, world, [data for _, data in sequential])
    api_rate = total / sum(seconds)
    raw_rate = total / sum(raw_seconds)
    return {
        "mutations": total,
        "changesets": PUSH_CHANGESETS,
        "mutations_per_s": api_rate,
        "median_changeset_s": median(seconds),
        "median_mutations_per_s": PUSH_SIZE / median(seconds),
        "raw_mutations_per_s": raw_rate,
        "raw_ratio": raw_rate / api_rate,
        "server_cpu_ms_per_mutation": server_cpu * 1000 / total,
        "statuses": statuses,
        "concurrent": together,
    }


def _count_statuses(result: dict[str, Any], statuses: dict[str, int]) -> None:
    for item in result["results"]:
        statuses[item["status"]] = statuses.get(item["status"], 0) + 1


def push_concurrently(
    server: Server, world: World, changesets: list[list[dict[str, Any]]]
) -> dict[str, Any]:
    """``CONCURRENT_PHONES`` phones of the rep push at once, each its share of the changesets
    one after another; mutations/s = all of them / the time from the first request to the last
    response."""
    phones = [Phone(server.base, world.rep_email).login() for _ in range(CONCURRENT_PHONES)]
    shares = [changesets[i::CONCURRENT_PHONES] for i in range(CONCURRENT_PHONES)]

    def run(phone: Phone, share: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
        return [item for mutations in share for item in phone.push(mutations)["results"]]

    server_cpu = server.cpu_seconds()
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CONCURRENT_PHONES) as pool:
        results = [item for share in pool.map(run, phones, shares) for item in share]
    elapsed = time.perf_counter() - started
    server_cpu = server.cpu_seconds() - server_cpu
    total = sum(len(mutations) for mutations in changesets)
    return {
        "phones": CONCURRENT_PHONES,
        "changesets": len(changesets),
        "mutations": total,
        "seconds": elapsed,
        "mutations_per_s": total / elapsed,
        "server_cpu_ms_per_mutation": server_cpu * 1000 / total,
        "results": results,
    }


def raw_executemany(app: Flask, world: World, changesets: list[dict[str, Any]]) -> list[float]:
    """The same rows written with SQLAlchemy Core ``executemany``: one transaction per
    changeset, inserts of the created records (new ids) and ``UPDATE``s of the updated ones;
    no change log, no checks, no savepoints."""
    seconds: list[float] = []
    with app.app_context():
        index = build_placement_index(db.session, world.org_id)
        db.session.close()
        engine = db.engine
        now = utcnow()
        for loaded in changesets:
            remap: dict[uuid.UUID, uuid.UUID] = {}

            def fresh(
                data: dict[str, Any], remap: dict[uuid.UUID, uuid.UUID] = remap
            ) -> dict[str, Any]:
                new = {**data, "id": remap.setdefault(data["id"], uuid.uuid4())}
                if "account_id" in new:
                    new["account_id"] = remap.get(new["account_id"], new["account_id"])
                if new.get("contact_id"):
                    new["contact_id"] = remap.get(new["contact_id"], new["contact_id"])
                return new

            accounts = [
                account_row(fresh(d), org_id=world.org_id, actor=world.rep, index=index, now=now)
                for d in loaded["accounts"]
            ]
            by_id = {row["id"]: row for row in accounts}
            contacts = [
                contact_row(fresh(d), org_id=world.org_id, now=now) for d in loaded["contacts"]
            ]
            interactions = []
            for d in loaded["interactions"]:
                data = fresh(d)
                account = by_id.get(data["account_id"]) or world.folio.accounts[data["account_id"]]
                interactions.append(
                    interaction_row(
                        data, org_id=world.org_id, actor=world.rep, account=account, now=now
                    )
                )
            updates = [
                {"b_id": u["id"], "phone": u["phone"], "notes": u["notes"], "updated_at": now}
                for u in loaded["updates"]
            ]
            table = Account.__table__
            statement = (
                update(table)
                .where(table.c.id == bindparam("b_id"))
                .values(
                    phone=bindparam("phone"),
                    notes=bindparam("notes"),
                    updated_at=bindparam("updated_at"),
                )
            )
            started = time.perf_counter()
            with engine.begin() as conn:
                for table, rows in ((Account.__table__, accounts), (Contact.__table__, contacts),
                                    (Interaction.__table__, interactions)):  # fmt: skip
                    for group in sql_null_groups(table, rows):
                        conn.execute(insert(table), group)
                conn.execute(statement, updates)
            seconds.append(time.perf_counter() - started)
        engine.dispose()
    return seconds


# --- the run -----------------------------------------------------------------------------------


@dataclass
class Result:
    database: str
    figures: dict[str, Any]


def run_one(kind: str, log: Any = print) -> Result:
    load_before = os.getloadavg()[0]
    reference_before = reference_cpu_ms()
    with fresh_database(kind) as url:
        app = make_app(url)
        log(f"[{kind}] building the data set ...")
        world = build_world(app)
        log(f"[{kind}] data set ready in {world.setup_s:.0f} s; starting the server")
        with Server(url) as server:
            log(f"[{kind}] initial pull ...")
            first = initial_pull(server, world)
            phone = first.pop("phone")
            rss = first["peak_rss_mb"]
            log(f"[{kind}] initial pull {first['seconds']:.2f} s, peak RSS {rss:.0f} MB")
            log(f"[{kind}] incremental pulls ...")
            incremental = incremental_pulls(server, world, phone)
            log(f"[{kind}] incremental pull median {incremental['median_ms']:.1f} ms")
            log(f"[{kind}] push ...")
            versions = {rid: r["version"] for rid, r in phone.store["accounts"].items()}
            reference_push = reference_cpu_ms()
            pushed = push(server, world, app, versions)
            reference_push_after = reference_cpu_ms()
            together = pushed["concurrent"]["mutations_per_s"]
            log(f"[{kind}] push {pushed['mutations_per_s']:.0f} mutations/s one phone, "
                f"{together:.0f} with {CONCURRENT_PHONES} at once")  # fmt: skip
            workers = server.workers, server.threads
        with app.app_context():
            db.engine.dispose()
    figures = {
        "load": (load_before, os.getloadavg()[0]),
        "reference_cpu_ms": (
            reference_before,
            reference_push,
            reference_push_after,
            reference_cpu_ms(),
        ),
        "setup_s": world.setup_s,
        "territories": world.territories,
        "workers": workers,
        "initial": first,
        "incremental": incremental,
        "push": pushed,
    }
    return Result(kind, figures)


def run(databases: Iterable[str], log: Any = print) -> list[Result]:
    return [run_one(kind, log) for kind in databases]


def _ok(value: float, goal: float, higher_is_better: bool = False) -> str:
    met = value >= goal if higher_is_better else value < goal
    return "met" if met else "MISSED"


def summary_rows(results: list[Result]) -> list[list[str]]:
    """One row per figure, one column per database."""
    rows: list[list[str]] = []
    specs: list[tuple[str, str, Any]] = [
        (
            "push: one phone, mutations/s end to end (12 x 500)",
            "goal >= 2,000 (PostgreSQL)",
            lambda f: (
                f"{f['push']['mutations_per_s']:,.0f} "
                f"({_ok(f['push']['mutations_per_s'], GOALS['push_mutations_per_s'], True)})"
            ),
        ),
        (
            f"push: {CONCURRENT_PHONES} phones at once, mutations/s "
            f"({CONCURRENT_PHONES} x {CONCURRENT_CHANGESETS} x 500)",
            "goal >= 2,000 (PostgreSQL)",
            lambda f: (
                f"{f['push']['concurrent']['mutations_per_s']:,.0f} "
                f"({_ok(f['push']['concurrent']['mutations_per_s'], GOALS['push_mutations_per_s'], True)})"  # noqa: E501
            ),
        ),
        (
            f"push: server CPU per mutation, {CONCURRENT_PHONES} phones at once",
            "",
            lambda f: f"{f['push']['concurrent']['server_cpu_ms_per_mutation']:.2f} ms",
        ),
        (
            "push: median changeset of 500",
            "",
            lambda f: f"{f['push']['median_changeset_s'] * 1000:,.0f} ms",
        ),
        (
            "push: raw Core executemany, rows/s",
            "",
            lambda f: f"{f['push']['raw_mutations_per_s']:,.0f}",
        ),
        ("push: raw executemany / API", "", lambda f: f"{f['push']['raw_ratio']:.1f}x"),
        (
            "push: server CPU per mutation (workers)",
            "",
            lambda f: f"{f['push']['server_cpu_ms_per_mutation']:.2f} ms",
        ),
        (
            f"initial pull: total seconds, median of {INITIAL_REPETITIONS}",
            "goal < 15 s",
            lambda f: (
                f"{f['initial']['seconds']:.2f} s "
                f"({_ok(f['initial']['seconds'], GOALS['initial_pull_s'])})"
            ),
        ),
        (
            "initial pull: each run",
            "",
            lambda f: " / ".join(f"{s:.1f}" for s in f["initial"]["all_seconds"]) + " s",
        ),
        (
            "initial pull: CPU server (workers) / client",
            "",
            lambda f: f"{f['initial']['server_cpu_s']:.1f} / {f['initial']['client_cpu_s']:.1f} s",
        ),
        (
            "initial pull: pages / records",
            "",
            lambda f: f"{f['initial']['pages']} / {f['initial']['records']:,}",
        ),
        (
            "initial pull: peak RSS of a worker (VmHWM)",
            "goal < 400 MB",
            lambda f: (
                f"{f['initial']['peak_rss_mb']:.0f} MB "
                f"({_ok(f['initial']['peak_rss_mb'], GOALS['initial_pull_peak_rss_mb'])})"
            ),
        ),
        (
            "initial pull: worker RSS before the pull",
            "",
            lambda f: f"{f['initial']['rss_before_mb']:.0f} MB",
        ),
        (
            "initial pull: gzip bytes per account",
            "",
            lambda f: f"{f['initial']['gzip_bytes_per_account']:.0f} B",
        ),
        (
            "initial pull: bytes on the wire (gzip)",
            "",
            lambda f: (
                f"{f['initial']['wire_bytes'] / 1e6:.1f} MB "
                f"({', '.join(f['initial']['encodings'])})"
            ),
        ),
        (
            "incremental pull (100 changes): median",
            "goal < 50 ms",
            lambda f: (
                f"{f['incremental']['median_ms']:.1f} ms "
                f"({_ok(f['incremental']['median_ms'], GOALS['incremental_pull_median_ms'])})"
            ),
        ),
        (
            "incremental pull: p90 / min",
            "",
            lambda f: f"{f['incremental']['p90_ms']:.1f} / {f['incremental']['min_ms']:.1f} ms",
        ),
        (
            "incremental pull: server CPU (median)",
            "",
            lambda f: f"{f['incremental']['server_cpu_ms_median']:.0f} ms",
        ),
        (
            "incremental pull: records per pull (median)",
            "",
            lambda f: (
                f"{f['incremental']['records_median']:.0f} "
                f"in {f['incremental']['pages_max']} page(s)"
            ),
        ),
        ("setup (bulk data + migrations)", "", lambda f: f"{f['setup_s']:.0f} s"),
        (
            "machine: reference CPU workload: start / push / after push / end",
            "",
            lambda f: " / ".join(f"{ms:.0f}" for ms in f["reference_cpu_ms"]) + " ms",
        ),
        (
            "load average (1 min) before / after",
            "",
            lambda f: f"{f['load'][0]:.1f} / {f['load'][1]:.1f}",
        ),
    ]
    for label, goal, render in specs:
        rows.append([label, goal, *(render(r.figures) for r in results)])
    return rows


NOTES = """\
- Data: the rep's scope is 10,000 accounts, 30,000 contacts and 100,000 interactions (plus one
  territory); another rep holds 1,000 / 3,000 / 10,000 more that the scope must filter out; 12
  territories, one (Lombardia) overlapping the rep's (Milano). Users and territories are made
  through the services; the portfolio with bulk inserts (SQLAlchemy Core, 2,000 rows a
  statement) of exactly the rows `create_record` would write: `version`, `field_versions`,
  `field_times`, territory placement (`build_placement_index`), `geocode_status`, visit
  verification (`verify_check_in`), `visit_due_at` and `last_visit_at`, and a change-log row
  per write (on PostgreSQL with the inserting transaction's id). Each run first checks the
  bulk rows against `create_record` for the same data (`check_against_service`). Simplification:
  an account's visits count as one write to it (version 2), not one per visit.
- Server: `fieldsync serve` (gunicorn, 2 gthread workers x 2 threads; a worker takes only the
  connections it has a thread for and keeps none alive), on the same 2-core machine as the
  client; the phone is `requests` with `Accept-Encoding: gzip`.
- Push: 12 changesets of 500 mutations pushed one after another by one phone; each 500 is 100
  units of (new account, contact of it, visit to it with a check-in, a contact or a call on an
  existing account, an update of `phone` and `notes` of another existing account with its
  correct `base_version`). Every result must be `applied`. mutations/s = 6,000 / the sum of the
  request times (JSON encoding, HTTP, server, response). The raw figure writes the same rows
  (new ids) with Core `executemany` in-process, a transaction per changeset: no HTTP, no
  validation, no change log, no savepoints.
- Push, several phones: then 4 more phones of the rep (4 logins) push 6 changesets each of the
  same mix (other accounts), all four at once, each its own changesets one after another:
  mutations/s = 12,000 / the time from the first request to the last response. This is the
  server's throughput (both workers busy); the one-phone figure is bounded by one request's
  latency, since a worker runs one push on one core.
- Initial pull: three times, a freshly logged-in phone pulls without a cursor with
  `limit=5000` until `has_more` is false; seconds from the first request to the last page
  parsed (gunzip and `json.loads` included), the median reported. CPU: user + system time of
  the gunicorn workers (`/proc/<pid>/stat`) and of the client process over a run. Peak RSS is
  the highest `VmHWM` of `/proc/<pid>/status` over the gunicorn workers of a server started
  for this run, after the three pulls (the incremental pulls and the push come after). gzip
  bytes per account: the `accounts.upserted` array of every page re-serialised as the server does
  (compact JSON), compressed with gzip level 6 (Flask-Compress's default), summed and divided
  by the number of accounts; the bytes on the wire are the whole gzip-encoded responses.
- Incremental pull: 25 repetitions of: a second phone of the rep pushes 100 field updates (60
  accounts, 25 contacts, 15 interactions, in one changeset; not timed), then the phone under
  test pulls with its cursor until `has_more` is false (timed). The check that every change
  arrived is part of each repetition. On PostgreSQL the window starts at the oldest transaction
  running when the previous sweep began (`pg_snapshot_xmin`), which other databases of the same
  server can hold back: a pull may deliver more than the 100 records then.
- Noise: the machine has 2 cores shared by the client, gunicorn, the database and whatever
  else runs (other test suites did, see the load averages); every time is wall-clock time.
  It is a virtual machine whose CPU speed varies from hour to hour, by up to half, with nothing
  else running: "reference CPU workload" is a fixed pure-Python job (100,000 small dicts built,
  dumped to JSON, sorted; best of three) timed at the start of each database's run, just before
  and just after the push, and at the end, so that runs can be compared (lower is a faster
  machine).
"""
