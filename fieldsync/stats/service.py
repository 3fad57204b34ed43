"""Coverage statistics: per rep or territory, how well the caller's accounts are looked after.

For the period [from, to) and the caller's scope (``auth.scope``), per group:

- ``accounts``: live accounts created before ``to``;
- ``with_cadence``: those with a ``visit_every_days``;
- ``visited_within_cadence``: those whose latest visit at or before ``to`` lies within
  ``visit_every_days`` days of ``to``; ``coverage_pct`` is its share of ``with_cadence``;
- ``overdue``: accounts with a cadence not visited within it (never visited counts, as the
  ``due`` filter of the account list has it);
- ``visits`` / ``calls``: live interactions of that kind in the period;
- ``new_leads`` / ``new_prospects``: accounts created in the period with that status;
- ``conversions``: changes from lead or prospect to customer in the period
  (``account_status_changes``, written by a write listener, see ``stats.history``).

Groups: ``rep``: the reps in the caller's scope; a rep's accounts are those of their
territories and those they own (their phone's scope, so an account of a shared territory
counts for each of its reps) and a rep's visits and calls are those they made.
``territory``: the territories of the caller's team (all of them for an admin) plus one group
with ``id`` null for the accounts in scope without a territory; a territory's visits and calls
are those of its accounts, by whoever made them. ``totals`` counts the whole scope once.
Every figure is one grouped query (no per-account loop), the same SQL on both databases but
for the day arithmetic.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    func,
    literal,
    literal_column,
    select,
    union,
)
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import Organisation, User
from fieldsync.auth.scope import account_condition, team_user_ids
from fieldsync.db import UTCDateTime, utcnow
from fieldsync.exceptions import ForbiddenError, ValidationError
from fieldsync.geo.models import Territory, TerritoryRep
from fieldsync.portfolio.models import Account, Interaction
from fieldsync.stats.models import AccountStatusChange

DEFAULT_DAYS = 30
METRICS = (
    "accounts", "with_cadence", "visited_within_cadence", "overdue", "visits", "calls",
    "new_leads", "new_prospects", "conversions",
)  # fmt: skip


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def period(
    session: Session, *, actor: Actor, start: date | datetime | None, end: date | datetime | None
) -> Period:
    """The [from, to) instants: dates are days of the organisation's time zone (``to`` a
    date includes that day); ``to`` defaults to now, ``from`` to 30 days before ``to``."""
    org = session.get(Organisation, actor.org_id)
    zone = ZoneInfo(org.timezone if org and org.timezone else "UTC")

    def instant(value: date | datetime, next_day: bool) -> datetime:
        if isinstance(value, datetime):
            return value
        day = value + timedelta(days=1) if next_day else value
        return datetime.combine(day, time(0), tzinfo=zone)

    until = instant(end, True) if end is not None else utcnow()
    since = instant(start, False) if start is not None else until - timedelta(days=DEFAULT_DAYS)
    if since >= until:
        raise ValidationError("from must be before to.", fields={"from": ["Not before to."]})
    return Period(since, until)


def _days_since(session: Session, earlier: Any, later: datetime) -> ColumnElement[float]:
    """Days from ``earlier`` (a column) to ``later``, fractional."""
    moment = literal(later, UTCDateTime())
    if session.get_bind().dialect.name == "postgresql":
        return func.extract("epoch", moment - earlier) / 86400.0
    return func.julianday(moment) - func.julianday(earlier)


def _members(session: Session, actor: Actor, group_by: str | None) -> Any:
    """(gid, account_id) of the accounts in scope by group; gid null when ungrouped."""
    live = and_(account_condition(session, actor), Account.deleted_at.is_(None))
    if group_by == "rep":
        by_territory = (
            select(TerritoryRep.user_id.label("gid"), Account.id.label("account_id"))
            .join(Account, Account.territory_id == TerritoryRep.territory_id)
            .where(live)
        )
        by_owner = select(Account.owner_id.label("gid"), Account.id.label("account_id")).where(
            live, Account.owner_id.is_not(None)
        )
        return union(by_territory, by_owner).subquery("members")  # union: a pair once
    gid: Any = Account.territory_id if group_by == "territory" else literal_column("NULL")
    return select(gid.label("gid"), Account.id.label("account_id")).where(live).subquery("members")


def _account_counts(
    session: Session, actor: Actor, members: Any, window: Period
) -> dict[Any, dict[str, int]]:
    last_visit = (
        select(Interaction.account_id, func.max(Interaction.occurred_at).label("last"))
        .where(
            Interaction.org_id == actor.org_id,  # (org_id, account_id) index, one organisation
            Interaction.kind == "visit",
            Interaction.deleted_at.is_(None),
            Interaction.occurred_at <= literal(window.end, UTCDateTime()),
        )
        .group_by(Interaction.account_id)
        .subquery("last_visits")
    )
    cadence = Account.visit_every_days
    within = and_(
        cadence.is_not(None),
        last_visit.c.last.is_not(None),
        _days_since(session, last_visit.c.last, window.end) <= cadence,
    )
    stmt = (
        select(
            members.c.gid,
            func.count(),
            func.count(cadence),
            func.coalesce(func.sum(case((within, 1), else_=0)), 0),
        )
        .select_from(members)
        .join(Account, Account.id == members.c.account_id)
        .outerjoin(last_visit, last_visit.c.account_id == Account.id)
        .where(Account.created_at < literal(window.end, UTCDateTime()))
        .group_by(members.c.gid)
    )
    out: dict[Any, dict[str, int]] = {}
    for gid, accounts, with_cadence, visited in session.execute(stmt):
        out[gid] = {
            "accounts": int(accounts),
            "with_cadence": int(with_cadence),
            "visited_within_cadence": int(visited),
            "overdue": int(with_cadence) - int(visited),
        }
    return out


def _activity_counts(
    session: Session, actor: Actor, members: Any, group_by: str | None, window: Period
) -> dict[Any, dict[str, int]]:
    in_period = and_(
        Interaction.org_id == actor.org_id,  # lets the join use the (org_id, account_id) index
        Interaction.kind.in_(("visit", "call")),
        Interaction.deleted_at.is_(None),
        Interaction.occurred_at >= literal(window.start, UTCDateTime()),
        Interaction.occurred_at < literal(window.end, UTCDateTime()),
    )
    if group_by == "rep":
        # A rep's own visits and calls, on accounts the caller sees (any of them).
        scope = select(Account.id).where(account_condition(session, actor))
        stmt = (
            select(Interaction.user_id, Interaction.kind, func.count())
            .where(in_period, Interaction.account_id.in_(scope))
            .group_by(Interaction.user_id, Interaction.kind)
        )
    else:
        stmt = (
            select(members.c.gid, Interaction.kind, func.count())
            .select_from(members)
            .join(Interaction, Interaction.account_id == members.c.account_id)
            .where(in_period)
            .group_by(members.c.gid, Interaction.kind)
        )
    out: dict[Any, dict[str, int]] = {}
    for gid, kind, count in session.execute(stmt):
        out.setdefault(gid, {})[f"{kind}s"] = int(count)
    return out


def _status_counts(
    session: Session, actor: Actor, members: Any, window: Period
) -> dict[Any, dict[str, int]]:
    change = AccountStatusChange
    category = case(
        (and_(change.from_status.is_(None), change.to_status == "lead"), "new_leads"),
        (and_(change.from_status.is_(None), change.to_status == "prospect"), "new_prospects"),
        (
            and_(change.from_status.in_(("lead", "prospect")), change.to_status == "customer"),
            "conversions",
        ),
        else_=None,
    ).label("category")
    counted = (
        select(members.c.gid.label("gid"), category)
        .select_from(members)
        .join(change, change.account_id == members.c.account_id)
        .where(
            change.org_id == actor.org_id,
            change.changed_at >= literal(window.start, UTCDateTime()),
            change.changed_at < literal(window.end, UTCDateTime()),
        )
        .subquery("counted")
    )
    stmt = (
        select(counted.c.gid, counted.c.category, func.count())
        .where(counted.c.category.is_not(None))
        .group_by(counted.c.gid, counted.c.category)
    )
    out: dict[Any, dict[str, int]] = {}
    for gid, name, count in session.execute(stmt):
        out.setdefault(gid, {})[name] = int(count)
    return out


def _figures(
    session: Session, actor: Actor, group_by: str | None, window: Period
) -> dict[Any, dict[str, Any]]:
    members = _members(session, actor, group_by)
    figures: dict[Any, dict[str, Any]] = {}
    for part in (
        _account_counts(session, actor, members, window),
        _activity_counts(session, actor, members, group_by, window),
        _status_counts(session, actor, members, window),
    ):
        for gid, values in part.items():
            figures.setdefault(gid, {}).update(values)
    return figures


def _complete(values: dict[str, Any]) -> dict[str, Any]:
    row = {name: int(values.get(name, 0)) for name in METRICS}
    row["coverage_pct"] = (
        round(100.0 * row["visited_within_cadence"] / row["with_cadence"], 1)
        if row["with_cadence"]
        else None
    )
    return row


def _groups(session: Session, actor: Actor, group_by: str) -> list[tuple[uuid.UUID, str]]:
    """The groups every report lists, even with nothing in them: the caller's reps or the
    territories of the caller's team."""
    team = team_user_ids(session, actor)
    if group_by == "rep":
        stmt = select(User.id, User.name).where(
            User.org_id == actor.org_id, User.role == "rep", User.active.is_(True)
        )
        if team is not None:
            stmt = stmt.where(User.id.in_(team))
        return [(row[0], row[1]) for row in session.execute(stmt.order_by(User.name, User.id))]
    stmt = select(Territory.id, Territory.name).where(
        Territory.org_id == actor.org_id, Territory.deleted_at.is_(None)
    )
    if team is not None:
        assigned = select(TerritoryRep.territory_id).where(TerritoryRep.user_id.in_(team))
        stmt = stmt.where(Territory.id.in_(assigned))
    return [
        (row[0], row[1]) for row in session.execute(stmt.order_by(Territory.name, Territory.id))
    ]


def coverage(
    session: Session,
    *,
    actor: Actor,
    group_by: str,
    start: date | datetime | None = None,
    end: date | datetime | None = None,
) -> dict[str, Any]:
    """The coverage report of the caller's scope (managers and admins)."""
    if actor.is_rep:
        raise ForbiddenError("Coverage statistics are for managers and admins.")
    window = period(session, actor=actor, start=start, end=end)
    figures = _figures(session, actor, group_by, window)
    items = []
    for gid, name in _groups(session, actor, group_by):
        items.append({"id": gid, "name": name, **_complete(figures.pop(gid, {}))})
    if group_by == "territory":
        # Accounts in scope without a territory (owned ones), and territories outside the
        # caller's team that hold accounts the caller sees through an owner.
        names = dict(
            session.execute(
                select(Territory.id, Territory.name).where(
                    Territory.id.in_([gid for gid in figures if gid is not None])
                )
            ).all()
        )
        for gid in sorted(figures, key=lambda g: (g is None, names.get(g, ""))):
            if gid is None or gid in names:
                items.append({"id": gid, "name": names.get(gid), **_complete(figures[gid])})
    totals = _complete(_figures(session, actor, None, window).get(None, {}))
    return {
        "group_by": group_by,
        "from": window.start,
        "to": window.end,
        "items": items,
        "totals": totals,
    }


__all__ = ["METRICS", "coverage", "period"]
