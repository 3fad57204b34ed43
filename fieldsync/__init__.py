"""FieldSync: the backend of offline-first field sales apps."""

from __future__ import annotations

from fieldsync.app import FieldSyncFlask, create_app

__all__ = ["FieldSyncFlask", "create_app"]
