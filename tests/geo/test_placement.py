"""Placement of accounts in territories, through HTTP, and the visibility that follows it.

Contract ("Locating clients"): accounts are placed in the territory that contains their location
(or whose postal codes hold theirs) whenever either changes; where territories overlap, the
smallest area wins; postal-code territories win over polygons.
"""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import World
from tests.geo.helpers import (
    ACCOUNTS,
    BIG,
    CENTRE,
    FAR_AWAY,
    OUTSIDE_SMALL,
    ROME,
    SMALL,
    TERRITORIES,
    get_account,
    listed_account_ids,
    new_account,
    new_territory,
    patch_territory,
    square,
)

MILAN_ADDRESS = {"street": "Via Dante 1", "postal_code": "20121", "city": "Milano", "country": "IT"}


def territory_of(client: FlaskClient, world: World, account_id: str) -> str | None:
    return get_account(client, world.admin, account_id)["territory_id"]


# --- polygons ---------------------------------------------------------------------------------


def test_account_created_inside_a_polygon_gets_that_territory(
    client: FlaskClient, world: World
) -> None:
    big = new_territory(client, world.manager, geometry=BIG)
    inside = new_account(client, world.manager, location=CENTRE)
    outside = new_account(client, world.manager, location=FAR_AWAY)
    nowhere = new_account(client, world.manager)

    assert inside["territory_id"] == big["id"], "an account inside the polygon is placed in it"
    assert inside["version"] == 1, "placement at creation is part of the first version"
    assert outside["territory_id"] is None, "an account outside every territory has none"
    assert nowhere["territory_id"] is None, "an account without location has no territory"


def test_account_on_a_polygon_border_is_inside(client: FlaskClient, world: World) -> None:
    big = new_territory(client, world.manager, geometry=BIG)
    on_edge = new_account(client, world.manager, location={"lat": 45.3, "lon": 9.2})
    assert on_edge["territory_id"] == big["id"], "a point on the border counts as inside"


def test_polygon_territory_created_later_takes_existing_accounts(
    client: FlaskClient, world: World
) -> None:
    account = new_account(client, world.manager, location=CENTRE)
    assert account["territory_id"] is None
    big = new_territory(client, world.manager, geometry=BIG)
    after = get_account(client, world.manager, account["id"])
    assert after["territory_id"] == big["id"], "creating a territory places existing accounts"
    assert after["version"] == 2, f"the account's version must bump, got {after['version']}"


def test_smaller_overlapping_polygon_created_later_takes_the_account(
    client: FlaskClient, world: World
) -> None:
    big = new_territory(client, world.manager, name="Big", geometry=BIG)
    centre = new_account(client, world.manager, location=CENTRE)
    edge = new_account(client, world.manager, location=OUTSIDE_SMALL)
    assert centre["territory_id"] == big["id"] and edge["territory_id"] == big["id"]

    small = new_territory(client, world.manager, name="Small", geometry=SMALL)
    assert small["area_km2"] < big["area_km2"], "sanity: SMALL is the smaller shape"

    moved = get_account(client, world.manager, centre["id"])
    assert moved["territory_id"] == small["id"], "the smallest containing territory wins"
    assert moved["version"] == centre["version"] + 1, (
        f"the account's version bumps when its territory changes: {moved['version']}"
    )
    stayed = get_account(client, world.manager, edge["id"])
    assert stayed["territory_id"] == big["id"], "an account outside the small one stays"
    assert stayed["version"] == edge["version"], "an account that did not move keeps its version"


def test_smallest_wins_whatever_the_creation_order(client: FlaskClient, world: World) -> None:
    small = new_territory(client, world.manager, name="Small", geometry=SMALL)
    new_territory(client, world.manager, name="Big", geometry=BIG)
    account = new_account(client, world.manager, location=CENTRE)
    assert account["territory_id"] == small["id"], "the smaller territory wins when created first"


def test_account_in_a_hole_is_not_in_the_holed_territory(client: FlaskClient, world: World) -> None:
    shell = BIG["coordinates"][0]
    hole = list(reversed(SMALL["coordinates"][0]))
    donut = new_territory(
        client, world.manager, geometry={"type": "Polygon", "coordinates": [shell, hole]}
    )
    in_hole = new_account(client, world.manager, location=CENTRE)
    in_ring = new_account(client, world.manager, location=OUTSIDE_SMALL)
    assert in_hole["territory_id"] is None, "a point in the hole is outside the territory"
    assert in_ring["territory_id"] == donut["id"], "a point in the ring is inside"


def test_multipolygon_places_accounts_of_every_part(client: FlaskClient, world: World) -> None:
    both = {
        "type": "MultiPolygon",
        "coordinates": [SMALL["coordinates"], ROME["coordinates"]],
    }
    territory = new_territory(client, world.manager, geometry=both)
    milan = new_account(client, world.manager, location=CENTRE)
    rome = new_account(client, world.manager, location=FAR_AWAY)
    between = new_account(client, world.manager, location={"lat": 43.77, "lon": 11.25})
    assert milan["territory_id"] == territory["id"], "first part"
    assert rome["territory_id"] == territory["id"], "second part"
    assert between["territory_id"] is None, "Florence is in neither part"


def test_territories_of_another_org_never_capture_accounts(
    client: FlaskClient, world: World
) -> None:
    new_territory(client, world.other_admin, geometry=BIG)
    account = new_account(client, world.manager, location=CENTRE)
    assert account["territory_id"] is None, "another organisation's territory must not be used"
    mine = new_territory(client, world.manager, geometry=SMALL)
    assert get_account(client, world.manager, account["id"])["territory_id"] == mine["id"]


# --- postal codes -----------------------------------------------------------------------------


def test_postal_code_territory_wins_over_a_smaller_polygon(
    client: FlaskClient, world: World
) -> None:
    small = new_territory(client, world.manager, name="Small", geometry=SMALL)
    matching = new_account(client, world.manager, location=CENTRE, address=MILAN_ADDRESS)
    other_code = new_account(
        client, world.manager, location=CENTRE, address={**MILAN_ADDRESS, "postal_code": "20135"}
    )
    assert matching["territory_id"] == small["id"], "before the postal territory: the polygon"

    postal = new_territory(
        client, world.manager, name="Centro", postal_codes=["20121", "20122"], country="IT"
    )
    moved = get_account(client, world.manager, matching["id"])
    assert moved["territory_id"] == postal["id"], (
        "a postal-code territory holding the account's code wins over a polygon"
    )
    assert moved["version"] == matching["version"] + 1, "the move bumps the version"
    assert get_account(client, world.manager, other_code["id"])["territory_id"] == small["id"], (
        "an account whose code is not listed stays in its polygon"
    )


def test_postal_code_match_needs_the_same_country(client: FlaskClient, world: World) -> None:
    new_territory(client, world.manager, postal_codes=["20121"], country="FR")
    account = new_account(client, world.manager, address=MILAN_ADDRESS)
    assert account["territory_id"] is None, "20121 in Italy is not 20121 in France"


def test_postal_codes_match_regardless_of_spaces_and_case(
    client: FlaskClient, world: World
) -> None:
    london = new_territory(
        client, world.manager, postal_codes=["sw1a 1aa", "EC1A1BB"], country="gb"
    )
    first = new_account(client, world.manager, address={"postal_code": "SW1A 1AA", "country": "GB"})
    second = new_account(
        client, world.manager, address={"postal_code": "ec1a 1bb", "country": "gb"}
    )
    assert first["territory_id"] == london["id"], "codes compare without spaces"
    assert second["territory_id"] == london["id"], "codes and countries compare without case"


def test_account_without_location_is_placed_by_postal_code(
    client: FlaskClient, world: World
) -> None:
    postal = new_territory(client, world.manager, postal_codes=["20121"], country="IT")
    account = new_account(client, world.manager, address=MILAN_ADDRESS)
    assert account["location"] is None
    assert account["territory_id"] == postal["id"], "the postal code alone places the account"


def test_changing_the_address_re_places_the_account(client: FlaskClient, world: World) -> None:
    centro = new_territory(client, world.manager, postal_codes=["20121"], country="IT")
    navigli = new_territory(client, world.manager, postal_codes=["20143"], country="IT")
    account = new_account(client, world.manager, address=MILAN_ADDRESS)
    assert account["territory_id"] == centro["id"]

    response = client.patch(
        f"{ACCOUNTS}/{account['id']}",
        json={"address": {**MILAN_ADDRESS, "postal_code": "20143"}},
        headers=world.manager.headers,
    )
    assert response.status_code == 200, response.json
    assert response.json["territory_id"] == navigli["id"], "a new postal code re-places it"
    assert response.json["version"] == 2, "one write, one version"


def test_smaller_postal_territory_wins_among_postal_ones(client: FlaskClient, world: World) -> None:
    new_territory(
        client, world.manager, name="City", postal_codes=["20121", "20122", "20123"], country="IT"
    )
    narrow = new_territory(
        client, world.manager, name="Centre", postal_codes=["20121"], country="IT"
    )
    account = new_account(client, world.manager, address=MILAN_ADDRESS)
    assert account["territory_id"] == narrow["id"], "the shorter list of codes is the smaller"


# --- re-placement when the account moves ------------------------------------------------------


def test_patching_the_location_re_places_the_account(client: FlaskClient, world: World) -> None:
    big = new_territory(client, world.manager, geometry=BIG)
    small = new_territory(client, world.manager, geometry=SMALL)
    account = new_account(client, world.manager, location=OUTSIDE_SMALL)
    assert account["territory_id"] == big["id"]

    url = f"{ACCOUNTS}/{account['id']}"
    into_small = client.patch(url, json={"location": CENTRE}, headers=world.manager.headers)
    assert into_small.status_code == 200, into_small.json
    assert into_small.json["territory_id"] == small["id"], "moving the pin re-places the account"
    assert into_small.json["version"] == 2, "the move and its placement are one version"
    assert into_small.headers["ETag"] == '"2"'

    away = client.patch(url, json={"location": FAR_AWAY}, headers=world.manager.headers)
    assert away.json["territory_id"] is None, "moved outside every territory: no territory"

    cleared = client.patch(url, json={"location": CENTRE}, headers=world.manager.headers)
    assert cleared.json["territory_id"] == small["id"]
    removed = client.patch(url, json={"location": None}, headers=world.manager.headers)
    assert removed.status_code == 200, removed.json
    assert removed.json["territory_id"] is None, "no location, no postal code: no territory"


def test_patching_other_fields_keeps_the_territory(client: FlaskClient, world: World) -> None:
    big = new_territory(client, world.manager, geometry=BIG)
    account = new_account(client, world.manager, location=CENTRE)
    response = client.patch(
        f"{ACCOUNTS}/{account['id']}", json={"phone": "+39 02 1234"}, headers=world.manager.headers
    )
    assert response.status_code == 200, response.json
    assert response.json["territory_id"] == big["id"], "an unrelated edit keeps the territory"


# --- re-placement when territories change -----------------------------------------------------


def test_deleting_a_territory_re_places_its_accounts(client: FlaskClient, world: World) -> None:
    big = new_territory(client, world.manager, geometry=BIG)
    small = new_territory(client, world.manager, geometry=SMALL)
    rome = new_territory(client, world.manager, geometry=ROME)
    in_small = new_account(client, world.manager, location=CENTRE)
    in_rome = new_account(client, world.manager, location=FAR_AWAY)
    assert in_small["territory_id"] == small["id"] and in_rome["territory_id"] == rome["id"]

    for territory in (small, rome):
        response = client.delete(f"{TERRITORIES}/{territory['id']}", headers=world.manager.headers)
        assert response.status_code == 204, response.json

    fallen = get_account(client, world.manager, in_small["id"])
    assert fallen["territory_id"] == big["id"], "an account falls to another containing territory"
    assert fallen["version"] == in_small["version"] + 1, "and its version bumps"
    orphan = get_account(client, world.manager, in_rome["id"])
    assert orphan["territory_id"] is None, "with no other territory it has none"
    assert orphan["version"] == in_rome["version"] + 1


def test_deleting_a_postal_territory_falls_back_to_the_polygon(
    client: FlaskClient, world: World
) -> None:
    small = new_territory(client, world.manager, geometry=SMALL)
    postal = new_territory(client, world.manager, postal_codes=["20121"], country="IT")
    account = new_account(client, world.manager, location=CENTRE, address=MILAN_ADDRESS)
    assert account["territory_id"] == postal["id"]
    client.delete(f"{TERRITORIES}/{postal['id']}", headers=world.manager.headers)
    assert territory_of(client, world, account["id"]) == small["id"], "back to the polygon"


def test_changing_a_territory_geometry_re_places_accounts(
    client: FlaskClient, world: World
) -> None:
    big = new_territory(client, world.manager, geometry=BIG)
    small = new_territory(client, world.manager, geometry=SMALL)
    centre = new_account(client, world.manager, location=CENTRE)
    edge = new_account(client, world.manager, location=OUTSIDE_SMALL)
    assert centre["territory_id"] == small["id"] and edge["territory_id"] == big["id"]

    # Move SMALL from the centre to the south-east corner, over OUTSIDE_SMALL.
    response = patch_territory(
        client, world.manager, small["id"], geometry=square(9.3, 45.3, 9.4, 45.36)
    )
    assert response.status_code == 200, response.json
    assert response.json["version"] == 2, "the territory's version bumps"

    left = get_account(client, world.manager, centre["id"])
    assert left["territory_id"] == big["id"], "an account left outside the new shape moves out"
    assert left["version"] == centre["version"] + 1
    entered = get_account(client, world.manager, edge["id"])
    assert entered["territory_id"] == small["id"], "an account inside the new shape moves in"
    assert entered["version"] == edge["version"] + 1


def test_changing_postal_codes_re_places_accounts(client: FlaskClient, world: World) -> None:
    postal = new_territory(client, world.manager, postal_codes=["20122"], country="IT")
    account = new_account(client, world.manager, address=MILAN_ADDRESS)
    assert account["territory_id"] is None
    response = patch_territory(client, world.manager, postal["id"], postal_codes=["20121"])
    assert response.status_code == 200, response.json
    placed = get_account(client, world.manager, account["id"])
    assert placed["territory_id"] == postal["id"], "a new code list re-places accounts"
    assert placed["version"] == 2


def test_renaming_a_territory_leaves_accounts_alone(client: FlaskClient, world: World) -> None:
    big = new_territory(client, world.manager, geometry=BIG)
    account = new_account(client, world.manager, location=CENTRE)
    patch_territory(client, world.manager, big["id"], name="Renamed", color="#00FF00")
    after = get_account(client, world.manager, account["id"])
    assert after["territory_id"] == big["id"] and after["version"] == account["version"], (
        "a change that does not touch the shape must not rewrite accounts"
    )


def test_account_list_filters_on_territory(client: FlaskClient, world: World) -> None:
    small = new_territory(client, world.manager, geometry=SMALL)
    inside = new_account(client, world.manager, location=CENTRE)
    new_account(client, world.manager, location=FAR_AWAY)
    response = client.get(
        ACCOUNTS, query_string={"territory_id": small["id"]}, headers=world.manager.headers
    )
    assert response.status_code == 200, response.json
    assert [item["id"] for item in response.json["items"]] == [inside["id"]]


# --- visibility follows placement and rep_ids -------------------------------------------------


def test_rep_assigned_by_rep_ids_sees_the_territory_accounts_and_loses_them(
    client: FlaskClient, world: World
) -> None:
    big = new_territory(client, world.manager, geometry=BIG)
    # Created by the manager: owned by the manager, so the rep sees it only through territory.
    account = new_account(client, world.manager, location=CENTRE)
    outside = new_account(client, world.manager, location=FAR_AWAY)
    url = f"{ACCOUNTS}/{account['id']}"
    assert account["id"] not in listed_account_ids(client, world.rep), "not assigned yet"
    assert client.get(url, headers=world.rep.headers).status_code == 404

    assigned = patch_territory(client, world.manager, big["id"], rep_ids=[str(world.rep.id)])
    assert assigned.status_code == 200, assigned.json
    seen = listed_account_ids(client, world.rep)
    assert account["id"] in seen, "an assigned rep sees the territory's accounts"
    assert outside["id"] not in seen, "but not accounts outside it"
    assert client.get(url, headers=world.rep.headers).status_code == 200
    assert account["id"] not in listed_account_ids(client, world.rep2), "rep2 is not assigned"

    removed = patch_territory(client, world.manager, big["id"], rep_ids=[])
    assert removed.status_code == 200, removed.json
    assert account["id"] not in listed_account_ids(client, world.rep), (
        "a rep removed from rep_ids loses the territory's accounts"
    )
    assert client.get(url, headers=world.rep.headers).status_code == 404


def test_rep_sees_accounts_entering_their_territory(client: FlaskClient, world: World) -> None:
    new_territory(client, world.manager, geometry=SMALL, rep_ids=[str(world.rep.id)])
    account = new_account(client, world.manager, location=FAR_AWAY)
    assert account["id"] not in listed_account_ids(client, world.rep)
    moved = client.patch(
        f"{ACCOUNTS}/{account['id']}", json={"location": CENTRE}, headers=world.manager.headers
    )
    assert moved.status_code == 200, moved.json
    assert account["id"] in listed_account_ids(client, world.rep), (
        "an account moved into the rep's territory becomes visible"
    )


def test_rep_loses_accounts_taken_by_a_smaller_territory(client: FlaskClient, world: World) -> None:
    new_territory(client, world.manager, geometry=BIG, rep_ids=[str(world.rep.id)])
    account = new_account(client, world.manager, location=CENTRE)
    assert account["id"] in listed_account_ids(client, world.rep)
    new_territory(client, world.manager, geometry=SMALL, rep_ids=[str(world.rep2.id)])
    assert account["id"] not in listed_account_ids(client, world.rep), (
        "the account moved to rep2's smaller territory"
    )
    assert account["id"] in listed_account_ids(client, world.rep2)


def test_rep_keeps_own_accounts_outside_their_territories(
    client: FlaskClient, world: World
) -> None:
    new_territory(client, world.manager, geometry=SMALL, rep_ids=[str(world.rep2.id)])
    own = new_account(client, world.rep, location=CENTRE)
    assert own["territory_id"] is not None
    assert own["id"] in listed_account_ids(client, world.rep), "a rep always sees what they own"
    assert own["id"] in listed_account_ids(client, world.rep2), "and rep2 through the territory"
