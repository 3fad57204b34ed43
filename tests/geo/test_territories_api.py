"""Territories through HTTP: who may write and read them, validation, versions and ids."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from tests.conftest import World
from tests.geo.helpers import (
    BIG,
    ROME,
    SMALL,
    TERRITORIES,
    create_territory,
    error_fields,
    listed_territory_ids,
    new_territory,
    patch_territory,
    some_id,
    square,
)

# --- writes by managers and admins -----------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_manager_and_admin_create_a_territory(client: FlaskClient, world: World, role: str) -> None:
    who = getattr(world, role)
    territory_id = some_id()
    response = create_territory(
        client,
        who,
        id=territory_id,
        name="Milano",
        color="#ff0000",
        geometry=BIG,
        rep_ids=[str(world.rep.id)],
    )
    assert response.status_code == 201, f"{role} must create territories: {response.json}"
    body = response.json
    assert body["id"] == territory_id, "the client-chosen id must be kept"
    assert body["name"] == "Milano"
    assert body["color"] == "#FF0000", "colours are normalised to upper case"
    assert body["version"] == 1, f"a new territory is at version 1, got {body['version']}"
    assert body["rep_ids"] == [str(world.rep.id)], f"rep_ids must be echoed: {body['rep_ids']}"
    assert body["geometry"] == BIG, "the geometry must be returned as sent"
    # 0.4° x 0.3° at 45.45°: 0.12 deg² * 111.195² km * cos(45.45°) ≈ 1,043 km²
    assert body["area_km2"] == pytest.approx(1043, rel=0.02), f"area_km2 is {body['area_km2']}"
    assert response.headers["ETag"] == '"1"', "creation answers the version as ETag"

    fetched = client.get(f"{TERRITORIES}/{territory_id}", headers=who.headers)
    assert fetched.status_code == 200, fetched.json
    assert fetched.headers["ETag"] == '"1"'
    assert fetched.json["rep_ids"] == [str(world.rep.id)]


def test_territory_by_postal_codes_normalises_codes_and_country(
    client: FlaskClient, world: World
) -> None:
    body = new_territory(
        client,
        world.manager,
        name="Centro",
        postal_codes=["20121", " 20 122", "20121"],
        country="it",
    )
    assert body["country"] == "IT", f"country must be upper-cased, got {body['country']}"
    assert body["postal_codes"] == ["20121", "20122"], (
        f"codes are stripped of spaces and deduplicated, got {body['postal_codes']}"
    )
    assert body["geometry"] is None
    assert body["area_km2"] is None, "a territory of postal codes has no area"
    assert body["rep_ids"] == [], "no reps assigned yet"
    assert body["version"] == 1


def test_create_without_id_gets_a_server_id(client: FlaskClient, world: World) -> None:
    body = new_territory(client, world.manager, geometry=BIG)
    assert body["id"], "the server must choose an id when none is given"


def test_manager_patches_a_territory_and_version_bumps(client: FlaskClient, world: World) -> None:
    created = new_territory(client, world.manager, name="Old name", geometry=BIG)
    response = client.patch(
        f"{TERRITORIES}/{created['id']}",
        json={"name": "New name", "rep_ids": [str(world.rep.id), str(world.rep2.id)]},
        headers={**world.manager.headers, "If-Match": '"1"'},
    )
    assert response.status_code == 200, f"patch with the current version must work: {response.json}"
    assert response.json["name"] == "New name"
    assert response.json["version"] == 2, f"version must bump, got {response.json['version']}"
    assert response.headers["ETag"] == '"2"'
    assert sorted(response.json["rep_ids"]) == sorted([str(world.rep.id), str(world.rep2.id)])
    assert response.json["geometry"] == BIG, "fields not sent must not change"


def test_patch_with_stale_if_match_is_412_and_writes_nothing(
    client: FlaskClient, world: World
) -> None:
    created = new_territory(client, world.manager, name="Before", geometry=BIG)
    first = patch_territory(client, world.manager, created["id"], name="Second")
    assert first.status_code == 200 and first.json["version"] == 2, first.json

    stale = client.patch(
        f"{TERRITORIES}/{created['id']}",
        json={"name": "Lost update"},
        headers={**world.manager.headers, "If-Match": '"1"'},
    )
    assert stale.status_code == 412, f"a stale If-Match must be refused: {stale.json}"
    assert stale.json["error"]["code"] == "precondition_failed"
    now = client.get(f"{TERRITORIES}/{created['id']}", headers=world.manager.headers).json
    assert now["name"] == "Second" and now["version"] == 2, f"nothing may be written: {now}"


def test_delete_with_stale_if_match_is_412(client: FlaskClient, world: World) -> None:
    created = new_territory(client, world.manager, geometry=BIG)
    patch_territory(client, world.manager, created["id"], name="v2")
    response = client.delete(
        f"{TERRITORIES}/{created['id']}", headers={**world.manager.headers, "If-Match": "1"}
    )
    assert response.status_code == 412, f"a stale If-Match must block the delete: {response.json}"
    still = client.get(f"{TERRITORIES}/{created['id']}", headers=world.manager.headers)
    assert still.status_code == 200, "the territory must survive a refused delete"


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_manager_and_admin_delete_a_territory(client: FlaskClient, world: World, role: str) -> None:
    who = getattr(world, role)
    created = new_territory(client, world.manager, geometry=BIG)
    response = client.delete(
        f"{TERRITORIES}/{created['id']}", headers={**who.headers, "If-Match": '"1"'}
    )
    assert response.status_code == 204, f"{role} must delete territories: {response.json}"
    gone = client.get(f"{TERRITORIES}/{created['id']}", headers=who.headers)
    assert gone.status_code == 404, "a deleted territory answers 404"
    assert created["id"] not in listed_territory_ids(client, who), "and leaves the list"
    again = client.delete(f"{TERRITORIES}/{created['id']}", headers=who.headers)
    assert again.status_code == 404, "deleting twice answers 404"


# --- reps: read-only, their own territories only ----------------------------------------------


@pytest.mark.parametrize("rep", ["rep", "loner"])
def test_rep_cannot_write_territories(client: FlaskClient, world: World, rep: str) -> None:
    who = getattr(world, rep)
    mine = new_territory(client, world.manager, geometry=BIG, rep_ids=[str(who.id)])

    created = create_territory(client, who, geometry=SMALL)
    assert created.status_code == 403, f"a rep may not create territories: {created.json}"
    assert created.json["error"]["code"] == "forbidden"

    patched = patch_territory(client, who, mine["id"], name="Mine now")
    assert patched.status_code == 403, f"a rep may not change territories: {patched.json}"

    deleted = client.delete(f"{TERRITORIES}/{mine['id']}", headers=who.headers)
    assert deleted.status_code == 403, f"a rep may not delete territories: {deleted.json}"

    after = client.get(f"{TERRITORIES}/{mine['id']}", headers=world.manager.headers).json
    assert after["name"] == "Territory" and after["version"] == 1, f"nothing changed: {after}"
    assert listed_territory_ids(client, world.manager) == {mine["id"]}, "no territory was added"


def test_rep_sees_only_territories_assigned_to_them(client: FlaskClient, world: World) -> None:
    mine = new_territory(
        client, world.manager, name="Mine", geometry=BIG, rep_ids=[str(world.rep.id)]
    )
    shared = new_territory(
        client,
        world.manager,
        name="Shared",
        geometry=SMALL,
        rep_ids=[str(world.rep.id), str(world.rep2.id)],
    )
    theirs = new_territory(
        client, world.manager, name="Theirs", geometry=ROME, rep_ids=[str(world.rep2.id)]
    )
    nobody = new_territory(
        client, world.manager, name="Nobody", postal_codes=["00100"], country="IT"
    )

    assert listed_territory_ids(client, world.rep) == {mine["id"], shared["id"]}, (
        "a rep lists exactly the territories assigned to them"
    )
    assert listed_territory_ids(client, world.rep2) == {shared["id"], theirs["id"]}
    assert listed_territory_ids(client, world.loner) == set(), "an unassigned rep lists none"
    assert listed_territory_ids(client, world.manager) == {
        mine["id"],
        shared["id"],
        theirs["id"],
        nobody["id"],
    }, "a manager lists all territories"
    assert listed_territory_ids(client, world.admin) == {
        mine["id"],
        shared["id"],
        theirs["id"],
        nobody["id"],
    }, "an admin lists all territories"

    assert client.get(f"{TERRITORIES}/{mine['id']}", headers=world.rep.headers).status_code == 200
    for other in (theirs, nobody):
        response = client.get(f"{TERRITORIES}/{other['id']}", headers=world.rep.headers)
        assert response.status_code == 404, (
            f"a rep must get 404 on a territory not assigned to them ({other['name']})"
        )


def test_rep_list_follows_rep_ids_changes(client: FlaskClient, world: World) -> None:
    territory = new_territory(client, world.manager, geometry=BIG)
    assert listed_territory_ids(client, world.rep) == set()
    patch_territory(client, world.manager, territory["id"], rep_ids=[str(world.rep.id)])
    assert listed_territory_ids(client, world.rep) == {territory["id"]}, "assignment shows it"
    patch_territory(client, world.manager, territory["id"], rep_ids=[])
    assert listed_territory_ids(client, world.rep) == set(), "removal hides it"


# --- organisations are sealed ----------------------------------------------------------------


def test_other_organisation_sees_nothing_and_gets_404(client: FlaskClient, world: World) -> None:
    territory = new_territory(client, world.manager, geometry=BIG)
    url = f"{TERRITORIES}/{territory['id']}"
    outsider = world.other_admin.headers

    assert listed_territory_ids(client, world.other_admin) == set(), "another org's list is empty"
    assert client.get(url, headers=outsider).status_code == 404
    patched = client.patch(url, json={"name": "Hijacked"}, headers=outsider)
    assert patched.status_code == 404, f"patch from another org must be 404: {patched.json}"
    deleted = client.delete(url, headers=outsider)
    assert deleted.status_code == 404, f"delete from another org must be 404: {deleted.json}"

    after = client.get(url, headers=world.manager.headers)
    assert after.status_code == 200 and after.json["name"] == "Territory", "nothing changed"


def test_unknown_territory_is_404(client: FlaskClient, world: World) -> None:
    url = f"{TERRITORIES}/{some_id()}"
    assert client.get(url, headers=world.manager.headers).status_code == 404
    assert client.patch(url, json={"name": "x"}, headers=world.manager.headers).status_code == 404
    assert client.delete(url, headers=world.manager.headers).status_code == 404


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("geometry", "reason"),
    [
        ({"type": "Point", "coordinates": [9.19, 45.46]}, "Polygon or MultiPolygon"),
        (
            {"type": "Polygon", "coordinates": [[[9, 45], [9.4, 45], [9.4, 45.6], [9, 45.6]]]},
            "not closed",
        ),
        ({"type": "Polygon", "coordinates": [[[9, 45], [9.4, 45], [9, 45]]]}, "at least 4"),
        (square(9.0, 95.0, 9.4, 95.6), "latitude"),
        (square(179.0, 45.0, 181.0, 45.6), "longitude"),
        (
            {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
            "Self-intersection",
        ),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [2, 0], [0, 0]]]}, "no area"),
        (
            {"type": "Polygon", "coordinates": [[["9", 45], [9.4, 45], [9.4, 45.6], ["9", 45]]]},
            "numbers",
        ),
        (
            {
                "type": "Polygon",
                "coordinates": [[[10**400, 45], [9.4, 45], [9.4, 45.6], [10**400, 45]]],
            },
            "finite",
        ),
        (
            {"type": "Polygon", "coordinates": [[[9, 45, "x"], [9.4, 45], [9.4, 45.6], [9, 45]]]},
            "numbers",
        ),
    ],
    ids=[
        "point",
        "unclosed",
        "short-ring",
        "latitude",
        "longitude",
        "bow-tie",
        "zero-area",
        "string",
        "huge-int",
        "bad-altitude",
    ],
)
def test_invalid_geometry_is_422_naming_the_reason(
    client: FlaskClient, world: World, geometry: dict, reason: str
) -> None:
    response = create_territory(client, world.manager, geometry=geometry)
    assert response.status_code == 422, f"invalid geometry must be 422, got {response.status_code}"
    assert response.json["error"]["code"] == "validation_error"
    messages = error_fields(response).get("geometry") or []
    assert any(reason in message for message in messages), (
        f"details.fields.geometry must explain ({reason!r}): {response.json}"
    )
    assert listed_territory_ids(client, world.manager) == set(), "nothing may be created"


def test_nan_coordinate_in_json_is_422(client: FlaskClient, world: World) -> None:
    raw = (
        '{"name": "T", "geometry": {"type": "Polygon", "coordinates": '
        "[[[NaN, 45], [9.4, 45], [9.4, 45.6], [NaN, 45]]]}}"
    )
    response = client.post(
        TERRITORIES, data=raw, content_type="application/json", headers=world.manager.headers
    )
    assert response.status_code in (400, 422), f"NaN must be refused, not 500: {response.json}"


def test_invalid_geometry_on_patch_is_422_and_keeps_the_old_shape(
    client: FlaskClient, world: World
) -> None:
    created = new_territory(client, world.manager, geometry=BIG)
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    response = patch_territory(client, world.manager, created["id"], geometry=bow_tie)
    assert response.status_code == 422, response.json
    assert "geometry" in error_fields(response), f"the geometry is named: {response.json}"
    after = client.get(f"{TERRITORIES}/{created['id']}", headers=world.manager.headers).json
    assert after["geometry"] == BIG and after["version"] == 1, "nothing may be written"


def test_postal_codes_without_country_is_422(client: FlaskClient, world: World) -> None:
    response = create_territory(client, world.manager, postal_codes=["20121"])
    assert response.status_code == 422, f"postal codes need a country: {response.json}"
    assert "country" in error_fields(response), f"country must be named: {response.json}"


def test_blank_postal_code_is_422(client: FlaskClient, world: World) -> None:
    # " " would be stored as "" and capture every account whose postal code is blank.
    response = create_territory(client, world.manager, postal_codes=["20121", " "], country="IT")
    assert response.status_code == 422, f"a blank postal code must be refused: {response.json}"
    assert "postal_codes" in error_fields(response), response.json
    assert listed_territory_ids(client, world.manager) == set(), "nothing may be created"


def test_removing_the_country_of_a_postal_territory_is_422(
    client: FlaskClient, world: World
) -> None:
    created = new_territory(client, world.manager, postal_codes=["20121"], country="IT")
    response = patch_territory(client, world.manager, created["id"], country=None)
    assert response.status_code == 422, response.json
    assert "country" in error_fields(response), response.json


@pytest.mark.parametrize(
    "fields",
    [{}, {"geometry": None}, {"postal_codes": []}, {"geometry": None, "postal_codes": None}],
    ids=["nothing", "null-geometry", "empty-codes", "both-null"],
)
def test_neither_geometry_nor_postal_codes_is_422(
    client: FlaskClient, world: World, fields: dict
) -> None:
    response = create_territory(client, world.manager, country="IT", **fields)
    assert response.status_code == 422, f"a territory needs a shape or codes: {response.json}"
    assert "geometry" in error_fields(response), f"the missing shape is named: {response.json}"


def test_removing_the_only_shape_on_patch_is_422(client: FlaskClient, world: World) -> None:
    created = new_territory(client, world.manager, geometry=BIG)
    response = patch_territory(client, world.manager, created["id"], geometry=None)
    assert response.status_code == 422, response.json
    after = client.get(f"{TERRITORIES}/{created['id']}", headers=world.manager.headers).json
    assert after["geometry"] == BIG, "the shape must be kept"


def test_rep_ids_naming_an_unknown_user_is_422(client: FlaskClient, world: World) -> None:
    stranger = some_id()
    response = create_territory(
        client, world.manager, geometry=BIG, rep_ids=[str(world.rep.id), stranger]
    )
    assert response.status_code == 422, f"unknown rep must be refused: {response.json}"
    messages = error_fields(response).get("rep_ids") or []
    assert any(stranger in message for message in messages), f"the id is named: {response.json}"
    assert listed_territory_ids(client, world.manager) == set(), "nothing may be created"


def test_rep_ids_naming_a_user_of_another_org_is_422(client: FlaskClient, world: World) -> None:
    response = create_territory(
        client, world.manager, geometry=BIG, rep_ids=[str(world.other_admin.id)]
    )
    assert response.status_code == 422, f"another org's user must be refused: {response.json}"
    assert "rep_ids" in error_fields(response), response.json

    created = new_territory(client, world.manager, geometry=BIG, rep_ids=[str(world.rep.id)])
    patched = patch_territory(
        client, world.manager, created["id"], rep_ids=[str(world.other_admin.id)]
    )
    assert patched.status_code == 422, f"also on patch: {patched.json}"
    after = client.get(f"{TERRITORIES}/{created['id']}", headers=world.manager.headers).json
    assert after["rep_ids"] == [str(world.rep.id)], "the old assignment must be kept"


def test_server_owned_fields_are_refused(client: FlaskClient, world: World) -> None:
    response = create_territory(client, world.manager, geometry=BIG, area_km2=1.0, version=7)
    assert response.status_code == 422, response.json
    assert {"area_km2", "version"} <= set(error_fields(response)), response.json


# --- ids --------------------------------------------------------------------------------------


def test_reused_id_is_409(client: FlaskClient, world: World) -> None:
    territory_id = some_id()
    new_territory(client, world.manager, id=territory_id, name="First", geometry=BIG)
    again = create_territory(client, world.manager, id=territory_id, name="Second", geometry=SMALL)
    assert again.status_code == 409, f"a reused id must be a conflict: {again.json}"
    assert again.json["error"]["code"] == "conflict"
    kept = client.get(f"{TERRITORIES}/{territory_id}", headers=world.manager.headers).json
    assert kept["name"] == "First", "the first territory must be untouched"


def test_id_of_a_deleted_territory_is_409(client: FlaskClient, world: World) -> None:
    territory_id = some_id()
    new_territory(client, world.manager, id=territory_id, geometry=BIG)
    client.delete(f"{TERRITORIES}/{territory_id}", headers=world.manager.headers)
    again = create_territory(client, world.manager, id=territory_id, geometry=BIG)
    assert again.status_code == 409, f"a deleted territory's id stays used: {again.json}"


def test_id_used_in_another_org_is_409_and_reveals_nothing(
    client: FlaskClient, world: World
) -> None:
    territory_id = some_id()
    new_territory(client, world.manager, id=territory_id, name="Secret", geometry=BIG)
    response = create_territory(client, world.other_admin, id=territory_id, geometry=SMALL)
    assert response.status_code == 409, f"an id seen in another org is refused: {response.json}"
    assert "Secret" not in str(response.json), "the other territory must not leak"
    assert listed_territory_ids(client, world.other_admin) == set()


def test_territory_list_pages_by_name(client, world) -> None:
    ring = [[9, 45], [9.1, 45], [9.1, 45.1], [9, 45.1], [9, 45]]
    square = {"type": "Polygon", "coordinates": [ring]}
    names = [f"Zone {letter}" for letter in "EDCBA"]
    for name in names:
        created = client.post(
            "/api/v1/territories",
            json={"name": name, "geometry": square},
            headers=world.manager.headers,
        )
        assert created.status_code == 201, created.json
    seen, cursor = [], None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/api/v1/territories", query_string=query, headers=world.manager.headers)
        assert page.status_code == 200, page.json
        seen += [t["name"] for t in page.json["items"]]
        cursor = page.json["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(names)


def test_territory_stats(client, world) -> None:
    ring = [[9, 45], [9.5, 45], [9.5, 45.5], [9, 45.5], [9, 45]]
    square = {"type": "Polygon", "coordinates": [ring]}
    territory = client.post(
        "/api/v1/territories",
        headers=world.manager.headers,
        json={"name": "Stats", "geometry": square, "rep_ids": [str(world.rep.id)]},
    ).json
    inside = {"lat": 45.2, "lon": 9.2}
    for status, cadence in (("customer", 30), ("customer", None), ("lead", None)):
        response = client.post(
            "/api/v1/accounts",
            headers=world.manager.headers,
            json={
                "kind": "company",
                "status": status,
                "name": status,
                "location": inside,
                "visit_every_days": cadence,
            },
        )
        assert response.status_code == 201, response.json
    path = f"/api/v1/territories/{territory['id']}/stats"
    stats = client.get(path, headers=world.manager.headers)
    assert stats.status_code == 200, stats.json
    body = stats.json
    assert body["accounts"]["total"] == 3
    assert body["accounts"]["by_status"] == {"lead": 1, "prospect": 0, "customer": 2, "inactive": 0}
    assert body["overdue"] == 1  # the account with a cadence and no visit yet
    assert [rep["id"] for rep in body["reps"]] == [str(world.rep.id)]
    other = client.get(path, headers=world.other_admin.headers)
    assert other.status_code == 404
