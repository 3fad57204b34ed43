"""Many writes of one actor in one transaction (a pushed changeset): the reads they share.

The services read what each write needs as they go: the record by id, the account a contact
hangs on, whether the actor may see it. For one REST write that is a few queries; a changeset
makes hundreds of writes. Inside ``write_batch`` those reads are answered from memory:

- the records the changeset names (its ids, and the accounts and contacts its fields point
  to, and the accounts of those) are loaded in one query per entity and kept referenced, so
  ``find`` answers from the session's identity map; an id that was not there answers ``None``
  without a query (a record created since is in the identity map, and kept there; one whose
  creation was rolled back is not);
- the actor's team and the territories of the team are read once, and ``sees`` applies the
  rule of ``auth.scope`` to a loaded record in Python (on its state in the session, which the
  services flush after every write).

Nothing here changes what is written: every write still goes through the services. Rows that
other transactions commit while the batch runs are not seen by ``find`` for records it loaded
(as a REPEATABLE READ transaction would not see them).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.scope import team_user_ids
from fieldsync.geo.models import TerritoryRep
from fieldsync.portfolio.models import Account, Contact, Interaction, Task

BATCH_KEY = "fieldsync.write_batch"
MODELS: dict[str, type[Any]] = {
    "accounts": Account,
    "contacts": Contact,
    "interactions": Interaction,
    "tasks": Task,
}
CHUNK = 500  # ids per IN list


@dataclass
class WriteBatch:
    actor: Actor
    team: set[uuid.UUID] | None  # None: the whole organisation
    territories: frozenset[uuid.UUID]  # of the team
    absent: set[tuple[type[Any], uuid.UUID]] = field(default_factory=set)
    kept: list[Any] = field(default_factory=list)  # strong references: the identity map is weak
    # Optimistic mode (see ``sync.push``): the services leave their writes pending instead of
    # flushing each one, and ``find`` answers for the records created but not yet inserted.
    defer_flush: bool = False
    pending: dict[tuple[type[Any], Any], Any] = field(default_factory=dict)

    def find(self, session: Session, model: type[Any], record_id: Any) -> Any:
        """``session.get(model, record_id)``, from memory when the batch knows the answer."""
        record = session.identity_map.get(session.identity_key(model, record_id))
        if record is None and self.pending:
            record = self.pending.get((model, record_id))
        if record is not None or (model, record_id) in self.absent:
            return record
        record = session.get(model, record_id)
        if record is not None:
            self.kept.append(record)
        return record

    def sees(self, session: Session, model: type[Any], record: Any) -> bool:
        """``auth.scope.record_condition`` for a loaded record (deleted or not)."""
        if record.org_id != self.actor.org_id:
            return False
        if self.team is None:
            return True
        if model is Account:
            return record.territory_id in self.territories or record.owner_id in self.team
        if model is Task and record.account_id is None:
            return record.assignee_id in self.team or record.created_by in self.team
        account = self.find(session, Account, record.account_id)
        return account is not None and self.sees(session, Account, account)

    def created(self, model: type[Any], record: Any) -> None:
        """Note a record added to the session: until it is flushed, only ``find`` knows it."""
        if self.defer_flush:
            self.pending[(model, record.id)] = record

    def flush(self, session: Session) -> None:
        """Flush now, unless the batch is optimistic (it flushes once, at its end)."""
        if not self.defer_flush:
            session.flush()


@event.listens_for(Session, "pending_to_persistent")
def _keep_created(session: Session, instance: Any) -> None:
    """Keep what the batch creates: ``find`` must see it in the (weak) identity map."""
    batch = session.info.get(BATCH_KEY)
    if batch is not None:
        batch.kept.append(instance)


def current_batch(session: Session, actor: Actor) -> WriteBatch | None:
    """The batch this session runs for ``actor``, if any."""
    batch: WriteBatch | None = session.info.get(BATCH_KEY)
    return batch if batch is not None and batch.actor == actor else None


def _uuid(value: Any) -> uuid.UUID | None:
    if isinstance(value, uuid.UUID):
        return value
    if isinstance(value, str):
        try:
            return uuid.UUID(value)
        except ValueError:
            return None
    return None


def _load(
    session: Session, batch: WriteBatch, model: type[Any], ids: Iterable[uuid.UUID]
) -> list[Any]:
    wanted = sorted(set(ids))
    found: list[Any] = []
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        found += session.execute(select(model).where(model.id.in_(chunk))).scalars()
    batch.kept += found
    batch.absent |= {(model, rid) for rid in wanted} - {(model, r.id) for r in found}
    return found


@contextmanager
def write_batch(session: Session, actor: Actor, mutations: Iterable[Any]) -> Iterator[WriteBatch]:
    """Load what the mutations (push's ``{"entity", "id", "fields"}`` objects) will read,
    and let the services answer their reads from memory until the block ends."""
    team = team_user_ids(session, actor)
    territories: frozenset[uuid.UUID] = frozenset()
    if team is not None:
        territories = frozenset(
            session.execute(
                select(TerritoryRep.territory_id).where(TerritoryRep.user_id.in_(team))
            ).scalars()
        )
    batch = WriteBatch(actor=actor, team=team, territories=territories)
    wanted: dict[type[Any], set[uuid.UUID]] = {model: set() for model in MODELS.values()}
    for raw in mutations:
        if not isinstance(raw, dict):
            continue
        model = MODELS.get(raw.get("entity"))  # type: ignore[arg-type]
        record_id = _uuid(raw.get("id"))
        if model is not None and record_id is not None:
            wanted[model].add(record_id)
        fields = raw.get("fields")
        if isinstance(fields, dict):
            for model, name in ((Account, "account_id"), (Contact, "contact_id")):
                ref = _uuid(fields.get(name))
                if ref is not None:
                    wanted[model].add(ref)
    parents: set[uuid.UUID] = set()
    for model in (Contact, Interaction, Task):
        parents |= {r.account_id for r in _load(session, batch, model, wanted[model])}
    parents.discard(None)  # type: ignore[arg-type]
    _load(session, batch, Account, wanted[Account] | parents)
    session.info[BATCH_KEY] = batch
    try:
        yield batch
    finally:
        session.info.pop(BATCH_KEY, None)
