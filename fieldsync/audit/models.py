"""One row per export or erasure of client data: who, what, when (GDPR accountability)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldsync.db import Base


class AuditEntry(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_org_at", "org_id", "at"),
        Index("ix_audit_log_org_action", "org_id", "action"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    # "account.erase", "contact.erase", "account.personal_data", "accounts.export",
    # "segment.export", "accounts.import"
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str | None] = mapped_column(String(24))
    record_id: Mapped[uuid.UUID | None]
    # What was done, never the personal data itself (filters, counts, format, file name).
    details: Mapped[dict[str, Any] | None]
    at: Mapped[datetime]
