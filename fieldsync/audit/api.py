"""``GET /api/v1/audit``: the audit log, for admins."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView

from fieldsync.audit import service
from fieldsync.audit.schemas import AuditPageSchema, AuditQueryArgsSchema
from fieldsync.extensions import Blueprint, db
from fieldsync.web import current_actor

audit_blp = Blueprint(
    "audit", __name__, url_prefix="/api/v1/audit", description="Who exported or erased what"
)


@audit_blp.route("")
class AuditLog(MethodView):
    @audit_blp.arguments(AuditQueryArgsSchema, location="query")
    @audit_blp.response(200, AuditPageSchema)
    @audit_blp.alt_response(403, description="Not an admin")
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Exports and erasures of client data, newest first (admins).

        Filters: `action`, `actor` (user id), `from` (inclusive) and `to` (exclusive).
        """
        items, next_cursor = service.list_audit(
            db.session,
            actor=current_actor(),
            action=args.get("action"),
            actor_id=args.get("actor"),
            since=args.get("since"),
            until=args.get("until"),
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {"items": items, "next_cursor": next_cursor}


blueprints = (audit_blp,)
