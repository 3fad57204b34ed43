"""Geocoding as a background job (Celery on Redis, or inline without a broker)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from celery import shared_task
from flask import current_app

from fieldsync.db import unit_of_work
from fieldsync.extensions import db
from fieldsync.geo.geocoding.api import geocoding_service
from fieldsync.geo.geocoding.pipeline import geocode_pending

log = logging.getLogger("fieldsync.geocoding")


@shared_task(name="fieldsync.geocode_pending")
def geocode_pending_task(
    org_id: str | None = None, account_ids: list[str] | None = None, limit: int = 1000
) -> dict[str, Any]:
    """Geocode due pending accounts (all, one organisation's, or the ones named)."""
    session = db.session
    with unit_of_work(session):
        summary = geocode_pending(
            session,
            geocoding_service(current_app),
            org_id=uuid.UUID(org_id) if org_id else None,
            account_ids=[uuid.UUID(a) for a in account_ids] if account_ids else None,
            limit=limit,
            checkpoint=session.commit,
        )
    result = summary.as_dict()
    log.info("geocoding batch done", extra={"event": "geocode_batch", **result})
    return result
