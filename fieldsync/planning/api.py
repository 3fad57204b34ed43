"""Routes of visit planning: plan a day, a week or a team's day; read plans with what actually
happened; set a stop's status. Builds the app's travel model and urgency weights when the
blueprint is registered.

Contract choices (also in the OpenAPI text of each route):

- One plan per rep and local date. Planning a day again replaces the stored plan of that rep and
  date: same id, next version (a phone never holds two plans for a day); stops at accounts
  planned again keep their status.
- Dates and ``HH:MM`` times are local to the organisation's time zone (``Europe/Rome`` unless
  the organisation says otherwise).
- ``start`` and ``end`` default to the rep's home location (``home_location`` of the user);
  without a home location, or with ``"end": null``, the day ends back at ``start``. No
  ``start`` and no home location: 422 naming ``start``.
- Defaults: ``day_start`` 08:30, ``day_end`` 17:30, no breaks, no ``max_stops`` limit,
  ``default_visit_minutes`` 30 (every visit lasts that long).
- Candidates: ``account_ids`` exactly (at most 2,000; any the rep cannot see, deleted or of
  another organisation: 422 naming ``account_ids``), else the accounts due (``visit_due_at``
  before the end of the last day planned) in the rep's scope, ranked by urgency, the 2,000 most
  urgent. A fixed appointment's account is always a candidate and is mandatory; it must be
  visible to the rep and open at that time (422 naming ``fixed.<i>.at``). Accounts without a
  location are left out with reason ``no_location``.
- Nothing fits (a closed account, a day too short): 200, the plan has no stops and every
  candidate is in ``unassigned`` with its reason.
- Week: ``fixed`` items carry their ``date``; team: their ``rep_id``. Accounts left out before
  routing (``no_location``) are reported once, in the first plan of the answer.
- Roles: a rep plans and reads their own days (another rep's: 403 on planning, 404 on reading);
  a manager the days of their team (a manager with no team: the organisation); an admin the
  organisation. Team plans: managers and admins only.
- Phones: a rep's device pulls its own plans, a manager's device its team's plans, an admin's
  the organisation's: those dated from 14 days ago on (older plans are reported removed).
  A push changes the status of the stops it names and nothing else.
"""

from __future__ import annotations

import uuid
from typing import Any

from flask import Flask, current_app
from flask.views import MethodView

from fieldsync.extensions import Blueprint, db
from fieldsync.planning import schemas as s
from fieldsync.planning import service, stops
from fieldsync.planning.service import PlanningSettings
from fieldsync.web import current_actor, etag_headers, if_match_version

SETTINGS_KEY = "fieldsync.planning"

plans_blp = Blueprint(
    "plans", __name__, url_prefix="/api/v1/plans", description="Visit plans: who to see, when"
)


def planning_settings(app: Flask | None = None) -> PlanningSettings:
    """The app's travel model and urgency weights (built at startup from its settings)."""
    settings: PlanningSettings = (app or current_app).extensions[SETTINGS_KEY]
    return settings


@plans_blp.record_once
def _set_up(state: Any) -> None:
    state.app.extensions[SETTINGS_KEY] = PlanningSettings.from_settings(state.app.config)


def _detail(plan: Any) -> dict[str, Any]:
    """The plan's fields and its planned-against-actual summary, for the detail schema."""
    fields = {name: getattr(plan, name) for name in s.VisitPlanSchema._declared_fields}
    return {**fields, "actual": service.plan_actual(db.session, plan)}


@plans_blp.route("")
class Plans(MethodView):
    @plans_blp.arguments(s.PlanQueryArgsSchema, location="query")
    @plans_blp.response(200, s.VisitPlanPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """List visit plans

        The plans you can see (a rep: their own; a manager: their team's), by date, filtered by
        `rep_id` and `date`, paged with `limit` and `cursor`.
        """
        page = service.list_plans(
            db.session, actor=current_actor(), rep_id=args.get("rep_id"), day=args.get("date"),
            limit=args["limit"], cursor=args["cursor"],
        )  # fmt: skip
        return {"items": page.items, "next_cursor": page.next_cursor}

    @plans_blp.arguments(s.PlanCreateSchema)
    @plans_blp.response(200, s.VisitPlanSchema)
    @plans_blp.alt_response(403, description="A rep asking for another rep's day")
    def post(self, body: dict[str, Any]) -> Any:
        """Plan a rep's day

        A rep plans their own day, a manager or admin a rep of their scope. Stores the plan
        (replacing that rep's plan of that date: same id, next version) and answers it; it
        reaches the rep's phone by pull. `start`/`end` default to the rep's home location (no
        start and no home: 422 on `start`); `end: null` (or no home) ends back at the start.
        Defaults: 08:30-17:30, no breaks, 30-minute visits. Candidates are `account_ids` exactly (at
        most 2,000, each visible to the rep, else 422) or the accounts due by the end of the
        day ranked by urgency (the 2,000 most urgent); fixed appointments must fall in the day
        and in the account's opening hours (422 on `fixed.<i>.at`). A day where nothing fits
        answers 200 with every candidate in `unassigned` and why.
        """
        plan = service.plan_day(
            db.session, actor=current_actor(), settings=planning_settings(), data=body
        )
        return plan, 200, etag_headers(plan.version)


@plans_blp.route("/week")
class WeekPlans(MethodView):
    @plans_blp.arguments(s.PlanWeekSchema)
    @plans_blp.response(200, s.VisitPlansSchema)
    @plans_blp.alt_response(403, description="A rep asking for another rep's week")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Plan a rep's week

        One plan per day for `days` days (1 to 7, default 5) from `week_start`, spreading the
        accounts due by the last day over the week; each replaces the stored plan of its date.
        `fixed` items carry their `date`. Accounts that cannot be planned at all
        (`no_location`) are listed once, in the first day's `unassigned`.
        """
        plans = service.plan_week(
            db.session, actor=current_actor(), settings=planning_settings(), data=body
        )
        return {"plans": plans}


@plans_blp.route("/team")
class TeamPlans(MethodView):
    @plans_blp.arguments(s.PlanTeamSchema)
    @plans_blp.response(200, s.VisitPlansSchema)
    @plans_blp.alt_response(403, description="A rep, or a rep outside the caller's team")
    def post(self, body: dict[str, Any]) -> dict[str, Any]:
        """Plan a team's day (managers, admins)

        One plan per rep (`rep_ids`, default the territory's reps), each from the rep's own
        start point (their home unless `start` is sent), no account twice. Candidates are the
        territory's accounts due that day as the caller sees them, or `account_ids`. `fixed`
        items carry their `rep_id`. Accounts left out before routing are listed once, in the
        first plan's `unassigned`.
        """
        plans = service.plan_team(
            db.session, actor=current_actor(), settings=planning_settings(), data=body
        )
        return {"plans": plans}


@plans_blp.route("/<uuid:plan_id>")
class Plan(MethodView):
    @plans_blp.response(200, s.VisitPlanDetailSchema)
    def get(self, plan_id: uuid.UUID) -> Any:
        """Get a visit plan, planned against actual

        `actual` compares the plan with what happened: stops `done`, `skipped` and still
        `planned`; `visits`, the rep's visit interactions that local day; `visited_stops`, the
        stops among them; `unplanned_visits`, the accounts visited that day that are not stops;
        `completion` (done / stops); and the planned `distance_km_planned` and
        `travel_minutes_planned`. A visit interaction at a stop marks it `done` by itself.
        Answers `ETag: "<version>"`.
        """
        plan = service.get_plan(db.session, actor=current_actor(), plan_id=plan_id)
        return _detail(plan), 200, etag_headers(plan.version)


@plans_blp.route("/<uuid:plan_id>/stops/<uuid:account_id>")
class Stop(MethodView):
    @plans_blp.arguments(s.StopStatusSchema)
    @plans_blp.response(200, s.VisitPlanDetailSchema)
    @plans_blp.alt_response(412, description="If-Match names a stale version; nothing written")
    def patch(self, body: dict[str, Any], plan_id: uuid.UUID, account_id: uuid.UUID) -> Any:
        """Set a stop's status

        `planned`, `done` or `skipped`: the rep of the plan, or a manager or admin whose scope
        holds the rep. An account that is not a stop of the plan: 404. The plan gets a new
        version, which phones receive by pull. Send `If-Match: "<version>"` to refuse to
        overwrite a newer version (412).
        """
        plan = stops.set_stop_status(
            db.session, actor=current_actor(), plan_id=plan_id, account_id=account_id,
            status=body["status"], expected_version=if_match_version(),
        )  # fmt: skip
        return _detail(plan), 200, etag_headers(plan.version)


blueprints = (plans_blp,)
