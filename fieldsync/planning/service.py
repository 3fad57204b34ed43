"""Visit plans: plan a rep's day, week or a team's day on the planning core, store the plans
(one per rep and local date, replaced in place), read them with what actually happened.

No Flask: routes pass ``PlanningSettings`` (travel model, urgency weights) in. Every write of
a plan goes through ``records.mark_written`` (entity ``visit_plans``) so phones learn of it by
pull. Which accounts a plan considers is ``planning.candidates``; stop statuses (REST, push,
a visit interaction) are ``planning.stops``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import Organisation, User
from fieldsync.auth.scope import account_condition
from fieldsync.exceptions import ConflictError, ForbiddenError, NotFoundError, ValidationError
from fieldsync.geo.models import Territory, TerritoryRep
from fieldsync.paging import keyset_page
from fieldsync.planning import due, planner
from fieldsync.planning.candidates import plan_candidates, validate_days
from fieldsync.planning.models import VisitPlan
from fieldsync.planning.scope import can_see_rep, plan_condition
from fieldsync.planning.travel import TravelModel, travel_model_from_settings
from fieldsync.portfolio.models import Account, Interaction
from fieldsync.records import mark_written

DEFAULT_TIMEZONE = "Europe/Rome"
PLAN_FIELDS = frozenset({"rep_id", "date", "stops", "unassigned", "totals"})


@dataclass(frozen=True)
class PlanningSettings:
    """What planning needs of the app's settings, built once at startup (no Flask here)."""

    travel: TravelModel
    weights: due.UrgencyWeights = field(default_factory=due.UrgencyWeights)

    @classmethod
    def from_settings(cls, config: Mapping[str, Any]) -> PlanningSettings:
        return cls(
            travel=travel_model_from_settings(config),
            weights=due.UrgencyWeights.from_settings(config),
        )


@dataclass(frozen=True)
class Page:
    items: list[VisitPlan]
    next_cursor: str | None


# --- who, where, when ------------------------------------------------------------------------


def org_zone(session: Session, org_id: uuid.UUID) -> ZoneInfo:
    """The organisation's time zone: plan dates and HH:MM times are local to it."""
    org = session.get(Organisation, org_id)
    return ZoneInfo((org.timezone if org else None) or DEFAULT_TIMEZONE)


def _rep(session: Session, actor: Actor, rep_id: uuid.UUID | None, field: str = "rep_id") -> User:
    """The user whose days are planned: the caller, or someone in a manager's scope."""
    rep_id = rep_id or actor.user_id
    if actor.is_rep and rep_id != actor.user_id:
        raise ForbiddenError("A rep plans their own days only.")
    user = session.get(User, rep_id)
    if user is None or user.org_id != actor.org_id:
        raise NotFoundError("User not found.")
    if not can_see_rep(session, actor, user.id):
        raise ForbiddenError("This user is not in your team.")
    if not user.active:
        raise ValidationError("This user is deactivated.", fields={field: ["Inactive user."]})
    return user


def _as_actor(user: User) -> Actor:
    """The rep as an actor: candidates are what the rep may see, whoever asks."""
    return Actor(user_id=user.id, org_id=user.org_id, role=user.role)


def _point(value: dict[str, float] | None) -> tuple[float, float] | None:
    return None if value is None else (float(value["lat"]), float(value["lon"]))


def _day_request(user: User, day: date, options: dict[str, Any], fixed: Iterable[Any]) -> Any:
    """The core's DayRequest: start and end default to the rep's home (the end to the start)."""
    home = None
    if user.home_lat is not None and user.home_lon is not None:
        home = (float(user.home_lat), float(user.home_lon))
    start = _point(options.get("start")) or home
    if start is None:
        raise ValidationError(
            f"{user.name} has no home location: send start.",
            fields={"start": ["Required: the rep has no home location."]},
        )
    # The core's ``end=None`` is back to the start: an explicit null asks for that.
    end = _point(options["end"]) if "end" in options else home
    breaks = tuple(
        (b["start"], b["end"], b["minutes"] or _span(b["start"], b["end"]))
        for b in options.get("breaks") or []
    )
    return planner.DayRequest(
        date=day,
        start=start,
        end=end,
        day_start=options["day_start"],
        day_end=options["day_end"],
        breaks=breaks,
        max_stops=options.get("max_stops"),
        fixed=tuple(planner.Fixed(account_id=f["account_id"], at=f["at"]) for f in fixed),
    )


def _span(start: time, end: time) -> int:
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


def _hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


# --- storing ---------------------------------------------------------------------------------


def _wire_plan(day_plan: Any) -> dict[str, Any]:
    stops = [
        {
            "account_id": str(stop.account_id),
            "arrival": _hhmm(stop.arrival),
            "departure": _hhmm(stop.departure),
            "travel_minutes": round(stop.travel_minutes),
            "distance_km": round(float(stop.distance_km), 1),
            "status": "planned",
        }
        for stop in day_plan.stops
    ]
    unassigned = [
        {"account_id": str(account_id), "reason": str(reason)}
        for account_id, reason in day_plan.unassigned
    ]
    totals = {
        "distance_km": round(float(day_plan.distance_km), 1),
        "travel_minutes": round(day_plan.travel_minutes),
        "visits": len(stops),
    }
    return {"stops": stops, "unassigned": unassigned, "totals": totals}


def _store(
    session: Session, actor: Actor, rep_id: uuid.UUID, day: date, wire: dict[str, Any]
) -> VisitPlan:
    """Write the plan of ``rep_id`` on ``day``: a re-plan rewrites the stored one (same id, next
    version), keeping the status of stops at accounts it plans again."""
    # Locked: two re-plans of one day must not both write the same next version.
    plan = session.execute(
        select(VisitPlan)
        .where(VisitPlan.org_id == actor.org_id, VisitPlan.rep_id == rep_id, VisitPlan.date == day)
        .with_for_update()
    ).scalar_one_or_none()
    if plan is None:
        plan = VisitPlan(
            id=uuid.uuid4(), org_id=actor.org_id, rep_id=rep_id, date=day, created_by=actor.user_id,
            **wire,
        )  # fmt: skip
        savepoint = session.begin_nested()
        session.add(plan)
        mark_written(session, "visit_plans", plan, PLAN_FIELDS, created=True)
        try:
            session.flush()  # the unique (org, rep, date) decides between concurrent planners
        except IntegrityError:
            savepoint.rollback()
            raise ConflictError("This day is being planned by another request; retry.") from None
        savepoint.commit()
        return plan
    kept = {s["account_id"]: s["status"] for s in plan.stops or []}
    for stop in wire["stops"]:
        stop["status"] = kept.get(stop["account_id"], "planned")
    changed = {name for name, value in wire.items() if getattr(plan, name) != value}
    for name in changed:
        setattr(plan, name, wire[name])
    if plan.deleted_at is not None:
        plan.deleted_at = None
        changed.add("deleted_at")
    if changed:
        mark_written(session, "visit_plans", plan, changed)
    return plan


# --- planning --------------------------------------------------------------------------------


def plan_day(
    session: Session,
    *,
    actor: Actor,
    settings: PlanningSettings,
    data: dict[str, Any],
    time_limit: float = 1.0,
) -> VisitPlan:
    """Plan one day of a rep (the caller by default) and store it."""
    user = _rep(session, actor, data.get("rep_id"))
    day = data["date"]
    request = _day_request(user, day, data, data["fixed"])
    candidates = plan_candidates(
        session, _as_actor(user), options=data, fixed=data["fixed"], days=[day],
        zone=org_zone(session, actor.org_id), weights=settings.weights,
    )  # fmt: skip
    result = planner.plan_day(request, candidates, settings.travel, time_limit=time_limit)
    return _store(session, actor, user.id, day, _wire_plan(result))


def plan_week(
    session: Session,
    *,
    actor: Actor,
    settings: PlanningSettings,
    data: dict[str, Any],
    time_limit: float = 4.0,
) -> list[VisitPlan]:
    """Plan ``days`` consecutive days from ``week_start``, spreading the due accounts."""
    user = _rep(session, actor, data.get("rep_id"))
    days = [data["week_start"] + timedelta(days=i) for i in range(data["days"])]
    candidates = plan_candidates(
        session, _as_actor(user), options=data, fixed=data["fixed"], days=days,
        zone=org_zone(session, actor.org_id), weights=settings.weights,
    )  # fmt: skip
    requests = [
        _day_request(user, day, data, [f for f in data["fixed"] if f["date"] == day])
        for day in days
    ]
    validate_days(requests, candidates, data["fixed"], lambda f, r: f["date"] == r.date)
    results = planner.plan_week(requests, candidates, settings.travel, time_limit=time_limit)
    plans = []
    for day, result in zip(days, results, strict=True):
        plans.append(_store(session, actor, user.id, day, _wire_plan(result)))
    return plans


def plan_team(
    session: Session,
    *,
    actor: Actor,
    settings: PlanningSettings,
    data: dict[str, Any],
    time_limit: float = 2.0,
) -> list[VisitPlan]:
    """Plan one day of a territory's reps (or ``rep_ids``), no account twice."""
    if actor.is_rep:
        raise ForbiddenError("Team plans are for managers and admins.")
    territory = session.get(Territory, data["territory_id"])
    if territory is None or territory.org_id != actor.org_id or territory.deleted_at is not None:
        raise NotFoundError("Territory not found.")
    rep_ids = data.get("rep_ids")
    if rep_ids is None:
        rep_ids = list(
            session.execute(
                select(TerritoryRep.user_id)
                .where(TerritoryRep.territory_id == territory.id)
                .order_by(TerritoryRep.user_id)
            ).scalars()
        )
    users = [_rep(session, actor, rep_id, "rep_ids") for rep_id in dict.fromkeys(rep_ids)]
    if not users:
        raise ValidationError(
            "The territory has no reps: send rep_ids.", fields={"rep_ids": ["No reps to plan."]}
        )
    day = data["date"]
    planned = {u.id for u in users}
    strangers = [i for i, f in enumerate(data["fixed"]) if f["rep_id"] not in planned]
    if strangers:
        raise ValidationError(
            "A fixed appointment names a rep who is not planned.",
            fields={f"fixed.{i}.rep_id": ["Not one of the reps planned."] for i in strangers},
        )
    # The territory's accounts, as the caller sees them (each rep may take any of them).
    area = account_condition(session, actor) & (Account.territory_id == territory.id)
    candidates = plan_candidates(
        session, actor, options=data, fixed=data["fixed"], days=[day],
        zone=org_zone(session, actor.org_id), weights=settings.weights, area=area,
    )  # fmt: skip
    requests = {
        u.id: _day_request(u, day, data, [f for f in data["fixed"] if f["rep_id"] == u.id])
        for u in users
    }
    validate_days(
        list(requests.values()), candidates, data["fixed"],
        lambda f, r: requests[f["rep_id"]] is r,
    )  # fmt: skip
    results = planner.plan_team(requests, candidates, settings.travel, time_limit=time_limit)
    plans = []
    for user in users:
        plans.append(_store(session, actor, user.id, day, _wire_plan(results[user.id])))
    return plans


# --- reading ---------------------------------------------------------------------------------


def get_plan(
    session: Session, *, actor: Actor, plan_id: uuid.UUID, for_update: bool = False
) -> VisitPlan:
    """A plan the actor may see (a rep: their own), or NotFound; locked to write it."""
    stmt = select(VisitPlan).where(
        plan_condition(session, actor), VisitPlan.id == plan_id, VisitPlan.deleted_at.is_(None)
    )
    plan = session.execute(stmt.with_for_update() if for_update else stmt).scalar_one_or_none()
    if plan is None:
        raise NotFoundError("Visit plan not found.")
    return plan


def list_plans(
    session: Session,
    *,
    actor: Actor,
    rep_id: uuid.UUID | None,
    day: date | None,
    limit: int,
    cursor: str | None,
) -> Page:
    """Plans the actor may see, by date then id (keyset paging)."""
    stmt = select(VisitPlan).where(plan_condition(session, actor), VisitPlan.deleted_at.is_(None))
    if rep_id is not None:
        stmt = stmt.where(VisitPlan.rep_id == rep_id)
    if day is not None:
        stmt = stmt.where(VisitPlan.date == day)
    rows, next_cursor = keyset_page(
        session, stmt, key=VisitPlan.date, id_column=VisitPlan.id, cursor=cursor, limit=limit
    )
    return Page(items=rows, next_cursor=next_cursor)


def local_day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """The instants a local day runs between (23 or 25 hours on a clock change)."""
    start = datetime.combine(day, time(0), zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), zone)


def plan_actual(session: Session, plan: VisitPlan) -> dict[str, Any]:
    """Planned against actual: stop statuses, and the rep's visits of that local day."""
    start, end = local_day_bounds(plan.date, org_zone(session, plan.org_id))
    visited = list(
        session.execute(
            select(Interaction.account_id).where(
                Interaction.org_id == plan.org_id,
                Interaction.user_id == plan.rep_id,
                Interaction.kind == "visit",
                Interaction.deleted_at.is_(None),
                Interaction.occurred_at >= start,
                Interaction.occurred_at < end,
            )
        ).scalars()
    )
    stops = plan.stops or []
    stop_ids = [s["account_id"] for s in stops]
    seen = {str(a) for a in visited}
    count = {status: sum(s["status"] == status for s in stops) for status in ("done", "skipped")}
    totals = plan.totals or {}
    return {
        **count,
        "planned": sum(s["status"] == "planned" for s in stops),
        "visits": len(visited),
        "visited_stops": [a for a in stop_ids if a in seen],
        "unplanned_visits": sorted(seen - set(stop_ids)),
        "completion": round(count["done"] / len(stops), 3) if stops else None,
        "distance_km_planned": totals.get("distance_km", 0.0),
        "travel_minutes_planned": totals.get("travel_minutes", 0),
    }
