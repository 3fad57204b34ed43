"""The wire form of records in pull pages, written out by hand for speed.

An initial pull serialises whole scopes (10,000 accounts and 100,000 interactions are common);
marshmallow costs several times these functions per record. Each function returns exactly what
the read schema of ``fieldsync.portfolio.schemas`` dumps for the same record, key for key and
in the same order (``tests/sync/test_serialisation.py`` holds them to it, and fails when a
schema gains a field these do not write).

A function takes a row of the columns ``pull_columns`` names, in that order (the pull selects
those columns only: no ORM objects, none of the server-only JSON columns such as
``field_versions`` parsed); ``dump`` serialises an ORM object the same way. Values are taken as
the database returns them (text as ``str``, integers as ``int``), so only what marshmallow
converts is converted: ids to strings, instants to ISO 8601, numbers to ``float`` where the
schema says Float.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Column

from fieldsync.planning.models import VisitPlan
from fieldsync.portfolio.models import Account, Contact, Interaction, Task

# What each function reads, in order. The first columns are the ones the pull itself reads
# by name (``id``, ``account_id``, ``deleted_at``); the rest are the wire's.
COLUMNS: dict[str, tuple[str, ...]] = {
    "accounts": (
        "id", "deleted_at", "version", "kind", "status", "name", "title", "first_name",
        "last_name", "email", "phone", "mobile", "website", "industry", "vat_number",
        "legal_form", "annual_revenue", "employees", "street", "postal_code", "city", "region",
        "country", "lat", "lon", "location_precision", "location_source", "geocode_status",
        "geocode_error", "territory_id", "owner_id", "tags", "color", "contact_preference",
        "visit_every_days", "opening_hours", "consent", "notes", "custom", "last_visit_at",
        "visit_due_at", "created_at", "updated_at",
    ),
    "contacts": (
        "id", "account_id", "deleted_at", "version", "first_name", "last_name", "role",
        "email", "phone", "is_primary", "notes", "created_at", "updated_at",
    ),
    "interactions": (
        "id", "account_id", "deleted_at", "version", "contact_id", "user_id", "kind",
        "occurred_at", "duration_minutes", "outcome", "report", "check_in", "check_out",
        "verification", "next_step", "created_at", "updated_at",
    ),
    "tasks": (
        "id", "account_id", "deleted_at", "version", "assignee_id", "title", "kind", "due_at",
        "done", "done_at", "notes", "created_by", "created_at", "updated_at",
    ),
    "visit_plans": (
        "id", "deleted_at", "version", "rep_id", "date", "stops", "unassigned", "totals",
        "created_at", "updated_at",
    ),
}  # fmt: skip


def account(row: Sequence[Any]) -> dict[str, Any]:
    """``AccountSchema().dump(account)``."""
    (
        id_, _deleted_at, version, kind, status, name, title, first_name, last_name, email,
        phone, mobile, website, industry, vat_number, legal_form, annual_revenue, employees,
        street, postal_code, city, region, country, lat, lon, location_precision,
        location_source, geocode_status, geocode_error, territory_id, owner_id, tags, color,
        contact_preference, visit_every_days, opening_hours, consent, notes, custom,
        last_visit_at, visit_due_at, created_at, updated_at,
    ) = row  # fmt: skip
    address = None
    if (street is not None or postal_code is not None or city is not None
            or region is not None or country is not None):  # fmt: skip
        address = {"street": street, "postal_code": postal_code, "city": city,
                   "region": region, "country": country}  # fmt: skip
    location = None
    if lat is not None and lon is not None:
        location = {"lat": float(lat), "lon": float(lon), "precision": location_precision,
                    "source": location_source}  # fmt: skip
    return {
        "id": None if id_ is None else str(id_),
        "version": version,
        "kind": kind,
        "status": status,
        "name": name,
        "title": title,
        "first_name": first_name,
        "last_name": last_name,
        "email": email,
        "phone": phone,
        "mobile": mobile,
        "website": website,
        "industry": industry,
        "vat_number": vat_number,
        "legal_form": legal_form,
        "annual_revenue": None if annual_revenue is None else float(annual_revenue),
        "employees": employees,
        "address": address,
        "location": location,
        "geocode_status": geocode_status,
        "geocode_error": geocode_error,
        "territory_id": None if territory_id is None else str(territory_id),
        "owner_id": None if owner_id is None else str(owner_id),
        "tags": None if tags is None else list(tags),
        "color": color,
        "contact_preference": contact_preference,
        "visit_every_days": visit_every_days,
        "opening_hours": None if opening_hours is None else dict(opening_hours),
        "consent": None if consent is None else dict(consent),
        "notes": notes,
        "custom": None if custom is None else dict(custom),
        "last_visit_at": None if last_visit_at is None else last_visit_at.isoformat(),
        "visit_due_at": None if visit_due_at is None else visit_due_at.isoformat(),
        "created_at": None if created_at is None else created_at.isoformat(),
        "updated_at": None if updated_at is None else updated_at.isoformat(),
    }


def contact(row: Sequence[Any]) -> dict[str, Any]:
    """``ContactSchema().dump(contact)``."""
    (
        id_, account_id, _deleted_at, version, first_name, last_name, role, email, phone,
        is_primary, notes, created_at, updated_at,
    ) = row  # fmt: skip
    return {
        "id": None if id_ is None else str(id_),
        "version": version,
        "account_id": None if account_id is None else str(account_id),
        "first_name": first_name,
        "last_name": last_name,
        "role": role,
        "email": email,
        "phone": phone,
        "is_primary": is_primary,
        "notes": notes,
        "created_at": None if created_at is None else created_at.isoformat(),
        "updated_at": None if updated_at is None else updated_at.isoformat(),
    }


def _verification(value: Any) -> dict[str, Any] | None:
    """``Nested(VerificationSchema)``: the declared keys the stored value has."""
    if value is None:
        return None
    out: dict[str, Any] = {}
    if "status" in value:
        out["status"] = value["status"]
    if "distance_m" in value:
        distance = value["distance_m"]
        out["distance_m"] = None if distance is None else float(distance)
    return out


def interaction(row: Sequence[Any]) -> dict[str, Any]:
    """``InteractionSchema().dump(interaction)``."""
    (
        id_, account_id, _deleted_at, version, contact_id, user_id, kind, occurred_at,
        duration_minutes, outcome, report, check_in, check_out, verification, next_step,
        created_at, updated_at,
    ) = row  # fmt: skip
    return {
        "id": None if id_ is None else str(id_),
        "version": version,
        "account_id": None if account_id is None else str(account_id),
        "contact_id": None if contact_id is None else str(contact_id),
        "user_id": None if user_id is None else str(user_id),
        "kind": kind,
        "occurred_at": None if occurred_at is None else occurred_at.isoformat(),
        "duration_minutes": duration_minutes,
        "outcome": outcome,
        "report": report,
        "check_in": None if check_in is None else dict(check_in),
        "check_out": None if check_out is None else dict(check_out),
        "verification": _verification(verification),
        "next_step": next_step,
        "created_at": None if created_at is None else created_at.isoformat(),
        "updated_at": None if updated_at is None else updated_at.isoformat(),
    }


def task(row: Sequence[Any]) -> dict[str, Any]:
    """``TaskSchema().dump(task)``."""
    (
        id_, account_id, _deleted_at, version, assignee_id, title, kind, due_at, done, done_at,
        notes, created_by, created_at, updated_at,
    ) = row  # fmt: skip
    return {
        "id": None if id_ is None else str(id_),
        "version": version,
        "account_id": None if account_id is None else str(account_id),
        "assignee_id": None if assignee_id is None else str(assignee_id),
        "title": title,
        "kind": kind,
        "due_at": None if due_at is None else due_at.isoformat(),
        "done": done,
        "done_at": None if done_at is None else done_at.isoformat(),
        "notes": notes,
        "created_by": None if created_by is None else str(created_by),
        "created_at": None if created_at is None else created_at.isoformat(),
        "updated_at": None if updated_at is None else updated_at.isoformat(),
    }


STOP_KEYS = ("account_id", "arrival", "departure", "travel_minutes", "distance_km", "status")
UNASSIGNED_KEYS = ("account_id", "reason")
TOTALS_KEYS = ("distance_km", "travel_minutes", "visits")


def _keys(value: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """A nested object in its schema's key order (JSONB does not keep the order it was given)."""
    return {key: value[key] for key in keys if key in value}


def visit_plan(row: Sequence[Any]) -> dict[str, Any]:
    """``VisitPlanSchema().dump(plan)``."""
    (
        id_, _deleted_at, version, rep_id, date, stops, unassigned, totals, created_at,
        updated_at,
    ) = row  # fmt: skip
    return {
        "id": None if id_ is None else str(id_),
        "version": version,
        "rep_id": None if rep_id is None else str(rep_id),
        "date": None if date is None else date.isoformat(),
        "stops": None if stops is None else [_keys(s, STOP_KEYS) for s in stops],
        "unassigned": (
            None if unassigned is None else [_keys(u, UNASSIGNED_KEYS) for u in unassigned]
        ),
        "totals": None if totals is None else _keys(totals, TOTALS_KEYS),
        "created_at": None if created_at is None else created_at.isoformat(),
        "updated_at": None if updated_at is None else updated_at.isoformat(),
    }


SERIALISERS: dict[str, Callable[[Sequence[Any]], dict[str, Any]]] = {
    "accounts": account,
    "contacts": contact,
    "interactions": interaction,
    "tasks": task,
    "visit_plans": visit_plan,
}
MODELS: dict[str, type[Any]] = {
    "accounts": Account,
    "contacts": Contact,
    "interactions": Interaction,
    "tasks": Task,
    "visit_plans": VisitPlan,
}


def pull_columns(entity: str) -> list[Column[Any]]:
    """The columns the pull reads for ``entity``, in the order its serialiser takes them."""
    table = MODELS[entity].__table__
    return [table.c[name] for name in COLUMNS[entity]]


def dump(entity: str, record: Any) -> dict[str, Any]:
    """Serialise an ORM object (or anything with the attributes) like a row of the pull."""
    return SERIALISERS[entity](tuple(getattr(record, name) for name in COLUMNS[entity]))
