"""With FIELDSYNC_REDIS_URL set, login limits are shared by every API process (real Redis)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import redis
from flask import Flask

from fieldsync.extensions import db, limiter
from tests.conftest import PASSWORD, World, limiter_storage_kept
from tests.conftest import make_app as make_test_app

REDIS_URL = os.environ.get("FIELDSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


@pytest.fixture
def two_processes(app: Flask, database_url: str) -> Iterator[tuple[Flask, Flask]]:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer at {REDIS_URL}: CI requires it")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    with limiter_storage_kept():
        apps = (make_test_app(database_url, REDIS_URL=REDIS_URL),
                make_test_app(database_url, REDIS_URL=REDIS_URL))  # fmt: skip
        yield apps
        for flask_app in apps:
            with flask_app.app_context():
                limiter.reset()
                db.engine.dispose()


def test_failed_logins_count_across_processes(two_processes, world: World) -> None:
    first, second = (flask_app.test_client() for flask_app in two_processes)
    email = world.loner.email
    address = {"REMOTE_ADDR": f"10.9.{uuid.uuid4().int % 250}.1"}
    for attempt in range(5):
        client = first if attempt % 2 else second
        response = client.post("/api/v1/auth/login", environ_base=address,
                               json={"email": email, "password": "wrong password"})  # fmt: skip
        assert response.status_code == 401, (attempt, response.json)
    # The sixth attempt, on the other process, is refused even with the right password.
    blocked = first.post("/api/v1/auth/login", environ_base=address,
                         json={"email": email, "password": PASSWORD})  # fmt: skip
    assert blocked.status_code == 429, blocked.json
    assert int(blocked.headers["Retry-After"]) > 0
    # The counters live in Redis (not in this process's memory).
    keys = redis.Redis.from_url(REDIS_URL).keys(f"*login:{email}*")
    assert keys, "no login counter in Redis"
