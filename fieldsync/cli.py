"""The ``fieldsync`` command: Flask's CLI with the service's own commands."""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from fieldsync.db import unit_of_work
from fieldsync.extensions import db
from fieldsync.geo.geocoding.cli import geocode_command
from fieldsync.imports.cli import import_group
from fieldsync.web import AUTH_SETTINGS_KEY

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


def _create_app() -> Flask:
    from fieldsync.app import create_app

    return create_app()


@click.command("create-org")
@click.option("--name", required=True, help="Organisation name")
@click.option("--admin-email", required=True)
@click.option("--admin-password", required=True)
@click.option("--timezone", default="Europe/Rome", show_default=True)
@with_appcontext
def create_org_command(name: str, admin_email: str, admin_password: str, timezone: str) -> None:
    """Create an organisation and its admin; print {"org_id", "admin_id"} as one JSON line."""
    from fieldsync.auth.service import create_organisation

    with unit_of_work(db.session):
        organisation, admin = create_organisation(
            db.session,
            current_app.extensions[AUTH_SETTINGS_KEY],
            name=name,
            admin_email=admin_email,
            admin_password=admin_password,
            timezone=timezone,
        )
    click.echo(json.dumps({"org_id": str(organisation.id), "admin_id": str(admin.id)}))


@click.command("demo")
@click.option("--seed", default=7, show_default=True, help="Random seed of the generated data")
@click.option("--accounts", "account_count", default=300, show_default=True)
@with_appcontext
def demo_command(seed: int, account_count: int) -> None:
    """Create a demo organisation (manager, reps, territories, accounts) and print its logins."""
    from fieldsync.demo import DEMO_PASSWORD, build_demo

    with unit_of_work(db.session):
        result = build_demo(
            db.session,
            current_app.extensions[AUTH_SETTINGS_KEY],
            seed=seed,
            account_count=account_count,
        )
    click.echo(f"Demo organisation {result.org_id} ({result.accounts} accounts).")
    click.echo(f"Logins (password {DEMO_PASSWORD}):")
    for role, email in result.logins:
        click.echo(f"  {role:<8} {email}")


@click.group("sync")
def sync_group() -> None:
    """Offline sync maintenance."""


@sync_group.command("prune")
@click.option(
    "--days",
    default=90,
    show_default=True,
    type=click.IntRange(1),
    help="Keep this many days of change log",
)
@with_appcontext
def sync_prune_command(days: int) -> None:
    """Drop old change-log rows; phones whose cursor is older re-sync (they get 410)."""
    from datetime import timedelta

    from sqlalchemy import select

    from fieldsync.auth.models import Organisation
    from fieldsync.db import utcnow
    from fieldsync.sync.service import prune_changes

    before = utcnow() - timedelta(days=days)
    with unit_of_work(db.session):
        org_ids = list(db.session.execute(select(Organisation.id)).scalars())
        removed = sum(prune_changes(db.session, org_id=org_id, before=before) for org_id in org_ids)
    click.echo(json.dumps({"pruned_changes": removed, "before": before.isoformat()}))


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=int, help="processes")
@click.option(
    "--threads", default=2, show_default=True, type=int, help="connections a worker serves at once"
)
def serve_command(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the API with gunicorn: worker processes, each serving a few connections at once."""
    from gunicorn.app.base import BaseApplication
    from gunicorn.workers.gthread import ThreadWorker

    class DispatchingWorker(ThreadWorker):  # type: ignore[misc]
        """A gthread worker that holds no connection it has no thread for (see below)."""

        @classmethod
        def check_config(cls, cfg: Any, log: Any) -> None:
            pass  # gthread warns that no connection is kept alive: here that is the point

    class FieldSyncServer(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            options: dict[str, Any] = {
                "bind": f"{host}:{port}",
                "workers": workers,
                "threads": threads,
                "worker_class": DispatchingWorker,
                # A worker takes no more connections than it has threads, so it keeps none alive
                # after a response: each request goes to a worker with a thread free. gthread's
                # default (1,000 connections a worker, kept alive) let four phones that connected
                # together stay on one worker, which ran their pushes on one core while the other
                # worker sat idle. A request is mostly Python, so a process runs one at a time
                # anyway; its second thread covers the waits on the database. (A proxy in front
                # keeps the phones' connections alive, as it would anyway.)
                "worker_connections": threads,
                "accesslog": None,
                "timeout": 120,
                "graceful_timeout": 10,
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self) -> Flask:
            app = _create_app()
            # Everything loaded so far (the app, SQLAlchemy, the solvers' modules) lives as long
            # as the worker: out of the collector's sight, a full collection takes a few ms
            # instead of ~200 ms in the middle of a request (measured on a 500-mutation push).
            gc.freeze()
            # A push allocates millions of short-lived objects: collecting the youngest
            # generation every 20,000 allocations rather than 700 made it 3.6 % cheaper
            # (interleaved A/B, 11 changesets of 500 each).
            gc.set_threshold(20_000, 20, 20)
            return app

    click.echo(f"FieldSync API on http://{host}:{port}  (docs: http://{host}:{port}/docs)")
    FieldSyncServer().run()


def register_commands(app: Flask) -> None:
    """Attach our commands to the app's CLI and point Flask-Migrate at our migrations."""
    config = app.extensions["migrate"]
    # Flask-Migrate's commands read the directory from the Migrate object, not the app's config.
    config.directory = config.migrate.directory = str(MIGRATIONS_DIR)
    app.cli.add_command(create_org_command)
    app.cli.add_command(demo_command)
    app.cli.add_command(serve_command)
    app.cli.add_command(sync_group)
    app.cli.add_command(geocode_command)
    app.cli.add_command(import_group)


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """FieldSync: offline-first field sales backend."""
