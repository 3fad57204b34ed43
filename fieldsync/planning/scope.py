"""Who sees which visit plans (the planning side of ``auth.scope``).

A rep sees their own plans; a manager the plans of the users in their team (the whole
organisation for a manager with no team); an admin the organisation. The same rule serves REST
and pull, so a plan a person can read is a plan their phone holds (within the pull's window).
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from fieldsync.auth.actor import Actor
from fieldsync.auth.scope import team_user_ids
from fieldsync.planning.models import VisitPlan

# Phones hold the plans of the last two weeks and every future one: older plans leave a
# device's scope (pull reports them removed) so a phone does not collect years of plans.
PULL_PAST_DAYS = 14


def plan_condition(session: Session, actor: Actor) -> ColumnElement[bool]:
    """Condition on VisitPlan for the plans the actor may see (organisation included)."""
    condition: ColumnElement[bool] = VisitPlan.org_id == actor.org_id
    team = team_user_ids(session, actor)
    if team is not None:
        condition = condition & VisitPlan.rep_id.in_(team)
    return condition


def pull_plan_condition(session: Session, actor: Actor, today: date) -> ColumnElement[bool]:
    """The plans a device of the actor holds: visible, live, not older than the window."""
    return (
        plan_condition(session, actor)
        & VisitPlan.deleted_at.is_(None)
        & (VisitPlan.date >= today - timedelta(days=PULL_PAST_DAYS))
    )


def can_see_rep(session: Session, actor: Actor, rep_id: uuid.UUID) -> bool:
    """May the actor read and plan the days of ``rep_id`` (a user of the same organisation)?"""
    team = team_user_ids(session, actor)
    return team is None or rep_id in team
