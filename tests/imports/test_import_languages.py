"""Headers and values in five languages, encodings, delimiters, XLSX layouts."""

from __future__ import annotations

import pytest

from tests.imports.files import accounts, csv_bytes, upload, xlsx_bytes

FILES = {
    "en": [
        ["Company name", "VAT number", "Street", "Postal code", "City", "Country", "Phone",
         "Email", "Status", "Annual revenue", "Employees"],
        ["Bottega Rossi", "IT01234567890", "Via Roma 1", "20121", "Milano", "Italy",
         "02 1234 5678", "info@rossi.example", "customer", "1,234,567.89", "12"],
    ],
    "it": [
        ["Ragione sociale", "Partita IVA", "Indirizzo", "CAP", "Città", "Nazione", "Telefono",
         "E-mail", "Stato", "Fatturato", "Dipendenti"],
        ["Bottega Rossi", "IT01234567890", "Via Roma 1", "20121", "Milano", "Italia",
         "02 1234 5678", "info@rossi.example", "cliente", "1.234.567,89", "12"],
    ],
    "fr": [
        ["Raison sociale", "N° TVA", "Adresse", "Code postal", "Ville", "Pays", "Téléphone",
         "Courriel", "Statut", "Chiffre d'affaires", "Effectif"],
        ["Bottega Rossi", "IT01234567890", "Via Roma 1", "20121", "Milano", "Italie",
         "02 1234 5678", "info@rossi.example", "client", "1 234 567,89", "12"],
    ],
    "es": [
        ["Razón social", "NIF", "Dirección", "Código postal", "Ciudad", "País", "Teléfono",
         "Correo electrónico", "Estado", "Facturación", "Empleados"],
        ["Bottega Rossi", "IT01234567890", "Via Roma 1", "20121", "Milano", "Italia",
         "02 1234 5678", "info@rossi.example", "cliente", "1.234.567,89", "12"],
    ],
    "de": [
        ["Firma", "USt-IdNr.", "Straße", "PLZ", "Ort", "Land", "Telefon", "E-Mail", "Status",
         "Umsatz", "Mitarbeiter"],
        ["Bottega Rossi", "IT01234567890", "Via Roma 1", "20121", "Milano", "Italien",
         "02 1234 5678", "info@rossi.example", "Kunde", "1.234.567,89", "12"],
    ],
}  # fmt: skip


def _expect_rossi(item: dict) -> None:
    assert item["name"] == "Bottega Rossi"
    assert item["vat_number"] == "IT01234567890"
    assert item["address"] == {"street": "Via Roma 1", "postal_code": "20121",
                               "city": "Milano", "region": None, "country": "IT"}  # fmt: skip
    assert item["phone"] == "+390212345678"
    assert item["email"] == "info@rossi.example"
    assert item["status"] == "customer"
    assert item["annual_revenue"] == 1234567.89
    assert item["employees"] == 12
    assert item["geocode_status"] == "pending"


@pytest.mark.parametrize("language", sorted(FILES))
def test_each_language_creates_the_same_account(client, world, language):
    response = upload(client, world.admin.headers, csv_bytes(FILES[language]), "c.csv")
    assert response.status_code == 200, response.json
    assert response.json["created"] == 1, response.json
    assert response.json["errors"] == []
    [item] = accounts(client, world.admin.headers)
    _expect_rossi(item)


def test_the_five_files_are_one_account(client, world):
    """The second to fifth files find the first's account (same VAT) and change nothing."""
    reports = [
        upload(client, world.admin.headers, csv_bytes(FILES[lang]), f"{lang}.csv").json
        for lang in ("it", "en", "fr", "es", "de")
    ]
    assert [(r["created"], r["updated"], r["skipped"]) for r in reports] == [
        (1, 0, 0), (0, 0, 1), (0, 0, 1), (0, 0, 1), (0, 0, 1)
    ]  # fmt: skip
    assert len(accounts(client, world.admin.headers)) == 1


def test_bom_semicolon_and_latin1(client, world):
    bom = csv_bytes(FILES["it"], delimiter=";", bom=True)
    response = upload(client, world.admin.headers, bom, "bom.csv")
    assert response.json["created"] == 1, response.json
    latin = [["Raison sociale", "Ville", "Code postal", "Pays"],
             ["Café Élysée", "Besançon", "25000", "France"]]  # fmt: skip
    data = csv_bytes(latin, delimiter="\t", encoding="latin-1")
    assert "é".encode("latin-1") in data
    response = upload(client, world.admin.headers, data, "latin.csv")
    assert response.json["created"] == 1, response.json
    [cafe] = accounts(client, world.admin.headers, q="Besan")
    assert cafe["name"] == "Café Élysée"
    assert cafe["address"]["city"] == "Besançon"
    assert cafe["address"]["country"] == "FR"
    cp1252 = csv_bytes([["Firma", "Ort"], ["Müller \u2013 Söhne", "Köln"]], encoding="cp1252",
                       delimiter=";")  # fmt: skip
    assert upload(client, world.admin.headers, cp1252, "w.csv").json["created"] == 1
    assert accounts(client, world.admin.headers, q="Söhne")[0]["name"] == "Müller \u2013 Söhne"


def test_xlsx_with_merged_header_and_empty_rows(client, world):
    rows = [
        ["Clienti 2026", None, None, None, None],  # a title merged over the columns
        ["Ragione sociale", "CAP", "Città", "Nazione", "Referente"],
        ["Alfa Srl", 184, "Roma", "IT", "Maria Bianchi"],  # 00184 stored as a number
        [None, None, None, None, None],
        [],
        ["Beta SpA", "20121", "Milano", "Italia", None],
        ["", "", "", "", ""],
        [None, "10100", "Torino", "IT", None],  # no name: row 8
    ]
    data = xlsx_bytes(rows, merge=["A1:E1"])
    response = upload(client, world.admin.headers, data, "clienti.xlsx")
    assert response.status_code == 200, response.json
    body = response.json
    assert (body["created"], body["updated"], body["skipped"]) == (2, 0, 0), body
    assert body["errors"] == [
        {"row": 8, "field": "Ragione sociale", "message": "A name is required."}
    ]
    alfa = accounts(client, world.admin.headers, q="Alfa")[0]
    assert alfa["address"]["postal_code"] == "00184"
    contacts = client.get(
        "/api/v1/contacts", query_string={"account_id": alfa["id"]}, headers=world.admin.headers
    ).json["items"]
    assert [(c["first_name"], c["last_name"]) for c in contacts] == [("Maria", "Bianchi")]


def test_people_with_first_and_last_names(client, world):
    rows = [["Nome", "Cognome", "Email", "Cellulare", "Paese", "Tipo", "Etichette"],
            ["Maria", "Rossi", "Maria.Rossi@Example.com", "333 123 4567", "Italia", "privato",
             "vip; nord"]]  # fmt: skip
    report = upload(client, world.admin.headers, csv_bytes(rows), "persone.csv").json
    assert report["created"] == 1, report
    [maria] = accounts(client, world.admin.headers)
    assert (maria["kind"], maria["name"], maria["first_name"], maria["last_name"]) == (
        "person", "Maria Rossi", "Maria", "Rossi"
    )  # fmt: skip
    assert maria["email"] == "maria.rossi@example.com"
    assert maria["mobile"] == "+393331234567"
    assert maria["tags"] == ["vip", "nord"]
