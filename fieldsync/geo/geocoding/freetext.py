"""Reading a one-line address ("Via Roma 1, 20121 Milano, Italia") as structured guesses."""

from __future__ import annotations

import re

from fieldsync.geo.geocoding.results import AddressQuery
from fieldsync.geo.geocoding.text import COUNTRY_NAMES, fold

_COUNTRY_KEYS = {fold(name): code for code, names in COUNTRY_NAMES.items() for name in names}
_COUNTRY_KEYS.update({code.lower(): code for code in COUNTRY_NAMES})
_COUNTRY_KEYS["uk"] = "GB"

# Most specific shapes first: a Portuguese or British code before any run of digits.
_POSTCODE_PATTERNS = (
    re.compile(r"\b\d{4}-\d{3}\b"),
    re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE),
    re.compile(r"\b\d{4}\s?[A-Z]{2}\b"),
    re.compile(r"\b[A-Z]{1,2}-\d{4,5}\b"),
    re.compile(r"\b\d{4,5}\b"),
)
_SEPARATORS = re.compile(r"[,;\n]+")
_HOUSE_NUMBER = re.compile(r"\d")


def _split_country(parts: list[str]) -> str | None:
    """Take a trailing country name off the parts (a whole part or its last words)."""
    if not parts:
        return None
    last = fold(parts[-1])
    if last in _COUNTRY_KEYS:
        parts.pop()
        return _COUNTRY_KEYS[last]
    words = parts[-1].split()
    for size in (3, 2, 1):
        if len(words) > size and fold(" ".join(words[-size:])) in _COUNTRY_KEYS:
            parts[-1] = " ".join(words[:-size])
            return _COUNTRY_KEYS[fold(" ".join(words[-size:]))]
    return None


def _find_postcode(parts: list[str]) -> tuple[int, str, str] | None:
    """(part index, postcode, the rest of that part), searching from the last part: the
    postcode sits near the end of an address, house numbers near the start."""
    for pattern in _POSTCODE_PATTERNS:
        for index in range(len(parts) - 1, -1, -1):
            found = pattern.search(parts[index])
            if found:
                text = parts[index]
                rest = (text[: found.start()] + " " + text[found.end() :]).strip(" -")
                return index, found.group(0), " ".join(rest.split())
    return None


def parse_free_text(query: str) -> list[AddressQuery]:
    """Structured readings of a free-text address, likeliest first (at most three)."""
    parts = [" ".join(p.split()) for p in _SEPARATORS.split(query) if p.strip()]
    country = _split_country(parts)
    postcode = None
    cities: list[str] = []
    found = _find_postcode(parts)
    if found:
        index, postcode, rest = found
        if rest:
            cities.append(rest)  # "20121 Milano": the town follows its postcode
        parts = parts[:index] + parts[index + 1 :]
    # Then the other parts from the last one; parts with digits are streets ("Via Roma 1").
    for part in reversed(parts):
        if part not in cities and not _HOUSE_NUMBER.search(part):
            cities.append(part)
    street = parts[0] if parts and parts[0] not in cities[:1] else None
    readings = [
        AddressQuery(street=street, postal_code=postcode, city=city, country=country)
        for city in cities[:3]
    ]
    if not readings and (postcode or country):
        readings.append(AddressQuery(street=street, postal_code=postcode, country=country))
    return readings
