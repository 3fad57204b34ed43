"""A demo organisation: people, territories and a realistic, deterministic client portfolio.

Everything goes through the service layer (the same write path as REST and sync), so versions,
territory placement, visit verification and ``last_visit_at`` come out as in production.
Accounts get addresses only; the embedded gazetteer geocodes them as they are written (inline,
whatever FIELDSYNC_GEOCODER says: a demo never queues hundreds of requests at a public
service). The caller owns the transaction (``fieldsync demo`` wraps the call in a unit of work).
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import User
from fieldsync.auth.service import AuthSettings, add_user, create_organisation
from fieldsync.db import utcnow
from fieldsync.demo_data import (
    CADENCES,
    CALL_OUTCOMES,
    COUNTRIES,
    INTERACTIONS_PER_STATUS,
    NOTES,
    OPENING_HOURS,
    STATUS_WEIGHTS,
    STATUSES,
    TAGS,
    TASK_TITLES,
    TERRITORY_RINGS,
    TURIN_POSTAL_CODES,
    VISIT_OUTCOMES,
    City,
    CountryData,
)
from fieldsync.geo.geocoding.pipeline import inline_geocoding
from fieldsync.geo.geocoding.providers import build_provider
from fieldsync.geo.geocoding.service import GeocodingService
from fieldsync.geo.geocoding.settings import GeocodingSettings
from fieldsync.geo.geometry import KM_PER_DEGREE
from fieldsync.geo.service import create_territory
from fieldsync.portfolio.models import Account
from fieldsync.portfolio.service import create_record

DEMO_PASSWORD = "fieldsync-demo"  # noqa: S105 (public on purpose: the CLI prints it)
DEMO_ORG_NAME = "FieldSync Demo"
DEMO_TIMEZONE = "Europe/Rome"
DEMO_DOMAIN = "demo.fieldsync.test"
ADMIN_EMAIL = f"admin@{DEMO_DOMAIN}"

ROLE_ORDER = {"admin": 0, "manager": 1, "rep": 2}
# (login name, role, display name, home city) — reps start their days from their base city.
PEOPLE = (
    ("admin", "admin", "Chiara Ferri", None),
    ("manager", "manager", "Stefano Galli", (45.4642, 9.1900)),
    ("rep.milano", "rep", "Giulia Conti", (45.4642, 9.1900)),
    ("rep.paris", "rep", "Julien Moreau", (48.8566, 2.3522)),
    ("rep.madrid", "rep", "Lucía Navarro", (40.4168, -3.7038)),
)
# Who owns the accounts of each country (Bavaria is worked from Milan, across the Alps).
COUNTRY_REP = {"IT": "rep.milano", "DE": "rep.milano", "FR": "rep.paris", "ES": "rep.madrid"}
TERRITORIES = (  # (name, colour, ring or None for postal codes, rep)
    ("Lombardia", "#E4572E", "Lombardia", "rep.milano"),
    ("Torino città", "#F59F00", None, "rep.milano"),
    ("Île-de-France", "#4C6EF5", "Île-de-France", "rep.paris"),
    ("Comunidad de Madrid", "#2FB344", "Comunidad de Madrid", "rep.madrid"),
    ("Bayern", "#AE3EC9", "Bayern", "rep.milano"),
)
KEY_ACCOUNT_SHARE = 0.06
PERSON_SHARE = 0.12


@dataclass
class DemoResult:
    """The demo organisation, how many accounts it has and who can log in."""

    org_id: uuid.UUID
    accounts: int
    logins: list[tuple[str, str]]  # (role, email)


def build_demo(
    session: Session, settings: AuthSettings, *, seed: int = 7, account_count: int = 300
) -> DemoResult:
    """Create the demo organisation, or return the existing one (idempotent on the admin email)."""
    existing = _existing_demo(session)
    if existing is not None:
        return existing
    builder = _Builder(session, settings, random.Random(seed))  # noqa: S311 (reproducible demo data)
    gazetteer = GeocodingService(build_provider(GeocodingSettings(service="offline")))
    with inline_geocoding(session, gazetteer):
        builder.people()
        builder.territories()
        for _ in range(account_count):
            builder.account()
    return DemoResult(org_id=builder.org_id, accounts=account_count, logins=_logins(builder.logins))


def _logins(rows: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return sorted(rows, key=lambda row: (ROLE_ORDER.get(row[0], 9), row[1]))


def _existing_demo(session: Session) -> DemoResult | None:
    admin = session.execute(select(User).where(User.email == ADMIN_EMAIL)).scalar_one_or_none()
    if admin is None:
        return None
    accounts = session.execute(
        select(func.count())
        .select_from(Account)
        .where(Account.org_id == admin.org_id, Account.deleted_at.is_(None))
    ).scalar_one()
    users = session.execute(
        select(User.role, User.email).where(User.org_id == admin.org_id, User.active.is_(True))
    ).all()
    return DemoResult(
        org_id=admin.org_id,
        accounts=int(accounts),
        logins=_logins([(role, email) for role, email in users]),
    )


# --- small generators ------------------------------------------------------------------------


def _digits(rng: random.Random, count: int, *, lead: str = "0123456789") -> str:
    return rng.choice(lead) + "".join(str(rng.randrange(10)) for _ in range(count - 1))


def _pairs(rng: random.Random, count: int) -> str:
    return " ".join(_digits(rng, 2) for _ in range(count))


SUBSCRIBER = "23456789"  # subscriber numbers do not start with 0 or 1


def landline(rng: random.Random, country: str, area: str) -> str:
    """A landline number in the country's usual international notation."""
    if country == "IT":  # 10 digits including the area code's 0
        rest = 10 - len(area)
        if rest <= 6:
            return f"+39 {area} {_digits(rng, rest, lead=SUBSCRIBER)}"
        return f"+39 {area} {_digits(rng, rest - 4, lead=SUBSCRIBER)} {_digits(rng, 4)}"
    if country == "FR":
        return f"+33 {area} {_digits(rng, 2, lead=SUBSCRIBER)} {_pairs(rng, 3)}"
    if country == "ES":  # 9 digits
        rest = 9 - len(area)
        return f"+34 {area} {_digits(rng, rest - 4, lead=SUBSCRIBER)} {_pairs(rng, 2)}"
    return f"+49 {area} {_digits(rng, max(5, 10 - len(area)), lead=SUBSCRIBER)}"


def mobile(rng: random.Random, country: str) -> str:
    """A mobile number in the country's usual international notation."""
    if country == "IT":
        return f"+39 3{_digits(rng, 2, lead='234679')} {_digits(rng, 3)} {_digits(rng, 4)}"
    if country == "FR":
        return f"+33 {rng.choice('67')} {_pairs(rng, 4)}"
    if country == "ES":
        return f"+34 6{_digits(rng, 2)} {_pairs(rng, 3)}"
    return f"+49 1{rng.choice(('51', '52', '60', '62', '70', '76'))} {_digits(rng, 8)}"


def vat_number(rng: random.Random, country: str) -> str:
    """A VAT number of the country's shape (not checksum-valid)."""
    body = {"IT": _digits(rng, 11), "FR": _digits(rng, 11), "ES": "B" + _digits(rng, 8)}
    return country + body.get(country, _digits(rng, 9))


def slug(text: str) -> str:
    """ASCII, lower-case, hyphenated: usable as a domain label or an email's local part."""
    for plain, folded in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(plain, folded).replace(plain.upper(), folded.capitalize())
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def jitter(rng: random.Random, lat: float, lon: float, radius_km: float) -> tuple[float, float]:
    """A point uniformly spread within ``radius_km`` of (lat, lon)."""
    distance = radius_km * math.sqrt(rng.random())
    angle = rng.uniform(0, 2 * math.pi)
    d_lat = distance * math.cos(angle) / KM_PER_DEGREE
    d_lon = distance * math.sin(angle) / (KM_PER_DEGREE * math.cos(math.radians(lat)))
    return round(lat + d_lat, 6), round(lon + d_lon, 6)


# --- the builder -----------------------------------------------------------------------------


class _Builder:
    """Holds the random source, the clock and the actors while the demo is built."""

    def __init__(self, session: Session, settings: AuthSettings, rng: random.Random) -> None:
        self.session, self.settings, self.rng = session, settings, rng
        self.tz = ZoneInfo(DEMO_TIMEZONE)
        self.now = utcnow().replace(second=0, microsecond=0)
        self.today = self.now.astimezone(self.tz).date()
        self.actors: dict[str, Actor] = {}
        self.logins: list[tuple[str, str]] = []
        self.org_id = uuid.UUID(int=0)
        self.country_weights = [country.share for country in COUNTRIES]

    # people and territories

    def people(self) -> None:
        manager_id: uuid.UUID | None = None
        for login, role, name, home in PEOPLE:
            email = f"{login}@{DEMO_DOMAIN}"
            if role == "admin":
                organisation, user = create_organisation(
                    self.session, self.settings, name=DEMO_ORG_NAME, admin_email=email,
                    admin_password=DEMO_PASSWORD, admin_name=name, timezone=DEMO_TIMEZONE,
                )  # fmt: skip
                self.org_id = organisation.id
            else:
                user = add_user(
                    self.session, self.settings, org_id=self.org_id, email=email, name=name,
                    role=role, password=DEMO_PASSWORD,
                    manager_id=manager_id if role == "rep" else None,
                    home_lat=home[0] if home else None, home_lon=home[1] if home else None,
                )  # fmt: skip
                if role == "manager":
                    manager_id = user.id
            self.actors[login] = Actor(user_id=user.id, org_id=self.org_id, role=role)
            self.logins.append((role, email))

    def territories(self) -> None:
        for name, color, ring, rep in TERRITORIES:
            data: dict[str, Any] = {
                "name": name,
                "color": color,
                "rep_ids": [self.actors[rep].user_id],
            }
            if ring is None:
                data |= {"postal_codes": list(TURIN_POSTAL_CODES), "country": "IT"}
            else:
                points = [[lon, lat] for lon, lat in TERRITORY_RINGS[ring]]
                data["geometry"] = {"type": "Polygon", "coordinates": [points + points[:1]]}
            create_territory(self.session, actor=self.actors["manager"], data=data)

    # the portfolio

    def account(self) -> None:
        rng = self.rng
        country = rng.choices(COUNTRIES, weights=self.country_weights)[0]
        city = rng.choices(country.cities, weights=[c.weight for c in country.cities])[0]
        key_account = rng.random() < KEY_ACCOUNT_SHARE
        login = "manager" if key_account else COUNTRY_REP[country.code]
        actor = self.actors[login]
        data, domain = self._account_data(country, city, key_account)
        account = create_record(self.session, actor=actor, entity="accounts", data=data)
        contact_ids = []
        if data["kind"] == "company":
            for index in range(rng.choice((1, 1, 2, 2, 3))):
                contact = self._contact(actor, account.id, country, domain, primary=index == 0)
                contact_ids.append(contact.id)
        low, high = INTERACTIONS_PER_STATUS[data["status"]]
        for _ in range(rng.randint(low, high)):
            self._interaction(actor, account, contact_ids, data["status"])
        if data["status"] != "lead" and rng.random() < 0.45:
            self._task(actor, account.id)

    def _account_data(
        self, country: CountryData, city: City, key_account: bool
    ) -> tuple[dict[str, Any], str]:
        rng = self.rng
        surname = rng.choice(country.surnames)
        first_name = rng.choice(country.first_names)
        status = rng.choices(STATUSES, weights=STATUS_WEIGHTS)[0]
        cadences, weights = CADENCES[status]
        street = country.street_format.format(
            street=rng.choice(country.streets), n=rng.randint(1, 180)
        )
        tags = rng.sample(TAGS, rng.choice((0, 0, 1, 1, 2, 3)))
        data: dict[str, Any] = {
            "status": status,
            "address": {"street": street, "postal_code": rng.choice(city.postal_codes),
                        "city": city.name, "region": city.region, "country": country.code},
            "phone": landline(rng, country.code, city.area_code),
            "visit_every_days": rng.choices(cadences, weights=weights)[0],
            "contact_preference": rng.choice(("visit", "visit", "phone", "email", "sms")),
        }  # fmt: skip
        if rng.random() < PERSON_SHARE:
            title, industry = rng.choice(country.person_titles)
            domain = "mail.example"
            data |= {
                "kind": "person",
                "name": " ".join(part for part in (title, first_name, surname) if part),
                "title": title or None,
                "first_name": first_name,
                "last_name": surname,
                "industry": industry,
                "email": f"{slug(first_name)}.{slug(surname)}@{domain}",
                "mobile": mobile(rng, country.code),
                "opening_hours": OPENING_HOURS[country.code][1],
            }
        else:
            data |= self._company_fields(country)
            domain = data.pop("_domain")
        if key_account:
            tags = ["key-account", *tags]
            data["color"] = "#F59F00"
        if status == "customer":
            data["custom"] = {"erp_code": f"{country.code}-{rng.randint(10000, 99999)}"}
        if rng.random() < 0.5:
            data["consent"] = {"marketing_email": rng.random() < 0.7}
        if rng.random() < 0.15:
            data["notes"] = rng.choice(NOTES)
        data["tags"] = tags
        return data, domain

    def _company_fields(self, country: CountryData) -> dict[str, Any]:
        rng = self.rng
        surname, other = rng.sample(country.surnames, 2)
        form = country.legal_forms[0] if rng.random() < 0.6 else rng.choice(country.legal_forms)
        trade, industry = rng.choice(country.trades)
        if rng.random() < 0.75:
            base = f"{trade} {surname}"
        else:
            base = rng.choice(country.family_patterns).format(a=surname, b=other)
        domain = f"{slug(base)}.example"
        employees = max(1, min(900, int(rng.lognormvariate(2.0, 1.1))))
        return {
            "kind": "company",
            "name": f"{base} {form}",
            "legal_form": form,
            "industry": industry,
            "vat_number": vat_number(rng, country.code),
            "email": f"info@{domain}",
            "website": f"https://www.{domain}",
            "employees": employees,
            "annual_revenue": float(round(employees * rng.uniform(60_000, 180_000), -3)),
            "opening_hours": rng.choice(OPENING_HOURS[country.code]),
            "_domain": domain,
        }

    def _contact(
        self, actor: Actor, account_id: uuid.UUID, country: CountryData, domain: str,
        *, primary: bool,
    ) -> Any:  # fmt: skip
        rng = self.rng
        first, last = rng.choice(country.first_names), rng.choice(country.surnames)
        role = country.contact_roles[0] if primary else rng.choice(country.contact_roles[1:])
        data = {
            "account_id": account_id,
            "first_name": first,
            "last_name": last,
            "role": role,
            "email": f"{slug(first)}.{slug(last)}@{domain}",
            "phone": mobile(rng, country.code),
            "is_primary": primary,
        }
        return create_record(self.session, actor=actor, entity="contacts", data=data)

    def _local_time(self, days_ago: int, earliest: time, latest: time) -> datetime:
        """A working-day time ``days_ago`` days back, in the organisation's zone, as UTC."""
        day: date = self.today - timedelta(days=days_ago)
        while day.weekday() >= 5:  # weekends move back to Friday
            day -= timedelta(days=1)
        start = earliest.hour * 60 + earliest.minute
        minutes = self.rng.randrange(start, latest.hour * 60 + latest.minute, 5)
        local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=self.tz)
        return local.astimezone(UTC)

    def _interaction(
        self, actor: Actor, account: Account, contact_ids: list[uuid.UUID], status: str
    ) -> None:
        rng = self.rng
        days_ago = rng.randint(45, 90) if status == "inactive" else rng.randint(1, 90)
        occurred_at = self._local_time(days_ago, time(8, 30), time(18, 0))
        kind = rng.choices(("visit", "call", "email", "note"), weights=(55, 25, 10, 10))[0]
        data: dict[str, Any] = {"account_id": account.id, "kind": kind, "occurred_at": occurred_at}
        if contact_ids and kind in ("visit", "call", "email"):
            data["contact_id"] = rng.choice(contact_ids)
        if kind == "visit" and account.lat is not None:
            far = rng.random() < 0.07  # a few check-ins far from the shop, for the verification
            radius = rng.uniform(0.8, 3.0) if far else rng.uniform(0.0, 0.08)
            duration = rng.choice((15, 20, 30, 45, 60))
            outcome, report, next_step = rng.choice(VISIT_OUTCOMES)
            check_in = self._fix(account, radius, occurred_at)
            check_out = self._fix(account, radius, occurred_at + timedelta(minutes=duration))
            data |= {
                "duration_minutes": duration,
                "outcome": outcome,
                "report": report,
                "next_step": next_step,
                "check_in": check_in,
                "check_out": check_out,
            }
        elif kind == "call":
            outcome, report = rng.choice(CALL_OUTCOMES)
            data |= {"duration_minutes": rng.randint(3, 20), "outcome": outcome, "report": report}
        elif kind == "email":
            data |= {"outcome": "Price list sent", "report": "Sent the price list and terms."}
        else:
            data["report"] = rng.choice(NOTES)
        create_record(self.session, actor=actor, entity="interactions", data=data)

    def _fix(self, account: Account, radius_km: float, at: datetime) -> dict[str, Any]:
        assert account.lat is not None and account.lon is not None
        lat, lon = jitter(self.rng, account.lat, account.lon, radius_km)
        accuracy = float(self.rng.choice((5, 8, 12, 20, 35)))
        return {"lat": lat, "lon": lon, "at": at, "accuracy_m": accuracy}

    def _task(self, actor: Actor, account_id: uuid.UUID) -> None:
        rng = self.rng
        kind = rng.choice(tuple(TASK_TITLES))
        data: dict[str, Any] = {
            "account_id": account_id, "kind": kind, "title": rng.choice(TASK_TITLES[kind]),
        }  # fmt: skip
        if rng.random() < 0.4:
            due_at = self._local_time(rng.randint(5, 60), time(9, 0), time(9, 5))
            late = timedelta(days=rng.randint(-3, 1), minutes=rng.randrange(0, 480, 15))
            done_at = min(due_at + late, self.now)
            data |= {"due_at": due_at, "done": True, "done_at": done_at}
        else:
            due = self.today + timedelta(days=rng.randint(-5, 21))
            due_at = datetime.combine(due, time(9, 0), tzinfo=self.tz).astimezone(UTC)
            data |= {"due_at": due_at, "done": False}
        create_record(self.session, actor=actor, entity="tasks", data=data)
