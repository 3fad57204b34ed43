"""Segments through HTTP on both databases: CRUD, validation, roles, organisations, scope, each
filter (also as a query argument of GET /accounts) and the CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import Person, World
from tests.portfolio.helpers import (
    MILAN,
    ROME,
    assert_error,
    assert_invalid,
    create_account,
    create_interaction,
    create_task,
    create_territory,
    list_ids,
)

SEGMENTS = "/api/v1/segments"


def create_segment(
    client: FlaskClient, person: Person, filters: dict[str, Any], name: str | None = None
) -> dict[str, Any]:
    body = {"name": name or f"Segment {uuid.uuid4().hex[:6]}", "filters": filters}
    response = client.post(SEGMENTS, json=body, headers=person.headers)
    assert response.status_code == 201, (response.status_code, response.json)
    return dict(response.json)


def segment_account_names(
    client: FlaskClient, person: Person, segment_id: str, limit: int = 1000
) -> list[str]:
    """Every account of the segment, following next_cursor."""
    names: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(
            f"{SEGMENTS}/{segment_id}/accounts", query_string=params, headers=person.headers
        )
        assert response.status_code == 200, (response.status_code, response.json)
        assert set(response.json) == {"items", "next_cursor"}, response.json
        names.extend(item["name"] for item in response.json["items"])
        cursor = response.json["next_cursor"]
        if cursor is None:
            return names


@pytest.fixture
def portfolio(client: FlaskClient, world: World) -> dict[str, str]:
    """Alpha (Milan, the rep's territory), Beta (Rome, outside it), Gamma (no address)."""
    create_territory(client, world.admin, [world.rep.id])
    alpha = create_account(
        client, world.admin, name="Alpha", status="customer", industry="Pharmacy",
        annual_revenue=100_000, employees=5, visit_every_days=30, tags=["vip"],
        address={"city": "Milano", "region": "Lombardia", "country": "IT"},
        location={"lat": MILAN[0], "lon": MILAN[1]},
    )  # fmt: skip
    beta = create_account(
        client, world.admin, name="Beta", status="lead", industry="Bakery",
        annual_revenue=2_000_000, employees=50, visit_every_days=7,
        address={"city": "Roma", "region": "Lazio", "country": "IT"},
        location={"lat": ROME[0], "lon": ROME[1]},
    )  # fmt: skip
    gamma = create_account(client, world.admin, name="Gamma", status="prospect")
    for when in ("2026-10-01T09:00:00Z", "2026-11-01T09:00:00Z"):
        create_interaction(client, world.admin, alpha["id"], kind="visit", occurred_at=when)
    create_interaction(client, world.admin, beta["id"], kind="visit",
                       occurred_at="2026-06-01T09:00:00Z")  # fmt: skip
    create_interaction(client, world.admin, gamma["id"], kind="call",
                       occurred_at="2026-11-02T09:00:00Z")  # fmt: skip
    create_task(client, world.admin, account_id=beta["id"], title="Open")
    create_task(client, world.admin, account_id=alpha["id"], title="Closed", done=True)
    return {"Alpha": alpha["id"], "Beta": beta["id"], "Gamma": gamma["id"]}


FILTER_CASES = [
    ({"revenue_min": 500_000}, {"Beta"}),
    ({"revenue_max": 500_000}, {"Alpha"}),
    ({"revenue_min": 100_000, "revenue_max": 100_000}, {"Alpha"}),
    ({"employees_min": 10}, {"Beta"}),
    ({"employees_max": 10}, {"Alpha"}),
    ({"city": "MILANO"}, {"Alpha"}),
    ({"region": "lazio"}, {"Beta"}),
    ({"country": "it"}, {"Alpha", "Beta"}),
    ({"industry": "Bakery"}, {"Beta"}),
    ({"status": "prospect"}, {"Gamma"}),
    ({"tag": "vip"}, {"Alpha"}),
    ({"last_visit_after": "2026-09-01T00:00:00Z"}, {"Alpha"}),
    ({"last_visit_before": "2026-09-01T00:00:00Z"}, {"Beta"}),
    ({"has_open_tasks": True}, {"Beta"}),
    ({"has_open_tasks": False}, {"Alpha", "Gamma"}),
    ({"visits_min": 2}, {"Alpha"}),
    ({"visits_min": 1, "visits_from": "2026-10-15T00:00:00Z"}, {"Alpha"}),
    ({"visits_min": 1, "visits_to": "2026-07-01T00:00:00Z"}, {"Beta"}),
    ({"visits_max": 0}, {"Gamma"}),
    ({"visits_min": 1, "visits_max": 1}, {"Beta"}),
    ({"due": True}, {"Beta", "Gamma"} - {"Gamma"}),  # Gamma has no cadence
    ({"near": f"{MILAN[0]},{MILAN[1]}", "radius_km": 5}, {"Alpha"}),
    ({}, {"Alpha", "Beta", "Gamma"}),
]


@pytest.mark.parametrize(("filters", "expected"), FILTER_CASES)
def test_each_filter_selects_the_same_accounts_in_a_segment_and_in_the_list(
    client: FlaskClient, world: World, portfolio: dict[str, str], filters: dict[str, Any],
    expected: set[str],
) -> None:  # fmt: skip
    segment = create_segment(client, world.admin, filters)
    assert set(segment_account_names(client, world.admin, segment["id"])) == expected, filters
    query = {k: str(v).lower() if isinstance(v, bool) else v for k, v in filters.items()}
    by_name = {v: k for k, v in portfolio.items()}
    listed = {by_name[i] for i in list_ids(client, world.admin, "accounts", **query)}
    assert listed == expected, f"GET /accounts?{query} gave {listed}"


def test_a_rep_uses_a_segment_within_their_scope_only(
    client: FlaskClient, world: World, portfolio: dict[str, str]
) -> None:
    everyone = create_segment(client, world.manager, {"country": "IT"})
    assert set(segment_account_names(client, world.admin, everyone["id"])) == {"Alpha", "Beta"}
    # The rep's territory holds Alpha only: Beta matches but is outside the rep's scope.
    assert segment_account_names(client, world.rep, everyone["id"]) == ["Alpha"]
    leads = create_segment(client, world.admin, {"status": "lead"})
    assert segment_account_names(client, world.rep, leads["id"]) == []
    assert segment_account_names(client, world.loner, everyone["id"]) == []


def test_segment_accounts_are_paged(client: FlaskClient, world: World) -> None:
    for i in range(5):
        create_account(client, world.admin, name=f"Shop {i}", status="lead")
    create_account(client, world.admin, name="Other", status="customer")
    segment = create_segment(client, world.admin, {"status": "lead"})
    names = segment_account_names(client, world.admin, segment["id"], limit=2)
    assert sorted(names) == [f"Shop {i}" for i in range(5)], names


def test_crud(client: FlaskClient, world: World) -> None:
    body = {"name": "Big bakeries", "description": "Over 1M", "filters":
            {"industry": "Bakery", "revenue_min": "1000000", "country": "it"}}  # fmt: skip
    response = client.post(SEGMENTS, json=body, headers=world.manager.headers)
    assert response.status_code == 201, response.json
    segment = response.json
    assert segment["name"] == "Big bakeries" and segment["description"] == "Over 1M", segment
    # Stored in canonical form: what the client gave, normalised, no defaults added.
    assert segment["filters"] == {"industry": "Bakery", "revenue_min": 1000000.0,
                                  "country": "IT"}, segment  # fmt: skip
    assert segment["created_by"] == str(world.manager.id), segment
    url = f"{SEGMENTS}/{segment['id']}"
    assert client.get(url, headers=world.rep.headers).json == segment
    listed = client.get(SEGMENTS, headers=world.rep.headers).json
    assert [s["id"] for s in listed["items"]] == [segment["id"]], listed

    patched = client.patch(url, json={"filters": {"status": "lead"}, "name": "Leads"},
                           headers=world.manager.headers)  # fmt: skip
    assert patched.status_code == 200, patched.json
    assert patched.json["filters"] == {"status": "lead"} and patched.json["name"] == "Leads"
    assert patched.json["description"] == "Over 1M", patched.json

    assert client.delete(url, headers=world.manager.headers).status_code == 204
    assert_error(client.get(url, headers=world.manager.headers), 404, "not_found")
    assert_error(client.get(f"{url}/accounts", headers=world.manager.headers), 404, "not_found")


def test_list_is_by_name_and_paged(client: FlaskClient, world: World) -> None:
    for name in ("Zeta", "Alpha", "Mu"):
        create_segment(client, world.admin, {}, name=name)
    first = client.get(SEGMENTS, query_string={"limit": 2}, headers=world.admin.headers).json
    assert [s["name"] for s in first["items"]] == ["Alpha", "Mu"], first
    rest = client.get(SEGMENTS, query_string={"limit": 2, "cursor": first["next_cursor"]},
                      headers=world.admin.headers).json  # fmt: skip
    assert [s["name"] for s in rest["items"]] == ["Zeta"] and rest["next_cursor"] is None, rest
    found = client.get(SEGMENTS, query_string={"q": "et"}, headers=world.admin.headers).json
    assert [s["name"] for s in found["items"]] == ["Zeta"], found


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "X", "filters": {"colour": "red"}}, "filters.colour"),
        ({"name": "X", "filters": {"revenue_min": "lots"}}, "filters.revenue_min"),
        ({"name": "X", "filters": {"revenue_min": 10, "revenue_max": 5}}, "filters.revenue_max"),
        ({"name": "X", "filters": {"employees_min": 2.5}}, "filters.employees_min"),
        ({"name": "X", "filters": {"visits_from": "2026-01-01T00:00:00Z"}},
         "filters.visits_min"),
        ({"name": "X", "filters": {"last_visit_before": "2026-01-01"}},
         "filters.last_visit_before"),
        ({"name": "X", "filters": {"status": "vip"}}, "filters.status"),
        ({"name": "X", "filters": {"near": "north"}}, "filters.near"),
        ({"name": "X", "filters": {"limit": 5}}, "filters.limit"),
        ({"name": "X", "filters": "status=lead"}, "filters"),
        ({"name": "X"}, "filters"),
        ({"filters": {}}, "name"),
        ({"name": "", "filters": {}}, "name"),
        ({"name": "X", "filters": {}, "id": str(uuid.uuid4())}, "id"),
        ({"name": "X", "filters": {}, "owner": "me"}, "owner"),
    ],
)  # fmt: skip
def test_invalid_segments_are_422_naming_the_field(
    client: FlaskClient, world: World, body: dict[str, Any], field: str
) -> None:
    assert_invalid(client.post(SEGMENTS, json=body, headers=world.admin.headers), field)


def test_invalid_patch_is_422_and_changes_nothing(client: FlaskClient, world: World) -> None:
    segment = create_segment(client, world.admin, {"status": "lead"})
    url = f"{SEGMENTS}/{segment['id']}"
    response = client.patch(url, json={"filters": {"bogus": 1}}, headers=world.admin.headers)
    assert_invalid(response, "filters.bogus")
    assert client.get(url, headers=world.admin.headers).json["filters"] == {"status": "lead"}


def test_the_new_filters_are_validated_as_query_arguments(
    client: FlaskClient, world: World
) -> None:
    for params, field in (
        ({"revenue_min": "x"}, "revenue_min"),
        ({"employees_min": 9, "employees_max": 3}, "employees_max"),
        ({"visits_to": "2026-01-01T00:00:00Z"}, "visits_min"),
        ({"has_open_tasks": "perhaps"}, "has_open_tasks"),
    ):
        response = client.get("/api/v1/accounts", query_string=params,
                              headers=world.admin.headers)  # fmt: skip
        assert_invalid(response, field)


def test_a_name_is_unique_in_the_organisation(client: FlaskClient, world: World) -> None:
    create_segment(client, world.admin, {}, name="Leads")
    again = client.post(SEGMENTS, json={"name": "Leads", "filters": {}},
                        headers=world.manager.headers)  # fmt: skip
    assert_error(again, 409, "conflict")
    other = client.post(SEGMENTS, json={"name": "Leads", "filters": {}},
                        headers=world.other_admin.headers)  # fmt: skip
    assert other.status_code == 201, other.json
    second = create_segment(client, world.admin, {}, name="Second")
    renamed = client.patch(f"{SEGMENTS}/{second['id']}", json={"name": "Leads"},
                           headers=world.admin.headers)  # fmt: skip
    assert_error(renamed, 409, "conflict")


def test_roles(client: FlaskClient, world: World) -> None:
    assert_error(
        client.post(SEGMENTS, json={"name": "Mine", "filters": {}}, headers=world.rep.headers),
        403, "forbidden",
    )  # fmt: skip
    by_admin = create_segment(client, world.admin, {})
    by_manager = create_segment(client, world.manager, {})
    for person in (world.rep, world.manager):
        # Reps never change segments; managers only their own.
        url = f"{SEGMENTS}/{by_admin['id']}"
        assert_error(client.patch(url, json={"name": "N"}, headers=person.headers),
                     403, "forbidden")  # fmt: skip
        assert_error(client.delete(url, headers=person.headers), 403, "forbidden")
    url = f"{SEGMENTS}/{by_manager['id']}"
    renamed = client.patch(url, json={"name": "Renamed"}, headers=world.admin.headers)
    assert renamed.status_code == 200, renamed.json
    assert client.delete(url, headers=world.admin.headers).status_code == 204
    assert client.get(SEGMENTS, headers=world.rep.headers).status_code == 200


def test_another_organisation_gets_404(client: FlaskClient, world: World) -> None:
    segment = create_segment(client, world.admin, {})
    url = f"{SEGMENTS}/{segment['id']}"
    other = world.other_admin.headers
    assert_error(client.get(url, headers=other), 404, "not_found")
    assert_error(client.patch(url, json={"name": "Mine"}, headers=other), 404, "not_found")
    assert_error(client.delete(url, headers=other), 404, "not_found")
    assert_error(client.get(f"{url}/accounts", headers=other), 404, "not_found")
    assert_error(client.get(f"{url}/accounts?format=csv", headers=other), 404, "not_found")
    assert client.get(SEGMENTS, headers=other).json["items"] == []
    assert client.get(url, headers=world.admin.headers).status_code == 200


def test_export_csv_streams_the_scoped_selection_and_is_audited(
    client: FlaskClient, world: World, portfolio: dict[str, str]
) -> None:
    segment = create_segment(client, world.admin, {"country": "IT"}, name="Italy & co")
    url = f"{SEGMENTS}/{segment['id']}/accounts"

    def rows(person: Person) -> list[dict[str, str]]:
        response = client.get(url, query_string={"format": "csv"}, headers=person.headers)
        assert response.status_code == 200, response.data[:300]
        assert response.mimetype == "text/csv", response.headers
        assert "attachment" in response.headers["Content-Disposition"], response.headers
        return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))

    assert sorted(r["name"] for r in rows(world.admin)) == ["Alpha", "Beta"]
    assert [r["name"] for r in rows(world.rep)] == ["Alpha"]  # the rep's scope
    audit = client.get("/api/v1/audit", query_string={"action": "segment.export"},
                       headers=world.admin.headers).json["items"]  # fmt: skip
    assert [(a["actor_id"], a["record_id"]) for a in audit] == [
        (str(world.rep.id), segment["id"]), (str(world.admin.id), segment["id"]),
    ], audit  # fmt: skip
    assert audit[0]["details"]["format"] == "csv", audit

    xlsx = client.get(url, query_string={"format": "xlsx"}, headers=world.admin.headers)
    assert xlsx.status_code == 200 and xlsx.data[:2] == b"PK", xlsx.headers
    assert_invalid(client.get(url, query_string={"format": "pdf"},
                              headers=world.admin.headers), "format")  # fmt: skip
