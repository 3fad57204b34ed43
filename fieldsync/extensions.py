"""Unbound extension instances, initialised by ``create_app``."""

from __future__ import annotations

import json
import math
from typing import Any

import flask_smorest
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask, request
from flask_compress import Compress
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_smorest import Api
from flask_sqlalchemy import SQLAlchemy
from webargs import core as webargs_core
from webargs.flaskparser import FlaskParser, is_json_request

from fieldsync.db import Base
from fieldsync.errors import ErrorBodySchema, handle_http_exception


class FieldSyncApi(Api):
    """flask-smorest's Api with the contract's error envelope, documented and rendered."""

    ERROR_SCHEMA = ErrorBodySchema

    def handle_http_exception(self, error: Any) -> Any:
        return handle_http_exception(error)


def _refuse_constant(name: str) -> float:
    raise json.JSONDecodeError(f"{name} is not JSON", name, 0)


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400: no database stores it, no JSON writer writes it back
        raise json.JSONDecodeError(f"{text} is out of range", text, 0)
    return value


def strict_json_loads(data: bytes | str) -> Any:
    """``json.loads`` of RFC 8259 JSON only: NaN, Infinity and numbers that overflow to
    infinity are refused (Python accepts them; PostgreSQL's JSONB and every phone's parser
    do not), so such a body is a 400 rather than a value stored as it cannot be read back."""
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    return json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)


class StrictJSONParser(FlaskParser):
    """webargs' parser of request bodies with ``strict_json_loads``."""

    def _raw_load_json(self, req: Any) -> Any:
        if not is_json_request(req):
            return webargs_core.missing
        return strict_json_loads(req.get_data(cache=True))


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint, parsing bodies with ``StrictJSONParser``."""

    ARGUMENTS_PARSER = StrictJSONParser()


db = SQLAlchemy(model_class=Base, session_options={"expire_on_commit": False})
migrate = Migrate()
api = FieldSyncApi()
compress = Compress()


def client_address() -> str:
    return get_remote_address() or "unknown"


def login_email_key() -> str:
    """Rate-limit key for one account: the email a login attempt names."""
    body = request.get_json(silent=True)
    email = body.get("email") if isinstance(body, dict) else None
    return f"login:{str(email).strip().lower()}" if email else f"login-ip:{client_address()}"


limiter = Limiter(key_func=client_address, headers_enabled=False)


def schema_name(schema: Any) -> str:
    """OpenAPI component name: class name without 'Schema', marked when partial or trimmed."""
    cls = schema if isinstance(schema, type) else type(schema)
    name = cls.__name__.removesuffix("Schema")
    if not isinstance(schema, type):
        if schema.partial:
            name += "Patch"
        if schema.only:
            name += "Summary"
    return name


def init_extensions(app: Flask) -> None:
    """Bind every extension to the app."""
    db.init_app(app)
    migrate.init_app(app, db, render_as_batch=True, compare_type=True)
    api.init_app(
        app, spec_kwargs={"marshmallow_plugin": MarshmallowPlugin(schema_name_resolver=schema_name)}
    )
    compress.init_app(app)
    limiter.init_app(app)
