"""Login rate limits: per account (failed attempts, "5 per 15 minutes") and per IP ("30 per
minute"), answered with 429, Retry-After and the error envelope. The harness resets the counters
after each test."""

from __future__ import annotations

import threading

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests.auth.helpers import (
    REFRESH,
    assert_error,
    fresh_ip,
    login_ok,
    post_login,
)
from tests.conftest import PASSWORD, World

PER_ACCOUNT = 5  # LOGIN_LIMIT_PER_ACCOUNT "5 per 15 minutes"
PER_IP = 30  # LOGIN_LIMIT_PER_IP "30 per minute"


@pytest.fixture(autouse=True)
def _documented_limits(app) -> None:
    assert app.config["LOGIN_LIMIT_PER_ACCOUNT"] == "5 per 15 minutes"
    assert app.config["LOGIN_LIMIT_PER_IP"] == "30 per minute"


def assert_rate_limited(response: TestResponse, *, at_most: int) -> int:
    assert_error(response, 429, "rate_limited")
    raw = response.headers.get("Retry-After")
    assert raw is not None, f"no Retry-After header: {dict(response.headers)}"
    assert raw.isdigit(), f"Retry-After must be an integer of seconds: {raw!r}"
    seconds = int(raw)
    assert 0 < seconds <= at_most, f"Retry-After {seconds} not in (0, {at_most}]"
    return seconds


def fail_logins(client: FlaskClient, email: str, times: int, *, ip: str | None = None) -> None:
    for attempt in range(times):
        response = post_login(client, email, "wrong password!", ip=ip or fresh_ip())
        assert response.status_code == 401, f"attempt {attempt + 1}: {response.json}"


# --- per account -----------------------------------------------------------------------------


def test_repeated_failures_lock_the_account_even_with_the_right_password(client, world) -> None:
    fail_logins(client, "rep@acme.test", PER_ACCOUNT)
    blocked = post_login(client, "rep@acme.test", PASSWORD)
    seconds = assert_rate_limited(blocked, at_most=15 * 60)
    assert seconds > 60, f"the account window is 15 minutes, Retry-After {seconds}"
    assert_rate_limited(post_login(client, "rep@acme.test", "wrong password!"), at_most=15 * 60)


def test_fewer_failures_than_the_limit_do_not_block(client, world: World) -> None:
    fail_logins(client, "rep@acme.test", PER_ACCOUNT - 1)
    login_ok(client, "rep@acme.test")


def test_the_account_limit_follows_the_email_across_addresses(client, world: World) -> None:
    fail_logins(client, "rep@acme.test", PER_ACCOUNT)  # each from a different address
    assert_rate_limited(post_login(client, "rep@acme.test", ip=fresh_ip()), at_most=15 * 60)


def test_the_account_limit_ignores_case_and_spaces(client, world: World) -> None:
    for email in (
        "rep@acme.test",
        "REP@acme.test",
        " rep@ACME.test",
        "Rep@Acme.Test ",
        "rep@acme.TEST",
    ):
        assert post_login(client, email, "wrong password!").status_code == 401
    assert_rate_limited(post_login(client, "rep@acme.test"), at_most=15 * 60)


def test_a_locked_account_does_not_block_other_accounts(client, world: World) -> None:
    ip = fresh_ip()
    fail_logins(client, "rep@acme.test", PER_ACCOUNT, ip=ip)
    assert_rate_limited(post_login(client, "rep@acme.test", ip=ip), at_most=15 * 60)
    # Same address, other accounts: fine (the per-IP limit is far from reached).
    for email in ("rep2@acme.test", "manager@acme.test", "admin@other.test"):
        response = post_login(client, email, ip=ip)
        assert response.status_code == 200, f"{email}: {response.json}"


def test_successful_logins_do_not_count_against_the_account(client, world: World) -> None:
    for _ in range(PER_ACCOUNT + 2):
        login_ok(client, "rep@acme.test")


def test_failures_of_an_unknown_email_are_limited_too(client, world: World) -> None:
    fail_logins(client, "ghost@acme.test", PER_ACCOUNT)
    assert_rate_limited(post_login(client, "ghost@acme.test", "x"), at_most=15 * 60)
    login_ok(client, "rep@acme.test")


def test_a_successful_login_forgives_earlier_failures(client, world: World) -> None:
    for _ in range(3):
        fail_logins(client, "rep@acme.test", PER_ACCOUNT - 1)
        login_ok(client, "rep@acme.test")
    fail_logins(client, "rep@acme.test", PER_ACCOUNT)
    assert_rate_limited(post_login(client, "rep@acme.test"), at_most=15 * 60)


def test_parallel_failures_cannot_exceed_the_account_limit(app, world: World) -> None:
    """Attempts are counted atomically before the password check: a burst of parallel guesses
    gets no more tries than sequential ones."""
    attempts = 16
    barrier = threading.Barrier(attempts)
    statuses: list[int] = []
    lock = threading.Lock()

    def guess(n: int) -> None:
        c = app.test_client()
        barrier.wait()
        response = post_login(c, "rep@acme.test", f"guess number {n}")
        with lock:
            statuses.append(response.status_code)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(statuses) == attempts, statuses
    assert statuses.count(401) <= PER_ACCOUNT, f"too many guesses went through: {statuses}"
    assert set(statuses) <= {401, 429}, statuses
    assert statuses.count(429) == attempts - statuses.count(401), statuses


def test_device_conflicts_do_not_count_as_failed_logins(client, world: World) -> None:
    owner = login_ok(client, "rep@acme.test")
    for _ in range(PER_ACCOUNT + 1):
        response = post_login(client, "rep2@acme.test", device_id=owner["device_id"])
        assert response.status_code == 409, response.json
    login_ok(client, "rep2@acme.test")


# --- per IP ----------------------------------------------------------------------------------


def test_the_per_ip_limit_blocks_an_address_after_30_attempts(client, world: World) -> None:
    ip = fresh_ip()
    # Distinct unknown emails, so no per-account limit is involved.
    for n in range(PER_IP):
        response = post_login(client, f"probe{n}@nowhere.test", "x", ip=ip)
        assert response.status_code == 401, f"attempt {n + 1}: {response.json}"
    blocked = post_login(client, "rep@acme.test", PASSWORD, ip=ip)
    assert_rate_limited(blocked, at_most=60)
    # Another address is not affected, and neither is the account.
    login_ok(client, "rep@acme.test")


def test_the_per_ip_limit_counts_successful_logins_too(client, world: World) -> None:
    ip = fresh_ip()
    for n in range(PER_IP):
        response = post_login(client, "rep@acme.test", PASSWORD, ip=ip)
        assert response.status_code == 200, f"attempt {n + 1}: {response.json}"
    assert_rate_limited(post_login(client, "rep2@acme.test", PASSWORD, ip=ip), at_most=60)


def test_refresh_is_limited_per_ip(client, world: World) -> None:
    ip = fresh_ip()
    for n in range(PER_IP):
        response = client.post(
            REFRESH, json={"refresh_token": f"junk-{n}"}, environ_base={"REMOTE_ADDR": ip}
        )
        assert response.status_code == 401, f"attempt {n + 1}: {response.json}"
    blocked = client.post(REFRESH, json={"refresh_token": "junk"}, environ_base={"REMOTE_ADDR": ip})
    assert_rate_limited(blocked, at_most=60)


def test_authenticated_endpoints_are_not_login_limited(client, world: World) -> None:
    for _ in range(PER_IP + 5):
        assert client.get("/api/v1/me", headers=world.rep.headers).status_code == 200
