"""Duplicates, bad rows, dry runs, roles, placement and sync of imported accounts."""

from __future__ import annotations

import io

from tests.conftest import account_body, login
from tests.imports.files import accounts, csv_bytes, row_counts, upload, xlsx_bytes
from tests.sync.device import Phone

HEADER = ["Company", "VAT", "Email", "Street", "Postal code", "City", "Country", "Phone",
          "Status", "Contact name", "Contact email", "Owner"]  # fmt: skip


def _row(name, vat="", email="", street="", code="", city="", country="IT", phone="",
         status="", contact="", contact_email="", owner=""):  # fmt: skip
    return [name, vat, email, street, code, city, country, phone, status, contact,
            contact_email, owner]  # fmt: skip


def test_duplicates_update_within_a_file_and_across_files(client, world):
    first = [
        HEADER,
        _row("Alfa", vat="IT111", street="Via A 1", code="20121", city="Milano"),
        _row("Beta", email="info@beta.example", city="Roma"),
        _row("Gamma Srl", street="Via G 3", code="10121", city="Torino"),
        _row("Alfa S.r.l.", vat="it 111", status="prospect"),  # same VAT, later row: update
    ]
    report = upload(client, world.admin.headers, csv_bytes(first), "one.csv").json
    assert (report["created"], report["updated"], report["skipped"]) == (3, 1, 0), report
    second = [
        HEADER,
        _row("Alfa renamed", vat="IT 111"),  # VAT
        _row("Beta GmbH", email="INFO@beta.example", status="lead"),  # email, any case
        _row(
            "gamma srl",
            street="via g 3",
            code="10121",
            city="TORINO",  # name and address
            phone="011 123 4567",
        ),
        # the same again, the phone written otherwise: nothing changes
        _row("gamma srl", street="via g 3", code="10121", city="TORINO", phone="0111234567"),
        _row("Delta", city="Bari"),
    ]
    report = upload(client, world.admin.headers, csv_bytes(second), "two.xlsx").json
    assert (report["created"], report["updated"], report["skipped"]) == (1, 3, 1), report
    items = {a["name"]: a for a in accounts(client, world.admin.headers)}
    assert set(items) == {"Alfa renamed", "Beta GmbH", "gamma srl", "Delta"}
    assert items["Alfa renamed"]["status"] == "prospect"
    assert items["Beta GmbH"]["status"] == "lead"
    assert items["gamma srl"]["phone"] == "+390111234567"


def test_bad_rows_are_reported_and_good_rows_go_in(client, world):
    rows = [
        HEADER,
        _row("Good one", email="a@good.example"),  # row 2
        _row("Bad email", email="not-an-email"),  # row 3
        _row("Bad country", country="Atlantis"),  # row 4
        _row("", city="Nowhere"),  # row 5
        _row("Bad phone", phone="12"),  # row 6
        _row("Bad status", status="maybe"),  # row 7
        _row("Bad owner", owner="ghost@acme.test"),  # row 8
        _row("Good two", contact="Anna Verdi", contact_email="anna@good.example"),  # row 9
        _row("Bad contact", contact="Luca Neri", contact_email="luca@"),  # row 10
    ]
    data = xlsx_bytes(rows)
    report = upload(client, world.manager.headers, data, "bad.xlsx").json
    assert report["created"] == 2, report
    assert [(e["row"], e["field"]) for e in report["errors"]] == [
        (3, "Email"), (4, "Country"), (5, "Company"), (6, "Phone"), (7, "Status"),
        (8, "Owner"), (10, "Contact email"),
    ]  # fmt: skip
    assert "Atlantis" in report["errors"][1]["message"]
    names = {a["name"] for a in accounts(client, world.manager.headers)}
    assert names == {"Good one", "Good two"}


def test_dry_run_changes_nothing_and_reports_what_a_real_run_does(app, client, world):
    client.post("/api/v1/accounts", json=account_body(name="Existing", vat_number="IT999"),
                headers=world.admin.headers)  # fmt: skip
    rows = [
        HEADER,
        _row("Existing", vat="IT999", city="Roma"),
        _row("New one", street="Via N 1", code="00100", city="Roma", contact="Ugo Blu"),
        _row("New one", street="Via N 1", code="00100", city="Roma"),  # same again: skipped
        _row("Broken", email="x@"),
    ]
    data = csv_bytes(rows, delimiter=";")
    before = row_counts(app)
    dry = upload(client, world.admin.headers, data, "f.csv", dry_run=True)
    assert dry.status_code == 200, dry.json
    assert row_counts(app) == before
    real = upload(client, world.admin.headers, data, "f.csv").json
    dry_report = dict(dry.json)
    assert dry_report.pop("dry_run") is True and real.pop("dry_run") is False
    assert dry_report == real
    assert (real["created"], real["updated"], real["skipped"], len(real["errors"])) == (1, 1, 1, 1)
    assert row_counts(app) != before


def test_roles_and_inputs(client, world):
    data = csv_bytes([["Company"], ["Solo"]])
    assert upload(client, world.rep.headers, data, "r.csv").status_code == 403
    response = client.post(
        "/api/v1/imports",
        data={"dry_run": "true"},
        headers=world.admin.headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "file" in response.json["error"]["details"]["fields"]
    mapped = client.post(
        "/api/v1/imports",
        data={"file": (io.BytesIO(b"Ragione sociale;Cliente XYZ\nAlfa;Beta\n"), "m.csv"),
              "mapping": '{"Cliente XYZ": "name", "Ragione sociale": null}'},
        headers=world.admin.headers,
        content_type="multipart/form-data",
    )  # fmt: skip
    assert mapped.status_code == 200, mapped.json
    assert [a["name"] for a in accounts(client, world.admin.headers)] == ["Beta"]
    for bad in ("{not json", '{"X": "nonsense_field"}', "[1]"):
        response = client.post(
            "/api/v1/imports",
            data={"file": (io.BytesIO(b"Company\nA\n"), "m.csv"), "mapping": bad},
            headers=world.admin.headers,
            content_type="multipart/form-data",
        )
        assert response.status_code == 422, response.json
    nonsense = upload(client, world.admin.headers, b"\x00\x01 no headers here", "x.csv")
    assert nonsense.status_code == 422, nonsense.json
    broken_zip = upload(client, world.admin.headers, b"PK\x03\x04garbage", "x.xlsx")
    assert broken_zip.status_code == 422, broken_zip.json
    # the other organisation's admin imports into their own organisation only
    assert upload(client, world.other_admin.headers, data, "o.csv").json["created"] == 1
    assert [a["name"] for a in accounts(client, world.admin.headers)] == ["Beta"]


def test_imported_accounts_reach_a_syncing_phone(client, world):
    territory = client.post(
        "/api/v1/territories",
        json={
            "name": "Milano centro",
            "country": "IT",
            "postal_codes": ["20121"],
            "rep_ids": [str(world.rep.id)],
        },
        headers=world.admin.headers,
    )
    assert territory.status_code == 201, territory.json
    phone = Phone(client, login(client, world.rep.email)["access_token"])
    phone.pull()
    assert phone.store["accounts"] == {}
    rows = [
        HEADER,
        _row(
            "In my territory",
            street="Via Dante 2",
            code="20121",
            city="Milano",
            contact="Carla Rosa",
        ),
        _row("Owned by me", city="Napoli", owner=world.rep.email),
        _row("Someone else's", code="80100", city="Napoli"),
    ]
    report = upload(client, world.admin.headers, csv_bytes(rows), "sync.csv").json
    assert report["created"] == 3, report
    phone.pull()
    names = {a["name"]: a for a in phone.store["accounts"].values()}
    assert set(names) == {"In my territory", "Owned by me"}
    assert names["In my territory"]["territory_id"] == territory.json["id"]
    assert [c["last_name"] for c in phone.store["contacts"].values()] == ["Rosa"]


def test_cli_import_with_mapping_and_dry_run(app, client, world, tmp_path):
    path = tmp_path / "clients.csv"
    path.write_bytes(csv_bytes([["Kundenname XYZ", "Ort"], ["Hansa AG", "Bremen"]]))
    mapping = tmp_path / "map.json"
    mapping.write_text('{"Kundenname XYZ": "name", "Ort": null}')
    runner = app.test_cli_runner()
    args = ["import", "accounts", str(path), "--org", str(world.org_id), "--mapping", str(mapping)]
    dry = runner.invoke(args=[*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert '"created": 1' in dry.stdout and accounts(client, world.admin.headers) == []
    real = runner.invoke(args=args)
    assert real.exit_code == 0, real.output
    [hansa] = accounts(client, world.admin.headers)
    assert hansa["name"] == "Hansa AG" and hansa["address"] is None  # Ort ignored
    bad = runner.invoke(args=["import", "accounts", str(path), "--org", str(world.org_id),
                              "--mapping", str(path)])  # fmt: skip
    assert bad.exit_code != 0
    unknown = runner.invoke(args=["import", "accounts", str(path), "--org", str(world.rep.id)])
    assert unknown.exit_code != 0 and "organisation" in unknown.output


def test_offline_geocoder_locates_imported_accounts_at_once(app, client, world):
    """With inline geocoding on (the embedded gazetteer), accounts arrive located and placed."""
    from fieldsync.auth.actor import Actor
    from fieldsync.db import unit_of_work
    from fieldsync.extensions import db
    from fieldsync.geo.geocoding.api import geocoding_service
    from fieldsync.geo.geocoding.pipeline import inline_geocoding
    from fieldsync.imports.reader import read_csv
    from fieldsync.imports.service import import_accounts

    territory = client.post(
        "/api/v1/territories",
        json={
            "name": "Milano",
            "country": "IT",
            "rep_ids": [str(world.rep.id)],
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[9.0, 45.3], [9.4, 45.3], [9.4, 45.6], [9.0, 45.6], [9.0, 45.3]]],
            },
        },
        headers=world.admin.headers,
    )
    assert territory.status_code == 201, territory.json
    data = csv_bytes([HEADER, _row("Located", street="Via Dante 2", code="20121", city="Milano"),
                      _row("Nowhere", city="Qwertyville zzz", code="99999")])  # fmt: skip
    actor = Actor(user_id=world.admin.id, org_id=world.org_id, role="admin")
    with (
        app.app_context(),
        unit_of_work(db.session),
        inline_geocoding(db.session, geocoding_service(app)),
    ):
        report = import_accounts(db.session, actor=actor, table=read_csv(data))
    assert report.created == 2
    found = {a["name"]: a for a in accounts(client, world.admin.headers)}
    located = found["Located"]
    assert located["geocode_status"] == "ok"
    assert located["location"]["source"] == "geocoder"
    assert abs(located["location"]["lat"] - 45.47) < 0.1
    assert located["territory_id"] == territory.json["id"]
    assert found["Nowhere"]["geocode_status"] == "failed"


def test_a_managers_import_stays_in_their_scope(client, world):
    outside = client.post(
        "/api/v1/accounts",
        json=account_body(name="Loner's client", vat_number="IT555", owner_id=str(world.loner.id)),
        headers=world.admin.headers,
    )
    assert outside.status_code == 201
    rows = [HEADER, _row("Taken over?", vat="IT555"), _row("Mine now", city="Genova")]
    report = upload(client, world.manager.headers, csv_bytes(rows), "m.csv").json
    assert report["created"] == 1
    assert report["errors"] == [
        {"row": 2, "field": "vat_number", "message": "Matches an account outside your scope."}
    ]
    unchanged = client.get(f"/api/v1/accounts/{outside.json['id']}", headers=world.admin.headers)
    assert unchanged.json["name"] == "Loner's client"
    [mine] = accounts(client, world.manager.headers)
    assert mine["name"] == "Mine now" and mine["owner_id"] == str(world.manager.id)


def test_uploads_over_the_import_limit_are_refused(app, client, world, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_BYTES", 1000)
    data = csv_bytes([["Company"]] + [[f"Client {i}"] for i in range(200)])
    assert len(data) > 1000
    response = upload(client, world.admin.headers, data, "big.csv")
    assert response.status_code == 413, response.json
    assert response.json["error"]["code"] == "payload_too_large"


def test_a_real_import_is_audited_and_a_dry_run_is_not(client, world) -> None:
    """The audit log says who brought client records in (counts only, no personal data)."""
    body = csv_bytes([["Company", "Email"], ["Audit Srl", "info@audit.example"]])
    for dry_run in (True, False):
        response = upload(client, world.manager.headers, body, "clients.csv", dry_run=dry_run)
        assert response.status_code == 200, response.json
    entries = client.get(
        "/api/v1/audit", query_string={"action": "accounts.import"}, headers=world.admin.headers
    ).json["items"]
    assert len(entries) == 1, f"one real import, the dry run is not logged: {entries}"
    assert entries[0]["details"]["created"] == 1 and entries[0]["details"]["errors"] == 0
    assert "info@audit.example" not in str(entries[0])
