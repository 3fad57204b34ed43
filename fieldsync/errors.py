"""One JSON error format for the whole API, and the one place that turns exceptions into it.

Every error body is ``{"error": {"code", "message", "details"?}}`` (see the API contract).
Domain code raises ``APIError`` subclasses; framework errors (webargs validation, werkzeug HTTP
errors, rate limits, database outages) are mapped here, never in the routes.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import marshmallow as ma
from flask import Flask, Response, current_app, g, has_request_context, jsonify, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from fieldsync.exceptions import (  # noqa: F401 - re-exported for the API layer
    APIError,
    BadRequestError,
    ConflictError,
    ForbiddenError,
    GoneError,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    UnauthorizedError,
    ValidationError,
    _as_list,
    flatten_messages,
)

log = logging.getLogger("fieldsync.errors")

CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "bad_request",
    422: "validation_error",
    428: "precondition_required",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ErrorBodySchema(ma.Schema):
    """The contract's error envelope (documentation only)."""

    class ErrorSchema(ma.Schema):
        code = ma.fields.String(required=True, metadata={"example": "validation_error"})
        message = ma.fields.String(required=True)
        details = ma.fields.Dict(
            metadata={"description": "For validation errors: {'fields': {name: [messages]}}"}
        )

    error = ma.fields.Nested(ErrorSchema, required=True)


def error_response(
    status: int,
    code: str,
    message: str,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """Render one error in the contract's envelope."""
    body: dict[str, Any] = {"code": code, "message": message}
    if details:
        body["details"] = details
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _webargs_fields(data: dict[str, Any]) -> dict[str, list[str]]:
    """Webargs nests messages under the location (json, query...); phones want field names."""
    messages = data.get("messages") or data.get("errors") or {}
    if isinstance(messages, dict) and set(messages) <= {
        "json",
        "query",
        "headers",
        "form",
        "files",
    }:
        merged: dict[str, list[str]] = {}
        for location_messages in messages.values():
            merged.update(flatten_messages(location_messages))
        return merged
    return flatten_messages(messages)


def handle_http_exception(error: HTTPException) -> Response:
    """Map werkzeug/webargs/flask-limiter HTTP errors to the envelope."""
    status = error.code or 500
    code = CODE_BY_STATUS.get(status, "error")
    data = getattr(error, "data", None) or {}
    headers: dict[str, str] = dict(data.get("headers") or {})
    if status == 422:
        fields = _webargs_fields(data)
        names = ", ".join(sorted(fields)) or "the request"
        return error_response(
            422,
            code,
            f"Invalid value for {names}.",
            {"fields": fields} if fields else None,
            headers,
        )
    if status == 400 and data.get("messages"):
        return error_response(400, code, "Malformed request body: not valid JSON.", None, headers)
    if status == 429:
        headers["Retry-After"] = str(_retry_after_seconds())
        return error_response(429, code, "Too many attempts; try again later.", None, headers)
    if status == 413:
        return error_response(413, code, "Request body too large.", None, headers)
    valid_methods = getattr(error, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(sorted(valid_methods))
    message = data.get("message") or error.description or error.name
    return error_response(status, code, str(message), None, headers)


def _retry_after_seconds() -> int:
    """Seconds until the breached limit lets a request through again."""
    reset_times = [
        request_limit.reset_at
        for limiter in current_app.extensions.get("limiter", ())
        for request_limit in limiter.current_limits
        if request_limit.breached
    ]
    if not reset_times:
        return 60
    return max(1, int(max(reset_times) - time.time()))


def handle_api_error(error: APIError) -> Response:
    """Render a domain error as raised by a service."""
    return error_response(error.status, error.code, error.message, error.details, error.headers)


def handle_database_unavailable(error: DBAPIError) -> Response:
    """The database cannot be reached: tell the client to come back, not that it failed."""
    log.error("database unavailable", extra={"event": "db_unavailable", "error": str(error.orig)})
    return error_response(
        503,
        "unavailable",
        "The database is unavailable; retry shortly.",
        headers={"Retry-After": "5"},
    )


def handle_unexpected(error: Exception) -> Response:
    """Log with a correlation id and answer 500 with no internals."""
    if isinstance(error, HTTPException):
        return handle_http_exception(error)
    if isinstance(error, RecursionError) and has_request_context() and request.is_json:
        # The JSON parsers recurse once per nesting level: a body nested ~1,000 deep ends here.
        log.warning("request body nested too deeply", exc_info=True, extra={"event": "bad_json"})
        return error_response(400, "bad_request", "Malformed request body: nested too deeply.")
    if isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and error.connection_invalidated
    ):
        return handle_database_unavailable(error)  # type: ignore[arg-type]
    correlation_id = getattr(g, "request_id", None) or uuid.uuid4().hex
    log.exception(
        "unhandled error", extra={"event": "unhandled_error", "correlation_id": correlation_id}
    )
    return error_response(
        500,
        "internal_error",
        "An unexpected error occurred; it has been logged.",
        {"correlation_id": correlation_id},
    )


def register_error_handlers(app: Flask) -> None:
    """Install the handlers: the only place exceptions become responses."""
    app.register_error_handler(APIError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(OperationalError, handle_database_unavailable)
    app.register_error_handler(Exception, handle_unexpected)
