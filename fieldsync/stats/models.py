"""Account status transitions, kept so conversions can be counted per period.

The sync change log knows versions, not values; this table knows values: one row when an
account is created (``from_status`` null) and one each time its status changes.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from fieldsync.db import Base


class AccountStatusChange(Base):
    __tablename__ = "account_status_changes"
    __table_args__ = (
        Index("ix_account_status_changes_org_at", "org_id", "changed_at"),
        Index("ix_account_status_changes_account", "account_id"),
    )

    # Made by the writer, not a sequence: a batch of these is one executemany (no RETURNING).
    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    org_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("organisations.id"))
    account_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("accounts.id"))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int]  # the account's version after the change
    changed_at: Mapped[datetime]
