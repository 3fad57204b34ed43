"""Celery entry point: ``celery -A fieldsync.worker worker`` (needs FIELDSYNC_REDIS_URL)."""

from __future__ import annotations

from fieldsync import create_app
from fieldsync.jobs import celery_of

flask_app = create_app()
celery = celery_of(flask_app)
