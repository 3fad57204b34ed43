"""A real Celery worker on the real Redis geocodes accounts written through the API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask

from fieldsync.extensions import db
from tests.conftest import TEST_SETTINGS, World, limiter_storage_kept, make_world
from tests.conftest import make_app as make_test_app

REDIS_URL = os.environ.get("FIELDSYNC_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def redis_url() -> str:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except redis.exceptions.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"Redis does not answer at {REDIS_URL}: CI requires it")
        pytest.skip(f"Redis does not answer at {REDIS_URL}")
    return REDIS_URL


@pytest.fixture
def worker(database_url: str, redis_url: str) -> Iterator[str]:
    """A Celery worker process on a queue of its own; yields the queue name."""
    queue = f"fieldsync-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        **{f"FIELDSYNC_{k}": str(v) for k, v in TEST_SETTINGS.items()},
        "FIELDSYNC_DATABASE_URL": database_url,
        "FIELDSYNC_REDIS_URL": redis_url,
        "FIELDSYNC_CELERY_QUEUE": queue,
        "FIELDSYNC_GEOCODE_INLINE": "false",
    }
    process = subprocess.Popen(
        [str(BIN / "celery"), "-A", "fieldsync.worker", "worker", "--pool=solo",
         "--concurrency=1", "--without-heartbeat", "--without-gossip", "--without-mingle",
         "-Q", queue, "--loglevel=WARNING"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        yield queue
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


@pytest.fixture
def producer(app, database_url: str, redis_url: str, worker: str) -> Iterator[Flask]:
    """The API side: an app that sends tasks to the worker's queue."""
    with limiter_storage_kept():
        flask_app = make_test_app(
            database_url, REDIS_URL=redis_url, CELERY_QUEUE=worker, GEOCODE_INLINE=False
        )
        yield flask_app
        with flask_app.app_context():
            db.engine.dispose()


def test_worker_geocodes_an_account_written_through_the_api(producer: Flask) -> None:
    client = producer.test_client()
    world: World = make_world(producer, client)
    created = client.post(
        "/api/v1/accounts",
        headers=world.rep.headers,
        json={"kind": "company", "status": "lead", "name": "Bar Centrale",
              "address": {"street": "Piazza del Duomo 1", "postal_code": "20122",
                          "city": "Milano", "country": "IT"}},
    )  # fmt: skip
    assert created.status_code == 201, created.json
    assert created.json["geocode_status"] == "pending", "the request itself must not geocode"
    deadline = time.monotonic() + 60
    while True:
        account = client.get(f"/api/v1/accounts/{created.json['id']}", headers=world.rep.headers)
        if account.json["geocode_status"] != "pending":
            break
        assert time.monotonic() < deadline, "the worker did not geocode the account in 60 s"
        time.sleep(0.3)
    body = account.json
    assert body["geocode_status"] == "ok", body
    assert body["location"]["source"] == "geocoder"
    assert abs(body["location"]["lat"] - 45.46) < 0.1 and abs(body["location"]["lon"] - 9.19) < 0.1
    assert body["version"] > created.json["version"], "the result is a new version phones pull"


def test_task_result_comes_back_through_redis(producer: Flask) -> None:
    celery = producer.extensions["celery"]
    result = celery.send_task("fieldsync.geocode_pending", kwargs={"limit": 10})
    summary = result.get(timeout=60)
    assert summary["selected"] == 0 and summary["stopped"] is None, summary
