"""Request plumbing shared by every blueprint: authentication, the caller, ETags, body checks."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, Response, current_app, g, request

from fieldsync.auth.actor import Actor
from fieldsync.auth.service import AuthSettings, authenticate
from fieldsync.errors import BadRequestError, ForbiddenError, UnauthorizedError
from fieldsync.extensions import db

log = logging.getLogger("fieldsync.http")

F = TypeVar("F", bound=Callable[..., Any])

AUTH_SETTINGS_KEY = "fieldsync.auth_settings"


def public(view: F) -> F:
    """Mark a view (function or MethodView class) as reachable without a token."""
    view.fieldsync_public = True  # type: ignore[attr-defined]
    return view


def auth_settings() -> AuthSettings:
    settings: AuthSettings = current_app.extensions[AUTH_SETTINGS_KEY]
    return settings


def current_actor() -> Actor:
    """The authenticated caller of this request."""
    actor: Actor | None = g.get("actor")
    if actor is None:  # a route forgot @public or the hook did not run: fail closed
        raise UnauthorizedError("Authentication required.")
    return actor


def require_role(*roles: str) -> Actor:
    """Return the caller if their role is one of ``roles``, else raise 403."""
    actor = current_actor()
    if actor.role not in roles:
        raise ForbiddenError(f"This needs the role {' or '.join(roles)}.")
    return actor


def if_match_version() -> int | None:
    """The version named by ``If-Match: "<version>"`` (quotes optional), or None."""
    raw = request.headers.get("If-Match")
    if raw is None or raw.strip() == "*":
        return None
    value = raw.strip().removeprefix("W/").strip('"')
    try:
        return int(value)
    except ValueError:
        raise BadRequestError('If-Match must be a record version such as "3".') from None


def etag_headers(version: int) -> dict[str, str]:
    return {"ETag": f'"{version}"'}


def _is_public_endpoint() -> bool:
    if request.endpoint is None:
        return True  # 404/405 answered by the router
    view = current_app.view_functions.get(request.endpoint)
    if view is None:
        return True
    if getattr(view, "fieldsync_public", False):
        return True
    view_class = getattr(view, "view_class", None)
    return bool(view_class and getattr(view_class, "fieldsync_public", False))


def _authenticate_request() -> None:
    g.request_id = request.headers.get("X-Request-ID") or uuid.uuid4().hex
    g.started_at = time.perf_counter()
    if not request.path.startswith("/api/") or _is_public_endpoint():
        return
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("Send 'Authorization: Bearer <access_token>'.")
    g.actor = authenticate(db.session, auth_settings(), access_token=token.strip())


BODY_METHODS = {"POST", "PUT", "PATCH"}


def _check_body_type() -> None:
    """JSON in, or multipart where a route takes files: anything else is a 400, not a 422."""
    if request.method not in BODY_METHODS or not request.path.startswith("/api/"):
        return
    if not request.content_length and not request.headers.get("Transfer-Encoding"):
        return
    mimetype = request.mimetype or ""
    if mimetype == "application/json" or mimetype.endswith("+json"):
        return
    view = current_app.view_functions.get(request.endpoint or "")
    accepts_files = getattr(getattr(view, "view_class", view), "accepts_files", False)
    if accepts_files and mimetype == "multipart/form-data":
        return
    raise BadRequestError(f"Content-Type must be application/json, not {mimetype or 'missing'}.")


def _log_request(response: Response) -> Response:
    elapsed_ms = (time.perf_counter() - g.get("started_at", time.perf_counter())) * 1000
    response.headers["X-Request-ID"] = g.get("request_id", "")
    actor = g.get("actor")
    log.info(
        "request",
        extra={
            "event": "request",
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "ms": round(elapsed_ms, 1),
            "user_id": str(actor.user_id) if actor else None,
            "request_id": g.get("request_id"),
        },
    )
    return response


def init_web(app: Flask) -> None:
    """Install the request hooks."""
    app.before_request(_authenticate_request)
    app.before_request(_check_body_type)
    app.after_request(_log_request)
