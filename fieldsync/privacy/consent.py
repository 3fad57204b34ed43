"""Write listener that keeps ``consent_changes``: each change of an account's consent, with the
moment it was given or withdrawn (the account's ``consent.updated_at``)."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from fieldsync.db import utcnow
from fieldsync.privacy.models import ConsentChange
from fieldsync.records import Write, on_record_written


def record_consent_change(session: Session, write: Write) -> None:
    """Append the account's new consent when a write changed it."""
    if write.entity != "accounts" or "consent" not in write.fields:
        return
    account = write.record
    consent = account.consent or {}
    stamp = consent.get("updated_at")
    session.add(
        ConsentChange(
            id=uuid.uuid4(),
            org_id=account.org_id,
            account_id=account.id,
            marketing_email=consent.get("marketing_email"),
            consented_at=datetime.fromisoformat(stamp) if stamp else None,
            version=account.version,
            recorded_at=utcnow(),
        )
    )


def install() -> None:
    """Hook the consent history into the write path (idempotent)."""
    on_record_written(record_consent_change)
