"""Unit tests of the territory shape checks, the distance/area helpers and point placement (no
database)."""

from __future__ import annotations

import math
import random
import uuid
from typing import Any

import pytest
import shapely

from fieldsync.geo.geometry import GeometryError, area_km2, haversine_km, parse_territory_geometry
from fieldsync.geo.service import PlacementIndex


def ring(lon0: float, lat0: float, lon1: float, lat1: float) -> list[list[float]]:
    """A closed, counter-clockwise rectangle ring from (lon0, lat0) to (lon1, lat1)."""
    return [[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]


def polygon(*rings: list[list[Any]]) -> dict[str, Any]:
    return {"type": "Polygon", "coordinates": list(rings)}


def error_of(geojson: Any) -> str:
    """The GeometryError message for an invalid shape (fails if it is accepted)."""
    with pytest.raises(GeometryError) as caught:
        parse_territory_geometry(geojson)
    return str(caught.value)


# --- valid shapes ----------------------------------------------------------------------------


def test_valid_polygon_is_returned_as_a_shapely_polygon() -> None:
    shape = parse_territory_geometry(polygon(ring(9.0, 45.3, 9.4, 45.6)))
    assert shape.geom_type == "Polygon", f"expected a Polygon, got {shape.geom_type}"
    assert shape.is_valid, "the returned shape must be valid"
    assert shape.bounds == pytest.approx((9.0, 45.3, 9.4, 45.6)), (
        f"bounds must follow [lon, lat] order, got {shape.bounds}"
    )


def test_valid_multipolygon_keeps_all_its_parts() -> None:
    geojson = {
        "type": "MultiPolygon",
        "coordinates": [[ring(0, 0, 1, 1)], [ring(2, 0, 3, 1)]],
    }
    shape = parse_territory_geometry(geojson)
    assert shape.geom_type == "MultiPolygon", f"expected a MultiPolygon, got {shape.geom_type}"
    assert len(shape.geoms) == 2, f"expected 2 parts, got {len(shape.geoms)}"
    assert shape.area == pytest.approx(2.0), f"two unit squares must total 2 deg², got {shape.area}"


def test_polygon_with_a_hole_excludes_the_hole() -> None:
    hole = list(reversed(ring(0.25, 0.25, 0.75, 0.75)))  # holes are clockwise in GeoJSON
    shape = parse_territory_geometry(polygon(ring(0, 0, 1, 1), hole))
    assert len(shape.interiors) == 1, "the hole must be kept as an interior ring"
    assert shape.area == pytest.approx(0.75), f"1 - 0.25 deg² expected, got {shape.area}"
    assert area_km2(shape) < area_km2(parse_territory_geometry(polygon(ring(0, 0, 1, 1)))), (
        "a hole must make the territory smaller"
    )


def test_positions_with_an_altitude_are_accepted() -> None:
    with_altitude = [[lon, lat, 120.0] for lon, lat in ring(0, 0, 1, 1)]
    shape = parse_territory_geometry(polygon(with_altitude))
    assert shape.area == pytest.approx(1.0), f"altitude must not change the area, got {shape.area}"


# --- invalid shapes: each with a message that says why ------------------------------------


def test_wrong_type_point_is_refused_naming_the_type() -> None:
    message = error_of({"type": "Point", "coordinates": [9.19, 45.46]})
    assert "Polygon or MultiPolygon" in message, (
        f"message should name the accepted types: {message}"
    )
    assert "Point" in message, f"message should name the type received: {message}"


@pytest.mark.parametrize("value", [None, "POLYGON((0 0, 1 0, 1 1, 0 0))", [1, 2], 42])
def test_not_a_dict_is_refused(value: Any) -> None:
    message = error_of(value)
    assert "GeoJSON object" in message, (
        f"message should say a GeoJSON object is expected: {message}"
    )


def test_missing_coordinates_are_refused() -> None:
    message = error_of({"type": "Polygon"})
    assert "ring" in message, f"message should explain what coordinates are expected: {message}"


def test_empty_multipolygon_is_refused() -> None:
    message = error_of({"type": "MultiPolygon", "coordinates": []})
    assert "non-empty" in message, f"message should say the list may not be empty: {message}"


def test_unclosed_ring_is_refused() -> None:
    message = error_of(polygon([[0, 0], [1, 0], [1, 1], [0, 1], [0, 0.5]]))
    assert "not closed" in message, f"message should say the ring is not closed: {message}"
    assert "ring 0" in message, f"message should say which ring: {message}"


def test_ring_with_fewer_than_four_positions_is_refused() -> None:
    message = error_of(polygon([[0, 0], [1, 0], [0, 0]]))
    assert "at least 4 positions" in message, f"message should give the minimum: {message}"


def test_unclosed_ring_in_a_multipolygon_names_the_polygon() -> None:
    geojson = {
        "type": "MultiPolygon",
        "coordinates": [[ring(0, 0, 1, 1)], [[[2, 0], [3, 0], [3, 1], [2, 1]]]],
    }
    message = error_of(geojson)
    assert "polygon 1" in message, f"message should name the faulty polygon: {message}"
    assert "not closed" in message, f"message should say the ring is not closed: {message}"


def test_longitude_out_of_range_is_refused() -> None:
    message = error_of(polygon(ring(179.5, 0, 181, 1)))
    assert "longitude 181" in message, f"message should name the longitude: {message}"
    assert "-180..180" in message, f"message should give the range: {message}"


def test_latitude_out_of_range_is_refused_with_a_lon_lat_order_hint() -> None:
    # A classic mistake: [lat, lon] pairs, here with a latitude swapped into the second slot.
    message = error_of(polygon(ring(45.0, 91.0, 45.5, 91.5)))
    assert "latitude 91" in message, f"message should name the latitude: {message}"
    assert "-90..90" in message, f"message should give the range: {message}"
    assert "[lon, lat]" in message, f"message should hint at the [lon, lat] order: {message}"


@pytest.mark.parametrize(
    "bad_position",
    [["9.1", 45.3], [9.1, None], [True, 45.3], [9.1], "9.1,45.3", [[9.1, 45.3]]],
    ids=["string", "null", "bool", "one-number", "text", "nested"],
)
def test_non_numeric_coordinates_are_refused(bad_position: Any) -> None:
    coordinates = ring(9.0, 45.3, 9.4, 45.6)
    coordinates[1] = bad_position
    message = error_of(polygon(coordinates))
    assert "[lon, lat] numbers" in message, f"message should say positions are numbers: {message}"
    assert "position 1" in message, f"message should say which position: {message}"


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_coordinates_are_refused(value: float) -> None:
    coordinates = ring(9.0, 45.3, 9.4, 45.6)
    coordinates[2] = [value, 45.6]
    message = error_of(polygon(coordinates))
    assert "finite" in message, f"message should say coordinates must be finite: {message}"


def test_integer_too_large_for_a_float_is_refused_not_crashing() -> None:
    coordinates = ring(9.0, 45.3, 9.4, 45.6)
    coordinates[2] = [10**400, 45.6]  # JSON can carry it; float() overflows
    message = error_of(polygon(coordinates))
    assert "finite" in message, f"message should say coordinates must be finite: {message}"


@pytest.mark.parametrize(
    "third",
    ["high", None, [1]],
    ids=["string", "null", "list"],
)
def test_non_numeric_altitude_is_refused_not_crashing(third: Any) -> None:
    coordinates: list[list[Any]] = ring(9.0, 45.3, 9.4, 45.6)
    coordinates[1] = [9.4, 45.3, third]
    message = error_of(polygon(coordinates))
    assert "position 1" in message, f"message should say which position: {message}"


def test_positions_mixing_2d_and_3d_do_not_crash() -> None:
    coordinates: list[list[Any]] = ring(9.0, 45.3, 9.4, 45.6)
    coordinates[1] = [9.4, 45.3, 100.0]
    shape = parse_territory_geometry(polygon(coordinates))
    assert shape.area == pytest.approx(0.12), f"the 2D shape must be kept, got area {shape.area}"


def test_bow_tie_polygon_is_refused_as_self_intersecting() -> None:
    message = error_of(polygon([[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]))
    assert "self-intersection" in message.lower(), f"message should mention it: {message}"


def test_hole_outside_its_shell_is_refused() -> None:
    message = error_of(polygon(ring(0, 0, 1, 1), ring(5, 5, 6, 6)))
    assert "hole" in message.lower(), f"message should say the hole is wrong: {message}"


def test_overlapping_parts_of_a_multipolygon_are_refused() -> None:
    geojson = {"type": "MultiPolygon", "coordinates": [[ring(0, 0, 2, 2)], [ring(1, 1, 3, 3)]]}
    message = error_of(geojson)
    assert "invalid shape" in message, f"message should say the shape is invalid: {message}"


@pytest.mark.parametrize(
    "coordinates",
    [
        [[0, 0], [1, 0], [2, 0], [0, 0]],  # three points on a line
        [[0, 0], [1, 1], [2, 2], [1, 1], [0, 0]],  # there and back again
        [[0, 0], [1, 0], [1, 0], [0, 0]],  # a repeated point
        [[0, 0], [0, 0], [0, 0], [0, 0]],  # a single point
    ],
    ids=["collinear", "back-and-forth", "repeated-point", "single-point"],
)
def test_zero_area_polygon_is_refused_as_having_no_area(coordinates: list[list[float]]) -> None:
    message = error_of(polygon(coordinates))
    assert "no area" in message, f"message should say the shape has no area: {message}"


# --- sizes and distances ---------------------------------------------------------------------


def test_area_of_one_degree_square_at_the_equator() -> None:
    shape = parse_territory_geometry(polygon(ring(0, -0.5, 1, 0.5)))
    area = area_km2(shape)
    assert area == pytest.approx(12_364, rel=0.01), f"1°x1° at the equator ≈ 12,364 km², got {area}"


def test_area_of_one_degree_square_shrinks_at_60_degrees() -> None:
    equator = area_km2(parse_territory_geometry(polygon(ring(0, -0.5, 1, 0.5))))
    north = area_km2(parse_territory_geometry(polygon(ring(0, 59.5, 1, 60.5))))
    assert north < equator, (
        f"a 1°x1° square at 60° ({north}) must be smaller than at 0° ({equator})"
    )
    assert north == pytest.approx(equator * 0.5, rel=0.01), (
        f"at 60° the square is about cos(60°) = half the equator's, got {north} vs {equator}"
    )


def test_haversine_milan_rome() -> None:
    distance = haversine_km(45.4642, 9.1900, 41.9028, 12.4964)
    assert distance == pytest.approx(477, rel=0.01), f"Milan-Rome ≈ 477 km, got {distance}"


def test_haversine_is_symmetric_and_zero_on_the_spot() -> None:
    assert haversine_km(45.0, 9.0, 45.0, 9.0) == 0.0, "same point must be 0 km apart"
    there = haversine_km(45.4642, 9.19, 41.9028, 12.4964)
    back = haversine_km(41.9028, 12.4964, 45.4642, 9.19)
    assert there == pytest.approx(back), "distance must not depend on direction"


# --- placing one point and many ---------------------------------------------------------------


def test_one_point_is_placed_as_many_points_are() -> None:
    """``territory_for`` (one account, as a push places them) and ``place_many`` (bulk) follow
    one rule: a postal-code territory first, then the smallest polygon holding the point."""
    rng = random.Random(11)
    squares = []
    for _ in range(30):  # overlapping squares of many sizes, two of the same area
        lon, lat, size = rng.uniform(8, 10), rng.uniform(44, 46), rng.choice([0.05, 0.2, 0.5, 1])
        squares.append((size * size, uuid.uuid4(), shapely.box(lon, lat, lon + size, lat + size)))
    squares.sort(key=lambda item: (item[0], str(item[1])))
    postal = {("IT", "20121"): [(3, squares[5][1]), (1, squares[9][1])]}
    index = PlacementIndex(
        polygons=squares, postal=postal, tree=shapely.STRtree([g for _, _, g in squares])
    )
    places = [
        (rng.uniform(43.5, 47), rng.uniform(7.5, 11.5), rng.choice([None, "IT", "FR"]),
         rng.choice([None, "20121", " 20 121", "75001"]))
        for _ in range(2000)
    ]  # fmt: skip
    places += [(None, None, "IT", "20121"), (None, 9.0, None, None), (45.0, None, "IT", None)]
    placed = index.place_many(places)
    assert [index.territory_for(*place) for place in places] == placed
    assert sum(territory is not None for territory in placed) > 500, "most points fall in one"
    assert index.territory_for(None, None, "IT", "20121") == squares[9][1], "fewest codes wins"
