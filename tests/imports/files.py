"""Client files built in the tests: CSV (any encoding and delimiter) and XLSX (openpyxl)."""

from __future__ import annotations

import csv
import io
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from openpyxl import Workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from fieldsync.extensions import db


def csv_bytes(
    rows: list[list[Any]], *, delimiter: str = ",", encoding: str = "utf-8", bom: bool = False
) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = buffer.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows: list[list[Any]], *, merge: list[str] | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cells in merge or []:
        sheet.merge_cells(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(
    client: FlaskClient, headers: dict[str, str], data: bytes, name: str, dry_run: bool = False
) -> Any:
    # Encoded here, in memory: the test client spools a large multipart body to a temporary
    # file that it never closes (a ResourceWarning, an error under our warning filters).
    fields = {"file": FileStorage(io.BytesIO(data), filename=name),
              "dry_run": "true" if dry_run else "false"}  # fmt: skip
    boundary, body = encode_multipart(fields)
    return client.post(
        "/api/v1/imports",
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def row_counts(app: Flask) -> dict[str, int]:
    """Rows of every table (a dry run must leave each the same)."""
    with app.app_context():
        return {
            table.name: db.session.execute(select(func.count()).select_from(table)).scalar_one()
            for table in db.metadata.sorted_tables
        }


def accounts(client: FlaskClient, headers: dict[str, str], **filters: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {"limit": 1000, **filters, **({"cursor": cursor} if cursor else {})}
        response = client.get("/api/v1/accounts", query_string=query, headers=headers)
        assert response.status_code == 200, response.json
        items += response.json["items"]
        cursor = response.json["next_cursor"]
        if not cursor:
            return items
