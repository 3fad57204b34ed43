"""``fieldsync geocode``: geocode the accounts waiting for a location."""

from __future__ import annotations

import json
import sys
import uuid

import click
from flask import current_app
from flask.cli import with_appcontext

from fieldsync.db import unit_of_work
from fieldsync.extensions import db
from fieldsync.geo.geocoding.api import geocoding_service
from fieldsync.geo.geocoding.pipeline import due_accounts, geocode_pending


@click.command("geocode")
@click.option(
    "--pending",
    is_flag=True,
    default=True,
    show_default=True,
    help="Accounts waiting for a location whose next attempt is due (the default).",
)
@click.option("--org", "org_id", type=click.UUID, default=None, help="Only this organisation.")
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=10_000,
    show_default=True,
    help="At most this many accounts.",
)
@click.option("--batch-size", type=click.IntRange(1, 1000), default=100, show_default=True)
@with_appcontext
def geocode_command(pending: bool, org_id: uuid.UUID | None, limit: int, batch_size: int) -> None:
    """Geocode pending accounts with a progress bar; print a JSON summary line.

    Each batch is committed on its own, and no transaction stays open while a network
    provider is asked: a long run at Nominatim's 1 request/s never blocks the API.
    """
    service = geocoding_service(current_app)
    session = db.session
    with unit_of_work(session):
        total = len(due_accounts(session, org_id=org_id, limit=limit))
    with (
        click.progressbar(length=total, label="Geocoding", file=sys.stderr, show_pos=True) as bar,
        unit_of_work(session),
    ):
        summary = geocode_pending(
            session,
            service,
            org_id=org_id,
            limit=limit,
            batch_size=batch_size,
            progress=bar.update,
            checkpoint=session.commit,
        )
    click.echo(json.dumps({"provider": service.provider.cache_name, **summary.as_dict()}))
