"""Routes for territories."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Response
from flask.views import MethodView

from fieldsync.extensions import Blueprint, db
from fieldsync.geo import service
from fieldsync.geo.models import Territory
from fieldsync.geo.schemas import (
    TerritoryCreateSchema,
    TerritoryListSchema,
    TerritorySchema,
    TerritoryStatsSchema,
    TerritoryWriteSchema,
)
from fieldsync.schemas import PageArgsSchema
from fieldsync.web import current_actor, etag_headers, if_match_version

territories_blp = Blueprint(
    "territories", __name__, url_prefix="/api/v1/territories", description="Sales territories"
)


def _with_reps(territories: list[Territory]) -> list[dict[str, Any]]:
    reps = service.territory_rep_ids(db.session, [t.id for t in territories])
    dumped = []
    for territory in territories:
        item = {c.key: getattr(territory, c.key) for c in Territory.__table__.columns}
        item["rep_ids"] = reps[territory.id]
        dumped.append(item)
    return dumped


@territories_blp.route("")
class Territories(MethodView):
    @territories_blp.arguments(PageArgsSchema, location="query")
    @territories_blp.response(200, TerritoryListSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Territories by name: all for managers and admins, a rep's own for reps."""
        items, next_cursor = service.list_territories(
            db.session, actor=current_actor(), limit=args["limit"], cursor=args["cursor"]
        )
        return {"items": _with_reps(items), "next_cursor": next_cursor}

    @territories_blp.arguments(TerritoryCreateSchema)
    @territories_blp.response(201, TerritorySchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Create a territory (managers, admins); accounts inside it are placed at once.

        Give either a GeoJSON `geometry` (Polygon or MultiPolygon, checked: closed rings,
        lon/lat ranges, no self-intersection) or `postal_codes` with `country`. Where
        territories overlap, an account goes to the postal-code territory, else the smallest.
        """
        territory = service.create_territory(db.session, actor=current_actor(), data=body)
        return _with_reps([territory])[0], 201, etag_headers(territory.version)


@territories_blp.route("/<uuid:territory_id>")
class TerritoryById(MethodView):
    @territories_blp.response(200, TerritorySchema)
    def get(self, territory_id: uuid.UUID) -> Any:
        """One territory."""
        territory = service.get_territory(
            db.session, actor=current_actor(), territory_id=territory_id
        )
        return _with_reps([territory])[0], 200, etag_headers(territory.version)

    @territories_blp.arguments(TerritoryWriteSchema(partial=True))
    @territories_blp.response(200, TerritorySchema)
    def patch(self, body: dict[str, Any], territory_id: uuid.UUID) -> Any:
        """Change a territory (managers, admins); accounts are re-placed when its shape or
        codes change, and reps' scopes follow `rep_ids`."""
        territory = service.update_territory(
            db.session,
            actor=current_actor(),
            territory_id=territory_id,
            data=body,
            expected_version=if_match_version(),
        )
        return _with_reps([territory])[0], 200, etag_headers(territory.version)

    @territories_blp.response(204)
    def delete(self, territory_id: uuid.UUID) -> Response:
        """Delete a territory (managers, admins); its accounts are re-placed."""
        service.delete_territory(
            db.session,
            actor=current_actor(),
            territory_id=territory_id,
            expected_version=if_match_version(),
        )
        return Response(status=204)


@territories_blp.route("/<uuid:territory_id>/stats")
class TerritoryStats(MethodView):
    @territories_blp.response(200, TerritoryStatsSchema)
    def get(self, territory_id: uuid.UUID) -> dict[str, Any]:
        """Accounts of the territory by status, overdue visits and assigned reps
        (`reps` lists `{id, name}`)."""
        return service.territory_stats(db.session, actor=current_actor(), territory_id=territory_id)


blueprints = (territories_blp,)
