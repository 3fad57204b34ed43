"""Territories and placement of accounts in them; visit check-in verification."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from sqlalchemy import (
    Column,
    MetaData,
    Table,
    Uuid,
    delete,
    event,
    false,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, SessionTransaction

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import User
from fieldsync.db import utcnow
from fieldsync.exceptions import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    ValidationError,
)
from fieldsync.geo.geometry import GeometryError, area_km2, haversine_km, parse_territory_geometry
from fieldsync.geo.models import Territory, TerritoryRep
from fieldsync.paging import keyset_page
from fieldsync.portfolio.models import Account
from fieldsync.records import Write, mark_written, on_record_written
from fieldsync.sync.changelog import log_account_update, record_account_changes

# Accounts per bulk statement (well under SQLite's and PostgreSQL's bind-parameter limits).

# --- placement -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlacementIndex:
    """The territories of one organisation, ready to place points and postal codes.

    Polygons sit in an STRtree, smallest area first, so a point finds its candidates through
    the tree and the first hit is the smallest territory containing it.
    """

    polygons: list[tuple[float, uuid.UUID, BaseGeometry]]  # (area, id, shape), smallest first
    postal: dict[tuple[str, str], list[tuple[int, uuid.UUID]]]  # (country, code) -> (size, id)
    tree: shapely.STRtree | None = None

    def territory_for(
        self,
        lat: float | None,
        lon: float | None,
        country: str | None,
        postal_code: str | None,
    ) -> uuid.UUID | None:
        """Postal-code territories first (explicit lists), then the smallest polygon.

        ``place_many``'s rule for one point, without its vector set-up (a pushed changeset
        places its accounts one by one: the set-up cost more than the query).
        """
        found = self._postal_territory(country, postal_code)
        if found is None and lat is not None and lon is not None and self.tree is not None:
            hits = self.tree.query(shapely.Point(lon, lat), predicate="intersects")
            if len(hits):
                found = self.polygons[int(hits.min())][1]  # smallest area first
        return found

    def _postal_territory(self, country: str | None, postal_code: str | None) -> uuid.UUID | None:
        if not (country and postal_code):
            return None
        matches = self.postal.get((country, normalise_postal_code(postal_code)))
        return min(matches)[1] if matches else None

    def place_many(
        self, places: list[tuple[float | None, float | None, str | None, str | None]]
    ) -> list[uuid.UUID | None]:
        """Territory of each (lat, lon, country, postal code), vectorised over the points."""
        result: list[uuid.UUID | None] = [None] * len(places)
        located = [
            i for i, (lat, lon, _, _) in enumerate(places) if lat is not None and lon is not None
        ]
        if located and self.tree is not None:
            points = shapely.points(
                [places[i][1] for i in located],
                [places[i][0] for i in located],  # type: ignore[misc]
            )
            point_idx, polygon_idx = self.tree.query(points, predicate="intersects")
            if len(point_idx):
                order = np.lexsort((polygon_idx, point_idx))  # per point, smallest area first
                first_points, first = np.unique(point_idx[order], return_index=True)
                for p, k in zip(first_points, order[first], strict=True):
                    result[located[int(p)]] = self.polygons[int(polygon_idx[k])][1]
        for i, (_, _, country, postal_code) in enumerate(places):
            postal = self._postal_territory(country, postal_code)
            if postal is not None:
                result[i] = postal
        return result


def normalise_postal_code(code: str) -> str:
    return "".join(code.split()).upper()


def build_placement_index(session: Session, org_id: uuid.UUID) -> PlacementIndex:
    """Load and prepare the organisation's live territories."""
    territories = session.execute(
        select(Territory).where(Territory.org_id == org_id, Territory.deleted_at.is_(None))
    ).scalars()
    polygons: list[tuple[float, uuid.UUID, BaseGeometry]] = []
    postal: dict[tuple[str, str], list[tuple[int, uuid.UUID]]] = {}
    for territory in territories:
        if territory.geometry:
            geometry = parse_territory_geometry(territory.geometry)
            shapely.prepare(geometry)
            polygons.append((territory.area_km2 or area_km2(geometry), territory.id, geometry))
        if territory.postal_codes and territory.country:
            size = len(territory.postal_codes)
            for code in territory.postal_codes:
                key = (territory.country, normalise_postal_code(str(code)))
                postal.setdefault(key, []).append((size, territory.id))
    polygons.sort(key=lambda item: (item[0], str(item[1])))
    tree = shapely.STRtree([geometry for _, _, geometry in polygons]) if polygons else None
    return PlacementIndex(polygons=polygons, postal=postal, tree=tree)


INDEXES_KEY = "fieldsync.placement_indexes"


def placement_index(session: Session, org_id: uuid.UUID) -> PlacementIndex:
    """The organisation's index, built once per transaction rather than once per account.

    Forgotten whenever a territory is written (``records.mark_written``) and at every commit
    and rollback, a savepoint's included: the next account write builds it again from what the
    database then holds. (Like every read of a transaction, it does not see territories that
    other transactions commit while it runs; their own re-placement covers what they commit.)
    """
    indexes: dict[uuid.UUID, PlacementIndex] = session.info.setdefault(INDEXES_KEY, {})
    index = indexes.get(org_id)
    if index is None:
        index = indexes[org_id] = build_placement_index(session, org_id)
    return index


def forget_placement_indexes(session: Session, *_: Any) -> None:
    session.info.pop(INDEXES_KEY, None)


def _forget_on_territory_write(session: Session, write: Write) -> None:
    if write.entity == "territories":
        forget_placement_indexes(session)


def _forget_at_the_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the transaction, not a savepoint (those commit often)
        forget_placement_indexes(session)


on_record_written(_forget_on_territory_write)
event.listen(Session, "after_transaction_end", _forget_at_the_end)
event.listen(Session, "after_soft_rollback", forget_placement_indexes)  # savepoints too


def place_account(session: Session, account: Account, index: PlacementIndex | None = None) -> bool:
    """Set the account's territory from its location and postal code; True if it changed.

    The caller records the write (the account is being written anyway).
    """
    index = index or placement_index(session, account.org_id)
    territory_id = index.territory_for(
        account.lat, account.lon, account.country, account.postal_code
    )
    if territory_id == account.territory_id:
        return False
    account.territory_id = territory_id
    return True


def place_all_accounts(
    session: Session,
    org_id: uuid.UUID,
    *,
    affected: BaseGeometry | None = None,
    postal_keys: set[tuple[str, str]] | None = None,
    territory_id: uuid.UUID | None = None,
) -> int:
    """Re-place the organisation's live accounts in bulk; return how many moved.

    With ``affected`` (the old and new shapes of a changed territory), ``postal_keys`` (its
    old and new codes) or ``territory_id`` (its current accounts), only accounts a change can
    move are read. Moved accounts get a new version and a change-log row each, written in
    bulk: placement is the server's own write of a server-owned field.
    """
    index = build_placement_index(session, org_id)
    stmt = select(
        Account.id, Account.lat, Account.lon, Account.country, Account.postal_code,
        Account.territory_id,
    ).where(Account.org_id == org_id, Account.deleted_at.is_(None))  # fmt: skip
    scope = []
    if affected is not None:
        min_lon, min_lat, max_lon, max_lat = affected.bounds
        scope.append(Account.lat.between(min_lat, max_lat) & Account.lon.between(min_lon, max_lon))
    if postal_keys:
        codes = {code for _, code in postal_keys}
        scope.append(Account.postal_code.in_(codes))
    if territory_id is not None:
        scope.append(Account.territory_id == territory_id)
    if affected is not None or postal_keys or territory_id is not None:
        stmt = stmt.where(or_(*scope)) if scope else stmt.where(false())
    # Plain rows from the connection: the ORM's row handling was a fifth of placing 100,000
    # accounts. Flushed first, so pending writes of accounts are read as a query would.
    session.flush()
    rows = session.connection().execute(stmt).all()
    targets = index.place_many([(r.lat, r.lon, r.country, r.postal_code) for r in rows])
    moved = [
        (row, target)
        for row, target in zip(rows, targets, strict=True)
        if target != row.territory_id
    ]
    if moved:
        _write_placements(session, org_id, moved)
    return len(moved)


PLACEMENT_MOVES = Table(
    "placement_moves",
    MetaData(),
    Column("account_id", Uuid(), primary_key=True),
    Column("territory_id", Uuid()),
    prefixes=["TEMPORARY"],
)


def _write_placements(session: Session, org_id: uuid.UUID, moved: list[tuple[Any, Any]]) -> None:
    """Write the moves in bulk, each with a new version and a change-log row.

    The moves go into a temporary table, then one UPDATE joined to it rewrites the accounts in
    one pass (in physical order, where an UPDATE per territory looked each id up), and the
    change log takes one row per account it updated: on PostgreSQL in the same statement (the
    UPDATE's ``RETURNING`` feeds the INSERT), on SQLite by one INSERT ... SELECT after it.
    Measured in bench/results/placement.md.
    """
    now = utcnow()
    ids = {row.id for row, _ in moved}
    # Accounts already loaded in this session must see the new values too.
    for loaded in list(session.identity_map.values()):
        if isinstance(loaded, Account) and loaded.id in ids:
            session.expire(loaded)
    connection = session.connection()
    postgresql = connection.dialect.name == "postgresql"
    moves, accounts = PLACEMENT_MOVES, Account.__table__
    moves.create(connection)
    try:
        if postgresql:  # COPY: the fastest way in, 100,000 rows in a fraction of a second
            driver = connection.connection.driver_connection
            assert driver is not None
            with driver.cursor() as cursor:
                copy_sql = "COPY placement_moves (account_id, territory_id) FROM STDIN"
                with cursor.copy(copy_sql) as copy:
                    for row, target in moved:
                        copy.write_row((row.id, target))
        else:
            connection.execute(
                insert(moves), [{"account_id": row.id, "territory_id": to} for row, to in moved]
            )
        connection.exec_driver_sql("ANALYZE placement_moves")
        statement = (
            update(accounts)
            .where(accounts.c.id == moves.c.account_id)
            .values(territory_id=moves.c.territory_id, version=accounts.c.version + 1,
                    updated_at=now)
        )  # fmt: skip
        if postgresql:
            log_account_update(session, org_id, statement, now)
        else:
            connection.execute(statement)
            record_account_changes(session, org_id, select(moves.c.account_id), now)
    finally:
        moves.drop(connection)


# --- territories -----------------------------------------------------------------------------


def _require_manager(actor: Actor) -> None:
    if actor.is_rep:
        raise ForbiddenError("Only managers and admins change territories.")


def list_territories(
    session: Session, *, actor: Actor, limit: int | None = None, cursor: str | None = None
) -> tuple[list[Territory], str | None]:
    """Admins and managers see all territories; reps those assigned to them. By name, paged."""
    stmt = select(Territory).where(Territory.org_id == actor.org_id, Territory.deleted_at.is_(None))
    if actor.is_rep:
        stmt = stmt.where(
            Territory.id.in_(
                select(TerritoryRep.territory_id).where(TerritoryRep.user_id == actor.user_id)
            )
        )
    return keyset_page(
        session, stmt, key=Territory.name, id_column=Territory.id, cursor=cursor, limit=limit
    )


def territory_stats(session: Session, *, actor: Actor, territory_id: uuid.UUID) -> dict[str, Any]:
    """Accounts of a territory by status, how many are overdue, and its reps."""
    territory = get_territory(session, actor=actor, territory_id=territory_id)
    live = (Account.territory_id == territory.id) & Account.deleted_at.is_(None)
    by_status = {status: 0 for status in ("lead", "prospect", "customer", "inactive")}
    for status, count in session.execute(
        select(Account.status, func.count()).where(live).group_by(Account.status)
    ):
        by_status[status] = int(count)
    overdue = session.execute(
        select(func.count()).where(live, Account.visit_due_at <= utcnow())
    ).scalar_one()
    reps = session.execute(
        select(User.id, User.name)
        .join(TerritoryRep, TerritoryRep.user_id == User.id)
        .where(TerritoryRep.territory_id == territory.id)
        .order_by(User.name)
    ).all()
    return {
        "territory_id": territory.id,
        "accounts": {"total": sum(by_status.values()), "by_status": by_status},
        "overdue": int(overdue),
        "reps": [{"id": rep_id, "name": name} for rep_id, name in reps],
    }


def get_territory(session: Session, *, actor: Actor, territory_id: uuid.UUID) -> Territory:
    territory = session.get(Territory, territory_id)
    if territory is None or territory.org_id != actor.org_id or territory.deleted_at is not None:
        raise NotFoundError("Territory not found.")
    if actor.is_rep:
        reps = territory_rep_ids(session, [territory.id])[territory.id]
        if actor.user_id not in reps:
            raise NotFoundError("Territory not found.")
    return territory


def territory_rep_ids(
    session: Session, territory_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, list[uuid.UUID]]:
    """Rep ids per territory, in a stable order."""
    ids = list(territory_ids)
    result: dict[uuid.UUID, list[uuid.UUID]] = {tid: [] for tid in ids}
    rows = session.execute(
        select(TerritoryRep.territory_id, TerritoryRep.user_id)
        .where(TerritoryRep.territory_id.in_(ids))
        .order_by(TerritoryRep.user_id)
    )
    for territory_id, user_id in rows:
        result[territory_id].append(user_id)
    return result


def _apply_territory_fields(
    session: Session, actor: Actor, territory: Territory, data: dict[str, Any]
) -> set[str]:
    changed: set[str] = set()
    for name in ("name", "color"):
        if name in data and getattr(territory, name) != data[name]:
            setattr(territory, name, data[name])
            changed.add(name)
    if "geometry" in data:
        geometry = data["geometry"]
        if geometry is not None:
            try:
                shape = parse_territory_geometry(geometry)
            except GeometryError as exc:
                raise ValidationError(
                    f"Invalid territory geometry: {exc}", fields={"geometry": [str(exc)]}
                ) from None
            territory.area_km2 = area_km2(shape)
        else:
            territory.area_km2 = None
        territory.geometry = geometry
        changed.add("geometry")
    for name in ("postal_codes", "country"):
        if name in data:
            value = data[name]
            if name == "postal_codes" and value is not None:
                value = sorted({normalise_postal_code(str(code)) for code in value})
                if "" in value:
                    raise ValidationError(
                        "A postal code may not be blank.",
                        fields={"postal_codes": ["A postal code may not be blank."]},
                    )
            setattr(territory, name, value)
            changed.add(name)
    if territory.postal_codes and not territory.country:
        raise ValidationError(
            "A territory by postal codes needs its country.",
            fields={"country": ["Required with postal_codes."]},
        )
    if not territory.geometry and not territory.postal_codes:
        raise ValidationError(
            "A territory needs a geometry or a list of postal codes.",
            fields={"geometry": ["Give geometry or postal_codes."]},
        )
    if "rep_ids" in data:
        _assign_reps(session, actor, territory, data["rep_ids"] or [])
        changed.add("rep_ids")
    return changed


def _reach(territory: Territory) -> tuple[BaseGeometry | None, set[tuple[str, str]]]:
    """The shape and postal keys through which a territory can hold accounts."""
    shape = parse_territory_geometry(territory.geometry) if territory.geometry else None
    codes = {
        (territory.country, normalise_postal_code(str(code)))
        for code in territory.postal_codes or []
        if territory.country
    }
    return shape, codes


def _replace_around(
    session: Session,
    org_id: uuid.UUID,
    territory: Territory,
    before: tuple[BaseGeometry | None, set[tuple[str, str]]],
) -> int:
    """Re-place only the accounts a territory change can move: inside its old or new shape,
    with its old or new postal codes, or in it now."""
    after = _reach(territory) if territory.deleted_at is None else (None, set())
    shapes = [shape for shape in (before[0], after[0]) if shape is not None]
    affected = shapely.union_all(shapes) if shapes else None
    session.flush()  # placement reads the territory back
    return place_all_accounts(
        session, org_id, affected=affected, postal_keys=before[1] | after[1],
        territory_id=territory.id,
    )  # fmt: skip


def _assign_reps(
    session: Session, actor: Actor, territory: Territory, rep_ids: list[uuid.UUID]
) -> None:
    wanted = set(rep_ids)
    if wanted:
        found = set(
            session.execute(
                select(User.id).where(
                    User.id.in_(wanted), User.org_id == actor.org_id, User.active.is_(True)
                )
            ).scalars()
        )
        missing = wanted - found
        if missing:
            raise ValidationError(
                "rep_ids names unknown users.",
                fields={"rep_ids": [f"Unknown user {uid}." for uid in sorted(map(str, missing))]},
            )
    session.execute(delete(TerritoryRep).where(TerritoryRep.territory_id == territory.id))
    for user_id in sorted(wanted):
        session.add(TerritoryRep(territory_id=territory.id, user_id=user_id))


def create_territory(session: Session, *, actor: Actor, data: dict[str, Any]) -> Territory:
    """Create a territory and place the organisation's accounts in it."""
    _require_manager(actor)
    territory_id = data.get("id") or uuid.uuid4()
    if session.get(Territory, territory_id) is not None:
        raise ConflictError(f"Territory id {territory_id} is already used.")
    territory = Territory(id=territory_id, org_id=actor.org_id, name=data["name"])
    session.add(territory)
    fields = _apply_territory_fields(session, actor, territory, data)
    mark_written(session, "territories", territory, fields, created=True)
    _replace_around(session, actor.org_id, territory, (None, set()))
    return territory


def update_territory(
    session: Session,
    *,
    actor: Actor,
    territory_id: uuid.UUID,
    data: dict[str, Any],
    expected_version: int | None = None,
) -> Territory:
    """Change a territory; accounts are re-placed when its shape or codes change."""
    _require_manager(actor)
    territory = get_territory(session, actor=actor, territory_id=territory_id)
    if expected_version is not None and expected_version != territory.version:
        raise PreconditionFailedError(
            f"Territory is at version {territory.version}, not {expected_version}."
        )
    before = _reach(territory)
    fields = _apply_territory_fields(session, actor, territory, data)
    if fields:
        mark_written(session, "territories", territory, fields)
    if fields & {"geometry", "postal_codes", "country"}:
        _replace_around(session, actor.org_id, territory, before)
    return territory


def delete_territory(
    session: Session, *, actor: Actor, territory_id: uuid.UUID, expected_version: int | None = None
) -> None:
    """Soft-delete a territory; its accounts fall to other territories or none."""
    _require_manager(actor)
    territory = get_territory(session, actor=actor, territory_id=territory_id)
    if expected_version is not None and expected_version != territory.version:
        raise PreconditionFailedError(
            f"Territory is at version {territory.version}, not {expected_version}."
        )
    territory.deleted_at = utcnow()
    mark_written(session, "territories", territory, {"deleted_at"})
    _replace_around(session, actor.org_id, territory, _reach(territory))


# --- check-in verification -------------------------------------------------------------------

# How far from the true spot a location of each precision may be (metres).
PRECISION_SLACK_M = {"rooftop": 0, "street": 250, "postcode": 3000, "locality": 5000}
BASE_RADIUS_M = 150
MAX_FIX_ACCURACY_M = 2000


def verify_check_in(account: Account, fix: dict[str, Any] | None) -> dict[str, Any]:
    """Compare a visit's GPS fix with the account's location."""
    if not fix or account.lat is None or account.lon is None:
        return {"status": "unverified", "distance_m": None}
    distance_m = haversine_km(fix["lat"], fix["lon"], account.lat, account.lon) * 1000
    slack = PRECISION_SLACK_M.get(account.location_precision or "")
    if slack is None:  # region-level or unknown precision proves nothing
        return {"status": "unverified", "distance_m": round(distance_m, 1)}
    accuracy = min(float(fix.get("accuracy_m") or 0), MAX_FIX_ACCURACY_M)
    radius = BASE_RADIUS_M + accuracy + slack
    status = "verified" if distance_m <= radius else "far"
    return {"status": status, "distance_m": round(distance_m, 1)}
