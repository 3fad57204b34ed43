"""Tenancy and visibility: the one place that decides which rows an actor may see.

Every query of tenant data is built from ``scoped_select`` (or the conditions below), so the
organisation filter and the role rules of the contract cannot be forgotten in one route:

- admin: the whole organisation;
- manager: the scope of every rep reporting to them (directly or through other managers) plus
  what the manager owns; a manager with no team sees the whole organisation;
- rep: accounts in territories assigned to them and accounts they own.

Contacts, interactions and tasks follow their account. A task with no account is visible to
its assignee and its creator (and to whoever sees them).
"""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.models import User
from fieldsync.geo.models import TerritoryRep
from fieldsync.portfolio.models import Account, Contact, Interaction, Task

ModelT = TypeVar("ModelT")


def team_user_ids(session: Session, actor: Actor) -> set[uuid.UUID] | None:
    """Return the users whose scope the actor holds, or None for the whole organisation."""
    if actor.is_admin:
        return None
    if actor.is_rep:
        return {actor.user_id}
    team: set[uuid.UUID] = {actor.user_id}
    frontier = {actor.user_id}
    while frontier:  # walk the reporting tree; teams are small, depth a few levels
        rows = session.execute(
            select(User.id).where(User.org_id == actor.org_id, User.manager_id.in_(frontier))
        ).scalars()
        frontier = set(rows) - team
        team |= frontier
    if team == {actor.user_id}:
        return None  # a manager with no team sees the organisation
    return team


def account_condition(session: Session, actor: Actor) -> ColumnElement[bool]:
    """Condition on Account for the rows the actor may see (organisation included)."""
    in_org = Account.org_id == actor.org_id
    team = team_user_ids(session, actor)
    if team is None:
        return in_org
    territories = select(TerritoryRep.territory_id).where(TerritoryRep.user_id.in_(team))
    return in_org & or_(Account.territory_id.in_(territories), Account.owner_id.in_(team))


def visible_account_ids(session: Session, actor: Actor) -> Select[Any]:
    """A subquery of the ids of the accounts the actor may see (deleted ones included)."""
    return select(Account.id).where(account_condition(session, actor))


def record_condition(session: Session, actor: Actor, model: type[Any]) -> ColumnElement[bool]:
    """Condition for any tenant model: organisation plus the role's visibility rule."""
    if model is Account:
        return account_condition(session, actor)
    in_org = model.org_id == actor.org_id
    team = team_user_ids(session, actor)
    if team is None:
        return in_org
    accounts = visible_account_ids(session, actor)
    if model in (Contact, Interaction):
        return in_org & model.account_id.in_(accounts)
    if model is Task:
        return in_org & or_(
            Task.account_id.in_(accounts),
            Task.account_id.is_(None) & or_(Task.assignee_id.in_(team), Task.created_by.in_(team)),
        )
    raise TypeError(f"no scope rule for {model.__name__}")


def scoped_select(
    session: Session, actor: Actor, model: type[ModelT], *, include_deleted: bool = False
) -> Select[tuple[ModelT]]:
    """``select(model)`` restricted to what the actor may see, soft-deleted rows excluded."""
    stmt = select(model).where(record_condition(session, actor, model))
    if not include_deleted and hasattr(model, "deleted_at"):
        stmt = stmt.where(model.deleted_at.is_(None))  # type: ignore[attr-defined]
    return stmt


def org_condition(actor: Actor, model: type[Any]) -> ColumnElement[bool]:
    """Organisation filter alone, for org-wide resources (territories, users)."""
    condition: ColumnElement[bool] = model.org_id == actor.org_id
    return condition


__all__ = [
    "account_condition",
    "org_condition",
    "record_condition",
    "scoped_select",
    "team_user_ids",
    "visible_account_ids",
]
