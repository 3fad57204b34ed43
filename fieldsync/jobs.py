"""Background jobs: Celery on Redis in production, the same task code run inline otherwise.

With ``FIELDSYNC_REDIS_URL`` set, tasks go to Redis and ``celery -A fieldsync.worker worker``
runs them; without it Celery runs each task eagerly in the caller (the embedded mode).
Every task runs inside the Flask app context, as one unit of work.
"""

from __future__ import annotations

from typing import Any

from celery import Celery, Task
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

from fieldsync.deferred import GEOCODE_QUEUE_KEY


def init_celery(app: Flask) -> Celery:
    """Create the app's Celery instance from its settings (one per Flask app)."""

    class FlaskTask(Task):  # type: ignore[misc]
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            with app.app_context():
                return self.run(*args, **kwargs)

    redis_url = app.config.get("REDIS_URL")
    celery = Celery(app.import_name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=redis_url or "memory://",
        result_backend=redis_url or None,
        task_always_eager=not redis_url,
        task_eager_propagates=True,
        task_default_queue=app.config["CELERY_QUEUE"],
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        task_acks_late=True,  # a worker killed mid-task leaves it to another
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        result_expires=3600,
    )
    app.extensions["celery"] = celery
    from fieldsync.geo.geocoding import tasks  # noqa: F401  (registers the tasks)

    return celery


def celery_of(app: Flask) -> Celery:
    celery: Celery = app.extensions["celery"]
    return celery


@event.listens_for(Session, "after_commit")
def _send_queued_geocoding(session: Session) -> None:
    """Send the geocoding of accounts written in the committed transaction to a worker."""
    account_ids = session.info.pop(GEOCODE_QUEUE_KEY, None)
    if not account_ids:
        return
    from flask import current_app, has_app_context

    if not has_app_context():
        return
    celery = current_app.extensions.get("celery")
    if celery is None or celery.conf.task_always_eager:
        return  # no broker: `fieldsync geocode --pending` (cron) takes them
    celery.send_task(
        "fieldsync.geocode_pending",
        kwargs={"account_ids": sorted(str(a) for a in account_ids)},
    )


@event.listens_for(Session, "after_rollback")
def _forget_queued_geocoding(session: Session) -> None:
    session.info.pop(GEOCODE_QUEUE_KEY, None)
