"""Domain exceptions with their contract code and HTTP status (no Flask here: services raise
them, ``fieldsync.errors`` renders them)."""

from __future__ import annotations

from typing import Any


class APIError(Exception):
    """An error the client should see, with its contract code and HTTP status."""

    status = 400
    code = "bad_request"
    # When true, the request's database changes are committed although it answers an error
    # (a security decision such as revoking a session must survive the error response).
    keep_changes = False

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}


class BadRequestError(APIError):
    status, code = 400, "bad_request"


class UnauthorizedError(APIError):
    status, code = 401, "unauthorized"


class ForbiddenError(APIError):
    status, code = 403, "forbidden"


class NotFoundError(APIError):
    status, code = 404, "not_found"


class ConflictError(APIError):
    status, code = 409, "conflict"


class GoneError(APIError):
    status, code = 410, "gone"


class PreconditionFailedError(APIError):
    status, code = 412, "precondition_failed"


class PayloadTooLargeError(APIError):
    status, code = 413, "payload_too_large"


class UnavailableError(APIError):
    """A service we depend on cannot answer now; the client should retry after a while."""

    status, code = 503, "unavailable"

    def __init__(self, message: str, *, retry_after: int = 30) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class ValidationError(APIError):
    """Field-level problems: ``fields`` maps a field (dotted for nested) to its messages."""

    status, code = 422, "validation_error"

    def __init__(self, message: str, *, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message, details={"fields": fields} if fields else None)
        self.fields = fields or {}


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn marshmallow/webargs nested messages into ``{"a.b": ["..."]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                flat.update(flatten_messages(value, name))
            else:
                _flatten_value(flat, name, value)
    elif messages:
        flat.setdefault(prefix or "_schema", []).extend(_as_list(messages))
    return flat


def _as_list(value: Any) -> list[str]:
    if isinstance(value, list | tuple):
        out: list[str] = []
        for item in value:
            out.extend(_as_list(item) if isinstance(item, list | tuple) else [str(item)])
        return out
    return [str(value)]


def _flatten_value(flat: dict[str, list[str]], name: str, value: Any) -> None:
    """A field's messages may hold nested dicts (a validator raising per key): dot them."""
    items = value if isinstance(value, list | tuple) else [value]
    for item in items:
        if isinstance(item, dict):
            flat.update(flatten_messages(item, name))
        else:
            flat.setdefault(name, []).extend(_as_list(item))
