"""GDPR: erase a person's data everywhere the server holds it, and export all of it.

What erasure removes (the rest is kept: status, kind, owner, territory, cadence, visit times,
kinds and outcomes, task due dates and states, so statistics and history still add up):

- a **person** account: every field that identifies or describes the person (name becomes
  ``"Erased"``; title, first and last name, email, phone, mobile, website, VAT number, street,
  location, consent, notes, custom become null) and the geocoding cache entry of its address;
  postal code, city, region and country stay (territory placement and regional statistics);
- a **company** account: the company's own data is not personal and stays (name, VAT number,
  website, switchboard phone, address, location); what names or reaches a person goes
  (title, first and last name, email, mobile, notes, custom);
- its contacts (either kind): last name ``"Erased"``, every other personal field null;
- its interactions: the free text (``report``, ``next_step``) and the GPS fixes
  (``check_in``, ``check_out``) go; kind, time, duration, outcome and verification stay;
- its tasks: title ``"Erased"``, notes null;
- the same values inside the conflict log, the quarantine and the stored responses of the
  pushes that reported those conflicts.

Every record write goes through ``records.mark_written``: phones receive the erased values on
their next pull. The first erasure of a record stamps all its personal fields and lists it in
``erasures``, so a phone that was offline meanwhile cannot bring the values back: its older
edits lose the merge and ``privacy.guard`` keeps them out of the sync logs. Erasure is the one
way a value typed on a phone may be lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from fieldsync.audit.service import record_audit
from fieldsync.auth.actor import Actor
from fieldsync.db import utcnow
from fieldsync.exceptions import ForbiddenError
from fieldsync.geo.geocoding.models import GeocodeCacheEntry
from fieldsync.geo.geocoding.pipeline import account_address
from fieldsync.geo.geocoding.service import cache_key
from fieldsync.portfolio.models import Account, Contact, Interaction, Task
from fieldsync.portfolio.service import get_record
from fieldsync.privacy.guard import as_uuid
from fieldsync.privacy.models import ConsentChange, Erasure
from fieldsync.records import mark_written
from fieldsync.stats.models import AccountStatusChange
from fieldsync.sync.models import Changeset, Conflict, QuarantinedMutation

ERASED = "Erased"

# Columns erased per kind of record, with the value they take; the wire field each belongs to
# is what ``mark_written`` and the conflict log name.
COMPANY_ACCOUNT = {
    "title": None, "first_name": None, "last_name": None, "email": None, "mobile": None,
    "notes": None, "custom": None,
}  # fmt: skip
PERSON_ACCOUNT = {
    **COMPANY_ACCOUNT, "name": ERASED, "phone": None, "website": None, "vat_number": None,
    "street": None, "lat": None, "lon": None, "location_precision": None,
    "location_source": None, "geocode_status": None, "geocode_error": None, "consent": None,
}  # fmt: skip
CONTACT = {
    "first_name": None, "last_name": ERASED, "role": None, "email": None, "phone": None,
    "notes": None,
}  # fmt: skip
INTERACTION = {"report": None, "next_step": None, "check_in": None, "check_out": None}
TASK = {"title": ERASED, "notes": None}

WIRE_FIELD = {
    "street": "address", "lat": "location", "lon": "location",
    "location_precision": "location", "location_source": "location",
}  # fmt: skip


def wire_fields(columns: Iterable[str]) -> set[str]:
    return {WIRE_FIELD.get(name, name) for name in columns}


@dataclass
class ErasureSummary:
    """What an erasure touched (counts only: reported and audited)."""

    accounts: int = 0
    contacts: int = 0
    interactions: int = 0
    tasks: int = 0
    conflicts: int = 0
    quarantine: int = 0
    geocode_cache: int = 0
    record_ids: dict[str, set[uuid.UUID]] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        return {
            "accounts": self.accounts,
            "contacts": self.contacts,
            "interactions": self.interactions,
            "tasks": self.tasks,
            "conflicts": self.conflicts,
            "quarantine": self.quarantine,
            "geocode_cache": self.geocode_cache,
        }


def _require_manager(actor: Actor) -> None:
    if actor.is_rep:
        raise ForbiddenError("Only managers and admins handle personal-data requests.")


class _Eraser:
    """Erases records for one request: values, write path, and the list of erased records."""

    def __init__(self, session: Session, actor: Actor, records: list[Any]) -> None:
        self.session, self.actor, self.now = session, actor, utcnow()
        ids = [record.id for record in records]
        self.known: set[tuple[str, uuid.UUID]] = {
            (entity, record_id)
            for entity, record_id in session.execute(
                select(Erasure.entity, Erasure.record_id).where(Erasure.record_id.in_(ids))
            )
        }

    def erase(self, entity: str, record: Any, values: dict[str, Any]) -> bool:
        """Set the erased values and record the write (a new version for phones).

        The first erasure of a record stamps every personal field, changed or not: an edit a
        phone made before it then loses the merge when pushed later (and ``privacy.guard``
        keeps it out of the conflict log). Erasing again writes only what changed since.
        """
        changed = [name for name, value in values.items() if getattr(record, name) != value]
        for name in changed:
            setattr(record, name, values[name])
        first = (entity, record.id) not in self.known
        if first:
            self.session.add(
                Erasure(
                    org_id=self.actor.org_id,
                    entity=entity,
                    record_id=record.id,
                    fields=sorted(wire_fields(values)),
                    erased_at=self.now,
                    erased_by=self.actor.user_id,
                )
            )
            self.known.add((entity, record.id))
        if changed or first:
            stamped = wire_fields(values) if first else wire_fields(changed)
            mark_written(self.session, entity, record, stamped, now=self.now)
        return bool(changed or first)


def _mentions(row: QuarantinedMutation, ids: set[uuid.UUID], parents: dict[str, uuid.UUID]) -> bool:
    """Does a quarantined mutation concern one of ``ids``, or name one of ``parents``?"""
    if as_uuid(row.record_id) in ids:
        return True
    fields = row.mutation.get("fields") if isinstance(row.mutation, dict) else None
    return isinstance(fields, dict) and any(
        as_uuid(fields.get(key)) == value for key, value in parents.items()
    )


def _scrub_value(value: Any, personal: set[str]) -> Any:
    """A quarantined mutation with the personal fields it carried set to null."""
    if not isinstance(value, dict) or not isinstance(value.get("fields"), dict):
        return value
    fields = {k: (None if k in personal else v) for k, v in value["fields"].items()}
    return {**value, "fields": fields}


def _scrub_response(
    response: dict[str, Any], erased: dict[str, tuple[set[uuid.UUID], set[str]]]
) -> dict[str, Any]:
    """A stored push response with the erased records' conflict values set to null."""
    results = []
    for result in response.get("results") or []:
        ids, personal = erased.get(result.get("entity"), (set(), set()))
        if result.get("conflicts") and as_uuid(result.get("id")) in ids:
            result = {
                **result,
                "conflicts": [
                    {**c, "kept": None, "discarded": None} if c.get("field") in personal else c
                    for c in result["conflicts"]
                ],
            }
        results.append(result)
    return {**response, "results": results}


def _scrub_sync_logs(
    session: Session,
    actor: Actor,
    erased: dict[str, tuple[set[uuid.UUID], set[str]]],
    parent_keys: dict[str, uuid.UUID],
    summary: ErasureSummary,
) -> None:
    """Null the personal values of the erased records in the conflict log and the quarantine.

    ``erased`` maps an entity to (its erased ids, its personal wire fields); ``parent_keys``
    names fields (``account_id``, ``contact_id``) whose value marks a quarantined mutation as
    belonging to the erased person even when its own record never existed (a rejected create).
    """
    changesets: set[uuid.UUID] = set()
    for entity, (ids, personal) in erased.items():
        if not ids:
            continue
        conflicts = session.execute(
            select(Conflict).where(
                Conflict.org_id == actor.org_id,
                Conflict.entity == entity,
                Conflict.record_id.in_(ids),
                Conflict.field.in_(personal),
            )
        ).scalars()
        for conflict in conflicts:
            if conflict.changeset_id is not None:
                changesets.add(conflict.changeset_id)
            if conflict.kept is not None or conflict.discarded is not None:
                conflict.kept = conflict.discarded = None
                summary.conflicts += 1
    # A merged push's stored response (replayed on retry) lists the same conflicts.
    for changeset in session.execute(
        select(Changeset).where(Changeset.id.in_(changesets), Changeset.org_id == actor.org_id)
    ).scalars():
        response = _scrub_response(changeset.response, erased)
        if response != changeset.response:
            changeset.response = response
    # Quarantine rows are few (rejected mutations only) and their record may not exist: read
    # the organisation's rows of these entities and match them by id or by parent reference.
    rows = session.execute(
        select(QuarantinedMutation).where(
            QuarantinedMutation.org_id == actor.org_id,
            QuarantinedMutation.entity.in_(list(erased)),
        )
    ).scalars()
    for row in rows:
        if row.entity is None or not _mentions(row, erased[row.entity][0], parent_keys):
            continue
        scrubbed = _scrub_value(row.mutation, erased[row.entity][1])
        if scrubbed != row.mutation:
            row.mutation = scrubbed
            summary.quarantine += 1


def erase_account(session: Session, *, actor: Actor, account_id: uuid.UUID) -> ErasureSummary:
    """Erase the personal data of an account, its contacts and its history (see the module)."""
    _require_manager(actor)
    account: Account = get_record(
        session, actor=actor, entity="accounts", record_id=account_id, include_deleted=True
    )
    summary = ErasureSummary()
    person = account.kind == "person"
    if person and account.street:
        # The cache keeps no address text, but its key and answer point at the home address.
        key = cache_key(account_address(account))
        result = session.execute(
            delete(GeocodeCacheEntry).where(GeocodeCacheEntry.address_key == key)
        )
        summary.geocode_cache = int(result.rowcount or 0)
    account_values = PERSON_ACCOUNT if person else COMPANY_ACCOUNT
    contacts = list(
        session.execute(select(Contact).where(Contact.account_id == account.id)).scalars()
    )
    interactions = list(
        session.execute(select(Interaction).where(Interaction.account_id == account.id)).scalars()
    )
    tasks = list(session.execute(select(Task).where(Task.account_id == account.id)).scalars())
    eraser = _Eraser(session, actor, [account, *contacts, *interactions, *tasks])
    summary.accounts = int(eraser.erase("accounts", account, account_values))
    summary.contacts = sum(eraser.erase("contacts", c, CONTACT) for c in contacts)
    summary.interactions = sum(eraser.erase("interactions", i, INTERACTION) for i in interactions)
    summary.tasks = sum(eraser.erase("tasks", t, TASK) for t in tasks)
    contact_ids = {c.id for c in contacts}
    erased = {
        "accounts": ({account.id}, wire_fields(account_values)),
        "contacts": (contact_ids, wire_fields(CONTACT)),
        "interactions": ({i.id for i in interactions}, wire_fields(INTERACTION)),
        "tasks": ({t.id for t in tasks}, wire_fields(TASK)),
    }
    _scrub_sync_logs(session, actor, erased, {"account_id": account.id}, summary)
    record_audit(
        session,
        actor=actor,
        action="account.erase",
        entity="accounts",
        record_id=account.id,
        details={"kind": account.kind, **summary.counts()},
    )
    session.flush()
    return summary


def erase_contact(session: Session, *, actor: Actor, contact_id: uuid.UUID) -> ErasureSummary:
    """Erase a contact person and the free text and GPS fixes of the interactions with them."""
    _require_manager(actor)
    contact: Contact = get_record(
        session, actor=actor, entity="contacts", record_id=contact_id, include_deleted=True
    )
    summary = ErasureSummary()
    interactions = list(
        session.execute(select(Interaction).where(Interaction.contact_id == contact.id)).scalars()
    )
    eraser = _Eraser(session, actor, [contact, *interactions])
    summary.contacts = int(eraser.erase("contacts", contact, CONTACT))
    summary.interactions = sum(eraser.erase("interactions", i, INTERACTION) for i in interactions)
    erased = {
        "contacts": ({contact.id}, wire_fields(CONTACT)),
        "interactions": ({i.id for i in interactions}, wire_fields(INTERACTION)),
    }
    _scrub_sync_logs(session, actor, erased, {"contact_id": contact.id}, summary)
    record_audit(
        session,
        actor=actor,
        action="contact.erase",
        entity="contacts",
        record_id=contact.id,
        details={"account_id": str(contact.account_id), **summary.counts()},
    )
    session.flush()
    return summary


@dataclass
class PersonalData:
    """Everything held about the person of an account."""

    account: Account
    contacts: list[Contact]
    interactions: list[Interaction]
    tasks: list[Task]
    conflicts: list[Conflict]
    quarantine: list[QuarantinedMutation]
    consent_history: list[ConsentChange]
    status_history: list[AccountStatusChange]


def personal_data(session: Session, *, actor: Actor, account_id: uuid.UUID) -> PersonalData:
    """Collect what the server holds about an account's person (deleted records included);
    the export itself is audited."""
    _require_manager(actor)
    account: Account = get_record(
        session, actor=actor, entity="accounts", record_id=account_id, include_deleted=True
    )

    def children(model: Any) -> list[Any]:
        stmt = select(model).where(model.account_id == account.id).order_by(model.created_at)
        return list(session.execute(stmt).scalars())

    contacts, interactions, tasks = children(Contact), children(Interaction), children(Task)
    ids = {account.id} | {r.id for r in (*contacts, *interactions, *tasks)}
    conflicts = list(
        session.execute(
            select(Conflict)
            .where(
                Conflict.org_id == actor.org_id,
                or_(Conflict.account_id == account.id, Conflict.record_id.in_(ids)),
            )
            .order_by(Conflict.logged_at)
        ).scalars()
    )
    quarantine = [
        row
        for row in session.execute(
            select(QuarantinedMutation)
            .where(QuarantinedMutation.org_id == actor.org_id)
            .order_by(QuarantinedMutation.logged_at)
        ).scalars()
        if _mentions(row, ids, {"account_id": account.id})
    ]
    consent_history = list(
        session.execute(
            select(ConsentChange)
            .where(ConsentChange.account_id == account.id)
            .order_by(ConsentChange.version, ConsentChange.recorded_at)
        ).scalars()
    )
    status_history = list(
        session.execute(
            select(AccountStatusChange)
            .where(AccountStatusChange.account_id == account.id)
            .order_by(AccountStatusChange.version)
        ).scalars()
    )
    record_audit(
        session,
        actor=actor,
        action="account.personal_data",
        entity="accounts",
        record_id=account.id,
        details={
            "contacts": len(contacts),
            "interactions": len(interactions),
            "tasks": len(tasks),
        },
    )
    return PersonalData(
        account=account,
        contacts=contacts,
        interactions=interactions,
        tasks=tasks,
        conflicts=conflicts,
        quarantine=quarantine,
        consent_history=consent_history,
        status_history=status_history,
    )
