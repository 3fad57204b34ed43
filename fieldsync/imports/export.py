"""Accounts out as CSV or XLSX, streamed: one row per account, English headers the importer
reads back (export then import finds every account again and changes nothing).

``export_accounts`` is shared by ``GET /accounts/export`` and the segments' CSV/XLSX lists:
it takes the account list's filter arguments and applies the list's own filtering
(``portfolio.service.account_filters``) within the caller's scope (``auth.scope``).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterator
from typing import Any

import marshmallow as ma
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import User
from fieldsync.auth.scope import account_condition
from fieldsync.exceptions import ValidationError
from fieldsync.portfolio.models import Account
from fieldsync.portfolio.schemas import parse_near
from fieldsync.portfolio.service import account_filters

FORMATS = ("csv", "xlsx")
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
ROWS_PER_CHUNK = 1000  # CSV rows per yielded piece, and rows fetched per round trip
FILE_CHUNK = 64 * 1024
# Headers in file order; ``imports.headers`` knows each of them as the field it names.
COLUMNS = (
    "id", "kind", "status", "name", "title", "first_name", "last_name", "email", "phone",
    "mobile", "website", "industry", "vat_number", "legal_form", "annual_revenue", "employees",
    "street", "postal_code", "city", "region", "country", "latitude", "longitude", "owner",
    "tags", "color", "contact_preference", "visit_every_days", "notes",
)  # fmt: skip
TAG_SEPARATOR = "; "
# A spreadsheet runs a cell that starts with these as a formula: such text is written behind
# an apostrophe (the importer takes it off again).
FORMULA_START = ("=", "@", "\t", "\r")


def _statement(session: Session, actor: Actor, filters: dict[str, Any]) -> Select[Any]:
    args = dict(filters)
    args.pop("limit", None)
    args.pop("cursor", None)
    if isinstance(args.get("near"), str):
        try:
            args["near"] = parse_near(args["near"])  # the list's own parsing
        except ma.ValidationError as error:
            raise ValidationError("Invalid filter.", fields={"near": error.messages}) from None
    a = Account
    columns = (
        a.id, a.kind, a.status, a.name, a.title, a.first_name, a.last_name, a.email, a.phone,
        a.mobile, a.website, a.industry, a.vat_number, a.legal_form, a.annual_revenue,
        a.employees, a.street, a.postal_code, a.city, a.region, a.country, a.lat, a.lon,
        User.email, a.tags, a.color, a.contact_preference, a.visit_every_days, a.notes,
    )  # fmt: skip
    return (
        select(*columns)
        .select_from(Account)
        .outerjoin(User, User.id == Account.owner_id)
        .where(
            account_condition(session, actor),
            Account.deleted_at.is_(None),
            *account_filters(session, args),
        )
        .order_by(Account.id)
    )


def _cell(value: Any) -> Any:
    """A stored value as the file shows it (numbers stay numbers for XLSX)."""
    if value is None:
        return None
    if isinstance(value, list):
        return TAG_SEPARATOR.join(str(v) for v in value)
    if isinstance(value, str):
        return "'" + value if value.startswith(FORMULA_START) else value
    if isinstance(value, bool | int | float):
        return value
    return str(value)  # UUIDs


def _rows(session: Session, actor: Actor, filters: dict[str, Any]) -> Iterator[list[Any]]:
    statement = _statement(session, actor, filters)
    # yield_per streams from a server-side cursor on PostgreSQL: memory stays flat.
    result = session.execute(statement.execution_options(yield_per=ROWS_PER_CHUNK))
    for row in result:
        yield [_cell(value) for value in row]


def export_accounts(
    session: Session, *, actor: Actor, filters: dict[str, Any], fmt: str
) -> Iterator[bytes]:
    """Stream the visible accounts matching the list filters as CSV or XLSX bytes.

    The filters are checked and the query built before the first byte is produced, so a bad
    filter raises here (a 422), not halfway through a response.
    """
    if fmt not in FORMATS:
        raise ValidationError("Unknown export format.", fields={"format": ["Use csv or xlsx."]})
    _statement(session, actor, filters)  # validate now; the generator runs later
    if fmt == "csv":
        return _csv(session, actor, filters)
    return _xlsx(session, actor, filters)


def _csv(session: Session, actor: Actor, filters: dict[str, Any]) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    # The BOM makes Excel read the file as UTF-8; the importer accepts it.
    buffer.write("\ufeff")
    writer.writerow(COLUMNS)
    for count, row in enumerate(_rows(session, actor, filters), start=1):
        writer.writerow(row)
        if count % ROWS_PER_CHUNK == 0:
            yield buffer.getvalue().encode("utf-8")
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode("utf-8")


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)  # control characters XML cannot hold
    return value


def _xlsx(session: Session, actor: Actor, filters: dict[str, Any]) -> Iterator[bytes]:
    # openpyxl's write-only mode keeps rows on disk, not in memory; a zip's directory comes at
    # its end, so the file is built in a temporary file and then sent in pieces.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Accounts")
    sheet.append(list(COLUMNS))
    for row in _rows(session, actor, filters):
        sheet.append([_xlsx_cell(value) for value in row])
    with tempfile.TemporaryFile() as file:
        workbook.save(file)
        file.seek(0)
        while piece := file.read(FILE_CHUNK):
            yield piece


__all__ = ["COLUMNS", "FORMATS", "MEDIA_TYPES", "export_accounts"]
