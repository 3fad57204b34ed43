"""Routes of offline sync: push, pull, the conflict log and the quarantine."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import Response, request
from flask.views import MethodView

from fieldsync.db import json_bytes
from fieldsync.errors import PayloadTooLargeError
from fieldsync.extensions import Blueprint, db
from fieldsync.schemas import PageArgsSchema
from fieldsync.sync import service
from fieldsync.sync.push import MAX_BODY_BYTES
from fieldsync.sync.schemas import (
    ConflictArgsSchema,
    ConflictPageSchema,
    PullArgsSchema,
    PullResultSchema,
    PushResultSchema,
    PushSchema,
    QuarantinePageSchema,
)
from fieldsync.web import current_actor

sync_blp = Blueprint("sync", __name__, url_prefix="/api/v1/sync", description="Offline sync")
conflicts_blp = Blueprint(
    "conflicts", __name__, url_prefix="/api/v1/conflicts", description="Values that lost a merge"
)
quarantine_blp = Blueprint(
    "quarantine", __name__, url_prefix="/api/v1/quarantine", description="Rejected mutations"
)


def body_at_most(limit: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Refuse a larger body with 413 before anything reads it."""

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            length = request.content_length
            if length is None:
                # Chunked transfer: no Content-Length to trust. Read the body (bounded by
                # MAX_CONTENT_LENGTH, cached for the JSON parser) and measure it.
                length = len(request.get_data(cache=True))
            if length > limit:
                raise PayloadTooLargeError(f"A changeset is at most {limit // (1024 * 1024)} MB.")
            return view(*args, **kwargs)

        return wrapper

    return decorate


@sync_blp.route("/push")
class Push(MethodView):
    @body_at_most(MAX_BODY_BYTES)
    @sync_blp.arguments(PushSchema)
    @sync_blp.response(200, PushResultSchema)
    @sync_blp.alt_response(409, description="changeset_id reused with another body")
    @sync_blp.alt_response(413, description="Over 1,000 mutations or 5 MB: nothing applied")
    def post(self, body: dict[str, Any]) -> Any:
        """Apply a changeset of offline edits, once.

        One transaction; each mutation's result in order (`applied`, `merged`, `rejected`,
        `deleted`). Replaying a `changeset_id` returns the stored response (a retry may send a
        new `device_time`; different mutations under the same id are a 409). A mutation's
        `changed_at` defaults to `device_time` when absent. A `visit_plans` mutation
        (`upsert` only) sets the `status` of the stops it names (`{"stops": [{"account_id",
        "status"}]}`) of a plan the pusher may edit; any other field is rejected by name.
        """
        result = service.apply_changeset(
            db.session(),  # the Session itself: a push or a pull calls it thousands of times
            actor=current_actor(),
            changeset_id=body["changeset_id"],
            device_time=body["device_time"],
            mutations=body["mutations"],
        )
        # Already in its wire form: sent as it is, as a pull page is (PushResultSchema
        # documents it).
        return Response(json_bytes(result), mimetype="application/json")


@sync_blp.route("/pull")
class Pull(MethodView):
    @sync_blp.arguments(PullArgsSchema, location="query")
    @sync_blp.response(200, PullResultSchema)
    @sync_blp.alt_response(410, description="Cursor expired: push, then pull without a cursor")
    def get(self, args: dict[str, Any]) -> Response:
        """The device's scope: whole without a cursor, changes since it with one.

        Pull again while `has_more`. Accounts come first, then contacts, tasks and plans, then
        interactions. `removed` lists deletions and records that left the scope (with their
        account's contacts, tasks and interactions). An account deleted on the server leaves
        the phone together with its contacts, tasks and interactions; the server keeps those
        (history, REST lists, statistics). With `checksum=true` the last page carries
        a SHA-256 over the sorted `entity:id:version` lines of the whole scope; if it differs
        from the phone's own, pull once more (writes may have landed meanwhile) and only then
        re-sync from scratch.
        """
        page = service.pull_changes(
            db.session(),  # the Session itself: a push or a pull calls it thousands of times
            actor=current_actor(),
            cursor=args["cursor"],
            limit=args["limit"],
            checksum=args["checksum"],
        )
        # Already in its wire form (records by ``serialise``, ids as strings): sent as it is
        # rather than dumped again field by field through PullResultSchema, which documents it,
        # and encoded by orjson (a first pull sends 140,000 records).
        payload = json_bytes(service.page_payload(db.session(), page))
        return Response(payload, mimetype="application/json")


@conflicts_blp.route("")
class Conflicts(MethodView):
    @conflicts_blp.arguments(ConflictArgsSchema, location="query")
    @conflicts_blp.response(200, ConflictPageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Values that lost a merge, newest first.

        A rep sees the conflicts of their own writes (a conflict inbox); managers and admins
        those of the records in their scope.
        """
        items, next_cursor = service.list_conflicts(
            db.session,
            actor=current_actor(),
            entity=args.get("entity"),
            record_id=args.get("record_id"),
            limit=args["limit"],
            cursor=args["cursor"],
        )
        return {"items": items, "next_cursor": next_cursor}


@quarantine_blp.route("")
class Quarantine(MethodView):
    @quarantine_blp.arguments(PageArgsSchema, location="query")
    @quarantine_blp.response(200, QuarantinePageSchema)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Rejected mutations with their errors, device and user (admins)."""
        items, next_cursor = service.list_quarantine(
            db.session, actor=current_actor(), limit=args["limit"], cursor=args["cursor"]
        )
        return {"items": items, "next_cursor": next_cursor}


blueprints = (sync_blp, conflicts_blp, quarantine_blp)
