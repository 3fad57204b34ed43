"""Geocoding accounts: pending addresses in, locations (or reasons) out, through the one write
path so that versions bump, phones learn of it and territory placement runs.

- ``geocode_pending`` is the batch (``fieldsync geocode``, or a task queue's job).
- ``queue_geocoding`` is what the portfolio service calls when an address changes; with inline
  geocoding enabled on the session it geocodes at once, in the same write.
- A person's pin (``geocode_status`` ``manual``) is never touched: only ``pending`` accounts
  are geocoded, and an address change is what makes an account pending again.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from fieldsync.db import utcnow
from fieldsync.deferred import GEOCODE_QUEUE_KEY, queue_after_commit
from fieldsync.geo.geocoding.results import AddressQuery
from fieldsync.geo.geocoding.service import GeocodingService, Outcome, cache_key
from fieldsync.geo.service import PlacementIndex, build_placement_index, place_account
from fieldsync.portfolio.models import Account
from fieldsync.records import mark_written

INLINE_KEY = "fieldsync.geocoding.inline"
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
PERSON_SOURCES = frozenset({"gps", "manual"})


def account_address(account: Account) -> AddressQuery:
    return AddressQuery.from_mapping(account.address or {})


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    """1, 2, 4 ... minutes up to 6 hours, and never sooner than the provider asked."""
    delay = min(BACKOFF_BASE * (2 ** max(attempts - 1, 0)), BACKOFF_CAP)
    return max(delay, timedelta(seconds=retry_after or 0))


def apply_outcome(account: Account, outcome: Outcome, now: datetime) -> set[str]:
    """Set a pending account's columns from an outcome; return the wire fields that changed.

    The caller records the write (``mark_written``) and re-places the account.
    """
    before = (account.location, account.geocode_status, account.geocode_error)
    if outcome.status == "ok" and outcome.match is not None:
        match = outcome.match
        account.lat, account.lon = match.lat, match.lon
        account.location_precision, account.location_source = match.precision, "geocoder"
        account.geocode_status, account.geocode_error = "ok", None
        account.geocode_attempts, account.geocode_next_attempt_at = 0, None
    elif outcome.status == "failed":
        if account.location_source not in PERSON_SOURCES:
            # The old point belonged to the old address; a person's pin stays for them to fix.
            account.lat = account.lon = None
            account.location_precision = account.location_source = None
        account.geocode_status = "failed"
        account.geocode_error = (outcome.reason or "The address could not be located.")[:300]
        account.geocode_attempts, account.geocode_next_attempt_at = 0, None
    else:  # unavailable: stays pending, the reason visible, retried later
        account.geocode_attempts = (account.geocode_attempts or 0) + 1
        account.geocode_next_attempt_at = now + backoff(
            account.geocode_attempts, outcome.retry_after
        )
        account.geocode_error = f"Waiting for the geocoding service: {outcome.reason}."[:300]
    after = (account.location, account.geocode_status, account.geocode_error)
    names = ("location", "geocode_status", "geocode_error")
    return {name for name, old, new in zip(names, before, after, strict=True) if old != new}


def store_geocode_result(
    session: Session,
    account: Account,
    outcome: Outcome,
    *,
    now: datetime | None = None,
    index: PlacementIndex | None = None,
) -> set[str]:
    """Write an outcome onto a pending account: columns, territory, version, change log."""
    if account.geocode_status != "pending" or account.deleted_at is not None:
        return set()  # a pin was set, or the account deleted, since it was queued
    fields = apply_outcome(account, outcome, now or utcnow())
    if "location" in fields and place_account(session, account, index):
        fields.add("territory_id")
    if fields:
        mark_written(session, "accounts", account, fields)
    return fields


# --- inline ----------------------------------------------------------------------------------


def enable_inline_geocoding(session: Session, service: GeocodingService | None) -> None:
    """Geocode accounts of this session as soon as their address is written (or stop)."""
    if service is None:
        session.info.pop(INLINE_KEY, None)
    else:
        session.info[INLINE_KEY] = service


@contextmanager
def inline_geocoding(session: Session, service: GeocodingService) -> Iterator[None]:
    """Geocode inline within the block (a job, the demo), then restore what was set."""
    previous = session.info.get(INLINE_KEY)
    enable_inline_geocoding(session, service)
    try:
        yield
    finally:
        enable_inline_geocoding(session, previous)


def queue_geocoding(session: Session, account: Account) -> set[str]:
    """An account's address changed and it is pending: reset its retries and, inline, geocode
    it now. Return the wire fields changed (the caller records the write and places it)."""
    account.geocode_attempts, account.geocode_next_attempt_at = 0, None
    service: GeocodingService | None = session.info.get(INLINE_KEY)
    if account.geocode_status != "pending":
        return set()
    if service is None:
        # A worker geocodes it once this transaction has committed (see fieldsync.jobs).
        queue_after_commit(session, GEOCODE_QUEUE_KEY, account.id)
        return set()
    return apply_outcome(account, service.geocode(session, account_address(account)), utcnow())


# --- batch -----------------------------------------------------------------------------------


@dataclass
class GeocodeSummary:
    """What a run did, for the CLI's JSON line and the logs."""

    selected: int = 0
    ok: int = 0
    failed: int = 0
    waiting: int = 0  # provider unavailable: retried later with backoff
    skipped: int = 0  # changed (pin, new address, deletion) while we asked
    unique_addresses: int = 0
    cache_hits: int = 0
    provider_requests: int = 0
    stopped: str | None = None  # why the run ended early (the provider went down)
    errors: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def due_accounts(
    session: Session,
    *,
    org_id: uuid.UUID | None = None,
    account_ids: Iterable[uuid.UUID] | None = None,
    limit: int = 1000,
    now: datetime | None = None,
) -> list[uuid.UUID]:
    """Ids of live pending accounts whose next attempt is due, oldest change first."""
    stmt = select(Account.id).where(
        Account.geocode_status == "pending",
        Account.deleted_at.is_(None),
        or_(
            Account.geocode_next_attempt_at.is_(None),
            Account.geocode_next_attempt_at <= (now or utcnow()),
        ),
    )
    if org_id is not None:
        stmt = stmt.where(Account.org_id == org_id)
    if account_ids is not None:
        stmt = stmt.where(Account.id.in_(list(account_ids)))
    return list(
        session.execute(stmt.order_by(Account.updated_at, Account.id).limit(limit)).scalars()
    )


def geocode_pending(
    session: Session,
    service: GeocodingService,
    *,
    org_id: uuid.UUID | None = None,
    account_ids: Iterable[uuid.UUID] | None = None,
    limit: int = 1000,
    batch_size: int = 100,
    progress: Callable[[int], None] | None = None,
    checkpoint: Callable[[], None] | None = None,
    now: datetime | None = None,
) -> GeocodeSummary:
    """Geocode due pending accounts in batches; identical addresses are asked once.

    ``checkpoint`` (the CLI passes the session's commit) is called before asking the provider
    and after each batch: no database transaction stays open across slow network calls, and
    each batch's results are kept even if a later one fails.
    """
    summary = GeocodeSummary()
    requests_before = service.provider.requests
    ids = due_accounts(session, org_id=org_id, account_ids=account_ids, limit=limit, now=now)
    summary.selected = len(ids)
    for start in range(0, len(ids), batch_size):
        done = _geocode_batch(
            session, service, ids[start : start + batch_size], summary, checkpoint, now
        )
        if progress:
            progress(done)
        if checkpoint:
            checkpoint()
        if summary.stopped:
            break
    summary.provider_requests = service.provider.requests - requests_before
    return summary


def _geocode_batch(
    session: Session,
    service: GeocodingService,
    ids: list[uuid.UUID],
    summary: GeocodeSummary,
    checkpoint: Callable[[], None] | None,
    now: datetime | None,
) -> int:
    # 1. read: the accounts' addresses, deduplicated, and what the cache knows of them
    accounts = session.execute(select(Account).where(Account.id.in_(ids))).scalars().all()
    order = {account_id: position for position, account_id in enumerate(ids)}
    accounts = sorted(accounts, key=lambda account: order[account.id])  # oldest change first
    addresses: dict[str, AddressQuery] = {}
    asked_for: dict[uuid.UUID, str] = {}
    for account in accounts:
        key = cache_key(account_address(account))
        addresses.setdefault(key, account_address(account))
        asked_for[account.id] = key
    summary.unique_addresses += len(addresses)
    outcomes = {key: hit for key in addresses if (hit := service.cached(session, key, now=now))}
    summary.cache_hits += sum(1 for key in asked_for.values() if key in outcomes)
    # 2. ask the provider, outside any transaction, until it fails us
    missing = [key for key in addresses if key not in outcomes]
    if missing and checkpoint and not service.offline:
        checkpoint()
    for key in missing:
        outcome = service.ask(addresses[key])
        outcomes[key] = outcome
        if outcome.status == "unavailable":
            summary.stopped = outcome.reason
            break  # everything else of the run waits: one failed request, not hundreds
    # 3. write: cache, then the accounts still pending with the address we asked about
    for key in missing:
        if key in outcomes:
            service.remember(session, key, outcomes[key], now=now)
    fresh = (
        session.execute(
            select(Account).where(Account.id.in_(ids)).execution_options(populate_existing=True)
        )
        .scalars()
        .all()
    )
    indexes: dict[uuid.UUID, PlacementIndex] = {}
    for account in fresh:
        outcome = outcomes.get(asked_for.get(account.id, ""))
        if outcome is None:
            continue  # not asked: the provider went down first
        if (
            account.geocode_status != "pending"
            or account.deleted_at is not None
            or (cache_key(account_address(account)) != asked_for[account.id])
        ):
            summary.skipped += 1
            continue
        index = indexes.get(account.org_id)
        if index is None:
            index = indexes[account.org_id] = build_placement_index(session, account.org_id)
        store_geocode_result(session, account, outcome, now=now, index=index)
        _count(summary, outcome)
    return len(ids)


def _count(summary: GeocodeSummary, outcome: Outcome) -> None:
    if outcome.status == "ok":
        summary.ok += 1
    elif outcome.status == "failed":
        summary.failed += 1
        reason = (outcome.reason or "unknown").split(":")[-1].strip()
        summary.errors[reason] = summary.errors.get(reason, 0) + 1
    else:
        summary.waiting += 1
