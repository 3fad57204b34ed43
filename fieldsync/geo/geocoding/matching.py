"""Matching addresses against the embedded gazetteer: postcode first, checked against the city,
then the locality; never a place in another country than the address names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fieldsync.geo.geocoding.freetext import parse_free_text
from fieldsync.geo.geocoding.gazetteer import (
    DATA_VERSION,
    Gazetteer,
    PostalTable,
    extent_km,
    haversine_km,
    shared_gazetteer,
)
from fieldsync.geo.geocoding.results import AddressQuery, Match, ReverseMatch
from fieldsync.geo.geocoding.text import (
    GAZETTEER_COUNTRIES,
    country_name,
    display_postcode,
    postcode_keys,
    query_keys,
)
from fieldsync.geo.geometry import haversine_km as scalar_haversine_km

# Part of the offline cache key with the data release: answers cached by an older matcher are
# not served by a newer one. Bump it whenever a change can alter an answer.
MATCHER_VERSION = 2
# Beyond this, the nearest known place says nothing useful about a point (open sea, abroad).
MAX_REVERSE_KM = 30.0
# How far a postcode may lie from the centre of the city it is written with, by city size.
AGREE_KM = ((1_000_000, 40.0), (250_000, 25.0), (0, 15.0))


@dataclass(frozen=True)
class _Candidate:
    match: Match
    tier: int  # 4 postcode and city agree, 3 one given alone, 2/1 they disagree
    weight: float  # population or size: orders candidates of one tier


def _agree_km(population: int) -> float:
    return next(km for floor, km in AGREE_KM if population >= floor)


def _distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    return scalar_haversine_km(lat1, lon1, lat2, lon2)


class GazetteerMatcher:
    """Structured and free-text search, and reverse lookup, over a gazetteer."""

    def __init__(self, gazetteer: Gazetteer | None = None) -> None:
        self.gazetteer = gazetteer or shared_gazetteer()

    # --- forward -------------------------------------------------------------------------

    def search(self, address: AddressQuery, limit: int = 5) -> list[Match]:
        """Places the address may be, best first; [] when nothing fits."""
        if address.country and address.country not in GAZETTEER_COUNTRIES:
            return []  # we hold no data there, and a match elsewhere would be wrong
        candidates: list[_Candidate] = []
        for country in self._countries(address):
            candidates.extend(self._in_country(country, address, limit))
        return self._best(candidates, limit)

    def search_text(self, query: str, limit: int = 5) -> list[Match]:
        """Free text ("Via Roma 1, 20121 Milano, Italia"): read it as addresses and search."""
        candidates: list[_Candidate] = []
        for rank, address in enumerate(parse_free_text(query)):
            if address.country and address.country not in GAZETTEER_COUNTRIES:
                return []
            for country in self._countries(address):
                for candidate in self._in_country(country, address, limit):
                    # Earlier readings of the text are likelier: "Milano" before "Via Roma".
                    candidates.append(
                        _Candidate(candidate.match, candidate.tier - rank * 2, candidate.weight)
                    )
        return self._best(candidates, limit)

    @staticmethod
    def _best(candidates: list[_Candidate], limit: int) -> list[Match]:
        candidates.sort(key=lambda c: (-c.tier, -c.weight))
        seen: set[tuple[float, float, str]] = set()
        best: list[Match] = []
        for candidate in candidates:
            key = (
                round(candidate.match.lat, 3),
                round(candidate.match.lon, 3),
                candidate.match.precision,
            )
            if key not in seen:
                seen.add(key)
                best.append(candidate.match)
            if len(best) == limit:
                break
        return best

    @staticmethod
    def _countries(address: AddressQuery) -> list[str]:
        if address.country:
            return [address.country]
        if address.postal_code:  # the postcode's shape narrows the countries down
            shaped = [c for c in GAZETTEER_COUNTRIES if postcode_keys(c, address.postal_code)]
            if shaped:
                return shaped
        return list(GAZETTEER_COUNTRIES)

    def _in_country(self, country: str, address: AddressQuery, limit: int) -> list[_Candidate]:
        table = self.gazetteer.postal(country)
        if table is None:
            return []
        city_keys = query_keys(address.city, country) if address.city else []
        places = self._localities(country, city_keys, address.city) if city_keys else []
        out: list[_Candidate] = []
        code, rows = self._postcode_rows(table, address.postal_code)
        agreed = False
        if rows:
            candidate = self._postcode_candidate(table, code, rows, city_keys, places)
            agreed = candidate.tier == 4
            out.append(candidate)
        if city_keys and not agreed:
            tier = 2 if rows else 3  # a city that contradicts the postcode is a weaker guess
            out.extend(_Candidate(match, tier, weight) for match, weight in places[:limit])
            if not places:
                out.extend(self._postal_place(table, city_keys, tier))
        return out

    @staticmethod
    def _postcode_rows(table: PostalTable, postal_code: str | None) -> tuple[str, list[int]]:
        for key in postcode_keys(table.country, postal_code):
            rows = table.rows_for(key)
            if rows:
                return key, rows
        return "", []

    def _postcode_candidate(
        self,
        table: PostalTable,
        code: str,
        rows: list[int],
        city_keys: list[str],
        places: list[tuple[Match, float]],
    ) -> _Candidate:
        """The postcode's centroid, checked against the city when one is given."""
        named = [row for row in rows if _names_agree(city_keys, table.row_keys(row))]
        used = named or rows  # the city is one of the postcode's places: the specific point
        lat, lon = table.centroid(used)
        near = [
            m
            for m, weight in places
            if _distance_km(lat, lon, m.lat, m.lon) <= _agree_km(int(weight))
        ]
        if named:
            city, tier = table.places[named[0]], 4
        elif not city_keys:
            city, tier = table.places[rows[0]], 3
        elif near:  # "London" for SW1: the city holds the postcode
            city, tier = near[0].city or table.places[rows[0]], 4
        else:  # unknown city (a hamlet, a typo) keeps the postcode; a known one beats it
            city, tier = table.places[rows[0]], 1 if places else 3
        precision = "postcode"
        if tier == 4 and near and table.estimated(used):
            # GeoNames only estimated where this postcode lies (accuracy 1). Outside the town
            # it names (Graz's 8020 sits 9 km out), the estimate is wrong: the town's own
            # surveyed point is the better answer.
            town = near[0]
            population = int(town.raw.get("population") or 0)
            if _distance_km(lat, lon, town.lat, town.lon) > float(extent_km(population)):
                lat, lon, precision = town.lat, town.lon, "locality"
        country = table.country
        shown = display_postcode(country, code) if "-" in code or country != "PT" else code
        region = table.regions[rows[0]] or None
        label = ", ".join(p for p in (f"{shown} {city}", region, country_name(country)) if p)
        raw = {
            "source": "geonames",
            "data_version": DATA_VERSION,
            "precision": precision,
            "country_code": country,
            "postcode": shown,
            "place": city,
            "region": region,
            "rows": len(rows),
            "city_agrees": tier == 4 if city_keys else None,
            "estimated": table.estimated(used),
        }
        match = Match(
            round(lat, 5), round(lon, 5), precision, label, country, shown, city, region, raw
        )
        return _Candidate(match, tier, float(len(rows)))

    def _localities(
        self, country: str, keys: list[str], typed: str | None = None
    ) -> list[tuple[Match, float]]:
        """Populated places named so, most populous first; whole-word prefixes if none."""
        table = self.gazetteer.localities
        found: dict[int, str] = {}
        for key in keys:
            for row in table.find(country, key):
                found.setdefault(row, key)
        if not found:
            for key in keys:
                for row in table.find_prefix(country, key):
                    found.setdefault(row, key)
        ordered = sorted(found.items(), key=lambda item: -table.population(item[0]))
        out = []
        for row, key in ordered:
            name = table.written_name(row, key, typed)
            population = table.population(row)
            lat, lon = table.point(row)
            raw = {
                "source": "geonames",
                "data_version": DATA_VERSION,
                "precision": "locality",
                "country_code": country,
                "place": name,
                "population": population,
            }
            match = Match(
                round(lat, 5),
                round(lon, 5),
                "locality",
                f"{name}, {country_name(country)}",
                country,
                None,
                name,
                None,
                raw,
            )
            out.append((match, float(population)))
        return out

    @staticmethod
    def _postal_place(table: PostalTable, keys: list[str], tier: int) -> list[_Candidate]:
        """A place known only from the postcode data (a hamlet below 500 people): the densest
        group of rows with its name, so one namesake far away does not drag the point."""
        rows = sorted({row for key in keys for row in table.rows_named(key)})[:200]
        if not rows:
            return []
        all_lats, all_lons = table.arrays()
        lats, lons = all_lats[rows], all_lons[rows]
        groups = [
            [
                r
                for r, d in zip(
                    rows, haversine_km(float(lats[i]), float(lons[i]), lats, lons), strict=True
                )
                if d <= 15.0
            ]
            for i in range(len(rows))
        ]
        group = max(groups, key=len)
        lat, lon = table.centroid(group)
        name = table.places[group[0]]
        raw = {
            "source": "geonames",
            "data_version": DATA_VERSION,
            "precision": "locality",
            "country_code": table.country,
            "place": name,
            "rows": len(group),
        }
        match = Match(
            round(lat, 5),
            round(lon, 5),
            "locality",
            f"{name}, {country_name(table.country)}",
            table.country,
            None,
            name,
            table.regions[group[0]] or None,
            raw,
        )
        return [_Candidate(match, tier, 0.0)]

    # --- reverse -------------------------------------------------------------------------

    def reverse(self, lat: float, lon: float) -> ReverseMatch | None:
        """The populated place a point is in (see ``LocalityTable.place_at``) and how far
        its centre is; the nearest postcode centroid of its country when one lies within
        5 km (the postcode data has no boundaries, so this is a likely code, not a proof)."""
        if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat + lon):
            return None
        table = self.gazetteer.localities
        found = table.place_at(lat, lon, MAX_REVERSE_KM)
        if found is None:
            return None
        row, distance = found
        country = table.countries[row]
        city = table.names[row]
        postal_code = region = None
        postal = self.gazetteer.postal(country)
        if postal is not None and len(postal.codes):
            distances = haversine_km(lat, lon, *postal.arrays())
            nearest = int(np.argmin(distances))
            region = postal.regions[nearest] or None
            if float(distances[nearest]) <= 5.0:
                postal_code = postal.codes[nearest]
            # The postcode data writes places the local way ("Milano", not "Milan").
            if set(postal.row_keys(nearest)) & set(table.keys[row].split("|")):
                city = postal.places[nearest]
        address = {
            "street": None,
            "postal_code": postal_code,
            "city": city,
            "region": region,
            "country": country,
        }
        town = " ".join(p for p in (postal_code, city) if p)
        label = ", ".join(p for p in (town, region, country_name(country)) if p)
        return ReverseMatch(address, label, "locality", round(distance, 2))


def _names_agree(city_keys: list[str], place_keys: list[str]) -> bool:
    """A typed city and a postcode's place name are the same place: equal, or one is the
    other plus a district ("Paris" / "Paris 01", "Wien" / "Wien, Josefstadt")."""
    for city in city_keys:
        for place in place_keys:
            if city == place or place.startswith(city + " ") or city.startswith(place + " "):
                return True
    return False
