"""What a provider's answer says about its precision and country, in the contract's terms.

Each service reports quality its own way (Nominatim ``place_rank``/``addresstype``/``class``,
Photon ``type``/``osm_key``, Pelias ``layer``, Google ``location_type``); these functions read
``Location.raw`` and answer ``rooftop | street | postcode | locality | region | country``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# --- Nominatim (https://nominatim.org/release-docs/latest/customize/Ranking/) ----------------

_NOMINATIM_LOCALITY = {
    "city",
    "town",
    "village",
    "hamlet",
    "suburb",
    "neighbourhood",
    "quarter",
    "locality",
    "isolated_dwelling",
    "city_block",
    "borough",
    "municipality",
    "farm",
    "allotments",
    "city_district",
    "district",
    "croft",
}
_NOMINATIM_REGION = {"state", "region", "county", "province", "state_district", "archipelago"}
_NOMINATIM_BUILDING_CLASSES = {
    "building",
    "amenity",
    "shop",
    "office",
    "tourism",
    "craft",
    "leisure",
    "historic",
    "railway",
    "aeroway",
    "man_made",
    "healthcare",
    "club",
    "emergency",
}


def _nominatim_by_rank(rank: int) -> str:
    if rank >= 28:
        return "rooftop"
    if rank >= 26:
        return "street"
    if rank >= 13:
        return "locality"
    return "region" if rank >= 5 else "country"


def nominatim_precision(raw: dict[str, Any]) -> str:
    """``place_rank`` (jsonv2 and recent json) first, then ``addresstype``, then class/type."""
    kind = str(raw.get("addresstype") or raw.get("type") or "")
    if kind == "postcode":
        return "postcode"
    rank = raw.get("place_rank")
    if rank is not None:
        try:
            return _nominatim_by_rank(int(rank))
        except (TypeError, ValueError):
            pass
    category = str(raw.get("class") or raw.get("category") or "")
    if kind in {"house", "building"} or category in _NOMINATIM_BUILDING_CLASSES:
        return "rooftop"
    if category == "highway" or kind in {"road", "street"}:
        return "street"
    if kind in _NOMINATIM_LOCALITY:
        return "locality"
    if kind in _NOMINATIM_REGION:
        return "region"
    if kind == "country":
        return "country"
    if category == "boundary":
        # An administrative boundary is a town when the address names one inside it.
        address = raw.get("address") or {}
        return "locality" if {"city", "town", "village"} & set(address) else "region"
    return "locality" if category == "place" else "region"


def nominatim_country(raw: dict[str, Any]) -> str | None:
    code = (raw.get("address") or {}).get("country_code")
    return str(code).upper() if code else None


# --- Photon (https://github.com/komoot/photon) -----------------------------------------------

_PHOTON_TYPES = {
    "house": "rooftop",
    "street": "street",
    "locality": "locality",
    "district": "locality",
    "city": "locality",
    "county": "region",
    "state": "region",
    "country": "country",
}


def photon_precision(raw: dict[str, Any]) -> str:
    properties = raw.get("properties") or {}
    kind = properties.get("type")
    if kind in _PHOTON_TYPES:
        return _PHOTON_TYPES[kind]
    key, value = properties.get("osm_key"), properties.get("osm_value")
    if properties.get("housenumber") or key in _NOMINATIM_BUILDING_CLASSES:
        return "rooftop"
    if key == "highway":
        return "street"
    if value == "postcode":
        return "postcode"
    if key == "place" and value in _NOMINATIM_LOCALITY:
        return "locality"
    if value == "country":
        return "country"
    return "region"


def photon_country(raw: dict[str, Any]) -> str | None:
    code = (raw.get("properties") or {}).get("countrycode")
    return str(code).upper() if code else None


# --- Pelias (https://github.com/pelias/documentation/blob/master/response.md) ----------------

_PELIAS_LAYERS = {
    "address": "rooftop",
    "venue": "rooftop",
    "street": "street",
    "postalcode": "postcode",
    "neighbourhood": "locality",
    "microhood": "locality",
    "borough": "locality",
    "locality": "locality",
    "localadmin": "locality",
    "county": "region",
    "macrocounty": "region",
    "region": "region",
    "macroregion": "region",
    "country": "country",
    "dependency": "country",
    "continent": "country",
}
ISO3_TO_ISO2 = {
    "ITA": "IT",
    "FRA": "FR",
    "ESP": "ES",
    "DEU": "DE",
    "CHE": "CH",
    "AUT": "AT",
    "BEL": "BE",
    "NLD": "NL",
    "PRT": "PT",
    "GBR": "GB",
    "LUX": "LU",
    "IRL": "IE",
    "DNK": "DK",
    "POL": "PL",
}


def pelias_precision(raw: dict[str, Any]) -> str:
    layer = (raw.get("properties") or {}).get("layer")
    return _PELIAS_LAYERS.get(str(layer), "region")


def pelias_country(raw: dict[str, Any]) -> str | None:
    properties = raw.get("properties") or {}
    code = properties.get("country_code")
    if code:
        return str(code).upper()
    iso3 = properties.get("country_a")
    return ISO3_TO_ISO2.get(str(iso3).upper(), str(iso3)[:2].upper()) if iso3 else None


# --- Google (https://developers.google.com/maps/documentation/geocoding) ---------------------


def google_precision(raw: dict[str, Any]) -> str:
    location_type = (raw.get("geometry") or {}).get("location_type")
    types = set(raw.get("types") or [])
    if location_type == "ROOFTOP":
        return "rooftop"
    if location_type == "RANGE_INTERPOLATED" or "route" in types:
        return "street"  # interpolated along a street: the contract has no finer word for it
    if "postal_code" in types:
        return "postcode"
    if types & {"locality", "sublocality", "postal_town", "neighborhood"}:
        return "locality"
    if "country" in types:
        return "country"
    return "region"


def google_country(raw: dict[str, Any]) -> str | None:
    for component in raw.get("address_components") or []:
        if "country" in (component.get("types") or []):
            return str(component.get("short_name") or "").upper() or None
    return None


# --- ours and the rest -----------------------------------------------------------------------


def offline_precision(raw: dict[str, Any]) -> str:
    return str(raw.get("precision") or "locality")


def offline_country(raw: dict[str, Any]) -> str | None:
    code = raw.get("country_code")
    return str(code) if code else None


def unknown_precision(raw: dict[str, Any]) -> str:
    """A service we have no mapping for: claim no more than a locality."""
    return "locality"


def unknown_country(raw: dict[str, Any]) -> str | None:
    return None


QualityReader = tuple[Callable[[dict[str, Any]], str], Callable[[dict[str, Any]], str | None]]
READERS: dict[str, QualityReader] = {
    "offline": (offline_precision, offline_country),
    "nominatim": (nominatim_precision, nominatim_country),
    "photon": (photon_precision, photon_country),
    "pelias": (pelias_precision, pelias_country),
    "google": (google_precision, google_country),
    "googlev3": (google_precision, google_country),
}


def readers_for(service: str) -> QualityReader:
    return READERS.get(service, (unknown_precision, unknown_country))
