"""Importing client files: rows become accounts (and their contacts), in bulk.

Rows go in chunks: each chunk's duplicates are looked up with one query (by id, VAT number,
email, or lower-cased name then compared on name and address), its accounts are built,
placed in territories together, stamped through ``records.mark_written`` (so phones see them
on their next pull) and inserted with one change-log INSERT (``deferred_changes``). A bad row
is reported (row, column, reason) and left out; the other rows go in. A dry run does the same
work in a savepoint and rolls it back: its report is exactly the real run's.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldsync.audit.service import record_audit
from fieldsync.auth.actor import Actor
from fieldsync.auth.models import User
from fieldsync.auth.scope import team_user_ids
from fieldsync.db import utcnow
from fieldsync.deferred import GEOCODE_QUEUE_KEY, queue_after_commit
from fieldsync.exceptions import ForbiddenError
from fieldsync.geo.geocoding.pipeline import INLINE_KEY, account_address, apply_outcome
from fieldsync.geo.geocoding.service import GeocodingService
from fieldsync.geo.models import TerritoryRep
from fieldsync.geo.service import placement_index
from fieldsync.imports import normalise as n
from fieldsync.imports.reader import Table
from fieldsync.imports.rows import (
    ParsedChunk,
    ParsedFile,
    ParsedRow,
    RowError,
    RowProblem,
    parse_table,
)
from fieldsync.portfolio.batch import WriteBatch
from fieldsync.portfolio.models import Account, Contact
from fieldsync.portfolio.service import _refresh_visit_due
from fieldsync.records import mark_written
from fieldsync.sync.changelog import deferred_changes

CHUNK_SIZE = 1000
ADDRESS = ("street", "postal_code", "city", "region", "country")
# Account columns a row may set, as the wire names them in ``mark_written``.
WIRE_NAME = {name: "address" for name in ADDRESS} | {"lat": "location", "lon": "location"}


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = field(default_factory=list)
    rows: int = 0
    dry_run: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "skipped": self.skipped,
            "errors": [{"row": e.row, "field": e.field, "message": e.message} for e in self.errors],
            "rows": self.rows,
            "dry_run": self.dry_run,
        }


# --- the import -----------------------------------------------------------------------------


@dataclass
class _Context:
    session: Session
    actor: Actor
    batch: WriteBatch  # the actor's scope, tested on loaded rows
    owners: dict[str, uuid.UUID]  # email of an active user of the organisation → id
    owner_column: str
    report: ImportReport
    # The embedded gazetteer when the session geocodes inline: imported addresses are located
    # in the same write. Otherwise (a network geocoder) they are queued for a worker.
    gazetteer: GeocodingService | None
    keys: _Keys
    queued: list[uuid.UUID] = field(default_factory=list)


@dataclass
class _Keys:
    """What identifies each account of the organisation (VAT number, email, name and
    address) → its id: read once per import, then kept up to date with what it writes. Each
    chunk then loads its candidates by id; no chunk scans the accounts table."""

    by_vat: dict[str, uuid.UUID] = field(default_factory=dict)
    by_email: dict[str, uuid.UUID] = field(default_factory=dict)
    by_name: dict[str, uuid.UUID] = field(default_factory=dict)

    def add(
        self, account_id: uuid.UUID, vat: str | None, email: str | None, name: str | None
    ) -> None:
        if vat and (key := n.vat_key(n.clean_vat(vat))):
            self.by_vat.setdefault(key, account_id)
        if email:
            self.by_email.setdefault(email.lower(), account_id)
        if name:
            self.by_name.setdefault(name, account_id)

    @classmethod
    def load(cls, session: Session, org_id: uuid.UUID) -> _Keys:
        keys = cls()
        rows = session.execute(
            select(
                Account.id, Account.vat_number, Account.email, Account.name, Account.street,
                Account.postal_code, Account.city,
            ).where(Account.org_id == org_id, Account.deleted_at.is_(None))
        )  # fmt: skip
        for row in rows:
            keys.add(row.id, row.vat_number, row.email, n.name_key(*row[3:]))
        return keys


def import_accounts(
    session: Session,
    *,
    actor: Actor,
    table: Table,
    dry_run: bool = False,
    mapping: dict[str, str | None] | None = None,
    progress: Callable[[int], None] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> ImportReport:
    """Import a client file's rows as accounts of the actor's organisation (admin, manager)."""
    _check_role(actor)
    parsed = parse_table(table, mapping, chunk_size)
    return import_parsed(session, actor=actor, parsed=parsed, dry_run=dry_run, progress=progress)


def _check_role(actor: Actor) -> None:
    if actor.is_rep:
        raise ForbiddenError("Only admins and managers import client files.")


def import_parsed(
    session: Session,
    *,
    actor: Actor,
    parsed: ParsedFile,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Import rows already parsed (here or by a child process, see ``rows``)."""
    _check_role(actor)
    team = team_user_ids(session, actor)
    territories: frozenset[uuid.UUID] = frozenset()
    if team is not None:
        territories = frozenset(
            session.execute(
                select(TerritoryRep.territory_id).where(TerritoryRep.user_id.in_(team))
            ).scalars()
        )
    users = session.execute(
        select(func.lower(User.email), User.id).where(
            User.org_id == actor.org_id, User.active.is_(True)
        )
    ).all()
    inline: GeocodingService | None = session.info.get(INLINE_KEY)
    context = _Context(
        session=session,
        actor=actor,
        batch=WriteBatch(actor, team, territories),
        owners={email: user_id for email, user_id in users},
        owner_column=parsed.columns.get("owner", (0, "owner"))[1],
        report=ImportReport(dry_run=dry_run),
        gazetteer=inline if inline is not None and inline.offline else None,
        keys=_Keys.load(session, actor.org_id),
    )
    savepoint = session.begin_nested()  # a dry run rolls it back; a failure too
    try:
        for chunk in parsed.chunks:
            _import_chunk(context, chunk)
            if progress is not None:
                progress(chunk.size)
    except BaseException:
        savepoint.rollback()
        raise
    if dry_run:
        savepoint.rollback()
    report = context.report
    report.errors.sort(key=lambda e: e.row)
    if not dry_run:
        savepoint.commit()
        for account_id in context.queued:  # a worker geocodes them once committed
            queue_after_commit(session, GEOCODE_QUEUE_KEY, account_id)
        # Who brought which client records in, whatever the way (API or command line); the
        # counts only, not the rows' personal data.
        record_audit(
            session, actor=actor, action="accounts.import", entity="accounts", record_id=None,
            details={k: v for k, v in report.as_dict().items() if k != "errors"}
            | {"errors": len(report.errors)},
        )  # fmt: skip
    return report


def _import_chunk(context: _Context, chunk: ParsedChunk) -> None:
    report = context.report
    report.rows += chunk.size
    report.errors += chunk.errors
    parsed: list[ParsedRow] = []
    for row in chunk.rows:
        if row.owner_email is not None:
            owner_id = context.owners.get(row.owner_email)
            if owner_id is None:
                message = "Not a user of the organisation."
                report.errors.append(RowError(row.row, context.owner_column, message))
                continue
            row.values["owner_id"] = owner_id
        parsed.append(row)
    session = context.session
    with deferred_changes(session), session.no_autoflush:
        matches = _Matcher(context, parsed)
        touched: list[tuple[Account, set[str], bool]] = []
        contacts: list[tuple[Contact, set[str], bool]] = []
        seen: dict[uuid.UUID, tuple[Account, set[str], bool]] = {}
        for row in parsed:
            try:
                account = matches.find(row)
            except RowProblem as problem:
                report.errors.append(RowError(row.row, problem.column, problem.message))
                continue
            creating = account is None
            if account is None:
                account = _new_account(context, row)
            entry = seen.get(account.id)
            if entry is None:
                entry = seen[account.id] = (account, set(), creating)
                touched.append(entry)
            changed = _apply(account, row.values, creating=creating)
            entry[1].update(changed)
            matches.remember(account, row if creating else None)  # later rows find it
            contact_changed = False
            if row.contact is not None:
                contact, contact_fields, contact_new = matches.apply_contact(row, account)
                contact_changed = contact_new or bool(contact_fields)
                if contact_changed:
                    contacts.append((contact, contact_fields, contact_new))
            if creating:
                report.created += 1
            elif changed or contact_changed:
                report.updated += 1
            else:
                report.skipped += 1
        now = utcnow()
        _geocode(context, touched, now)
        _place(session, context.actor.org_id, touched)
        new_records: list[Any] = []
        # Accounts first: a phone's pull meets an account before its contacts.
        for account, fields, created in touched:
            if created:
                new_records.append(account)
            if created or fields:
                mark_written(session, "accounts", account, fields, created=created, now=now)
        for contact, fields, created in contacts:
            if created:
                new_records.append(contact)
            mark_written(session, "contacts", contact, fields, created=created, now=now)
        session.add_all(new_records)
        session.flush()
    for account, _, created in touched:  # later chunks find what this one wrote
        name_key = matches.new_name_keys.get(account.id) if created else _name_key(account)
        context.keys.add(account.id, account.vat_number, account.email, name_key)


def _geocode(context: _Context, touched: list[tuple[Account, set[str], bool]], now: Any) -> None:
    """Locate the chunk's new addresses with the embedded gazetteer (no network, no cache
    needed), or queue them for a worker."""
    for account, fields, _ in touched:
        if "geocode_status" not in fields or account.geocode_status != "pending":
            continue
        if context.gazetteer is None:
            context.queued.append(account.id)
            continue
        fields |= apply_outcome(account, context.gazetteer.ask(account_address(account)), now)


def _new_account(context: _Context, row: ParsedRow) -> Account:
    actor = context.actor
    account = Account(id=uuid.uuid4(), org_id=actor.org_id, version=1, created_by=actor.user_id)
    account.geocode_attempts = 0
    # As portfolio.create_record: a manager's account is theirs unless a column names another.
    if "owner_id" not in row.values and not actor.is_admin:
        account.owner_id = actor.user_id
    account.kind = row.values.get("kind", "company")
    account.status = row.values.get("status", "customer")
    return account


def _apply(account: Account, values: dict[str, Any], *, creating: bool) -> set[str]:
    """Set the row's values on the account; return the wire fields that changed."""
    changed: set[str] = set()
    for name, value in values.items():
        if name in ("lat", "lon"):
            continue
        if getattr(account, name) != value:
            setattr(account, name, value)
            changed.add(WIRE_NAME.get(name, name))
    if "lat" in values and (account.lat, account.lon) != (values["lat"], values["lon"]):
        account.lat, account.lon = values["lat"], values["lon"]
        # A location in the file is a person's pin (the contract's "manual").
        account.location_precision = account.location_precision or "rooftop"
        account.location_source = "manual"
        account.geocode_status, account.geocode_error = "manual", None
        changed |= {"location", "geocode_status"}
    elif "address" in changed or (creating and account.address):
        # As portfolio: a new address invalidates the old spot, a pin's too; geocode again.
        account.geocode_status = "pending" if account.address else None
        account.geocode_error, account.geocode_attempts = None, 0
        account.geocode_next_attempt_at = None
        changed.add("geocode_status")
    if "visit_every_days" in changed or creating:
        _refresh_visit_due(account)
    if creating:
        changed |= {"kind", "status", "name"}
    return changed


def _place(
    session: Session, org_id: uuid.UUID, touched: list[tuple[Account, set[str], bool]]
) -> None:
    """Territories of the chunk's new and moved accounts, in one vectorised pass."""
    moved = [entry for entry in touched if entry[2] or entry[1] & {"address", "location"}]
    if not moved:
        return
    index = placement_index(session, org_id)
    targets = index.place_many([(a.lat, a.lon, a.country, a.postal_code) for a, _, _ in moved])
    for (account, fields, _), target in zip(moved, targets, strict=True):
        if account.territory_id != target:
            account.territory_id = target
            fields.add("territory_id")


class _Matcher:
    """The accounts a chunk's rows may update: loaded by id (``_Keys`` names them), plus
    those the chunk creates (a later row of the same file updates them)."""

    def __init__(self, context: _Context, rows: list[ParsedRow]) -> None:
        self.context = context
        self.by_id: dict[uuid.UUID, Account] = {}
        self.by_vat: dict[str, Account] = {}
        self.by_email: dict[str, Account] = {}
        self.by_name: dict[str, Account] = {}
        self.contacts: dict[uuid.UUID, list[Contact]] = {}
        self.new_name_keys: dict[uuid.UUID, str | None] = {}  # of the accounts it creates
        keys = context.keys
        ids: set[uuid.UUID] = set()
        for r in rows:
            v = r.values
            r.name_key = n.name_key(v["name"], v.get("street"), v.get("postal_code"), v.get("city"))
            found = (
                r.record_id,
                keys.by_vat.get(n.vat_key(v["vat_number"])) if v.get("vat_number") else None,
                keys.by_email.get(v["email"]) if v.get("email") else None,
                keys.by_name.get(r.name_key) if r.name_key else None,
            )
            ids.update(i for i in found if i is not None)
        if ids:
            # By primary key alone: with the organisation in the WHERE clause too, PostgreSQL
            # (no statistics yet on a table just filled) walks the organisation's index.
            candidates = context.session.execute(select(Account).where(Account.id.in_(ids)))
            for account in candidates.scalars():
                if account.org_id == context.actor.org_id and account.deleted_at is None:
                    self.remember(account)
        if self.by_id and any(r.contact for r in rows):
            for contact in context.session.execute(
                select(Contact).where(
                    Contact.org_id == context.actor.org_id,  # ix_contacts_org_account
                    Contact.account_id.in_(list(self.by_id)),
                    Contact.deleted_at.is_(None),
                )
            ).scalars():
                self.contacts.setdefault(contact.account_id, []).append(contact)

    def remember(self, account: Account, row: ParsedRow | None = None) -> None:
        """Index an account by its keys (a new account's are its row's, computed once)."""
        self.by_id[account.id] = account
        if account.vat_number and (vat := n.vat_key(n.clean_vat(account.vat_number))):
            self.by_vat.setdefault(vat, account)
        if account.email:
            self.by_email.setdefault(account.email.lower(), account)
        key = row.name_key if row is not None else _name_key(account)
        if row is not None:
            self.new_name_keys[account.id] = key
        if key:
            self.by_name.setdefault(key, account)

    def find(self, row: ParsedRow) -> Account | None:
        """The account the row updates (id, VAT number, email, then name and address)."""
        v = row.values
        vat = v.get("vat_number")
        candidates = (
            ("id", self.by_id.get(row.record_id) if row.record_id else None),
            ("vat_number", self.by_vat.get(n.vat_key(vat)) if vat else None),
            ("email", self.by_email.get(v["email"]) if v.get("email") else None),
            ("name", self.by_name.get(row.name_key) if row.name_key else None),
        )
        for name, account in candidates:
            if account is None:
                continue
            if not self.context.batch.sees(self.context.session, Account, account):
                raise RowProblem(name, "Matches an account outside your scope.")
            return account
        return None

    def _contact_of(self, row: ParsedRow, account: Account) -> Contact | None:
        data = row.contact or {}
        wanted = n.person_key(data.get("first_name"), data.get("last_name"))
        for contact in self.contacts.get(account.id, []):
            if data.get("email") and contact.email and contact.email.lower() == data["email"]:
                return contact
            if n.person_key(contact.first_name, contact.last_name) == wanted:
                return contact
        return None

    def apply_contact(self, row: ParsedRow, account: Account) -> tuple[Contact, set[str], bool]:
        """Find or make the row's contact on the account and set its values; return it, the
        fields that changed and whether it is new (``mark_written`` comes after the accounts)."""
        data = {k: v for k, v in (row.contact or {}).items() if v is not None}
        contact = self._contact_of(row, account)
        created = contact is None
        if contact is None:
            contact = Contact(id=uuid.uuid4(), org_id=account.org_id, account_id=account.id)
            self.contacts.setdefault(account.id, []).append(contact)
        changed = {k for k, v in data.items() if getattr(contact, k) != v}
        for name in changed:
            setattr(contact, name, data[name])
        if created:
            changed.add("account_id")
        return contact, changed, created


def _name_key(account: Account) -> str | None:
    return n.name_key(account.name, account.street, account.postal_code, account.city)
