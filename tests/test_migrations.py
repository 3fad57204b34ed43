"""Migrations build the schema from empty on both databases and match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from fieldsync.extensions import db
from tests.conftest import make_app


def _fresh_url(request, tmp_path) -> str:
    if request.node.callspec.params["database_url"] == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    return str(request.getfixturevalue("new_postgres_database")("migrations"))


def test_upgrade_from_empty_matches_the_models_and_downgrades(
    request, tmp_path, database_url: str
) -> None:
    app = make_app(_fresh_url(request, tmp_path))  # runs `upgrade` from an empty database
    with app.app_context():
        with db.engine.connect() as connection:
            diff = compare_metadata(MigrationContext.configure(connection), db.metadata)
        assert diff == [], f"models and migrations disagree: {diff}"
        tables = set(inspect(db.engine).get_table_names())
        assert {"accounts", "contacts", "interactions", "tasks", "territories", "users"} <= tables
        downgrade(revision="base")
        assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade()
        assert "accounts" in set(inspect(db.engine).get_table_names())
        db.engine.dispose()
