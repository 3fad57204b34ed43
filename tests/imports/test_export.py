"""Export: filters, scope, formats; export then import finds the same accounts."""

from __future__ import annotations

import csv
import io

import pytest
from openpyxl import Workbook, load_workbook

from fieldsync.imports.export import COLUMNS
from tests.conftest import account_body
from tests.imports.files import accounts, upload


def _seed(client, world):
    bodies = [
        account_body(name="Rossi & Figli", vat_number="IT01234567890", email="a@rossi.example",
                     phone="+390212345678", tags=["vip", "north"], annual_revenue=1234567.5,
                     employees=12, visit_every_days=30, status="prospect", color="#AA00FF",
                     contact_preference="visit", notes="Line one\nline two; with, commas",
                     address={"street": "Via Roma 1", "postal_code": "20121", "city": "Milano",
                              "country": "IT"},
                     location={"lat": 45.4642035, "lon": 9.189982}),
        account_body(name="=SUM(A1)", kind="person", first_name="Anna", last_name="Müller",
                     status="lead", owner_id=str(world.rep.id),
                     address={"city": "München", "country": "DE", "postal_code": "80331"}),
        account_body(name="Nameless place"),  # no key but its id
    ]  # fmt: skip
    for body in bodies:
        response = client.post("/api/v1/accounts", json=body, headers=world.admin.headers)
        assert response.status_code == 201, response.json


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_then_import_changes_nothing(client, world, fmt):
    _seed(client, world)
    before = {a["id"]: a for a in accounts(client, world.admin.headers)}
    response = client.get(f"/api/v1/accounts/export?format={fmt}", headers=world.admin.headers)
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f'attachment; filename="accounts.{fmt}"'
    data = response.get_data()
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    else:
        rows = [list(r) for r in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]
    assert tuple(rows[0]) == COLUMNS and len(rows) == 4
    assert "'=SUM(A1)" in [r[3] for r in rows]  # not run as a formula by a spreadsheet
    report = upload(client, world.admin.headers, data, f"export.{fmt}").json
    assert (report["created"], report["updated"], report["skipped"]) == (0, 0, 3), report
    assert report["errors"] == []
    after = {a["id"]: a for a in accounts(client, world.admin.headers)}
    assert after == before


def test_export_filters_and_scope(client, world):
    _seed(client, world)
    response = client.get("/api/v1/accounts/export?status=lead", headers=world.admin.headers)
    lines = response.get_data().decode("utf-8-sig").splitlines()
    assert len(lines) == 2 and "Müller" in lines[1]
    rep_file = client.get("/api/v1/accounts/export", headers=world.rep.headers).get_data()
    rep_rows = rep_file.decode("utf-8-sig").splitlines()[1:]
    assert [r.split(",")[3] for r in rep_rows] == ["'=SUM(A1)"]  # only what the rep owns
    other = client.get("/api/v1/accounts/export", headers=world.other_admin.headers)
    assert other.get_data().decode("utf-8-sig").splitlines() == [",".join(COLUMNS)]
    bad = client.get("/api/v1/accounts/export?format=pdf", headers=world.admin.headers)
    assert bad.status_code == 422 and "format" in bad.json["error"]["details"]["fields"]
    near = client.get("/api/v1/accounts/export?near=45.46,9.19&radius_km=5",
                      headers=world.admin.headers)  # fmt: skip
    assert near.get_data().decode("utf-8-sig").count("Rossi") == 1
    assert client.get("/api/v1/accounts/export").status_code == 401


@pytest.mark.slow
def test_twenty_thousand_rows(client, world):
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["Ragione sociale", "Partita IVA", "Via", "CAP", "Città", "Paese", "Telefono",
                  "Referente", "Email referente"])  # fmt: skip
    for i in range(20_000):
        sheet.append(
            [
                f"Cliente {i}",
                f"IT{i:011d}",
                f"Via Verdi {i % 200}",
                f"{20100 + i % 50}",
                "Milano",
                "IT",
                f"02 {i:08d}",
                f"Persona {i}",
                f"p{i}@x.example",
            ]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    data = buffer.getvalue()
    report = upload(client, world.admin.headers, data, "big.xlsx").json
    assert (report["created"], report["updated"], report["errors"]) == (20_000, 0, []), report
    exported = client.get("/api/v1/accounts/export", headers=world.admin.headers).get_data()
    assert exported.count(b"\r\n") == 20_001


def test_export_streams_gzip_when_asked(client, world):
    _seed(client, world)
    response = client.get(
        "/api/v1/accounts/export", headers={**world.admin.headers, "Accept-Encoding": "gzip"}
    )
    assert response.status_code == 200
    assert response.is_streamed
    body = response.get_data()
    if response.headers.get("Content-Encoding") == "gzip":
        import gzip

        body = gzip.decompress(body)
    assert body.decode("utf-8-sig").count("\r\n") == 4
