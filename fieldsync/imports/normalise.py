"""Cell values of client files made into stored values: phones in E.164, emails checked,
countries as ISO codes, numbers whichever decimal separator they use, status words.

Each parser takes the cleaned cell text and raises ``ValueError`` with a sentence for the
import report when the value cannot be used.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import phonenumbers
from marshmallow import ValidationError as MarshmallowError
from marshmallow import validate

from fieldsync.imports.headers import (
    CONTACT_PREFERENCE_WORDS,
    COUNTRY_WORDS,
    KIND_WORDS,
    STATUS_WORDS,
    fold,
    fold_word,
)
from fieldsync.schemas import COLOR_RE, ISO_COUNTRIES

# The export writes text a spreadsheet would run as a formula behind an apostrophe.
_FORMULA_START = ("=", "@", "\t", "\r")
# Countries whose postal codes are five digits: a spreadsheet that stored 00184 as a number
# shows 184, which is given its zeros back.
_FIVE_DIGIT_POSTCODES = frozenset({"IT", "FR", "ES", "DE", "FI", "HR", "EE", "MC", "SM", "VA"})
_VAT_JUNK = re.compile(r"[\s.\-/]+")
_NUMBER_JUNK = re.compile(r"[\s'\u2019€$£¥%]|eur|usd|chf|gbp", re.IGNORECASE)
_email_validator = validate.Email()


def clean(value: Any) -> str | None:
    """A cell as trimmed text, or None when empty. Whole floats lose their ``.0``."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value).replace("\x00", "").strip()
    if not text:
        return None
    if text.startswith("'") and text[1:2] and text[1:].startswith(_FORMULA_START):
        text = text[1:]
    return text


def parse_country(text: str) -> str:
    code = text.strip().upper()
    if len(code) == 2 and code in ISO_COUNTRIES:
        return code
    found = COUNTRY_WORDS.get(fold_word(text))
    if found is None:
        raise ValueError(f"Unknown country {text!r}; use an ISO code or a country name.")
    return found


def parse_phone(text: str, country: str | None) -> str:
    """E.164 (``+390212345678``), the row's country telling numbers without a prefix."""
    candidate = text
    if candidate.startswith("00"):  # international prefix written the European way
        candidate = "+" + candidate[2:]
    try:
        number = phonenumbers.parse(candidate, country)
    except phonenumbers.NumberParseException:
        hint = "" if country or candidate.startswith("+") else " (no country to read it with)"
        raise ValueError(f"Not a phone number: {text!r}{hint}.") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"Not a possible phone number: {text!r}.")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def parse_email(text: str) -> str:
    email = text.strip().removeprefix("mailto:").lower()
    try:
        _email_validator(email)
    except MarshmallowError:
        raise ValueError(f"Not a valid email address: {text!r}.") from None
    if len(email) > 254:
        raise ValueError("An email address has at most 254 characters.")
    return email


def parse_number(value: Any) -> float:
    """``1.234,56``, ``1,234.56``, ``1234.5``, ``1 234,5``, ``€ 12k``-free amounts."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    text = _NUMBER_JUNK.sub("", str(value))
    negative = text.startswith("-")
    text = text.lstrip("+-")
    if not text or not re.fullmatch(r"[\d.,]+", text):
        raise ValueError(f"Not a number: {value!r}.")
    dots, commas = text.count("."), text.count(",")
    if dots and commas:  # the last separator is the decimal one
        decimal = "." if text.rfind(".") > text.rfind(",") else ","
        thousands = "," if decimal == "." else "."
        text = text.replace(thousands, "").replace(decimal, ".")
    elif dots + commas:
        separator = "." if dots else ","
        head, _, tail = text.rpartition(separator)
        if dots + commas > 1 or (len(tail) == 3 and 0 < len(head) <= 3 and head != "0"):
            # 1.234.567 or 1,234: thousands (one separator after 1-3 digits, before 3)
            text = text.replace(separator, "")
        else:
            text = text.replace(",", ".")
    if text.count(".") > 1 or text in {"."}:
        raise ValueError(f"Not a number: {value!r}.")
    number = float(text)
    return -number if negative else number


def parse_whole(value: Any) -> int:
    number = parse_number(value)
    if not number.is_integer():
        raise ValueError(f"Not a whole number: {value!r}.")
    return int(number)


def parse_coordinate(value: Any, limit: float) -> float:
    """Degrees with a ``.`` or a ``,`` decimal separator (no thousands in coordinates)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        number = float(value)
    else:
        try:
            number = float(str(value).strip().replace(",", "."))
        except ValueError:
            raise ValueError(f"Not a coordinate: {value!r}.") from None
    if not -limit <= number <= limit:
        raise ValueError(f"Out of range (±{limit:g}): {value!r}.")
    return number


def _word(table: dict[str, str], text: str, what: str, allowed: tuple[str, ...]) -> str:
    found = table.get(fold_word(text))
    if found is None:
        raise ValueError(f"Unknown {what} {text!r}; use one of {', '.join(allowed)}.")
    return found


def parse_status(text: str) -> str:
    return _word(STATUS_WORDS, text, "status", ("lead", "prospect", "customer", "inactive"))


def parse_kind(text: str) -> str:
    return _word(KIND_WORDS, text, "kind", ("company", "person"))


def parse_contact_preference(text: str) -> str:
    choices = ("email", "phone", "sms", "visit")
    return _word(CONTACT_PREFERENCE_WORDS, text, "contact preference", choices)


def parse_tags(text: str) -> list[str]:
    tags: list[str] = []
    for part in re.split(r"[;,|]", text):
        tag = part.strip()
        if tag and tag not in tags:
            if len(tag) > 60:
                raise ValueError(f"A tag has at most 60 characters: {tag[:20]!r}...")
            tags.append(tag)
    if len(tags) > 50:
        raise ValueError("At most 50 tags.")
    return tags


def parse_color(text: str) -> str:
    color = text.strip()
    if not color.startswith("#"):
        color = "#" + color
    if not COLOR_RE.match(color):
        raise ValueError(f"Not a colour of the form #RRGGBB: {text!r}.")
    return color.upper()


def clean_vat(text: str) -> str:
    return _VAT_JUNK.sub("", text).upper()


def parse_vat(text: str) -> str:
    """Spaces, dots and dashes out, upper case: ``it 012.345`` → ``IT012345``."""
    vat = clean_vat(text)
    if not vat or len(vat) > 40:
        raise ValueError(f"Not a VAT number: {text!r}.")
    return vat


def vat_key(vat: str) -> str:
    """What two VAT numbers of one company share: the number without its country prefix."""
    if len(vat) > 8 and vat[:2].isalpha() and vat[:2] in ISO_COUNTRIES and vat[2:3].isalnum():
        return vat[2:]
    return vat


def postal_code(text: str, country: str | None) -> str:
    code = text.strip()
    if code.isdigit() and country in _FIVE_DIGIT_POSTCODES and len(code) < 5:
        code = code.zfill(5)
    return code


def name_key(name: str, street: str | None, code: str | None, city: str | None) -> str | None:
    """Name and address as compared for duplicates; None without any address to compare."""
    if not (street or code or city):
        return None
    parts = (name, street or "", "".join((code or "").split()).upper(), city or "")
    return "|".join(fold(part) for part in parts)


def split_person(text: str) -> tuple[str | None, str]:
    """``"Maria Rossi"`` → (``Maria``, ``Rossi``); one word is a last name."""
    words = text.split()
    if len(words) == 1:
        return None, words[0]
    return " ".join(words[:-1]), words[-1]


def person_key(first_name: str | None, last_name: str | None) -> str:
    """A contact's name as compared for duplicates."""
    return fold(f"{first_name or ''} {last_name or ''}")
