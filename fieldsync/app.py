"""The application factory."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask.typing import ResponseReturnValue

from fieldsync import logs
from fieldsync.auth.service import AuthSettings
from fieldsync.config import load_settings
from fieldsync.db import json_bytes, json_column_loads, json_text
from fieldsync.docs import init_docs
from fieldsync.errors import APIError, register_error_handlers
from fieldsync.extensions import api, db, init_extensions
from fieldsync.health import health_blueprint
from fieldsync.jobs import init_celery
from fieldsync.privacy import consent as consent_history
from fieldsync.privacy import guard as privacy_guard
from fieldsync.stats import history as status_history
from fieldsync.sync import changelog
from fieldsync.web import AUTH_SETTINGS_KEY, init_web

log = logging.getLogger("fieldsync")


class FieldSyncFlask(Flask):
    """Flask with one unit of work per request: commit after the view, inside error handling.

    Committing here (rather than in ``after_request``) means a failing commit (a constraint, the
    database going away) is mapped to the contract's error format like any other exception.
    """

    def dispatch_request(self) -> ResponseReturnValue:
        try:
            rv = super().dispatch_request()
        except APIError as error:
            if error.keep_changes:
                db.session.commit()
            else:
                db.session.rollback()
            raise
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()
        return rv


def _blueprints() -> tuple[Any, ...]:
    from fieldsync.audit.api import blueprints as audit_blueprints
    from fieldsync.auth.api import blueprints as auth_blueprints
    from fieldsync.geo.api import blueprints as geo_blueprints
    from fieldsync.geo.geocoding.api import blueprints as geocoding_blueprints
    from fieldsync.imports.api import blueprints as import_blueprints
    from fieldsync.planning.api import blueprints as planning_blueprints
    from fieldsync.portfolio.api import blueprints as portfolio_blueprints
    from fieldsync.privacy.api import blueprints as privacy_blueprints
    from fieldsync.segments.api import blueprints as segments_blueprints
    from fieldsync.stats.api import blueprints as stats_blueprints
    from fieldsync.sync.api import blueprints as sync_blueprints

    return (
        *auth_blueprints,
        *portfolio_blueprints,
        *geo_blueprints,
        *geocoding_blueprints,
        *planning_blueprints,
        *sync_blueprints,
        *import_blueprints,
        *segments_blueprints,
        *stats_blueprints,
        *privacy_blueprints,
        *audit_blueprints,
    )


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings from defaults, FIELDSYNC_* variables, then ``config``."""
    app = FieldSyncFlask("fieldsync", instance_relative_config=True)
    settings = load_settings(app.instance_path, config)
    app.config.update(settings)
    app.config.update(_framework_settings(settings))
    app.json.sort_keys = False  # type: ignore[attr-defined]  # keep the schemas' field order
    if str(settings["DATABASE_URL"]).startswith("sqlite:///"):
        from pathlib import Path

        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    logs.configure(settings["LOG_LEVEL"], json_logs=settings["ENV"] == "production")

    app.extensions[AUTH_SETTINGS_KEY] = AuthSettings(
        secret_key=settings["SECRET_KEY"],
        access_ttl=int(settings["ACCESS_TOKEN_TTL"]),
        refresh_ttl=int(settings["REFRESH_TOKEN_TTL"]),
        argon2_time_cost=int(settings["ARGON2_TIME_COST"]),
        argon2_memory_cost=int(settings["ARGON2_MEMORY_COST"]),
        argon2_parallelism=int(settings["ARGON2_PARALLELISM"]),
    )
    init_extensions(app)
    init_celery(app)
    changelog.install()  # every record write lands in the sync change log
    status_history.install()  # account status transitions, for conversion counts
    consent_history.install()  # every change of an account's marketing consent
    privacy_guard.install()  # erased values stay out of the sync logs (late offline pushes)
    register_error_handlers(app)
    init_web(app)
    init_docs(app)
    app.register_blueprint(health_blueprint)
    for blueprint in _blueprints():
        api.register_blueprint(blueprint)
    from fieldsync.cli import register_commands

    register_commands(app)
    return app


def _framework_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """Translate our settings into the names the extensions read."""
    url = str(settings["DATABASE_URL"])
    # psycopg parses every statement's text for its placeholders and caches only short ones:
    # a multi-row INSERT of 500 rows is parsed anew each time (a fifth of a push's CPU). Its
    # own executemany parses once and pipelines the rows, so the ORM's bulk INSERTs use that.
    engine_options: dict[str, Any] = {
        "pool_pre_ping": True,
        "use_insertmanyvalues": False,
        "json_serializer": json_bytes,
        "json_deserializer": json_column_loads,
    }
    if url.startswith("sqlite"):
        engine_options = {
            "connect_args": {"timeout": 15},
            "json_serializer": json_text,
            "json_deserializer": json_column_loads,
        }
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
        "API_TITLE": "FieldSync API",
        "API_VERSION": "1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/docs/assets/",
        "API_SPEC_OPTIONS": _spec_options(),
        "RATELIMIT_STORAGE_URI": settings["REDIS_URL"] or "memory://",
        "RATELIMIT_STRATEGY": "moving-window",
        "COMPRESS_MIMETYPES": ["application/json", "text/csv"],
        "COMPRESS_MIN_SIZE": 1024,
        "COMPRESS_ALGORITHM": ["gzip"],
    }


def _spec_options() -> dict[str, Any]:
    from fieldsync.docs import API_DESCRIPTION

    return {
        "info": {"description": API_DESCRIPTION},
        "components": {
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "opaque"}
            }
        },
        "security": [{"bearerAuth": []}],
    }


__all__ = ["FieldSyncFlask", "create_app"]
