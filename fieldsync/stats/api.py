"""``GET /api/v1/stats/coverage``: visit coverage per rep or territory."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from fieldsync.extensions import Blueprint, db
from fieldsync.stats import service
from fieldsync.stats.schemas import CoverageArgsSchema, CoverageSchema
from fieldsync.web import current_actor

stats_blp = Blueprint(
    "stats", __name__, url_prefix="/api/v1/stats", description="Statistics for managers"
)


@stats_blp.route("/coverage")
class Coverage(MethodView):
    @stats_blp.arguments(CoverageArgsSchema, location="query")
    @stats_blp.response(200, CoverageSchema)
    @stats_blp.alt_response(403, description="Reps")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Coverage of the caller's scope per rep or territory (managers and admins).

        Per group: `accounts`, `with_cadence`, `visited_within_cadence` (latest visit at or
        before `to` within `visit_every_days` of `to`) and its share `coverage_pct`,
        `overdue`, `visits` and `calls` in [`from`, `to`), `new_leads` and `new_prospects`
        (created in the period), `conversions` (lead or prospect to customer in the period).
        A rep's accounts are their territories' and their own; a territory's visits are
        anyone's on its accounts. `totals` counts the caller's whole scope once.
        """
        result = service.coverage(
            db.session,
            actor=current_actor(),
            group_by=args["group_by"],
            start=args.get("start"),
            end=args.get("end"),
        )
        return {**result, "start": result["from"], "end": result["to"]}


blueprints = (stats_blp,)
