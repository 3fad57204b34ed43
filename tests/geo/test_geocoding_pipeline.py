"""The pipeline: pending accounts get a location (or a reason) through the one write path, so
versions bump, phones pull the change and territories follow; cache, pins, retries."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from geopy import exc as geopy_exc

from fieldsync.db import unit_of_work, utcnow
from fieldsync.extensions import db
from fieldsync.geo.geocoding.pipeline import GeocodeSummary, geocode_pending, store_geocode_result
from fieldsync.geo.geocoding.service import GeocodingService, Outcome
from fieldsync.geo.geometry import haversine_km
from fieldsync.portfolio.models import Account
from tests.conftest import World
from tests.geo.conftest import nominatim_place, scripted_service
from tests.geo.helpers import ACCOUNTS, BIG, get_account, new_account, new_territory
from tests.sync.device import Phone

MILAN = {"street": "Via Dante 1", "postal_code": "20121", "city": "Milano", "country": "IT"}
NOWHERE = {
    "street": "Via Inesistente 1",
    "postal_code": "99999",
    "city": "Xyzzyville",
    "country": "IT",
}
PIN = {"lat": 45.4655, "lon": 9.1866, "precision": "rooftop", "source": "manual"}


def run(app: Flask, service: GeocodingService, **options: Any) -> GeocodeSummary:
    with app.app_context(), unit_of_work(db.session):
        return geocode_pending(db.session, service, **options)


def patch(client: FlaskClient, world: World, account_id: str, body: dict[str, Any]) -> Any:
    response = client.patch(f"{ACCOUNTS}/{account_id}", json=body, headers=world.manager.headers)
    assert response.status_code == 200, response.json
    return response.json


def account_row(app: Flask, account_id: str) -> Account:
    with app.app_context():
        return db.session.get_one(Account, uuid.UUID(account_id))


def test_a_pending_account_is_located_placed_and_pulled_by_the_phone(
    app: Flask, client: FlaskClient, world: World, offline_service: GeocodingService
) -> None:
    territory = new_territory(client, world.manager, geometry=BIG, rep_ids=[str(world.rep.id)])
    account = new_account(client, world.manager, address=MILAN)
    assert (account["geocode_status"], account["location"], account["territory_id"]) == (
        "pending",
        None,
        None,
    )
    phone = Phone(client, world.rep.token)
    phone.pull()
    assert account["id"] not in phone.store["accounts"], "not in the rep's territory yet"

    summary = run(app, offline_service)

    assert (summary.selected, summary.ok, summary.failed) == (1, 1, 0), summary
    located = get_account(client, world.manager, account["id"])
    assert located["geocode_status"] == "ok" and located["geocode_error"] is None
    assert located["location"]["precision"] == "postcode"
    assert located["location"]["source"] == "geocoder"
    assert haversine_km(located["location"]["lat"], located["location"]["lon"], 45.464, 9.19) < 3
    assert located["territory_id"] == territory["id"], "placed when its location was stored"
    assert located["version"] == account["version"] + 1, "one write, one version"
    phone.pull()
    pulled = phone.store["accounts"][account["id"]]
    assert pulled["version"] == located["version"]
    assert (pulled["geocode_status"], pulled["territory_id"]) == ("ok", territory["id"])


def test_an_address_nobody_knows_fails_with_its_reason_and_is_not_retried(
    app: Flask, client: FlaskClient, world: World, offline_service: GeocodingService
) -> None:
    account = new_account(client, world.manager, address=NOWHERE)
    summary = run(app, offline_service)
    assert (summary.ok, summary.failed) == (0, 1), summary
    failed = get_account(client, world.manager, account["id"])
    assert failed["geocode_status"] == "failed" and failed["location"] is None
    assert "not found" in failed["geocode_error"], failed["geocode_error"]
    assert run(app, offline_service).selected == 0, "a failed address waits for a new address"

    fixed = patch(client, world, account["id"], {"address": MILAN})
    assert fixed["geocode_status"] == "pending" and fixed["geocode_error"] is None
    assert run(app, offline_service).ok == 1
    assert get_account(client, world.manager, account["id"])["geocode_status"] == "ok"


def test_a_country_without_embedded_data_says_so(
    app: Flask, client: FlaskClient, world: World, offline_service: GeocodingService
) -> None:
    address = {
        "street": "5th Avenue 1",
        "postal_code": "10010",
        "city": "New York",
        "country": "US",
    }
    account = new_account(client, world.manager, address=address)
    assert run(app, offline_service).failed == 1
    error = get_account(client, world.manager, account["id"])["geocode_error"]
    assert "no data for US" in error and "FIELDSYNC_GEOCODER" in error


def test_a_match_no_finer_than_the_region_is_a_failure(
    app: Flask, client: FlaskClient, world: World
) -> None:
    service = scripted_service(lambda query: nominatim_place(45.6, 9.8, rank=8))
    account = new_account(client, world.manager, address=MILAN)
    assert run(app, service).failed == 1
    failed = get_account(client, world.manager, account["id"])
    assert failed["geocode_status"] == "failed" and failed["location"] is None
    assert "finer than the region" in failed["geocode_error"]


def test_identical_addresses_are_asked_once_and_then_come_from_the_cache(
    app: Flask, client: FlaskClient, world: World, offline_service: GeocodingService
) -> None:
    first = new_account(client, world.manager, address=MILAN)
    spaced = {**MILAN, "city": "  MILANO ", "street": "via  dante 1"}
    second = new_account(client, world.manager, address=spaced)
    summary = run(app, offline_service)
    assert (summary.ok, summary.unique_addresses, summary.provider_requests) == (2, 1, 1), summary
    assert summary.cache_hits == 0

    third = new_account(client, world.manager, address=MILAN)
    again = run(app, offline_service)
    assert (again.ok, again.cache_hits, again.provider_requests) == (1, 1, 0), again
    locations = [
        get_account(client, world.manager, a["id"])["location"] for a in (first, second, third)
    ]
    assert locations[0] == locations[1] == locations[2]


def test_a_not_found_is_cached_too(
    app: Flask, client: FlaskClient, world: World, offline_service: GeocodingService
) -> None:
    new_account(client, world.manager, address=NOWHERE)
    assert run(app, offline_service).provider_requests > 0
    new_account(client, world.manager, address=NOWHERE)
    summary = run(app, offline_service)
    assert (summary.failed, summary.cache_hits, summary.provider_requests) == (1, 1, 0)


def test_a_persons_pin_is_never_overwritten(
    app: Flask, client: FlaskClient, world: World, offline_service: GeocodingService
) -> None:
    pinned = new_account(client, world.manager, address=MILAN, location=PIN)
    assert pinned["geocode_status"] == "manual"
    assert run(app, offline_service).selected == 0
    assert get_account(client, world.manager, pinned["id"])["location"] == PIN

    # A pin set after the account was queued wins over the geocoder's answer.
    queued = new_account(client, world.manager, address=MILAN)
    patch(client, world, queued["id"], {"location": PIN})
    with app.app_context(), unit_of_work(db.session):
        account = db.session.get_one(Account, uuid.UUID(queued["id"]))
        match = offline_service.geocode(db.session, offline_service_address()).match
        assert store_geocode_result(db.session, account, Outcome("ok", match=match)) == set()
    kept = get_account(client, world.manager, queued["id"])
    assert kept["location"] == PIN and kept["geocode_status"] == "manual"


def offline_service_address() -> Any:
    from fieldsync.geo.geocoding.results import AddressQuery

    return AddressQuery.from_mapping(MILAN)


def test_an_address_changed_while_the_provider_answered_is_left_for_the_next_run(
    app: Flask, client: FlaskClient, world: World
) -> None:
    account = new_account(client, world.manager, address=MILAN)
    moved = {**MILAN, "postal_code": "00184", "city": "Roma"}

    def answer(query: Any) -> Any:
        patch(client, world, account["id"], {"address": moved})  # a phone edits meanwhile
        return nominatim_place(45.47, 9.19, rank=30)

    service = scripted_service(answer)
    with app.app_context(), unit_of_work(db.session):
        summary = geocode_pending(db.session, service, checkpoint=db.session.commit)
    assert (summary.ok, summary.skipped) == (0, 1), summary
    still = get_account(client, world.manager, account["id"])
    assert still["geocode_status"] == "pending" and still["address"]["city"] == "Roma"


def test_a_new_address_re_queues_and_moves_the_account(
    app: Flask, client: FlaskClient, world: World, offline_service: GeocodingService
) -> None:
    account = new_account(client, world.manager, address=MILAN)
    run(app, offline_service)
    milan = get_account(client, world.manager, account["id"])
    rome = patch(
        client, world, account["id"], {"address": {**MILAN, "postal_code": "00184", "city": "Roma"}}
    )
    assert rome["geocode_status"] == "pending"
    assert rome["location"] == milan["location"], "the old point stays until the new one"
    run(app, offline_service)
    located = get_account(client, world.manager, account["id"])
    assert located["geocode_status"] == "ok"
    assert haversine_km(located["location"]["lat"], located["location"]["lon"], 41.89, 12.49) < 5


def test_a_provider_outage_keeps_the_account_pending_and_backs_off(
    app: Flask, client: FlaskClient, world: World
) -> None:
    down = scripted_service(lambda query: geopy_exc.GeocoderUnavailable("connection refused"))
    first = new_account(client, world.manager, address=MILAN)
    second = new_account(client, world.manager, address={**MILAN, "postal_code": "20122"})
    now = utcnow()
    summary = run(app, down, now=now)
    assert summary.waiting == 1 and summary.provider_requests == 1, "stops at the first error"
    assert summary.stopped == "nominatim is unavailable"
    waiting = get_account(client, world.manager, first["id"])
    assert waiting["geocode_status"] == "pending" and waiting["location"] is None
    assert "Waiting for the geocoding service" in waiting["geocode_error"]
    row = account_row(app, first["id"])
    assert row.geocode_attempts == 1
    assert row.geocode_next_attempt_at == now + timedelta(minutes=1)
    assert account_row(app, second["id"]).geocode_attempts == 0, "never asked"

    # The next run goes on with the untried account; the failed one waits its turn.
    assert run(app, down, now=now + timedelta(seconds=10)).selected == 1
    assert account_row(app, second["id"]).geocode_attempts == 1
    run(app, down, now=now + timedelta(minutes=1, seconds=1))
    assert account_row(app, first["id"]).geocode_attempts == 2
    assert account_row(app, first["id"]).geocode_next_attempt_at == (
        now + timedelta(minutes=1, seconds=1) + timedelta(minutes=2)
    )

    # Back up: the account is located and its retry state cleared.
    run(
        app,
        scripted_service(lambda q: nominatim_place(45.47, 9.19, rank=30)),
        now=now + timedelta(hours=1),
    )
    located = account_row(app, first["id"])
    assert located.geocode_status == "ok" and located.geocode_attempts == 0
    assert located.geocode_error is None and located.location_precision == "rooftop"


def test_retry_after_is_honoured(app: Flask, client: FlaskClient, world: World) -> None:
    limited = scripted_service(
        lambda q: geopy_exc.GeocoderRateLimited("slow down", retry_after=600)
    )
    account = new_account(client, world.manager, address=MILAN)
    now = utcnow()
    run(app, limited, now=now)
    assert account_row(app, account["id"]).geocode_next_attempt_at == now + timedelta(seconds=600)


def test_deleted_accounts_are_not_geocoded(
    app: Flask, client: FlaskClient, world: World, offline_service: GeocodingService
) -> None:
    account = new_account(client, world.manager, address=MILAN)
    client.delete(f"{ACCOUNTS}/{account['id']}", headers=world.manager.headers)
    assert run(app, offline_service).selected == 0


def test_the_cli_geocodes_with_a_progress_bar_and_prints_a_summary(
    app: Flask, client: FlaskClient, world: World
) -> None:
    for _ in range(3):
        new_account(client, world.manager, address=MILAN)
    new_account(client, world.manager, address=NOWHERE)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["geocode", "--pending", "--org", str(world.org_id)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["provider"].startswith("offline:")
    assert (summary["selected"], summary["ok"], summary["failed"]) == (4, 3, 1), summary
    assert summary["unique_addresses"] == 2
    nothing = runner.invoke(args=["geocode", "--org", str(world.other_org_id), "--limit", "5"])
    assert json.loads(nothing.stdout.strip().splitlines()[-1])["selected"] == 0


def test_inline_geocoding_locates_an_account_as_it_is_written(
    app: Flask, client: FlaskClient, world: World, inline_geocoding: GeocodingService
) -> None:
    territory = new_territory(client, world.manager, geometry=BIG)
    created = new_account(client, world.manager, address=MILAN)
    assert created["geocode_status"] == "ok" and created["version"] == 1
    assert created["location"]["precision"] == "postcode"
    assert created["territory_id"] == territory["id"]
    moved = patch(
        client, world, created["id"], {"address": {**MILAN, "postal_code": "00184", "city": "Roma"}}
    )
    assert moved["geocode_status"] == "ok" and moved["version"] == 2
    assert moved["territory_id"] is None, "Rome is outside the territory"
    unknown = new_account(client, world.manager, address=NOWHERE)
    assert unknown["geocode_status"] == "failed" and "not found" in unknown["geocode_error"]
