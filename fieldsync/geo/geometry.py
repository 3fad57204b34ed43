"""GeoJSON territory shapes checked with shapely, and great-circle distances."""

from __future__ import annotations

import math
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

EARTH_RADIUS_KM = 6371.0088
KM_PER_DEGREE = math.pi * EARTH_RADIUS_KM / 180


class GeometryError(ValueError):
    """The GeoJSON is not a usable territory shape; the message says why."""


def _finite(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def _check_position(position: Any, where: str) -> None:
    if (
        not isinstance(position, list | tuple)
        or len(position) < 2
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in position)
    ):
        raise GeometryError(f"{where}: a position must be [lon, lat] numbers (altitude optional).")
    lon, lat = position[0], position[1]
    if not all(_finite(v) for v in position):
        raise GeometryError(f"{where}: coordinates must be finite numbers.")
    if not -180 <= lon <= 180:
        raise GeometryError(f"{where}: longitude {lon} is outside -180..180 (order is [lon, lat]).")
    if not -90 <= lat <= 90:
        raise GeometryError(f"{where}: latitude {lat} is outside -90..90 (order is [lon, lat]).")


def _check_rings(rings: Any, where: str) -> None:
    if not isinstance(rings, list) or not rings:
        raise GeometryError(f"{where}: a polygon is a non-empty list of linear rings.")
    for r, ring in enumerate(rings):
        ring_where = f"{where} ring {r}"
        if not isinstance(ring, list) or len(ring) < 4:
            raise GeometryError(f"{ring_where}: a linear ring needs at least 4 positions.")
        for p, position in enumerate(ring):
            _check_position(position, f"{ring_where} position {p}")
        if list(ring[0][:2]) != list(ring[-1][:2]):
            raise GeometryError(
                f"{ring_where}: not closed (the last position must repeat the first)."
            )


def _flat(coordinates: Any) -> Any:
    """The coordinates with each position cut to [lon, lat]."""
    if coordinates and isinstance(coordinates[0], int | float):
        return list(coordinates[:2])
    return [_flat(item) for item in coordinates]


def parse_territory_geometry(geojson: Any) -> BaseGeometry:
    """Check a GeoJSON Polygon/MultiPolygon and return it as a valid shapely geometry."""
    if not isinstance(geojson, dict):
        raise GeometryError("geometry must be a GeoJSON object.")
    kind = geojson.get("type")
    coordinates = geojson.get("coordinates")
    if kind == "Polygon":
        _check_rings(coordinates, "Polygon")
    elif kind == "MultiPolygon":
        if not isinstance(coordinates, list) or not coordinates:
            raise GeometryError("MultiPolygon: coordinates must be a non-empty list of polygons.")
        for i, polygon in enumerate(coordinates):
            _check_rings(polygon, f"MultiPolygon polygon {i}")
    else:
        raise GeometryError(f"geometry type must be Polygon or MultiPolygon, not {kind!r}.")
    # Checked and ranked in 2D: altitudes (possibly on some positions only) are ignored.
    geometry = shape({"type": kind, "coordinates": _flat(coordinates)})
    if shapely.is_empty(geometry) or geometry.convex_hull.area <= 0:
        raise GeometryError("the shape has no area (its positions are all on one line or point).")
    if not shapely.is_valid(geometry):
        reason = shapely.is_valid_reason(geometry)
        raise GeometryError(
            f"invalid shape: {reason} (rings must not cross themselves or each other)."
        )
    if geometry.area <= 0:
        raise GeometryError("the shape has no area.")
    return geometry


def area_km2(geometry: BaseGeometry) -> float:
    """Approximate area: degrees² scaled at the shape's mean latitude (ranks overlaps well)."""
    lat = geometry.centroid.y
    return float(geometry.area * KM_PER_DEGREE**2 * math.cos(math.radians(lat)))


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in kilometres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))
