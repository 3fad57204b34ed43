"""Liveness and readiness probes for load balancers and orchestrators."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from fieldsync.extensions import db

health_blueprint = Blueprint("health", __name__)


@health_blueprint.get("/healthz")
def healthz() -> ResponseReturnValue:
    """The process runs."""
    return jsonify({"status": "ok"})


@health_blueprint.get("/readyz")
def readyz() -> ResponseReturnValue:
    """The database answers."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        response = jsonify(
            {"error": {"code": "unavailable", "message": "The database does not answer."}}
        )
        response.status_code = 503
        response.headers["Retry-After"] = "5"
        return response
    return jsonify({"status": "ready"})
