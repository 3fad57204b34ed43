"""Geocoding benchmark: the embedded gazetteer's speed, the cache's, and accuracy on real
addresses. ``python -m bench.geocoding [--db sqlite|postgresql|both] [--no-write]``.

Writes ``bench/results/geocoding.md``. Goals: 10,000 addresses in under 5 s, a cached address
in under 1 ms, at least 97 % of the labelled addresses within 10 km in every country.
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.common import fresh_database, machine, make_app, table
from fieldsync.db import unit_of_work
from fieldsync.extensions import db
from fieldsync.geo.geocoding.gazetteer import Gazetteer
from fieldsync.geo.geocoding.matching import GazetteerMatcher
from fieldsync.geo.geocoding.providers import build_provider
from fieldsync.geo.geocoding.results import AddressQuery
from fieldsync.geo.geocoding.service import GeocodingService
from fieldsync.geo.geocoding.settings import GeocodingSettings
from fieldsync.geo.geocoding.text import GAZETTEER_COUNTRIES
from fieldsync.geo.geometry import haversine_km

ROOT = Path(__file__).resolve().parent.parent
LABELLED = ROOT / "tests" / "data" / "geocoding_labelled.csv"
RESULTS = Path(__file__).resolve().parent / "results" / "geocoding.md"
WITHIN_KM = 10.0
GOAL_SHARE = 0.97
GOAL_BATCH_S = 5.0
GOAL_CACHE_MS = 1.0


@dataclass
class Figures:
    load: dict[str, float] = field(default_factory=dict)  # what -> (wall s)
    load_cpu: dict[str, float] = field(default_factory=dict)
    batch_s: float = 0.0
    batch_cpu_s: float = 0.0
    batch_found: int = 0
    batch_count: int = 0
    cache_ms: dict[str, tuple[float, float]] = field(default_factory=dict)  # db -> (median, p95)
    accuracy: list[list[str]] = field(default_factory=list)
    misses: list[list[str]] = field(default_factory=list)
    shares: dict[str, float] = field(default_factory=dict)


# --- load ------------------------------------------------------------------------------------


def measure_load(figures: Figures) -> None:
    """Fresh tables, as a new process would load them: what the first query of one country
    needs, then everything else (``load_all``, as a job warming up would)."""
    gazetteer = Gazetteer()
    wall, cpu = time.perf_counter(), time.process_time()
    _ = gazetteer.localities
    gazetteer.postal("IT")
    gazetteer.localities.find("IT", "milano")
    figures.load["localities + one country (IT)"] = time.perf_counter() - wall
    figures.load_cpu["localities + one country (IT)"] = time.process_time() - cpu
    for what, indexes in (
        ("the nine other countries", False),
        ("place-name indexes, all countries (built on first need)", True),
    ):
        wall, cpu = time.perf_counter(), time.process_time()
        gazetteer.load_all(indexes=indexes)
        figures.load[what] = time.perf_counter() - wall
        figures.load_cpu[what] = time.process_time() - cpu


# --- 10,000 addresses ------------------------------------------------------------------------


def sample_addresses(count: int, seed: int = 11) -> list[AddressQuery]:
    """Real postcodes and places of the ten countries, written as people write them: case
    changed, accents dropped, sometimes the city alone."""
    rng = random.Random(seed)  # reproducible sample
    gazetteer = Gazetteer()
    addresses = []
    for index in range(count):
        country = GAZETTEER_COUNTRIES[index % len(GAZETTEER_COUNTRIES)]
        table_ = gazetteer.postal(country)
        assert table_ is not None
        row = rng.randrange(len(table_.codes))
        code, place = table_.codes[row], table_.places[row]
        if country == "PT" and table_.suffixes[row]:
            code = f"{code}-{rng.choice(table_.suffixes[row].split())}"
        style = rng.random()
        if style < 0.3:
            place = place.upper()
        elif style < 0.5:
            decomposed = unicodedata.normalize("NFKD", place)  # "Créteil" -> "Creteil"
            place = decomposed.encode("ascii", "ignore").decode() or place
        if rng.random() < 0.2:
            addresses.append(AddressQuery(city=place, country=country))
        else:
            addresses.append(
                AddressQuery(street="Via Roma 1", postal_code=code, city=place, country=country)
            )
    return addresses


def measure_batch(figures: Figures, count: int) -> None:
    addresses = sample_addresses(count)
    matcher = GazetteerMatcher()
    matcher.gazetteer.load_all(indexes=True)  # the load is measured on its own
    started, cpu = time.perf_counter(), time.process_time()
    found = sum(1 for address in addresses if matcher.search(address, limit=1))
    figures.batch_s = time.perf_counter() - started
    figures.batch_cpu_s = time.process_time() - cpu
    figures.batch_found, figures.batch_count = found, count


# --- the cache -------------------------------------------------------------------------------


def measure_cache(figures: Figures, databases: list[str], repeats: int = 2000) -> None:
    """A cached address: one primary-key read of the cache table per lookup (the session's
    identity map is emptied each time, so every lookup goes to the database)."""
    service = GeocodingService(build_provider(GeocodingSettings()))
    address = AddressQuery(
        street="Piazza Duca d'Aosta 1", postal_code="20124", city="Milano", country="IT"
    )
    for kind in databases:
        with fresh_database(kind) as url:
            app = make_app(url)
            with app.app_context(), unit_of_work(db.session):
                service.geocode(db.session, address)  # the miss that fills the cache
            timings = []
            with app.app_context(), unit_of_work(db.session):
                for _ in range(repeats):
                    db.session.expunge_all()
                    started = time.perf_counter()
                    outcome = service.geocode(db.session, address)
                    timings.append((time.perf_counter() - started) * 1000)
                    assert outcome.cached
            with app.app_context():
                db.engine.dispose()
        timings.sort()
        figures.cache_ms[kind] = (statistics.median(timings), timings[int(len(timings) * 0.95)])


# --- accuracy --------------------------------------------------------------------------------


def measure_accuracy(figures: Figures, path: Path = LABELLED) -> None:
    """Each labelled address through the production path (the provider's fallback chain)."""
    service = GeocodingService(build_provider(GeocodingSettings()))
    errors: dict[str, list[float]] = defaultdict(list)
    precisions: dict[str, Counter[str]] = defaultdict(Counter)
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        address = AddressQuery.from_mapping(row)
        outcome = service.ask(address)
        country = row["country"]
        truth = float(row["lat"]), float(row["lon"])
        if outcome.match is None:
            errors[country].append(float("inf"))
            precisions[country]["none"] += 1
            figures.misses.append(
                [
                    country,
                    row["name"],
                    f"{row['postal_code']} {row['city']}",
                    "not found",
                    outcome.reason or "",
                ]
            )
            continue
        km = haversine_km(outcome.match.lat, outcome.match.lon, *truth)
        errors[country].append(km)
        precisions[country][outcome.match.precision] += 1
        if km > WITHIN_KM:
            figures.misses.append(
                [
                    country,
                    row["name"],
                    f"{row['postal_code']} {row['city']}",
                    f"{km:.1f} km",
                    outcome.match.label,
                ]
            )
    for country in sorted(errors):
        values = sorted(errors[country])
        within = sum(1 for v in values if v <= WITHIN_KM)
        share = within / len(values)
        figures.shares[country] = share
        finite = [v for v in values if v != float("inf")]
        kinds = ", ".join(f"{k} {n}" for k, n in precisions[country].most_common())
        figures.accuracy.append(
            [
                country,
                str(len(values)),
                f"{within}",
                f"{share:.1%}",
                f"{statistics.median(finite):.1f}" if finite else "-",
                f"{finite[int(len(finite) * 0.9) - 1]:.1f}" if finite else "-",
                f"{max(finite):.1f}" if finite else "-",
                kinds,
            ]
        )


# --- report ----------------------------------------------------------------------------------


ACCURACY_HEADERS = [
    "country",
    "addresses",
    f"within {WITHIN_KM:.0f} km",
    "share",
    "median km",
    "p90 km",
    "max km",
    "precision",
]


def speed_rows(figures: Figures) -> list[list[str]]:
    rows = []
    for what, wall in figures.load.items():
        cpu = figures.load_cpu[what]
        rows.append(
            [
                f"load: {what}",
                "well under 1 s",
                f"{wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms CPU",
            ]
        )
    rows.append(
        [
            f"{figures.batch_count:,} addresses, embedded gazetteer",
            f"< {GOAL_BATCH_S:.0f} s",
            f"{figures.batch_s:.2f} s wall, {figures.batch_cpu_s:.2f} s CPU "
            f"({figures.batch_found:,} located)",
        ]
    )
    for kind, (median, p95) in figures.cache_ms.items():
        rows.append(
            [
                f"a cached address ({kind}), median / p95",
                f"< {GOAL_CACHE_MS:.0f} ms",
                f"{median:.3f} ms / {p95:.3f} ms",
            ]
        )
    return rows


def report(figures: Figures, command: str, started: datetime) -> str:
    info = machine()
    total = sum(int(row[1]) for row in figures.accuracy)
    within = sum(int(row[2]) for row in figures.accuracy)
    lines = [
        "# Geocoding benchmark",
        "",
        "Measured figures; rewritten by `python -m bench.geocoding`.",
        "",
        f"- Date: {started.strftime('%Y-%m-%d %H:%M UTC')}",
        f"- Command: `{command}` (from the repository root, `.venv/bin/python`)",
        f"- Machine: {info['cpus']} CPUs ({info['cpu']}), {info['memory']} memory, {info['os']}",
        "- Other jobs may share the machine: wall times are noisy; CPU times are given too.",
        "",
        "## Speed",
        "",
        table(["figure", "goal", "measured"], speed_rows(figures)),
        "",
        "## Accuracy on real addresses",
        "",
        f"{total} addresses (`tests/data/geocoding_labelled.csv`): street, postal code, city and "
        "country in, the embedded geocoder's best answer out, compared with the published "
        f"coordinates of the place. Within {WITHIN_KM:.0f} km: {within}/{total} "
        f"({within / total:.1%}); goal {GOAL_SHARE:.0%} in every country.",
        "",
        table(ACCURACY_HEADERS, figures.accuracy),
        "",
    ]
    if figures.misses:
        lines += [
            "Misses:",
            "",
            table(["country", "place", "postcode city", "error", "answer"], figures.misses),
            "",
        ]
    lines += [
        "## Findings while building it",
        "",
        "- The first run located 329 of 330 (Austria 31/32, 96.9 %, under the goal). The miss, "
        "Graz Hauptbahnhof (8020 Graz), came out 10.4 km off: GeoNames puts every row of 8020 "
        "at one point 9 km east of the town, with accuracy 1 ('estimated'). The matcher now "
        "checks an estimated postcode against the town it names: when the estimate lies "
        "outside the town's rough extent, it answers the town's own point (precision "
        "`locality`). The rule is general (accuracy 1 marks about 10 % of the postcode lines, "
        "most of them in Portugal and Spain) and changed no other answer of this set.",
        "- Potsdam's 14473 was missing: the build drops German rows of accuracy 0 (company "
        "postcodes such as 'Daimler Insurance Services GmbH'), and a few ordinary town codes "
        "have that accuracy too. The build now keeps an accuracy-0 row when its whole name is a "
        "German town within 20 km of it (208 rows kept, no company among them).",
        "",
        "## How it is measured",
        "",
        "- Load: a new `Gazetteer` (as in a fresh process): the localities table and Italy's "
        "postcodes with Italy's name index (what a first Italian query needs), then the nine "
        "other countries (each loads when first asked for), then the postcode tables' "
        "place-name indexes, which only a city missing from the localities needs.",
        "- 10,000 addresses: real postcodes and places sampled from the gazetteer's own tables "
        "across the ten countries (each in turn), 30 % upper-cased, 20 % "
        "with accents dropped, 20 % with the city alone; matched one by one in one thread, "
        "after `load_all(indexes=True)`. This measures speed, not accuracy (the sample comes "
        "from the data it is matched against).",
        "- A cached address: `GeocodingService.geocode` on an address already in the "
        "`geocode_cache` table, the ORM identity map emptied before each lookup so that each "
        "one is a primary-key read of the database; one transaction, 2,000 lookups.",
        "- Accuracy: the labelled set is independent of GeoNames: the published coordinates "
        "(Wikipedia) of main railway stations, town halls, cathedrals and universities, "
        "transcribed by hand, each row naming the kind of place. Their own uncertainty is about "
        "1 km, small against the 10 km threshold. Each address goes through the production "
        "path (`GeocodingService.ask`: the provider's fallback chain over the gazetteer). The "
        "gazetteer answers at postcode or locality precision, never finer, so this measures "
        "'is the client in the right town', which is what the embedded default promises.",
    ]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.geocoding", description=__doc__)
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--count", type=int, default=10_000, help="addresses in the batch")
    parser.add_argument("--no-write", action="store_true", help=f"do not rewrite {RESULTS}")
    args = parser.parse_args(argv)
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    started = datetime.now(UTC)
    figures = Figures()
    measure_load(figures)
    measure_batch(figures, args.count)
    measure_cache(figures, databases)
    measure_accuracy(figures)
    text = report(figures, " ".join(["python -m bench.geocoding", *argv]), started)
    print(text)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(text)
        print(f"wrote {RESULTS.relative_to(ROOT)}")
    met = (
        figures.batch_s < GOAL_BATCH_S
        and all(median < GOAL_CACHE_MS for median, _ in figures.cache_ms.values())
        and all(share >= GOAL_SHARE for share in figures.shares.values())
    )
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
