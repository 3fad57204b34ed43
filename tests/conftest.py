"""Test harness: every test runs against SQLite and PostgreSQL, with the schema built by the
migrations, through the real app.

Isolation: each test starts from empty tables (rows are deleted after each test), which keeps
tests honest about commits (requests commit for real, as in production) and lets concurrency
tests use several connections.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from flask import Flask, current_app
from flask.testing import FlaskClient
from flask_migrate import upgrade
from sqlalchemy import text

from fieldsync import create_app
from fieldsync.auth.models import User
from fieldsync.auth.service import create_organisation
from fieldsync.db import unit_of_work
from fieldsync.extensions import db, limiter
from fieldsync.web import AUTH_SETTINGS_KEY

PASSWORD = "correct horse battery"
# What a login or a token refresh answers.
TOKEN_KEYS = {"access_token", "refresh_token", "token_type", "expires_in", "user", "device_id"}
ADMIN_POSTGRES_URL = os.environ.get(
    "FIELDSYNC_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
DATABASES = [
    name.strip()
    for name in os.environ.get("FIELDSYNC_TEST_DATABASES", "sqlite,postgresql").split(",")
    if name.strip()
]

TEST_SETTINGS = {
    "SECRET_KEY": "test-secret-key-that-is-long-enough-0123456789",
    # Cheap argon2 parameters: the tests check behaviour, not hashing cost.
    "ARGON2_TIME_COST": 1,
    "ARGON2_MEMORY_COST": 1024,
    "ARGON2_PARALLELISM": 1,
    "LOG_LEVEL": "WARNING",
    # Keep geocoding a queue (accounts stay "pending" until `fieldsync geocode`) so its states
    # are observable; tests/geo switch the embedded default (inline) back on where they test it.
    "GEOCODE_INLINE": False,
}


def _worker_suffix() -> str:
    return f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def postgres_available() -> bool:
    try:
        with psycopg.connect(ADMIN_POSTGRES_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The server's admin URL; skip locally (fail in CI) when no PostgreSQL answers."""
    if not postgres_available():
        message = f"PostgreSQL does not answer at {ADMIN_POSTGRES_URL}"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI requires the PostgreSQL run.")
        pytest.skip(f"{message}: PostgreSQL tests skipped (start it to run them).")
    return ADMIN_POSTGRES_URL


@pytest.fixture(scope="session")
def new_postgres_database(postgres_admin_url: str) -> Iterator[Any]:
    """A factory of fresh PostgreSQL databases, dropped at the end of the run."""
    created: list[str] = []

    def make(label: str) -> str:
        name = f"fieldsync_test_{label}_{_worker_suffix()}"
        with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        created.append(name)
        base = postgres_admin_url.rsplit("/", 1)[0]
        return f"{base}/{name}"

    yield make
    with psycopg.connect(postgres_admin_url, autocommit=True) as conn:
        for name in created:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('db') / 'fieldsync.db'}"
    make = request.getfixturevalue("new_postgres_database")
    return str(make("suite"))


@contextmanager
def limiter_storage_kept() -> Iterator[None]:
    """Flask-Limiter keeps one storage per Limiter: an extra app built with REDIS_URL would
    move the suite's counters to Redis (shared by parallel workers). Put them back after."""
    saved = (limiter._storage, limiter._limiter)
    try:
        yield
    finally:
        limiter._storage, limiter._limiter = saved


def make_app(database_url: str, **overrides: Any) -> Flask:
    """An app on the given database with the schema built by the migrations."""
    app = create_app({**TEST_SETTINGS, "DATABASE_URL": database_url, **overrides})
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Flask]:
    flask_app = make_app(database_url)
    yield flask_app
    with flask_app.app_context():
        db.engine.dispose()  # close pooled connections before the database is dropped


@pytest.fixture(scope="session")
def dialect(app: Flask) -> str:
    with app.app_context():
        return str(db.engine.dialect.name)


def delete_all_rows(app: Flask) -> None:
    with app.app_context():
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        with db.engine.begin() as conn:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))


@pytest.fixture(autouse=True)
def _isolate(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty tables and rate-limit counters after every test that used the app."""
    yield
    if "app" in request.fixturenames:
        flask_app: Flask = request.getfixturevalue("app")
        delete_all_rows(flask_app)
        with flask_app.app_context():
            limiter.reset()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# --- a populated organisation ----------------------------------------------------------------


@dataclass
class Person:
    id: uuid.UUID
    email: str
    role: str
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class World:
    """Two organisations: ``acme`` with an admin, a manager with two reps and a teamless rep,
    and ``other`` with its own admin (for isolation tests)."""

    org_id: uuid.UUID
    other_org_id: uuid.UUID
    admin: Person
    manager: Person
    rep: Person
    rep2: Person
    loner: Person
    other_admin: Person
    people: dict[str, Person] = field(default_factory=dict)


def login(
    client: FlaskClient, email: str, password: str = PASSWORD, **extra: Any
) -> dict[str, Any]:
    response = client.post(
        "/api/v1/auth/login", json={"email": email, "password": password, **extra}
    )
    assert response.status_code == 200, response.json
    return dict(response.json)


def _add_user(org_id: uuid.UUID, email: str, role: str, manager_id: uuid.UUID | None) -> Person:
    from fieldsync.auth.service import add_user

    settings = current_app.extensions[AUTH_SETTINGS_KEY]
    user: User = add_user(
        db.session,
        settings,
        org_id=org_id,
        email=email,
        name=email.split("@")[0].title(),
        role=role,
        password=PASSWORD,
        manager_id=manager_id,
    )
    return Person(id=user.id, email=user.email, role=role)


@pytest.fixture
def world(app: Flask, client: FlaskClient) -> World:
    return make_world(app, client)


def make_world(app: Flask, client: FlaskClient) -> World:
    """Create the two organisations of ``World`` and log everyone in."""
    with app.app_context(), unit_of_work(db.session):
        settings = app.extensions[AUTH_SETTINGS_KEY]
        org, admin = create_organisation(
            db.session,
            settings,
            name="Acme",
            admin_email="admin@acme.test",
            admin_password=PASSWORD,
        )
        other, other_admin = create_organisation(
            db.session,
            settings,
            name="Other",
            admin_email="admin@other.test",
            admin_password=PASSWORD,
        )
        db.session.flush()
        manager = _add_user(org.id, "manager@acme.test", "manager", None)
        rep = _add_user(org.id, "rep@acme.test", "rep", manager.id)
        rep2 = _add_user(org.id, "rep2@acme.test", "rep", manager.id)
        loner = _add_user(org.id, "loner@acme.test", "rep", None)
    people = {
        "admin": Person(admin.id, admin.email, "admin"),
        "manager": manager,
        "rep": rep,
        "rep2": rep2,
        "loner": loner,
        "other_admin": Person(other_admin.id, other_admin.email, "admin"),
    }
    for person in people.values():
        person.token = login(client, person.email)["access_token"]
    return World(org_id=org.id, other_org_id=other.id, people=people, **people)


def account_body(**fields: Any) -> dict[str, Any]:
    """A valid new account, overridable field by field."""
    return {"kind": "company", "status": "customer", "name": "Bottega Rossi", **fields}
