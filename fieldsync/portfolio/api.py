"""REST routes of the portfolio: the same five operations for each entity, built once."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import marshmallow as ma
from flask import Response, current_app
from flask.views import MethodView
from sqlalchemy.orm import Session

from fieldsync.extensions import Blueprint, db
from fieldsync.planning.due import UrgencyWeights
from fieldsync.portfolio import schemas as s
from fieldsync.portfolio import service
from fieldsync.portfolio.schemas import parse_near
from fieldsync.web import current_actor, etag_headers, if_match_version

FilterBuilder = Callable[[Session, dict[str, Any]], list[Any]]


def _account_filters(session: Session, args: dict[str, Any]) -> list[Any]:
    if args.get("near"):
        args = {**args, "near": parse_near(args["near"])}
    return service.account_filters(session, args)


def _child_filters(entity: str) -> FilterBuilder:
    return lambda _session, args: service.child_filters(entity, args)


def collection_blueprint(
    entity: str,
    *,
    description: str,
    read: type[ma.Schema],
    create: type[ma.Schema],
    write: type[ma.Schema],
    query: type[ma.Schema],
    page: type[ma.Schema],
    filters: FilterBuilder,
) -> Blueprint:
    """Build ``/api/v1/<entity>`` (list, create) and ``/api/v1/<entity>/<id>`` (get, patch,
    delete) on the generic service operations."""
    label = service.LABELS[entity]
    blp = Blueprint(entity, __name__, url_prefix=f"/api/v1/{entity}", description=description)

    @blp.route("")
    class Collection(MethodView):
        @blp.arguments(query, location="query")
        @blp.response(200, page)
        @blp.doc(summary=f"List {entity}", description=f"{label}s you can see, filtered, paged.")
        def get(self, args: dict[str, Any]) -> dict[str, Any]:
            limit, cursor = args.pop("limit"), args.pop("cursor")
            # due accounts come most urgent first, with the organisation's weights
            by_urgency = entity == "accounts" and bool(args.get("due"))
            result = service.list_records(
                db.session,
                actor=current_actor(),
                entity=entity,
                conditions=filters(db.session, args),
                limit=limit,
                cursor=cursor,
                urgency=UrgencyWeights.from_settings(current_app.config) if by_urgency else None,
            )
            return {"items": result.items, "next_cursor": result.next_cursor}

        @blp.arguments(create)
        @blp.response(201, read)
        @blp.alt_response(409, description="The id is already used")
        @blp.doc(
            summary=f"Create a {label.lower()}",
            description="The client may choose the id (a UUID it has not used before).",
        )
        def post(self, body: dict[str, Any]) -> Any:
            record = service.create_record(
                db.session, actor=current_actor(), entity=entity, data=body
            )
            return record, 201, etag_headers(record.version)

    @blp.route("/<uuid:record_id>")
    class Item(MethodView):
        @blp.response(200, read)
        @blp.doc(summary=f"Get a {label.lower()}", description='Answers `ETag: "<version>"`.')
        def get(self, record_id: uuid.UUID) -> Any:
            record = service.get_record(
                db.session, actor=current_actor(), entity=entity, record_id=record_id
            )
            return record, 200, etag_headers(record.version)

        @blp.arguments(write(partial=True))
        @blp.response(200, read)
        @blp.alt_response(412, description="If-Match names a stale version; nothing written")
        @blp.doc(
            summary=f"Change a {label.lower()}",
            description='Only the fields sent change. Send `If-Match: "<version>"` to refuse '
            "to overwrite a newer version (412).",
        )
        def patch(self, body: dict[str, Any], record_id: uuid.UUID) -> Any:
            record = service.update_record(
                db.session,
                actor=current_actor(),
                entity=entity,
                record_id=record_id,
                data=body,
                expected_version=if_match_version(),
            )
            return record, 200, etag_headers(record.version)

        @blp.response(204)
        @blp.alt_response(412, description="If-Match names a stale version; nothing deleted")
        @blp.doc(summary=f"Delete a {label.lower()}", description="Soft delete: phones are told.")
        def delete(self, record_id: uuid.UUID) -> Response:
            service.delete_record(
                db.session,
                actor=current_actor(),
                entity=entity,
                record_id=record_id,
                expected_version=if_match_version(),
            )
            return Response(status=204)

    return blp


accounts_blp = collection_blueprint(
    "accounts",
    description="Client files: companies and people",
    read=s.AccountSchema,
    create=s.AccountCreateSchema,
    write=s.AccountWriteSchema,
    query=s.AccountQueryArgsSchema,
    page=s.AccountPageSchema,
    filters=_account_filters,
)
contacts_blp = collection_blueprint(
    "contacts",
    description="People at company accounts",
    read=s.ContactSchema,
    create=s.ContactCreateSchema,
    write=s.ContactWriteSchema,
    query=s.ContactQueryArgsSchema,
    page=s.ContactPageSchema,
    filters=_child_filters("contacts"),
)
interactions_blp = collection_blueprint(
    "interactions",
    description="History: visits, calls, emails, meetings, notes",
    read=s.InteractionSchema,
    create=s.InteractionCreateSchema,
    write=s.InteractionWriteSchema,
    query=s.InteractionQueryArgsSchema,
    page=s.InteractionPageSchema,
    filters=_child_filters("interactions"),
)
tasks_blp = collection_blueprint(
    "tasks",
    description="Reminders and follow-ups",
    read=s.TaskSchema,
    create=s.TaskCreateSchema,
    write=s.TaskWriteSchema,
    query=s.TaskQueryArgsSchema,
    page=s.TaskPageSchema,
    filters=_child_filters("tasks"),
)

blueprints = (accounts_blp, contacts_blp, interactions_blp, tasks_blp)
