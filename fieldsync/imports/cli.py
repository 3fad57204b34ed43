"""``fieldsync import accounts FILE --org ORG_ID``: a client file in, with a progress bar."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import Organisation, User
from fieldsync.db import unit_of_work
from fieldsync.exceptions import APIError
from fieldsync.extensions import db
from fieldsync.geo.geocoding.api import geocoding_service
from fieldsync.geo.geocoding.pipeline import enable_inline_geocoding
from fieldsync.imports.headers import check_mapping
from fieldsync.imports.rows import parse_in_background
from fieldsync.imports.service import CHUNK_SIZE, import_parsed


@click.group("import")
def import_group() -> None:
    """Import client files."""


def _importer(org_id: uuid.UUID, email: str | None) -> Actor:
    """The user the import runs as: the one named, else the organisation's first admin."""
    if db.session.get(Organisation, org_id) is None:
        raise click.BadParameter("No such organisation.", param_hint="--org")
    stmt = select(User).where(User.org_id == org_id, User.active.is_(True))
    if email:
        stmt = stmt.where(User.email == email.lower())
    else:
        stmt = stmt.where(User.role == "admin").order_by(User.created_at, User.id)
    user = db.session.execute(stmt.limit(1)).scalar_one_or_none()
    if user is None:
        raise click.BadParameter("No such active user in the organisation.", param_hint="--user")
    return Actor(user_id=user.id, org_id=user.org_id, role=user.role)


@import_group.command("accounts")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_id", type=click.UUID, required=True, help="Organisation to import into")
@click.option("--dry-run", is_flag=True, help="Report what would change; change nothing.")
@click.option(
    "--mapping",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help='JSON object {"file header": "field" | null} overriding the recognised headers.',
)
@click.option("--user", "user_email", help="Import as this user (default: the first admin).")
@with_appcontext
def import_accounts_command(
    file: Path, org_id: uuid.UUID, dry_run: bool, mapping: Path | None, user_email: str | None
) -> None:
    """Import a .csv or .xlsx client file; print the report as one JSON line."""
    try:
        columns = check_mapping(json.loads(mapping.read_text("utf-8"))) if mapping else None
    except (ValueError, APIError) as error:
        raise click.BadParameter(
            getattr(error, "message", str(error)), param_hint="--mapping"
        ) from None
    session = db.session
    with unit_of_work(session):
        actor = _importer(org_id, user_email)
        service = geocoding_service(current_app)
        # As in a request: the embedded gazetteer locates imported addresses at once.
        enable_inline_geocoding(session, service if service.settings.inline else None)
        try:
            # The file is read and parsed in a child process while this one writes.
            parsed = parse_in_background(file, columns, CHUNK_SIZE)
            try:
                with click.progressbar(
                    length=parsed.estimated_rows or 0,
                    label="Importing" + (" (dry run)" if dry_run else ""),
                    file=sys.stderr,
                    show_pos=True,
                ) as bar:
                    report = import_parsed(
                        session, actor=actor, parsed=parsed, dry_run=dry_run, progress=bar.update
                    )
            finally:
                parsed.close()
        except APIError as error:
            fields = (error.details or {}).get("fields")
            detail = json.dumps(fields) if fields else ""
            raise click.ClickException(f"{error.message} {detail}".strip()) from None
        finally:
            enable_inline_geocoding(session, None)
    click.echo(json.dumps(report.as_dict()))
