"""Serving a device its scope: whole on the first pull, then what changed, in pages.

A pull *sweep* is the run of pages from one complete cursor to the next. At its start the
device's scope roots (the accounts and territories it may see, and its tasks without account)
are compared with the roots it holds (``DeviceScope`` at the acknowledged generation ``g``);
the difference is stored as generation ``g + 1``. The sweep then sends, in this order:

1. removals: roots that left the scope, with the contacts, tasks and interactions of the
   accounts that left;
2. roots that entered it, then their contacts and tasks, then their interactions (the history
   last, so a phone can work before it arrives);
3. the change-log window since the previous sweep (see ``changelog`` for why it never skips).

A page's cursor names the sweep, phase and key, so a lost response is retried exactly; a cursor
of a superseded sweep restarts from the generation it acknowledges.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, and_, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import Device
from fieldsync.auth.scope import account_condition, record_condition
from fieldsync.db import utcnow
from fieldsync.errors import GoneError, ValidationError
from fieldsync.geo.models import Territory, TerritoryRep
from fieldsync.portfolio.models import Account, Contact, Interaction, Task
from fieldsync.schemas import decode_cursor, encode_cursor
from fieldsync.sync.changelog import current_watermark
from fieldsync.sync.models import Change, DeviceScope, SyncHorizon

PULL_ENTITIES = ("accounts", "contacts", "interactions", "tasks", "territories", "visit_plans")
ROOT_MODELS: dict[str, type[Any]] = {"territories": Territory, "accounts": Account, "tasks": Task}
CHILD_MODELS: dict[str, type[Any]] = {"contacts": Contact, "tasks": Task, "interactions": Interaction}
MODELS: dict[str, type[Any]] = {**ROOT_MODELS, **CHILD_MODELS}
CURSOR_VERSION = 1


@dataclass
class Sweep:
    """The state a pull cursor carries."""

    device_id: uuid.UUID
    acked: int  # generation the device holds
    generation: int | None = None  # generation being delivered (None: start a sweep)
    sweep_id: str | None = None
    watermark: int = 0  # change-log position already delivered
    next_watermark: int = 0  # where the next sweep starts
    phase: int = 0
    key: str | None = None

    def encode(self) -> str:
        return encode_cursor(
            {
                "v": CURSOR_VERSION, "d": str(self.device_id), "g": self.acked,
                "s": self.generation, "x": self.sweep_id, "w": self.watermark,
                "n": self.next_watermark, "p": self.phase, "k": self.key,
            }  # fmt: skip
        )


@dataclass
class PullPage:
    cursor: str
    has_more: bool
    # entity -> record id -> record (upsert) or None (removed); later entries win.
    items: dict[str, dict[uuid.UUID, Any]] = field(default_factory=dict)
    checksum: str | None = None

    def put(self, entity: str, record_id: uuid.UUID, record: Any) -> None:
        bucket = self.items.setdefault(entity, {})
        bucket.pop(record_id, None)  # re-insert so the later word is the one kept
        bucket[record_id] = record

    @property
    def size(self) -> int:
        return sum(len(bucket) for bucket in self.items.values())


def _decode(cursor: str | None, actor: Actor) -> Sweep:
    if actor.device_id is None:
        raise ValidationError("Pull needs a device session.", fields={"device_id": ["Missing."]})
    if not cursor:
        return Sweep(device_id=actor.device_id, acked=0)
    state = decode_cursor(cursor) or {}
    try:
        sweep = Sweep(
            device_id=uuid.UUID(str(state["d"])), acked=int(state["g"]),
            generation=None if state["s"] is None else int(state["s"]),
            sweep_id=state["x"], watermark=int(state["w"]), next_watermark=int(state["n"]),
            phase=int(state["p"]), key=state["k"],
        )  # fmt: skip
    except (KeyError, TypeError, ValueError):
        raise ValidationError("Invalid cursor.", fields={"cursor": ["Damaged."]}) from None
    if state.get("v") != CURSOR_VERSION or sweep.device_id != actor.device_id:
        raise GoneError("This cursor belongs to another device or version; pull without one.")
    return sweep


# --- scope roots -----------------------------------------------------------------------------


def scope_roots(session: Session, actor: Actor) -> set[tuple[str, uuid.UUID]]:
    """The roots the actor's devices should hold now."""
    roots: set[tuple[str, uuid.UUID]] = set()
    accounts = select(Account.id).where(account_condition(session, actor), Account.deleted_at.is_(None))
    roots |= {("accounts", rid) for rid in session.execute(accounts).scalars()}
    territories = select(Territory.id).where(
        Territory.org_id == actor.org_id, Territory.deleted_at.is_(None)
    )
    if actor.is_rep:
        assigned = select(TerritoryRep.territory_id).where(TerritoryRep.user_id == actor.user_id)
        territories = territories.where(Territory.id.in_(assigned))
    roots |= {("territories", rid) for rid in session.execute(territories).scalars()}
    loose_tasks = select(Task.id).where(
        record_condition(session, actor, Task), Task.account_id.is_(None), Task.deleted_at.is_(None)
    )
    roots |= {("tasks", rid) for rid in session.execute(loose_tasks).scalars()}
    return roots


def _held(device_id: uuid.UUID, generation: int) -> Any:
    return and_(
        DeviceScope.device_id == device_id,
        DeviceScope.added_in <= generation,
        or_(DeviceScope.removed_in.is_(None), DeviceScope.removed_in > generation),
    )


def held_ids(device_id: uuid.UUID, generation: int, entity: str) -> Select[Any]:
    """Subquery: ids of ``entity`` roots the device holds at ``generation``."""
    return select(DeviceScope.record_id).where(
        _held(device_id, generation), DeviceScope.entity == entity
    )


def _start_sweep(session: Session, actor: Actor, device: Device, sweep: Sweep) -> Sweep:
    """Diff the scope against what the device holds and store it as the next generation."""
    if sweep.acked > device.pull_generation:
        raise GoneError("This cursor is unknown to the server; pull without one.")
    horizon = session.get(SyncHorizon, actor.org_id)
    floor = 0
    if horizon is not None:
        floor = horizon.min_txid if session.get_bind().dialect.name == "postgresql" else horizon.min_seq
    if sweep.acked and sweep.watermark < floor:
        raise GoneError("This cursor has expired; push what you hold, then pull without one.")
    next_watermark = current_watermark(session)
    g, generation = sweep.acked, sweep.acked + 1
    d = device.id
    # Forget what was handed out after ``g``: the device never confirmed it.
    session.execute(delete(DeviceScope).where(DeviceScope.device_id == d, DeviceScope.added_in > g))
    session.execute(
        update(DeviceScope)
        .where(DeviceScope.device_id == d, DeviceScope.removed_in > g)
        .values(removed_in=None)
    )
    session.execute(
        delete(DeviceScope).where(DeviceScope.device_id == d, DeviceScope.removed_in <= g)
    )
    held = set(
        session.execute(select(DeviceScope.entity, DeviceScope.record_id).where(_held(d, g))).all()
    )
    wanted = scope_roots(session, actor)
    entered = wanted - held
    left = held - wanted
    if entered:
        session.execute(
            insert(DeviceScope),
            [
                {"device_id": d, "entity": e, "record_id": rid, "added_in": generation}
                for e, rid in sorted(entered, key=lambda item: (item[0], str(item[1])))
            ],
        )
    for entity, rid in left:
        session.execute(
            update(DeviceScope)
            .where(
                DeviceScope.device_id == d,
                DeviceScope.entity == entity,
                DeviceScope.record_id == rid,
            )
            .values(removed_in=generation)
        )
    device.pull_generation = generation
    device.pull_sweep_id = uuid.uuid4()
    return Sweep(
        device_id=d, acked=g, generation=generation, sweep_id=str(device.pull_sweep_id),
        # A first pull sends everything whole: its change window starts where it starts.
        watermark=sweep.watermark if g else next_watermark, next_watermark=next_watermark,
    )  # fmt: skip


# --- phases ----------------------------------------------------------------------------------

PhaseRows = list[tuple[str, uuid.UUID, Any]]  # (entity, id, record or None)
# A phase returns its rows, the key to resume after, and whether it has nothing more.
PhaseResult = tuple[PhaseRows, str | None, bool]
Phase = Callable[[Session, Sweep, str | None, int], PhaseResult]


def _last(ids: list[uuid.UUID]) -> str | None:
    return str(ids[-1]) if ids else None


def _paged(session: Session, stmt: Select[Any], model: type[Any], key: str | None, n: int) -> list[Any]:
    if key is not None:
        stmt = stmt.where(model.id > uuid.UUID(key))
    return list(session.execute(stmt.order_by(model.id).limit(n)).scalars())


def _roots_at(sweep: Sweep, entity: str, *, removed: bool) -> Select[Any]:
    column = DeviceScope.removed_in if removed else DeviceScope.added_in
    return select(DeviceScope.record_id).where(
        DeviceScope.device_id == sweep.device_id,
        DeviceScope.entity == entity,
        column == sweep.generation,
    )


def _removed_roots(entity: str) -> Phase:
    def phase(session: Session, sweep: Sweep, key: str | None, n: int) -> PhaseResult:
        stmt = _roots_at(sweep, entity, removed=True)
        if key is not None:
            stmt = stmt.where(DeviceScope.record_id > uuid.UUID(key))
        ids = list(session.execute(stmt.order_by(DeviceScope.record_id).limit(n)).scalars())
        return [(entity, rid, None) for rid in ids], _last(ids), len(ids) < n

    return phase


def _removed_children(entity: str) -> Phase:
    model = CHILD_MODELS[entity]

    def phase(session: Session, sweep: Sweep, key: str | None, n: int) -> PhaseResult:
        stmt = select(model.id).where(model.account_id.in_(_roots_at(sweep, "accounts", removed=True)))
        if key is not None:
            stmt = stmt.where(model.id > uuid.UUID(key))
        ids = list(session.execute(stmt.order_by(model.id).limit(n)).scalars())
        return [(entity, rid, None) for rid in ids], _last(ids), len(ids) < n

    return phase


def _entered_roots(entity: str) -> Phase:
    model = ROOT_MODELS[entity]

    def phase(session: Session, sweep: Sweep, key: str | None, n: int) -> PhaseResult:
        stmt = select(model).where(
            model.id.in_(_roots_at(sweep, entity, removed=False)), model.deleted_at.is_(None)
        )
        rows = _paged(session, stmt, model, key, n)
        return [(entity, r.id, r) for r in rows], _last([r.id for r in rows]), len(rows) < n

    return phase


def _entered_children(entity: str) -> Phase:
    model = CHILD_MODELS[entity]

    def phase(session: Session, sweep: Sweep, key: str | None, n: int) -> PhaseResult:
        stmt = select(model).where(
            model.account_id.in_(_roots_at(sweep, "accounts", removed=False)),
            model.deleted_at.is_(None),
        )
        rows = _paged(session, stmt, model, key, n)
        return [(entity, r.id, r) for r in rows], _last([r.id for r in rows]), len(rows) < n

    return phase


def _window(session: Session, sweep: Sweep, key: str | None, n: int) -> PhaseResult:
    """Records the device holds that changed since the last sweep (at their latest state)."""
    assert sweep.generation is not None
    held_accounts = held_ids(sweep.device_id, sweep.generation, "accounts")
    relevant = or_(
        Change.account_id.in_(held_accounts),
        Change.prev_account_id.in_(held_accounts),
        and_(
            Change.entity == "territories",
            Change.record_id.in_(held_ids(sweep.device_id, sweep.generation, "territories")),
        ),
        and_(
            Change.entity == "tasks",
            Change.record_id.in_(held_ids(sweep.device_id, sweep.generation, "tasks")),
        ),
    )
    stmt = select(Change.seq, Change.entity, Change.record_id).where(
        Change.org_id == _org_of(session, sweep), relevant
    )
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.where(Change.txid >= sweep.watermark)
    else:
        stmt = stmt.where(Change.seq > sweep.watermark)
    if key is not None:
        stmt = stmt.where(Change.seq > int(key))
    changes = session.execute(stmt.order_by(Change.seq).limit(n)).all()
    if not changes:
        return [], None, True
    wanted: dict[str, set[uuid.UUID]] = {}
    for _, entity, record_id in changes:
        wanted.setdefault(entity, set()).add(record_id)
    rows: PhaseRows = []
    for entity, ids in wanted.items():
        model = MODELS[entity]
        records = {r.id: r for r in session.execute(select(model).where(model.id.in_(ids))).scalars()}
        holds = _holds(session, sweep, entity, records.values())
        for rid in ids:
            record = records.get(rid)
            keep = record is not None and record.deleted_at is None and holds(record)
            rows.append((entity, rid, record if keep else None))
    return rows, str(changes[-1].seq), len(changes) < n


def _org_of(session: Session, sweep: Sweep) -> uuid.UUID:
    device = session.get(Device, sweep.device_id)
    assert device is not None
    return device.org_id


def _holds(session: Session, sweep: Sweep, entity: str, records: Any) -> Callable[[Any], bool]:
    """Does the device's snapshot contain this (live) record?"""
    assert sweep.generation is not None
    records = list(records)
    account_ids = {r.id if entity == "accounts" else getattr(r, "account_id", None) for r in records}
    account_ids.discard(None)
    held_accounts = set(
        session.execute(
            held_ids(sweep.device_id, sweep.generation, "accounts").where(
                DeviceScope.record_id.in_(account_ids)
            )
        ).scalars()
    ) if account_ids else set()
    if entity == "territories" or entity == "tasks":
        held_roots = set(
            session.execute(
                held_ids(sweep.device_id, sweep.generation, entity).where(
                    DeviceScope.record_id.in_([r.id for r in records])
                )
            ).scalars()
        )
    else:
        held_roots = set()
    if entity == "accounts":
        return lambda r: r.id in held_accounts
    if entity == "territories":
        return lambda r: r.id in held_roots
    if entity == "tasks":
        return lambda r: r.account_id in held_accounts if r.account_id else r.id in held_roots
    return lambda r: r.account_id in held_accounts


PHASES: tuple[Phase, ...] = (
    _removed_roots("territories"),
    _removed_roots("tasks"),
    _removed_roots("accounts"),
    _removed_children("contacts"),
    _removed_children("tasks"),
    _removed_children("interactions"),
    _entered_roots("territories"),
    _entered_roots("accounts"),
    _entered_children("contacts"),
    _entered_roots("tasks"),
    _entered_children("tasks"),
    _entered_children("interactions"),
    _window,
)


# --- the operation ---------------------------------------------------------------------------


def pull_changes(
    session: Session, *, actor: Actor, cursor: str | None, limit: int, checksum: bool = False
) -> PullPage:
    """One page of the device's scope changes; pull again while ``has_more``."""
    sweep = _decode(cursor, actor)
    device = session.execute(
        select(Device).where(Device.id == sweep.device_id).with_for_update()
    ).scalar_one()
    current = device.pull_sweep_id and str(device.pull_sweep_id) == sweep.sweep_id
    if sweep.generation is None or not current or sweep.generation != device.pull_generation:
        sweep = _start_sweep(session, actor, device, Sweep(sweep.device_id, sweep.acked,
                                                           watermark=sweep.watermark))
    page = PullPage(cursor="", has_more=True)
    while sweep.phase < len(PHASES):
        budget = limit - page.size
        if budget <= 0:
            break
        rows, last_key, exhausted = PHASES[sweep.phase](session, sweep, sweep.key, budget)
        for entity, rid, record in rows:
            page.put(entity, rid, record)
        if exhausted:
            sweep.phase, sweep.key = sweep.phase + 1, None
        else:
            sweep.key = last_key
    now = utcnow()
    device.last_pull_at = now
    if sweep.phase >= len(PHASES):
        assert sweep.generation is not None
        done = Sweep(device_id=sweep.device_id, acked=sweep.generation,
                     watermark=sweep.next_watermark, next_watermark=sweep.next_watermark)
        device.pull_position = sweep.next_watermark
        page.cursor, page.has_more = done.encode(), False
        if checksum:
            page.checksum = scope_checksum(session, sweep.device_id, sweep.generation)
    else:
        page.cursor = sweep.encode()
    return page


def scope_checksum(session: Session, device_id: uuid.UUID, generation: int) -> str:
    """SHA-256 of the sorted ``entity:id:version`` lines of everything the device holds."""
    lines: list[str] = []
    held_accounts = held_ids(device_id, generation, "accounts")
    for entity, model in ROOT_MODELS.items():
        stmt = select(model.id, model.version).where(
            model.id.in_(held_ids(device_id, generation, entity)), model.deleted_at.is_(None)
        )
        lines += [f"{entity}:{rid}:{version}" for rid, version in session.execute(stmt)]
    for entity, model in CHILD_MODELS.items():
        stmt = select(model.id, model.version).where(
            model.account_id.in_(held_accounts), model.deleted_at.is_(None)
        )
        lines += [f"{entity}:{rid}:{version}" for rid, version in session.execute(stmt)]
    return hashlib.sha256("\n".join(sorted(lines)).encode()).hexdigest()
