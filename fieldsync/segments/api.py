"""Routes of segments: CRUD of saved filters and the accounts they select."""

from __future__ import annotations

import re
import uuid
from typing import Any

from flask import Response, stream_with_context
from flask.views import MethodView

from fieldsync.extensions import Blueprint, db
from fieldsync.imports.export import MEDIA_TYPES
from fieldsync.segments import service
from fieldsync.segments.schemas import (
    SegmentAccountPageSchema,
    SegmentAccountsArgsSchema,
    SegmentPageSchema,
    SegmentQueryArgsSchema,
    SegmentSchema,
    SegmentWriteSchema,
)
from fieldsync.web import current_actor

segments_blp = Blueprint(
    "segments", __name__, url_prefix="/api/v1/segments", description="Saved account filters"
)


@segments_blp.route("")
class Segments(MethodView):
    @segments_blp.arguments(SegmentQueryArgsSchema, location="query")
    @segments_blp.response(200, SegmentPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The organisation's segments by name (every role; `q`: name contains)."""
        items, next_cursor = service.list_segments(
            db.session,
            actor=current_actor(),
            q=args.get("q"),
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {"items": items, "next_cursor": next_cursor}

    @segments_blp.arguments(SegmentWriteSchema)
    @segments_blp.response(201, SegmentSchema)
    @segments_blp.alt_response(403, description="Reps cannot create segments")
    @segments_blp.alt_response(409, description="The name is already used")
    def post(self, body: dict[str, Any]) -> Any:
        """Save a filter (managers and admins).

        `filters` takes the query arguments of `GET /accounts` (an unknown one is a 422 naming
        it); they are evaluated at each use, within the caller's scope.
        """
        return service.create_segment(db.session, actor=current_actor(), data=body), 201


@segments_blp.route("/<uuid:segment_id>")
class SegmentItem(MethodView):
    @segments_blp.response(200, SegmentSchema)
    def get(self, segment_id: uuid.UUID) -> Any:
        """A segment of the organisation."""
        return service.get_segment(db.session, actor=current_actor(), segment_id=segment_id)

    @segments_blp.arguments(SegmentWriteSchema(partial=True))
    @segments_blp.response(200, SegmentSchema)
    @segments_blp.alt_response(403, description="Not the creator nor an admin")
    def patch(self, body: dict[str, Any], segment_id: uuid.UUID) -> Any:
        """Change a segment (its creator or an admin); `filters` is replaced whole."""
        return service.update_segment(
            db.session, actor=current_actor(), segment_id=segment_id, data=body
        )

    @segments_blp.response(204)
    @segments_blp.alt_response(403, description="Not the creator nor an admin")
    def delete(self, segment_id: uuid.UUID) -> Response:
        """Delete a segment (its creator or an admin)."""
        service.delete_segment(db.session, actor=current_actor(), segment_id=segment_id)
        return Response(status=204)


def _file_name(name: str, fmt: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "segment"
    return f"{slug[:80]}.{fmt}"


@segments_blp.route("/<uuid:segment_id>/accounts")
class SegmentAccounts(MethodView):
    @segments_blp.arguments(SegmentAccountsArgsSchema, location="query")
    @segments_blp.response(200, SegmentAccountPageSchema)
    def get(self, args: dict[str, Any], segment_id: uuid.UUID) -> Any:
        """The accounts the segment selects among those the caller sees, paged like
        `GET /accounts`.

        With `format=csv|xlsx` the answer is instead the whole selection as a file
        (`text/csv` or the XLSX media type, streamed, with the columns of
        `GET /accounts/export`); every such export is written to the audit log.
        """
        actor = current_actor()
        fmt = args.get("format")
        if fmt:
            segment, chunks = service.export_segment(
                db.session, actor=actor, segment_id=segment_id, fmt=fmt
            )
            disposition = f'attachment; filename="{_file_name(segment.name, fmt)}"'
            return Response(
                stream_with_context(chunks),
                mimetype=MEDIA_TYPES[fmt].split(";")[0],
                headers={"Content-Disposition": disposition},
            )
        page = service.segment_accounts(
            db.session,
            actor=actor,
            segment_id=segment_id,
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {"items": page.items, "next_cursor": page.next_cursor}


blueprints = (segments_blp,)
