"""Which accounts a plan considers, as the planning core's candidates, and the checks of a
request that need the database (visibility) or span several days or reps.

Candidates are ``account_ids`` exactly (each visible to the rep) or the accounts due by the
end of the last day planned in the rep's scope, most urgent first (``planning.due``); every
fixed appointment's account joins them, mandatory.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.scope import account_condition
from fieldsync.db import utcnow
from fieldsync.exceptions import ValidationError
from fieldsync.planning import due, planner
from fieldsync.planning.schemas import MAX_CANDIDATES
from fieldsync.portfolio.models import Account


def _check_fixed(
    accounts: dict[uuid.UUID, Account], fixed: Sequence[Any], days: list[date]
) -> None:
    """Appointments are at accounts the rep sees, on a day planned (the core checks the time
    against the day and the account's opening hours)."""
    errors: dict[str, list[str]] = {}
    for index, item in enumerate(fixed):
        if item["account_id"] not in accounts:
            errors[f"fixed.{index}.account_id"] = ["Not an account the rep can see."]
        elif item.get("date", days[0]) not in days:
            errors[f"fixed.{index}.date"] = ["Not a day of the plan."]
    if errors:
        raise ValidationError("Fixed appointments cannot be kept.", fields=errors)


def _visible_accounts(
    session: Session, rep: Actor, ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Account]:
    wanted = list(dict.fromkeys(ids))
    found: dict[uuid.UUID, Account] = {}
    for start in range(0, len(wanted), 500):
        rows = session.execute(
            select(Account).where(
                account_condition(session, rep),
                Account.deleted_at.is_(None),
                Account.id.in_(wanted[start : start + 500]),
            )
        ).scalars()
        found.update({a.id: a for a in rows})
    return found


def plan_candidates(
    session: Session,
    rep: Actor,
    *,
    options: dict[str, Any],
    fixed: Sequence[Any],
    days: list[date],
    zone: ZoneInfo,
    weights: due.UrgencyWeights,
    area: ColumnElement[bool] | None = None,
) -> list[Any]:
    """The core's candidates: ``account_ids`` exactly, or the accounts due by the last day
    ranked by urgency (the most urgent, 2,000 in all), plus every appointment's account
    (mandatory)."""
    now = utcnow()
    fixed_ids = {item["account_id"] for item in fixed}
    if options.get("account_ids") is not None:
        ids = list(dict.fromkeys(options["account_ids"]))
        accounts = _visible_accounts(session, rep, [*ids, *fixed_ids])
        unknown = [str(i) for i in ids if i not in accounts]
        if unknown:
            raise ValidationError(
                "account_ids names accounts the rep cannot see.",
                fields={"account_ids": [f"Unknown account: {', '.join(unknown[:10])}"]},
            )
    else:
        # Accounts falling due up to WEEK_EARLY_DAYS after the last day are candidates too: a
        # visit a little early keeps the next days free (bench.field_sales: with a 3-day window
        # 50 % of visits are within cadence, with the day alone 32 %).
        until = datetime.combine(
            days[-1] + timedelta(days=1 + planner.WEEK_EARLY_DAYS), time(0), zone
        )
        condition = account_condition(session, rep) if area is None else area
        due_now = due.due_accounts(
            session, condition=condition, until=until, now=now,
            limit=MAX_CANDIDATES - len(fixed_ids), weights=weights,
        )  # fmt: skip
        accounts = {a.id: a for a in due_now}
        accounts.update(_visible_accounts(session, rep, fixed_ids - set(accounts)))
    _check_fixed(accounts, fixed, days)
    scores = due.account_urgencies(session, accounts.values(), now=now, weights=weights)
    minutes = options.get("default_visit_minutes") or 30
    # Most urgent first (the core breaks ties on this order); accounts without a location are
    # passed too: the core reports them unassigned as ``no_location``.
    ranked = sorted(accounts.values(), key=lambda a: (-scores.get(a.id, 0.0), str(a.id)))
    return [
        planner.Candidate(
            account_id=account.id,
            lat=None if account.lat is None else float(account.lat),
            lon=None if account.lon is None else float(account.lon),
            urgency=scores.get(account.id, 0.0),
            visit_minutes=minutes,
            opening_hours=account.opening_hours,
            mandatory=account.id in fixed_ids,
            due_on=None
            if account.visit_due_at is None
            else account.visit_due_at.astimezone(zone).date(),
        )
        for account in ranked
    ]


def validate_days(
    requests: Sequence[Any],
    candidates: Sequence[Any],
    fixed: Sequence[Any],
    belongs: Callable[[Any, Any], bool],
) -> None:
    """Check each day as the core will, naming a bad appointment by its index in the request
    (the core numbers a day's own appointments: ``fixed.0`` of the second day may be ours 3)."""
    by_id = planner.validate_candidates(candidates)
    for request in requests:
        mine = [index for index, item in enumerate(fixed) if belongs(item, request)]
        try:
            planner.validate_request(request, by_id)
        except ValidationError as error:
            raise ValidationError(
                error.message, fields={_renumber(k, mine): v for k, v in error.fields.items()}
            ) from None


def _renumber(key: str, indices: list[int]) -> str:
    parts = key.split(".")
    if parts[0] == "fixed" and len(parts) > 1 and parts[1].isdigit():
        parts[1] = str(indices[int(parts[1])])
    return ".".join(parts)
