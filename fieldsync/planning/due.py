"""How urgent a visit to an account is: one deterministic score that ranks due accounts.

``urgency(facts, now, weights)`` sums five terms, each scaled by its weight (settings
``URGENCY_WEIGHT_OVERDUE``, ``_TASKS``, ``_STATUS``, ``_VALUE``, ``_SILENCE``; 1.0 each):

- **cadence** (dominant): 10 points per cadence period elapsed since the last visit (since
  creation for an account never visited, which counts as due at once: at least 10), capped at
  4 periods. Due today: 10; a whole cadence late: 20; half-way to due: 5. No cadence: 0.
- **status**: customer 4, prospect 3, lead 1, inactive 0 (customers and prospects first).
- **tasks**: 2 points per open task due by now on the account, at most 3 tasks.
- **value**: 0.5 point per power of ten of annual revenue (1 M: 3 points), none without.
- **silence**: 1 point per 30 days since any contact (visit, call, email, meeting, note), at
  most 6; never contacted counts from creation.

plus 1 point so every account scores above zero. Scores are points, not probabilities: the
planner turns them into seconds of travel (see ``planning.planner.prize``).

The score itself is pure; ``load_due_facts``, ``account_urgencies`` and ``due_accounts`` read
the facts from the database in bulk (SQLAlchemy only, no Flask; the caller applies scope).
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from fieldsync.portfolio.models import Account, Interaction, Task

BASE = 1.0
POINTS_PER_CADENCE = 10.0
MAX_CADENCES = 4.0
STATUS_POINTS = {"customer": 4.0, "prospect": 3.0, "lead": 1.0, "inactive": 0.0}
POINTS_PER_TASK = 2.0
MAX_TASKS = 3
POINTS_PER_DECADE_OF_REVENUE = 0.5
SILENCE_DAYS_PER_POINT = 30.0
MAX_SILENCE_POINTS = 6.0
DAY = 86400.0


@dataclass(frozen=True)
class DueFacts:
    """What urgency needs to know of an account (times are aware datetimes)."""

    account_id: uuid.UUID
    status: str
    visit_every_days: int | None
    last_visit_at: datetime | None
    created_at: datetime | None
    annual_revenue: float | None
    open_tasks_due: int
    last_contact_at: datetime | None


@dataclass(frozen=True)
class UrgencyWeights:
    """How much each term of the score counts (0 turns a term off)."""

    overdue: float = 1.0
    tasks: float = 1.0
    status: float = 1.0
    value: float = 1.0
    silence: float = 1.0

    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> UrgencyWeights:
        """Read ``URGENCY_WEIGHT_*`` from the settings (missing keys keep the defaults)."""
        values = {}
        for name in ("overdue", "tasks", "status", "value", "silence"):
            raw = config.get(f"URGENCY_WEIGHT_{name.upper()}")
            if raw is not None:
                weight = float(raw)
                if not (math.isfinite(weight) and weight >= 0):
                    raise ValueError(f"URGENCY_WEIGHT_{name.upper()} must be a number >= 0")
                values[name] = weight
        return cls(**values)


def _days(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / DAY


def due_at(facts: DueFacts) -> datetime | None:
    """Return when the cadence falls due (as the server's ``visit_due_at``), None without one."""
    if not facts.visit_every_days:
        return None
    if facts.last_visit_at is None:
        return facts.created_at  # never visited: due from the start
    return facts.last_visit_at + timedelta(days=facts.visit_every_days)


def days_overdue(facts: DueFacts, now: datetime) -> float | None:
    """Return the days since the cadence fell due (negative: due in that many days); None
    without a cadence or a date to count from."""
    due = due_at(facts)
    return None if due is None else _days(now, due)


def cadence_progress(facts: DueFacts, now: datetime) -> float:
    """Return the cadence periods elapsed since the last visit (1.0: due now), 0..4."""
    if not facts.visit_every_days:
        return 0.0
    if facts.last_visit_at is None:
        since = _days(now, facts.created_at) if facts.created_at else 0.0
        progress = 1.0 + max(0.0, since) / facts.visit_every_days
    else:
        progress = max(0.0, _days(now, facts.last_visit_at)) / facts.visit_every_days
    return min(MAX_CADENCES, progress)


def urgency(facts: DueFacts, now: datetime, weights: UrgencyWeights | None = None) -> float:
    """Return the account's urgency in points (> 0; higher first), see the module docstring."""
    w = weights or UrgencyWeights()
    score = BASE + w.overdue * POINTS_PER_CADENCE * cadence_progress(facts, now)
    score += w.status * STATUS_POINTS.get(facts.status, 0.0)
    score += w.tasks * POINTS_PER_TASK * min(MAX_TASKS, max(0, facts.open_tasks_due))
    if facts.annual_revenue and facts.annual_revenue > 0:
        score += w.value * POINTS_PER_DECADE_OF_REVENUE * math.log10(1.0 + facts.annual_revenue)
    contact = max(
        (t for t in (facts.last_contact_at, facts.last_visit_at, facts.created_at) if t),
        default=None,
    )
    if contact is not None:
        silent = max(0.0, _days(now, contact))
        score += w.silence * min(MAX_SILENCE_POINTS, silent / SILENCE_DAYS_PER_POINT)
    return round(score, 6)  # rounded so that float noise never reorders equal scores


# --- reading the facts -----------------------------------------------------------------------

CHUNK = 900  # ids per IN list: under SQLite's old limit of 999 bound parameters
PREFILTER = 10_000  # due_accounts scores at most this many of the longest overdue


def _chunks(ids: Sequence[uuid.UUID]) -> Iterable[Sequence[uuid.UUID]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]


def load_due_facts(
    session: Session, accounts: Iterable[Account], now: datetime
) -> dict[uuid.UUID, DueFacts]:
    """Return the facts of `accounts`: two grouped queries (last contact, open tasks due by
    `now`) per chunk of ids, whatever their number. Deleted interactions and tasks do not
    count; a task never marked done is open."""
    rows = {a.id: a for a in accounts}
    ids = list(rows)
    last_contact: dict[uuid.UUID, datetime] = {}
    open_tasks: dict[uuid.UUID, int] = {}
    for chunk in _chunks(ids):
        contacts = session.execute(
            select(Interaction.account_id, func.max(Interaction.occurred_at))
            .where(Interaction.account_id.in_(chunk), Interaction.deleted_at.is_(None))
            .group_by(Interaction.account_id)
        )
        last_contact.update({account_id: at for account_id, at in contacts if at is not None})
        tasks = session.execute(
            select(Task.account_id, func.count())
            .where(
                Task.account_id.in_(chunk),
                Task.deleted_at.is_(None),
                or_(Task.done.is_(False), Task.done.is_(None)),
                Task.due_at <= now,
            )
            .group_by(Task.account_id)
        )
        open_tasks.update({account_id: int(n) for account_id, n in tasks if account_id})
    return {
        account_id: DueFacts(
            account_id=account_id,
            status=a.status,
            visit_every_days=a.visit_every_days,
            last_visit_at=a.last_visit_at,
            created_at=a.created_at,
            annual_revenue=a.annual_revenue,
            open_tasks_due=open_tasks.get(account_id, 0),
            last_contact_at=last_contact.get(account_id),
        )
        for account_id, a in rows.items()
    }


def account_urgencies(
    session: Session,
    accounts: Iterable[Account],
    *,
    now: datetime,
    weights: UrgencyWeights | None = None,
) -> dict[uuid.UUID, float]:
    """Return the urgency of each of `accounts` at `now`."""
    facts = load_due_facts(session, accounts, now)
    return {account_id: urgency(f, now, weights) for account_id, f in facts.items()}


def rank(scores: Mapping[uuid.UUID, float]) -> list[uuid.UUID]:
    """Return the ids most urgent first; equal scores in id order (deterministic)."""
    return sorted(scores, key=lambda account_id: (-scores[account_id], str(account_id)))


def due_accounts(
    session: Session,
    *,
    condition: ColumnElement[bool],
    until: datetime,
    now: datetime,
    limit: int,
    weights: UrgencyWeights | None = None,
) -> list[Account]:
    """Return the live accounts matching `condition` (the caller's scope) whose cadence falls
    due by `until`, the `limit` most urgent at `now` first.

    Only the ``PREFILTER`` longest overdue (by ``visit_due_at``) are scored: the cadence term
    dominates the score, and this bounds the work for organisations of any size.
    """
    accounts = list(
        session.execute(
            select(Account)
            .where(condition, Account.deleted_at.is_(None), Account.visit_due_at <= until)
            .order_by(Account.visit_due_at, Account.id)
            .limit(PREFILTER)
        ).scalars()
    )
    scores = account_urgencies(session, accounts, now=now, weights=weights)
    by_id = {a.id: a for a in accounts}
    return [by_id[account_id] for account_id in rank(scores)[:limit]]
