"""Text rules of addresses: folding names, country names, postcodes per country, cache keys.

Everything here is pure and fast: the gazetteer, the providers and the cache key share it, so
"Milano", "MILANO" and "milano " are one address everywhere.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable

# The countries the embedded gazetteer covers.
GAZETTEER_COUNTRIES = ("IT", "FR", "ES", "DE", "CH", "AT", "BE", "NL", "PT", "GB")

# Letters NFKD does not decompose into a base letter plus accents.
_SPECIAL_LETTERS = str.maketrans(
    {"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae", "œ": "oe", "\u0131": "i"}
)
_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """Case-, accent- and punctuation-insensitive key: "Sankt-Pölten " -> "sankt polten"."""
    lowered = unicodedata.normalize("NFKD", text.casefold()).translate(_SPECIAL_LETTERS)
    stripped = "".join(ch for ch in lowered if not unicodedata.combining(ch))
    return _NOT_ALNUM.sub(" ", stripped).strip()


_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
_PARENTHESES = re.compile(r"\s*\([^)]*\)")


def name_keys(name: str) -> set[str]:
    """Every key a place name is found under.

    Germans write "Muenchen" when they cannot type "München", so both spellings are keys;
    "Halle (Saale)" is also "Halle"; "Valencia/València" is each of its halves.
    """
    keys: set[str] = set()
    for part in {name, *name.split("/")}:
        for variant in (part, part.translate(_UMLAUTS), _PARENTHESES.sub("", part)):
            key = fold(variant)
            if key:
                keys.add(key)
    return keys


# Abbreviations in city names, by the languages of each country.
_SAINT_FR = {"st": "saint", "ste": "sainte", "sts": "saints"}
_SAINT_DE = {"st": "sankt"}
_ABBREVIATIONS = {
    "FR": _SAINT_FR,
    "BE": _SAINT_FR,
    "CH": {**_SAINT_FR, **_SAINT_DE},
    "DE": _SAINT_DE,
    "AT": _SAINT_DE,
    "GB": {"st": "saint"},
}
# Qualifiers people drop ("Frankfurt am Main" -> "Frankfurt"), tried when nothing else matched.
_QUALIFIERS = re.compile(
    r" (am|an der|im|in|bei|ob der|sur|sous|les|sul|sulla|al|de la|upon|on) .*$|\s*\(.*$"
)


def query_keys(city: str, country: str | None) -> list[str]:
    """Keys to look a typed city name up by, most literal first."""
    keys = [fold(city)]
    expansions = _ABBREVIATIONS.get(country or "", {})
    if not country:
        expansions = {**_SAINT_FR, **_SAINT_DE}
    words = keys[0].split()
    if any(word in expansions for word in words):
        keys.append(" ".join(expansions.get(word, word) for word in words))
    shortened = _QUALIFIERS.sub("", city.strip())
    if shortened and shortened != city.strip():
        keys.append(fold(shortened))
    return [key for index, key in enumerate(keys) if key and key not in keys[:index]]


# --- countries -------------------------------------------------------------------------------

COUNTRY_NAMES: dict[str, tuple[str, ...]] = {
    "IT": ("Italy", "Italia", "Italien", "Italie", "ITA"),
    "FR": ("France", "Frankreich", "Francia", "França", "FRA"),
    "ES": ("Spain", "España", "Spanien", "Espagne", "Spagna", "Espanha", "ESP"),
    "DE": (
        "Germany",
        "Deutschland",
        "Allemagne",
        "Germania",
        "Alemania",
        "Alemanha",
        "DEU",
        "Bundesrepublik Deutschland",
    ),
    "CH": (
        "Switzerland",
        "Schweiz",
        "Suisse",
        "Svizzera",
        "Suiza",
        "Suíça",
        "Svizra",
        "CHE",
        "Helvetia",
    ),
    "AT": ("Austria", "Österreich", "Autriche", "AUT"),
    "BE": ("Belgium", "België", "Belgique", "Belgien", "Belgio", "Bélgica", "BEL"),
    "NL": (
        "Netherlands",
        "The Netherlands",
        "Nederland",
        "Holland",
        "Pays-Bas",
        "Niederlande",
        "Paesi Bassi",
        "Países Bajos",
        "NLD",
    ),
    "PT": ("Portugal", "Portogallo", "PRT"),
    "GB": (
        "United Kingdom",
        "UK",
        "Great Britain",
        "Britain",
        "England",
        "Scotland",
        "Wales",
        "Northern Ireland",
        "Royaume-Uni",
        "Regno Unito",
        "Vereinigtes Königreich",
        "Reino Unido",
        "GBR",
    ),
}
ENGLISH_COUNTRY_NAME = {code: names[0] for code, names in COUNTRY_NAMES.items()}
_COUNTRY_BY_KEY = {fold(name): code for code, names in COUNTRY_NAMES.items() for name in names}
_COUNTRY_BY_KEY.update({code.lower(): code for code in COUNTRY_NAMES})
_COUNTRY_BY_KEY["uk"] = "GB"


def country_code(value: str | None) -> str | None:
    """An ISO 3166-1 alpha-2 code from a code or a country name in a common language."""
    if not value:
        return None
    key = fold(value)
    if key in _COUNTRY_BY_KEY:
        return _COUNTRY_BY_KEY[key]
    if len(key) == 2 and key.isalpha():
        return key.upper()  # a code outside the gazetteer's countries: kept, never guessed
    return None


def country_name(code: str | None) -> str:
    return ENGLISH_COUNTRY_NAME.get(code or "", code or "")


# --- postcodes -------------------------------------------------------------------------------

# Country prefixes written before postcodes in European mail ("D-80331", "CH-8001").
_PREFIX = re.compile(r"^(?:[A-Z]{1,3})\s*-\s*(?=\d)")
_DIGITS_ONLY = re.compile(r"\D")
_GB_POSTCODE = re.compile(r"^([A-Z]{1,2}\d[A-Z\d]?)(\d[A-Z]{2})?$")
POSTCODE_LENGTH = {"IT": 5, "FR": 5, "ES": 5, "DE": 5, "CH": 4, "AT": 4, "BE": 4, "NL": 4}


def postcode_keys(country: str, raw: str | None) -> list[str]:
    """The keys the gazetteer knows a postcode by, most precise first; [] when malformed.

    GB data has outward codes ("SW1"): "SW1A 1AA" -> ["SW1A", "SW1"]. NL keeps its 4 digits.
    PT keeps 7 digits "1000-001", then the 4-digit area "1000". Spreadsheets lose leading
    zeros ("8001" for Barcelona's "08001"), so a 5-digit code one digit short is padded.
    """
    if not raw:
        return []
    code = " ".join(str(raw).upper().split())
    code = re.sub(r"\s*CEDEX.*$", "", code)
    code = _PREFIX.sub("", code)
    if country == "GB":
        match = _GB_POSTCODE.match(code.replace(" ", ""))
        if not match:
            return []
        outward = match.group(1)
        keys = [outward]
        if outward[-1].isalpha() and len(outward) > 2:
            keys.append(outward[:-1])  # "SW1A" is a sub-district of "SW1"
        return keys
    if country == "PT":
        digits = _DIGITS_ONLY.sub("", code)
        if len(digits) == 7:
            return [f"{digits[:4]}-{digits[4:]}", digits[:4]]
        return [digits] if len(digits) == 4 else []
    if country == "NL":
        match = re.match(r"^(\d{4})\s*([A-Z]{2})?$", code)
        return [match.group(1)] if match else []
    length = POSTCODE_LENGTH.get(country)
    digits = _DIGITS_ONLY.sub("", code)
    if length is None:
        return [code] if code else []
    if len(digits) == length - 1 and length == 5 and digits == code:
        digits = "0" + digits
    return [digits] if len(digits) == length and len(code) <= length + 2 else []


def display_postcode(country: str, raw: str | None) -> str | None:
    """The postcode as the country writes it, for cache keys and labels."""
    keys = postcode_keys(country, raw)
    if not keys:
        return " ".join(str(raw).upper().split()) if raw else None
    if country in {"GB", "NL"}:
        return " ".join(str(raw).upper().split())  # the full code is more than our key
    return keys[0]


# --- cache keys ------------------------------------------------------------------------------


def address_key(parts: Iterable[tuple[str, str | None]]) -> tuple[str, str]:
    """The normalised text of a structured address and its SHA-256 (the cache key).

    Structured fields stay separate ("street=...|city=...") so a street never matches a city.
    """
    text = "|".join(
        f"{name}={fold(value) if name != 'postal_code' else value}"
        for name, value in parts
        if value
    )
    return text, hashlib.sha256(text.encode("utf-8")).hexdigest()
