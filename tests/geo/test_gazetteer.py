"""The embedded gazetteer: names in local and English spellings, postcodes per country, never a
place in another country, reverse lookup; and its geopy interface. No database, no network."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from geopy.geocoders.base import Geocoder
from geopy.location import Location

from fieldsync.geo.geocoding.gazetteer import DATA_DIR
from fieldsync.geo.geocoding.matching import GazetteerMatcher
from fieldsync.geo.geocoding.offline import OfflineGeocoder
from fieldsync.geo.geocoding.results import AddressQuery, Match
from fieldsync.geo.geocoding.text import fold, postcode_keys
from fieldsync.geo.geometry import haversine_km


@pytest.fixture(scope="module")
def matcher() -> GazetteerMatcher:
    return GazetteerMatcher()


def best(matcher: GazetteerMatcher, **address: str) -> Match:
    found = matcher.search(AddressQuery.from_mapping(address))
    assert found, f"nothing found for {address}"
    return found[0]


def km(a: Match, b: Match) -> float:
    return haversine_km(a.lat, a.lon, b.lat, b.lon)


# --- names -----------------------------------------------------------------------------------

SAME_PLACE = [
    ("IT", ("Milano", "Milan", "MILANO", "milan")),
    ("DE", ("München", "Munich", "Muenchen", "MUNCHEN")),
    ("CH", ("Genève", "Geneva", "Genf", "geneve")),
    ("ES", ("Sevilla", "Seville", "Séville")),
    ("DE", ("Köln", "Cologne", "Koeln")),
    ("BE", ("Bruxelles", "Brussel", "Brussels")),
    ("AT", ("Wien", "Vienna")),
    ("PT", ("Lisboa", "Lisbon")),
]


@pytest.mark.parametrize(("country", "names"), SAME_PLACE, ids=[n[0] for _, n in SAME_PLACE])
def test_local_and_english_names_find_the_same_place(
    matcher: GazetteerMatcher, country: str, names: tuple[str, ...]
) -> None:
    first = best(matcher, city=names[0], country=country)
    assert first.precision == "locality"
    for name in names[1:]:
        other = best(matcher, city=name, country=country)
        assert km(first, other) < 1, f"{name!r} is {km(first, other):.1f} km from {names[0]!r}"
    # Without the country, the most populous place of that name in the ten countries wins.
    assert best(matcher, city=names[1]).country == country


def test_the_label_keeps_the_spelling_that_was_asked_for(matcher: GazetteerMatcher) -> None:
    assert best(matcher, city="München", country="DE").label.startswith("München")
    assert best(matcher, city="Munich", country="DE").label.startswith("Munich")


def test_abbreviated_saints_and_dropped_qualifiers(matcher: GazetteerMatcher) -> None:
    saint = best(matcher, city="St-Étienne", country="FR")
    assert haversine_km(saint.lat, saint.lon, 45.434, 4.390) < 3, saint
    frankfurt = best(matcher, city="Frankfurt", country="DE")
    assert abs(frankfurt.lat - 50.11) < 0.05 and abs(frankfurt.lon - 8.68) < 0.05, frankfurt
    main = best(matcher, city="Frankfurt am Main", country="DE")
    assert km(frankfurt, main) < 1


def test_folding_ignores_case_accents_and_punctuation() -> None:
    assert fold("  Saint-Étienne ") == fold("SAINT ETIENNE") == "saint etienne"
    assert fold("Łódź") == "lodz"
    assert fold("Straße") == "strasse"


# --- postcodes -------------------------------------------------------------------------------

POSTCODES = [
    ("GB", "SW1A 1AA", ["SW1A", "SW1"]),
    ("GB", "sw1a1aa", ["SW1A", "SW1"]),
    ("GB", "M1 1AE", ["M1"]),
    ("NL", "1011 AB", ["1011"]),
    ("NL", "1011ab", ["1011"]),
    ("PT", "1100-148", ["1100-148", "1100"]),
    ("PT", "1100148", ["1100-148", "1100"]),
    ("PT", "1100", ["1100"]),
    ("ES", "8001", ["08001"]),  # a spreadsheet lost the leading zero
    ("DE", "D-80331", ["80331"]),
    ("CH", "CH-8001", ["8001"]),
    ("FR", "69361 CEDEX 07", ["69361"]),
    ("IT", "I-20121", ["20121"]),
    ("IT", "2012", ["02012"]),  # Amatrice: Italian codes lose their zero in spreadsheets too
    ("IT", "201", []),
    ("DE", "ABCDE", []),
    ("AT", "123456", []),
]


@pytest.mark.parametrize(("country", "raw", "keys"), POSTCODES)
def test_postcodes_are_normalised_per_country(country: str, raw: str, keys: list[str]) -> None:
    assert postcode_keys(country, raw) == keys


CENTROIDS = [  # (address, true centre of the postcode's town, km tolerance)
    ({"postal_code": "20121", "city": "Milano", "country": "IT"}, (45.472, 9.189), 3),
    ({"postal_code": "75008", "city": "Paris", "country": "FR"}, (48.872, 2.313), 3),
    ({"postal_code": "SW1A 1AA", "city": "London", "country": "GB"}, (51.501, -0.142), 3),
    ({"postal_code": "1011 AB", "city": "Amsterdam", "country": "NL"}, (52.372, 4.900), 3),
    ({"postal_code": "1100-148", "city": "Lisboa", "country": "PT"}, (38.711, -9.137), 5),
    ({"postal_code": "4050", "city": "Porto", "country": "PT"}, (41.149, -8.611), 5),
    ({"postal_code": "8001", "city": "Zürich", "country": "CH"}, (47.372, 8.542), 3),
    ({"postal_code": "1010", "city": "Wien", "country": "AT"}, (48.208, 16.372), 3),
    ({"postal_code": "1000", "city": "Bruxelles", "country": "BE"}, (50.847, 4.352), 3),
    ({"postal_code": "8001", "city": "Barcelona", "country": "ES"}, (41.380, 2.170), 3),
    ({"postal_code": "80331", "city": "München", "country": "DE"}, (48.137, 11.575), 3),
]


@pytest.mark.parametrize(("address", "point", "tolerance"), CENTROIDS)
def test_a_postcode_with_its_city_gives_the_postcode_centroid(
    matcher: GazetteerMatcher, address: dict[str, str], point: tuple[float, float], tolerance: float
) -> None:
    found = best(matcher, **address)
    assert found.precision == "postcode", found
    assert found.raw["city_agrees"] is True, found.raw
    distance = haversine_km(found.lat, found.lon, *point)
    assert distance < tolerance, f"{found.label} is {distance:.1f} km from {point}"


def test_a_city_that_contradicts_the_postcode_comes_first(matcher: GazetteerMatcher) -> None:
    found = matcher.search(AddressQuery(postal_code="20121", city="Roma", country="IT"))
    assert [m.precision for m in found[:2]] == ["locality", "postcode"], found
    assert found[0].city == "Roma" and found[1].postal_code == "20121"


def test_an_unknown_city_keeps_the_postcode(matcher: GazetteerMatcher) -> None:
    found = best(matcher, postal_code="20121", city="Xyzzyville", country="IT")
    assert found.precision == "postcode" and found.postal_code == "20121"


def test_a_postcode_alone_is_enough(matcher: GazetteerMatcher) -> None:
    assert best(matcher, postal_code="10115", country="DE").precision == "postcode"


def test_an_unknown_postcode_falls_back_to_the_city(matcher: GazetteerMatcher) -> None:
    found = best(matcher, postal_code="99999", city="Bologna", country="IT")
    assert found.precision == "locality" and found.city == "Bologna"


# --- countries -------------------------------------------------------------------------------


def test_never_a_place_in_another_country(matcher: GazetteerMatcher) -> None:
    assert matcher.search(AddressQuery(city="Milano", country="FR")) == []
    for found in matcher.search(AddressQuery(city="Cologne", country="FR"), limit=10):
        assert found.country == "FR"
    assert matcher.search(AddressQuery(city="Paris", country="US")) == [], "no data: no answer"


def test_the_country_may_be_a_name_in_several_languages() -> None:
    assert AddressQuery.from_mapping({"city": "X", "country": "Deutschland"}).country == "DE"
    assert AddressQuery.from_mapping({"city": "X", "country": "Royaume-Uni"}).country == "GB"
    assert AddressQuery.from_mapping({"city": "X", "country": "uk"}).country == "GB"


# --- free text -------------------------------------------------------------------------------

FREE_TEXT = [
    ("Via Roma 1, 20121 Milano, Italia", "IT", "postcode"),
    ("10115 Berlin", "DE", "postcode"),
    ("Bahnhofplatz 1, 8001 Zürich, Schweiz", "CH", "postcode"),
    ("Plaça de Catalunya, 08002 Barcelona, Spain", "ES", "postcode"),
    ("10 Downing Street, London SW1A 2AA", "GB", "postcode"),
    ("Rua Augusta 1, 1100-048 Lisboa", "PT", "postcode"),
    ("Köln Deutschland", "DE", "locality"),
    ("Geneva", "CH", "locality"),
]


@pytest.mark.parametrize(("query", "country", "precision"), FREE_TEXT)
def test_free_text(matcher: GazetteerMatcher, query: str, country: str, precision: str) -> None:
    found = matcher.search_text(query)
    assert found, query
    assert (found[0].country, found[0].precision) == (country, precision), found[0]


def test_nonsense_finds_nothing(matcher: GazetteerMatcher) -> None:
    assert matcher.search_text("qwertyuiop asdfghjkl") == []
    assert matcher.search(AddressQuery(street="Via Roma 1", country="IT")) == []


# --- reverse ---------------------------------------------------------------------------------


def test_reverse_names_the_nearest_place_and_its_distance(matcher: GazetteerMatcher) -> None:
    found = matcher.reverse(45.4641, 9.1919)  # Piazza del Duomo, Milan
    assert found is not None
    assert found.address["city"] == "Milano" and found.address["country"] == "IT"
    assert found.address["postal_code"] and found.address["region"] == "Lombardia"
    assert found.precision == "locality" and found.distance_km < 2
    assert found.label.endswith("Italy")


def test_reverse_far_from_everything_is_nothing(matcher: GazetteerMatcher) -> None:
    assert matcher.reverse(44.0, -20.0) is None  # the Atlantic
    assert matcher.reverse(40.71, -74.0) is None  # New York: not in the data


# --- the geopy interface ---------------------------------------------------------------------


def test_it_is_a_geopy_geocoder() -> None:
    geocoder = OfflineGeocoder()
    assert isinstance(geocoder, Geocoder)
    found = geocoder.geocode({"postalcode": "20121", "city": "Milano", "country": "IT"})
    assert isinstance(found, Location)
    assert found.raw["precision"] == "postcode" and found.raw["country_code"] == "IT"
    address, (lat, lon) = found  # a geopy Location unpacks so
    assert "Milano" in address and 45 < lat < 46 and 9 < lon < 10
    several = geocoder.geocode("Cologne", exactly_one=False, limit=3)
    assert isinstance(several, list) and len(several) == 3
    assert geocoder.geocode("Cologne", country_codes="it").raw["country_code"] == "IT"
    assert geocoder.geocode({"city": "Milano", "country": "FR"}) is None
    reverse = geocoder.reverse("48.8566, 2.3522")
    assert reverse.raw["address"]["city"] == "Paris" and reverse.raw["distance_km"] < 2


def test_it_never_touches_the_network() -> None:
    geocoder = OfflineGeocoder()
    with pytest.raises(RuntimeError, match="never makes requests"):
        geocoder.adapter.get_json("https://example.invalid/", timeout=1, headers={})


# --- the data --------------------------------------------------------------------------------


def test_the_data_is_small_attributed_and_clean() -> None:
    files = sorted(DATA_DIR.glob("*.tsv.gz"))
    assert len(files) == 11
    assert sum(f.stat().st_size for f in files) < 8 * 1024 * 1024
    german = gzip.decompress((DATA_DIR / "postcodes-DE.tsv.gz").read_bytes()).decode()
    assert "GmbH" not in german, "company postcodes (accuracy 0) must be filtered out"
    notice = (Path(__file__).resolve().parents[2] / "NOTICE").read_text()
    assert "GeoNames" in notice and "CC BY 4.0" in notice
