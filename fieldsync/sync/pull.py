"""Serving a device its scope: whole on the first pull, then what changed, in pages.

A pull *sweep* is the run of pages from one complete cursor to the next. At its start the
device's scope roots (the accounts and territories it may see, its tasks without account, its
visit plans) are compared with the roots it holds (``DeviceScope`` at the acknowledged
generation ``g``); the difference is stored as generation ``g + 1``. When the basis of the
account scope (role, team, the team's territories) is the one ``g`` was computed with, only the
accounts written since ``g`` can have entered or left, and only they are compared (see
``scope_basis``). The sweep then sends, in this order:

1. removals: roots that left the scope, with the contacts, tasks and interactions of the
   accounts that left;
2. roots that entered it, then their contacts and tasks (and the plans that entered), then
   their interactions (the history last, so a phone can work before it arrives);
3. the change-log window since the previous sweep (see ``changelog`` for why it never skips).

A page's cursor names the sweep, phase and key, so a lost response is retried exactly; a cursor
of a superseded sweep restarts from the generation it acknowledges.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    CompoundSelect,
    Select,
    String,
    Uuid,
    and_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    text,
    true,
    union,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import Device
from fieldsync.auth.scope import account_condition, record_condition, team_user_ids
from fieldsync.db import utcnow
from fieldsync.exceptions import GoneError, ValidationError
from fieldsync.geo.models import Territory, TerritoryRep
from fieldsync.planning.models import VisitPlan
from fieldsync.planning.scope import pull_plan_condition
from fieldsync.portfolio.models import Account, Contact, Interaction, Task
from fieldsync.schemas import decode_cursor, encode_cursor
from fieldsync.sync import serialise
from fieldsync.sync.changelog import watermark_expression
from fieldsync.sync.models import Change, DeviceScope, SyncHorizon

log = logging.getLogger("fieldsync.sync")

PULL_ENTITIES = ("accounts", "contacts", "interactions", "tasks", "territories", "visit_plans")
ROOT_MODELS: dict[str, type[Any]] = {
    "territories": Territory,
    "accounts": Account,
    "tasks": Task,
    "visit_plans": VisitPlan,
}
# Roots that hang on no account: a change of one concerns the device that holds it.
SELF_ROOTS = ("territories", "tasks", "visit_plans")
CHILD_MODELS: dict[str, type[Any]] = {
    "contacts": Contact,
    "tasks": Task,
    "interactions": Interaction,
}
MODELS: dict[str, type[Any]] = {**ROOT_MODELS, **CHILD_MODELS}
# 2: visit plans joined the phases (a cursor of version 1 names phases by their old index).
CURSOR_VERSION = 2
# Accounts whose children one query of a child phase reads (an IN list of their ids).
ROOT_BATCH = 500


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
    # Phases known at the start of the sweep to have nothing to send (bit i: PHASES[i]), such
    # as the children of entered accounts when none entered: an incremental pull skips them.
    idle: int = 0
    # Highest change seq when the sweep began: what "delivered up to" means for the lag that
    # admins see (the watermark itself may trail behind other transactions on PostgreSQL).
    seq_mark: int = 0
    # What the device's account scope was a function of (``scope_basis``) when the held roots
    # of ``generation`` (in a sweep) or of ``acked`` (a complete cursor) were computed.
    basis: str | None = None

    def encode(self) -> str:
        return encode_cursor(
            {
                "v": CURSOR_VERSION,
                "d": str(self.device_id),
                "g": self.acked,
                "s": self.generation,
                "x": self.sweep_id,
                "w": self.watermark,
                "n": self.next_watermark,
                "p": self.phase,
                "k": self.key,
                "m": self.idle,
                "q": self.seq_mark,
                "b": self.basis,
            }
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
            phase=int(state["p"]), key=state["k"], idle=int(state.get("m") or 0),
            seq_mark=int(state.get("q") or 0), basis=state.get("b"),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError):
        raise ValidationError("Invalid cursor.", fields={"cursor": ["Damaged."]}) from None
    if sweep.basis is not None and not isinstance(sweep.basis, str):
        raise ValidationError("Invalid cursor.", fields={"cursor": ["Damaged."]})
    if not 0 <= sweep.phase < len(PHASES) or not _valid_key(sweep.phase, sweep.key):
        raise ValidationError("Invalid cursor.", fields={"cursor": ["Damaged."]})
    if state.get("v") != CURSOR_VERSION or sweep.device_id != actor.device_id:
        raise GoneError("This cursor belongs to another device or version; pull without one.")
    return sweep


def _valid_key(phase: int, key: Any) -> bool:
    """A page key is a change seq in the window phase, ``<account id>/<record id>`` in the
    child phases (a bare record id from an older server too), a record id in the others."""
    if key is None:
        return True
    if not isinstance(key, str):
        return False
    try:
        if phase == len(PHASES) - 1:
            int(key)
        elif PHASES[phase] in CHILD_PHASES:
            for part in key.split("/", 1):
                uuid.UUID(part)
        else:
            uuid.UUID(key)
    except ValueError:
        return False
    return True


# --- scope roots -----------------------------------------------------------------------------


def scope_queries(session: Session, actor: Actor) -> dict[str, Select[Any]]:
    """Per root entity, a query of the ids the actor's devices should hold now."""
    accounts = select(Account.id).where(
        account_condition(session, actor), Account.deleted_at.is_(None)
    )
    territories = select(Territory.id).where(
        Territory.org_id == actor.org_id, Territory.deleted_at.is_(None)
    )
    if actor.is_rep:
        assigned = select(TerritoryRep.territory_id).where(TerritoryRep.user_id == actor.user_id)
        territories = territories.where(Territory.id.in_(assigned))
    loose_tasks = select(Task.id).where(
        record_condition(session, actor, Task), Task.account_id.is_(None), Task.deleted_at.is_(None)
    )
    plans = select(VisitPlan.id).where(pull_plan_condition(session, actor, utcnow().date()))
    return {
        "accounts": accounts,
        "territories": territories,
        "tasks": loose_tasks,
        "visit_plans": plans,
    }


def scope_roots(session: Session, actor: Actor) -> set[tuple[str, uuid.UUID]]:
    """The roots the actor's devices should hold now."""
    return {
        (entity, rid)
        for entity, query in scope_queries(session, actor).items()
        for rid in session.execute(query).scalars()
    }


def scope_basis(session: Session, actor: Actor) -> str:
    """A digest of what decides which accounts the actor may see, besides the accounts' own
    columns: role, organisation, team and the team's territories (see ``account_condition``).

    While it stays the same, an account enters or leaves the scope only by a write of its own,
    and every write of an account is in the change log.
    """
    team = team_user_ids(session, actor)
    territories: list[str] = []
    if team is not None:
        territories = sorted(
            str(tid)
            for tid in session.execute(
                select(TerritoryRep.territory_id).where(TerritoryRep.user_id.in_(team))
            ).scalars()
        )
    members = "org" if team is None else ",".join(sorted(str(uid) for uid in team))
    inputs = f"{actor.role}|{actor.org_id}|{members}|{','.join(territories)}"
    return hashlib.sha256(inputs.encode()).hexdigest()[:32]


# At most this many changed accounts are compared one by one; more, and the whole scope is.
CHANGED_ACCOUNTS_MAX = 5000


def _changed_accounts(
    session: Session, org_id: uuid.UUID, watermark: int
) -> list[uuid.UUID] | None:
    """The accounts written since ``watermark`` (the window of the sweep), or None if more than
    ``CHANGED_ACCOUNTS_MAX``."""
    stmt = (
        select(Change.record_id)
        .where(_since(session, watermark), Change.org_id == org_id, Change.entity == "accounts")
        .distinct()
        .limit(CHANGED_ACCOUNTS_MAX + 1)
    )
    ids = list(session.execute(stmt).scalars())
    return None if len(ids) > CHANGED_ACCOUNTS_MAX else ids


def _since(session: Session, watermark: int) -> ColumnElement[bool]:
    """The change-log rows of a sweep's window: on PostgreSQL by the writing transaction (see
    ``changelog``), elsewhere by position."""
    if session.get_bind().dialect.name == "postgresql":
        return Change.txid >= watermark
    return Change.seq > watermark


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


def held_among(
    session: Session, device_id: uuid.UUID, generation: int, entity: str, ids: list[uuid.UUID]
) -> Select[Any]:
    """Which of ``ids`` the device holds at ``generation``: a primary-key look-up each.

    On PostgreSQL ``record_id IN (...)`` left the ids to a filter over all the device's rows
    whenever the planner believed the device held few (no statistics yet right after a first
    pull wrote 10,000: 5 ms a look-up, two per incremental pull). A lateral join over the ids
    can only be answered by looking each one up.
    """
    if session.get_bind().dialect.name != "postgresql":
        return held_ids(device_id, generation, entity).where(DeviceScope.record_id.in_(ids))
    given = func.unnest(literal(ids, ARRAY(Uuid()))).table_valued("id").render_derived()
    # At most one row per id (the primary key); LIMIT keeps PostgreSQL from flattening the
    # lateral subquery back into the join it would plan as above.
    held = (
        held_ids(device_id, generation, entity)
        .where(DeviceScope.record_id == given.c.id)
        .limit(1)
        .lateral()
    )
    return select(held.c.record_id).select_from(given).join(held, true())


def marked_rows(device_id: uuid.UUID, generation: int) -> CompoundSelect:
    """(entity, record_id, added_in, removed_in) of the device's rows handed out after
    ``generation`` or marked removed: each part is answered by an index of its own, not by
    reading all the device's rows (2 ms of every incremental pull for a rep's 10,000)."""
    columns = (
        DeviceScope.entity, DeviceScope.record_id, DeviceScope.added_in, DeviceScope.removed_in
    )  # fmt: skip
    mine = DeviceScope.device_id == device_id
    return union(
        select(*columns).where(mine, DeviceScope.added_in > generation),
        select(*columns).where(mine, DeviceScope.removed_in.is_not(None)),
    )


def _start_sweep(session: Session, actor: Actor, device: Device, sweep: Sweep) -> Sweep:
    """Diff the scope against what the device holds and store it as the next generation."""
    if sweep.acked > device.pull_generation:
        raise GoneError("This cursor is unknown to the server; pull without one.")
    # Where this sweep's window ends, the highest change seq, and the oldest position the
    # organisation still serves: one statement (every statement counts in an incremental pull).
    postgres = session.get_bind().dialect.name == "postgresql"
    horizon = SyncHorizon.min_txid if postgres else SyncHorizon.min_seq
    marks = select(
        watermark_expression(session),
        select(func.coalesce(func.max(Change.seq), 0)).scalar_subquery(),
        select(horizon).where(SyncHorizon.org_id == actor.org_id).scalar_subquery(),
    )
    next_watermark, seq_mark, floor = session.execute(marks).one()
    if sweep.acked and sweep.watermark < (floor or 0):
        raise GoneError("This cursor has expired; push what you hold, then pull without one.")
    next_watermark, seq_mark = int(next_watermark), int(seq_mark)
    g, generation = sweep.acked, sweep.acked + 1
    d = device.id
    # The rows a cleanup below would touch (few: usually none), read once.
    marked = session.execute(marked_rows(d, g)).all()
    # What a sweep after ``g`` handed out is uncertain: the device never confirmed it, yet it
    # may have applied some of its pages (another pull loop of the phone went on with it).
    unsure = {
        (e, rid) for e, rid, added, removed in marked
        if added > g or (removed is not None and removed > g)
    }  # fmt: skip
    # Forget what was handed out after ``g``: the device never confirmed it.
    if any(added > g for _, _, added, _ in marked):
        session.execute(
            delete(DeviceScope).where(DeviceScope.device_id == d, DeviceScope.added_in > g)
        )
    kept = [(added, removed) for _, _, added, removed in marked if added <= g]
    if any(removed is not None and removed > g for _, removed in kept):
        session.execute(
            update(DeviceScope)
            .where(DeviceScope.device_id == d, DeviceScope.removed_in > g)
            .values(removed_in=None)
        )
    if any(removed is not None and removed <= g for _, removed in kept):
        session.execute(
            delete(DeviceScope).where(DeviceScope.device_id == d, DeviceScope.removed_in <= g)
        )
    scope = scope_queries(session, actor)
    basis = scope_basis(session, actor)
    changed = None
    if g and sweep.basis == basis:  # the held accounts were wanted, as of the window's start
        changed = _changed_accounts(session, actor.org_id, sweep.watermark)
    entered, left = _differences(session, d, g, scope, changed_accounts=changed)
    log.debug(
        "pull sweep started",
        extra={"event": "pull_sweep", "device_id": str(d), "generation": generation,
               "scope_diff": "whole" if changed is None else "changed", "entered": len(entered),
               "left": len(left)},
    )  # fmt: skip
    # Say again what an abandoned sweep may have said otherwise: a root it removed that is
    # wanted comes whole again, a root it handed out that is not wanted is removed again.
    held, wanted = _held_and_wanted(session, d, g, scope, unsure)
    resent = unsure & held & wanted
    dropped = unsure - held - wanted
    rows = [
        {"device_id": d, "entity": e, "record_id": rid, "added_in": generation,
         "removed_in": generation if (e, rid) in dropped else None}
        for e, rid in sorted(entered | dropped, key=lambda item: (item[0], str(item[1])))
    ]  # fmt: skip
    if rows:
        session.execute(insert(DeviceScope), rows)
    _mark(session, d, resent, added_in=generation)
    _mark(session, d, left, removed_in=generation)
    device.pull_generation = generation
    device.pull_sweep_id = uuid.uuid4()
    return Sweep(
        device_id=d, acked=g, generation=generation, sweep_id=str(device.pull_sweep_id),
        # A first pull sends everything whole: its change window starts where it starts.
        watermark=sweep.watermark if g else next_watermark, next_watermark=next_watermark,
        seq_mark=seq_mark, basis=basis,
        idle=_idle_phases(
            removed={e for e, _ in left | dropped}, entered={e for e, _ in entered | resent}
        ),
    )  # fmt: skip


def _differences(
    session: Session,
    device_id: uuid.UUID,
    generation: int,
    scope: dict[str, Select[Any]],
    *,
    changed_accounts: list[uuid.UUID] | None = None,
) -> tuple[set[tuple[str, uuid.UUID]], set[tuple[str, uuid.UUID]]]:
    """The roots wanted and not held at ``generation`` (entered), and held and not wanted (left).

    With ``changed_accounts`` (the scope's basis did not change since the held accounts were
    computed), only those accounts can differ: they are compared one by one and the other
    roots as below. An incremental pull then costs what changed, not the size of the scope.
    """
    if changed_accounts is not None:
        others = {entity: query for entity, query in scope.items() if entity != "accounts"}
        entered, left = _differences(session, device_id, generation, others)
        held, wanted = _held_and_wanted(
            session, device_id, generation, {"accounts": scope["accounts"]},
            {("accounts", rid) for rid in changed_accounts},
        )  # fmt: skip
        return entered | (wanted - held), left | (held - wanted)
    return _whole_differences(session, device_id, generation, scope)


def _whole_differences(
    session: Session, device_id: uuid.UUID, generation: int, scope: dict[str, Select[Any]]
) -> tuple[set[tuple[str, uuid.UUID]], set[tuple[str, uuid.UUID]]]:
    """The differences over the whole scope.

    One statement computes both in the database, so a scope of 10,000 accounts that did not
    change costs a scan of each side and no transfer. Neither form depends on what the planner
    believes of the device's rows (nothing yet, right after a first pull wrote them): a full
    join can only be hashed or merged on PostgreSQL; SQLite, which would nest it, groups the
    roots of both sides instead (a root on one side only is a difference).
    """
    parts = []
    if session.get_bind().dialect.name == "postgresql":
        for entity, wanted_ids in scope.items():
            wanted = wanted_ids.subquery()
            held = held_ids(device_id, generation, entity).subquery()
            parts.append(
                select(literal(entity, String()), wanted.c.id, held.c.record_id)
                .select_from(wanted.join(held, wanted.c.id == held.c.record_id, full=True))
                .where(or_(wanted.c.id.is_(None), held.c.record_id.is_(None)))
            )
        rows = session.execute(union_all(*parts)).all()
        entered = {(entity, new) for entity, new, _ in rows if new is not None}
        left = {(entity, gone) for entity, _, gone in rows if gone is not None}
        return entered, left
    for entity, wanted_ids in scope.items():
        model = ROOT_MODELS[entity]
        parts.append(wanted_ids.with_only_columns(
            literal(entity, String()).label("entity"), model.id.label("record_id"),
            literal(1).label("side"),
        ))  # fmt: skip
        parts.append(
            select(DeviceScope.entity, DeviceScope.record_id, literal(2).label("side")).where(
                _held(device_id, generation), DeviceScope.entity == entity
            )
        )
    both = union_all(*parts).subquery()
    grouped = session.execute(
        select(both.c.entity, both.c.record_id, func.min(both.c.side))
        .group_by(both.c.entity, both.c.record_id)
        .having(func.count() == 1)
    ).all()
    entered = {(entity, rid) for entity, rid, side in grouped if side == 1}
    left = {(entity, rid) for entity, rid, side in grouped if side == 2}
    return entered, left


def _mark(
    session: Session, device_id: uuid.UUID, roots: set[tuple[str, uuid.UUID]], **values: int
) -> None:
    """Set ``values`` on the device's rows of ``roots`` (a statement per entity and 500)."""
    for entity in sorted({e for e, _ in roots}):
        ids = sorted(rid for e, rid in roots if e == entity)
        for start in range(0, len(ids), ROOT_BATCH):
            session.execute(
                update(DeviceScope)
                .where(
                    DeviceScope.device_id == device_id,
                    DeviceScope.entity == entity,
                    DeviceScope.record_id.in_(ids[start : start + ROOT_BATCH]),
                )
                .values(**values)
            )


def _held_and_wanted(
    session: Session,
    device_id: uuid.UUID,
    generation: int,
    scope: dict[str, Select[Any]],
    roots: set[tuple[str, uuid.UUID]],
) -> tuple[set[tuple[str, uuid.UUID]], set[tuple[str, uuid.UUID]]]:
    """Which of ``roots`` the device holds at ``generation``, and which it should hold now
    (one statement per entity)."""
    held: set[tuple[str, uuid.UUID]] = set()
    wanted: set[tuple[str, uuid.UUID]] = set()
    for entity, wanted_ids in scope.items():
        ids = [rid for e, rid in roots if e == entity]
        if not ids:
            continue
        holds = held_among(session, device_id, generation, entity, ids)
        wants = wanted_ids.where(ROOT_MODELS[entity].id.in_(ids))
        both = union_all(
            holds.add_columns(literal(True).label("held")),
            wants.add_columns(literal(False).label("held")),
        )
        for rid, is_held in session.execute(both):
            (held if is_held else wanted).add((entity, rid))
    return held, wanted


def _idle_phases(*, removed: set[str], entered: set[str]) -> int:
    """The phases with nothing to send, given the root entities that left and entered."""
    idle = 0
    for index, phase in enumerate(PHASES):
        needs = PHASE_NEEDS.get(phase)
        if needs is not None and needs[1] not in (removed if needs[0] == "removed" else entered):
            idle |= 1 << index
    return idle


# --- phases ----------------------------------------------------------------------------------

PhaseRows = list[tuple[str, uuid.UUID, Any]]  # (entity, id, record or None)
# A phase returns its rows, the key to resume after, and whether it has nothing more.
PhaseResult = tuple[PhaseRows, str | None, bool]
Phase = Callable[[Session, Sweep, str | None, int], PhaseResult]


def _last(ids: list[uuid.UUID]) -> str | None:
    return str(ids[-1]) if ids else None


def _roots_at(sweep: Sweep, entity: str, *, removed: bool) -> Select[Any]:
    # Entered: added in this generation and not removed in it (a root removed again).
    condition = (
        DeviceScope.removed_in == sweep.generation
        if removed
        else and_(DeviceScope.added_in == sweep.generation, DeviceScope.removed_in.is_(None))
    )
    return select(DeviceScope.record_id).where(
        DeviceScope.device_id == sweep.device_id, DeviceScope.entity == entity, condition
    )


def _removed_roots(entity: str) -> Phase:
    def phase(session: Session, sweep: Sweep, key: str | None, n: int) -> PhaseResult:
        stmt = _roots_at(sweep, entity, removed=True)
        if key is not None:
            stmt = stmt.where(DeviceScope.record_id > uuid.UUID(key))
        ids = list(session.execute(stmt.order_by(DeviceScope.record_id).limit(n)).scalars())
        return [(entity, rid, None) for rid in ids], _last(ids), len(ids) < n

    return phase


def _records(entity: str) -> Select[Any]:
    """What a page holds of ``entity``: rows of the wire's columns (``serialise``), or ORM
    objects for territories (a handful, serialised with their schema)."""
    if entity in serialise.SERIALISERS:
        return select(*serialise.pull_columns(entity))
    return select(MODELS[entity])


def _fetch(session: Session, entity: str, stmt: Select[Any]) -> list[Any]:
    result = session.execute(stmt)
    return list(result.all() if entity in serialise.SERIALISERS else result.scalars())


def _entered_roots(entity: str) -> Phase:
    model = ROOT_MODELS[entity]

    def phase(session: Session, sweep: Sweep, key: str | None, n: int) -> PhaseResult:
        stmt = _records(entity).where(
            model.id.in_(_roots_at(sweep, entity, removed=False)), model.deleted_at.is_(None)
        )
        if key is not None:
            stmt = stmt.where(model.id > uuid.UUID(key))
        rows = _fetch(session, entity, stmt.order_by(model.id).limit(n))
        return [(entity, r.id, r) for r in rows], _last([r.id for r in rows]), len(rows) < n

    return phase


def _child_key(key: str | None) -> tuple[uuid.UUID | None, uuid.UUID | None]:
    """``<account id>/<record id>``: resume after that record of that account. A bare record id
    (a cursor of an older server) restarts the phase: sending records again is harmless."""
    if key is None or "/" not in key:
        return None, None
    account_id, record_id = key.split("/", 1)
    return uuid.UUID(account_id), uuid.UUID(record_id)


def _children(entity: str, *, removed: bool) -> Phase:
    """The contacts, tasks or interactions of the accounts that left (ids) or entered (live
    records) the scope, account by account.

    The accounts come from ``DeviceScope`` in batches and their children by the
    ``(org_id, account_id)`` index, so a page costs the same whatever the size of the scope and
    whatever the planner knows of a device's scope rows (none, right after they were written).
    """
    model = CHILD_MODELS[entity]

    def phase(session: Session, sweep: Sweep, key: str | None, n: int) -> PhaseResult:
        after_account, after_record = _child_key(key)
        org_id = _org_of(session, sweep)
        rows: PhaseRows = []
        while True:
            roots = _roots_at(sweep, "accounts", removed=removed)
            if after_account is not None:
                roots = roots.where(DeviceScope.record_id >= after_account)
            accounts = list(
                session.execute(roots.order_by(DeviceScope.record_id).limit(ROOT_BATCH)).scalars()
            )
            if not accounts:
                return rows, None, True
            stmt = (
                select(model.id, model.account_id) if removed
                else _records(entity).where(model.deleted_at.is_(None))
            ).where(model.org_id == org_id, model.account_id.in_(accounts))  # fmt: skip
            if after_account is not None and after_record is not None:
                stmt = stmt.where(or_(model.account_id != after_account, model.id > after_record))
            budget = n - len(rows)
            found = session.execute(stmt.order_by(model.account_id, model.id).limit(budget)).all()
            rows += [(entity, r.id, None if removed else r) for r in found]
            if len(found) == budget:  # the page is full; there may be more
                return rows, f"{found[-1].account_id}/{found[-1].id}", False
            if len(accounts) < ROOT_BATCH:
                return rows, None, True
            # Every child of this batch is in: go on after its last account.
            after_account, after_record = accounts[-1], uuid.UUID(int=2**128 - 1)

    return phase


def _removed_children(entity: str) -> Phase:
    return _children(entity, removed=True)


def _entered_children(entity: str) -> Phase:
    return _children(entity, removed=False)


def _window(session: Session, sweep: Sweep, key: str | None, n: int) -> PhaseResult:
    """Records the device holds that changed since the last sweep (at their latest state).

    The change log is read by position only (its index), and which of those changes concern
    the device is decided from the roots they touch, looked up among the device's rows in one
    query (rather than joining every change with the whole scope).
    """
    assert sweep.generation is not None
    stmt = select(
        Change.seq, Change.entity, Change.record_id, Change.account_id, Change.prev_account_id
    ).where(Change.org_id == _org_of(session, sweep), _since(session, sweep.watermark))
    if key is not None:
        stmt = stmt.where(Change.seq > int(key))
    changes = session.execute(stmt.order_by(Change.seq).limit(n)).all()
    if not changes:
        return [], None, True
    holder = _Holder(session, sweep)
    holder.look_up(
        {("accounts", c.account_id) for c in changes}
        | {("accounts", c.prev_account_id) for c in changes}
        | {(c.entity, c.record_id) for c in changes if c.entity in SELF_ROOTS}
    )
    wanted: dict[str, set[uuid.UUID]] = {}
    for change in changes:
        if (
            holder.holds("accounts", change.account_id)
            or holder.holds("accounts", change.prev_account_id)
            or (change.entity in SELF_ROOTS and holder.holds(change.entity, change.record_id))
        ):  # fmt: skip
            wanted.setdefault(change.entity, set()).add(change.record_id)
    rows: PhaseRows = []
    for entity, ids in wanted.items():
        model = MODELS[entity]
        found = _fetch(session, entity, _records(entity).where(model.id.in_(ids)))
        records = {r.id: r for r in found}
        # Where each record is now (it may have moved since its change was logged).
        holder.look_up({_root_of(entity, r) for r in records.values()})
        for rid in ids:
            record = records.get(rid)
            keep = (
                record is not None and record.deleted_at is None
                and holder.holds(*_root_of(entity, record))
            )  # fmt: skip
            rows.append((entity, rid, record if keep else None))
    return rows, str(changes[-1].seq), len(changes) < n


def _org_of(session: Session, sweep: Sweep) -> uuid.UUID:
    device = session.get(Device, sweep.device_id)
    assert device is not None
    return device.org_id


def _root_of(entity: str, record: Any) -> tuple[str, Any]:
    """The scope root a live record hangs on: its account, or itself for roots without one."""
    if entity in ("accounts", "territories", "visit_plans"):
        return entity, record.id
    if entity == "tasks" and record.account_id is None:
        return "tasks", record.id
    return "accounts", record.account_id


class _Holder:
    """Which roots the device holds at the sweep's generation, looked up as needed."""

    def __init__(self, session: Session, sweep: Sweep) -> None:
        assert sweep.generation is not None
        self.session, self.sweep = session, sweep
        self.known: set[tuple[str, Any]] = set()
        self.held: set[tuple[str, Any]] = set()

    def look_up(self, roots: set[tuple[str, Any]]) -> None:
        new = {(entity, rid) for entity, rid in roots - self.known if rid is not None}
        self.known |= roots
        assert self.sweep.generation is not None
        for entity in sorted({entity for entity, _ in new}):
            ids = sorted((rid for e, rid in new if e == entity), key=str)
            for start in range(0, len(ids), ROOT_BATCH):
                batch = ids[start : start + ROOT_BATCH]
                sweep = self.sweep
                found = self.session.execute(
                    held_among(self.session, sweep.device_id, sweep.generation, entity, batch)
                ).scalars()
                self.held |= {(entity, rid) for rid in found}

    def holds(self, entity: str, record_id: Any) -> bool:
        return record_id is not None and (entity, record_id) in self.held


# (phase, what it needs to have anything to send: roots of an entity that left or entered)
_PLAN: tuple[tuple[Phase, tuple[str, str] | None], ...] = (
    (_removed_roots("territories"), ("removed", "territories")),
    (_removed_roots("tasks"), ("removed", "tasks")),
    (_removed_roots("visit_plans"), ("removed", "visit_plans")),
    (_removed_roots("accounts"), ("removed", "accounts")),
    (_removed_children("contacts"), ("removed", "accounts")),
    (_removed_children("tasks"), ("removed", "accounts")),
    (_removed_children("interactions"), ("removed", "accounts")),
    (_entered_roots("territories"), ("entered", "territories")),
    (_entered_roots("accounts"), ("entered", "accounts")),
    (_entered_children("contacts"), ("entered", "accounts")),
    (_entered_roots("tasks"), ("entered", "tasks")),
    (_entered_children("tasks"), ("entered", "accounts")),
    (_entered_roots("visit_plans"), ("entered", "visit_plans")),
    (_entered_children("interactions"), ("entered", "accounts")),
    (_window, None),
)
PHASES: tuple[Phase, ...] = tuple(phase for phase, _ in _PLAN)
PHASE_NEEDS: dict[Phase, tuple[str, str]] = {phase: needs for phase, needs in _PLAN if needs}
# The phases ``_children`` built: their page key is ``<account id>/<record id>``.
CHILD_PHASES = frozenset(p for p in PHASES if p.__qualname__.startswith(f"{_children.__name__}."))


# --- the operation ---------------------------------------------------------------------------


def pull_changes(
    session: Session, *, actor: Actor, cursor: str | None, limit: int, checksum: bool = False
) -> PullPage:
    """One page of the device's scope changes; pull again while ``has_more``."""
    sweep = _decode(cursor, actor)
    if session.get_bind().dialect.name == "postgresql":
        # A page runs the same statements with other values (the ids of a batch of accounts):
        # after five runs of a prepared statement PostgreSQL may switch to a generic plan that
        # ignores them, ten times slower here. Plan each run for its values (this transaction).
        session.execute(text("SET LOCAL plan_cache_mode TO force_custom_plan"))
    device = session.execute(
        select(Device).where(Device.id == sweep.device_id).with_for_update()
    ).scalar_one()
    # The device row's new state is written once, at the end, not flushed by the first
    # query after the sweep starts: a statement less per pull.
    with session.no_autoflush:
        current = device.pull_sweep_id and str(device.pull_sweep_id) == sweep.sweep_id
        if sweep.generation is None or not current or sweep.generation != device.pull_generation:
            # A complete cursor's basis is that of the generation it acknowledges; a cursor taken
            # in a sweep has the basis of the generation that sweep was delivering.
            acked_basis = sweep.basis if sweep.generation is None else None
            sweep = _start_sweep(
                session,
                actor,
                device,
                Sweep(sweep.device_id, sweep.acked, watermark=sweep.watermark, basis=acked_basis),
            )
        page = PullPage(cursor="", has_more=True)
        while sweep.phase < len(PHASES):
            budget = limit - page.size
            if budget <= 0:
                break
            if sweep.idle >> sweep.phase & 1:
                sweep.phase, sweep.key = sweep.phase + 1, None
                continue
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
            done = Sweep(
                device_id=sweep.device_id,
                acked=sweep.generation,
                watermark=sweep.next_watermark,
                next_watermark=sweep.next_watermark,
                basis=sweep.basis,
            )
            device.pull_position = sweep.seq_mark
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
