"""Settings of the service: defaults for the embedded mode, overridden by FIELDSYNC_* variables."""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

# A key that is public (it is in the source) and therefore only good for the embedded mode.
INSECURE_DEV_SECRET = "fieldsync-embedded-dev-key-not-for-production"  # noqa: S105


class ConfigurationError(RuntimeError):
    """The settings do not allow the service to start safely."""


def default_settings(instance_path: str) -> dict[str, Any]:
    """Return the defaults: SQLite in the instance folder, offline geocoder, jobs inline."""
    return {
        "ENV": "development",
        "SECRET_KEY": INSECURE_DEV_SECRET,
        "DATABASE_URL": f"sqlite:///{Path(instance_path) / 'fieldsync.db'}",
        "REDIS_URL": None,
        "CELERY_QUEUE": "fieldsync",
        "GEOCODER": "offline",
        "ACCESS_TOKEN_TTL": 900,
        "REFRESH_TOKEN_TTL": 60 * 60 * 24 * 60,
        "LOGIN_LIMIT_PER_ACCOUNT": "5 per 15 minutes",
        "LOGIN_LIMIT_PER_IP": "30 per minute",
        "ARGON2_TIME_COST": 3,
        "ARGON2_MEMORY_COST": 65536,
        "ARGON2_PARALLELISM": 4,
        "LOG_LEVEL": "INFO",
        "MAX_CONTENT_LENGTH": 6 * 1024 * 1024,
        # Visit planning's travel model: great-circle km times the road factor at the speed,
        # unless OSRM_URL names an OSRM server (its table service, `profile`, timeout in s).
        "TRAVEL_ROAD_FACTOR": 1.3,
        "TRAVEL_SPEED_KMH": 50.0,
        "OSRM_URL": None,
        "OSRM_PROFILE": "driving",
        "OSRM_TIMEOUT": 10.0,
        # Weights of the urgency score that ranks due accounts (fieldsync.planning.due):
        # cadence overdue, open tasks due, status, revenue, days without contact.
        "URGENCY_WEIGHT_OVERDUE": 1.0,
        "URGENCY_WEIGHT_TASKS": 1.0,
        "URGENCY_WEIGHT_STATUS": 1.0,
        "URGENCY_WEIGHT_VALUE": 1.0,
        "URGENCY_WEIGHT_SILENCE": 1.0,
        # Client files uploaded to POST /imports, imported within the request (about 60,000
        # XLSX rows a minute on 2 cores); larger ones: `fieldsync import accounts`.
        "IMPORT_MAX_BYTES": 10 * 1024 * 1024,
    }


def normalise_database_url(url: str) -> str:
    """Pick our own driver for a plain ``postgresql://`` URL (psycopg 3)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def load_settings(instance_path: str, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return defaults, then FIELDSYNC_* environment variables, then explicit overrides."""
    settings = default_settings(instance_path)
    for key, raw in os.environ.items():
        if key.startswith("FIELDSYNC_"):
            name = key.removeprefix("FIELDSYNC_")
            settings[name] = _coerce(raw, settings.get(name))
    settings.update(overrides or {})
    settings["DATABASE_URL"] = normalise_database_url(str(settings["DATABASE_URL"]))
    check_settings(settings)
    return settings


def check_settings(settings: dict[str, Any]) -> None:
    """Refuse to run in production with the public development key or a weak key, or
    anywhere with planning numbers that cannot work (weights < 0, speeds <= 0)."""
    for name, lowest, strict in (
        *((k, 0.0, False) for k in settings if k.startswith("URGENCY_WEIGHT_")),
        ("TRAVEL_ROAD_FACTOR", 1.0, False),
        ("TRAVEL_SPEED_KMH", 0.0, True),
        ("OSRM_TIMEOUT", 0.0, True),
    ):
        if settings.get(name) is None:
            continue
        try:
            value = float(settings[name])
        except (TypeError, ValueError):
            value = math.nan  # fails both comparisons below
        if not (value > lowest if strict else value >= lowest):
            bound = f"> {lowest:g}" if strict else f">= {lowest:g}"
            raise ConfigurationError(f"FIELDSYNC_{name} must be a number {bound}")
    if settings["ENV"] == "production":
        key = settings.get("SECRET_KEY") or ""
        if key == INSECURE_DEV_SECRET or len(str(key)) < 32:
            raise ConfigurationError(
                "FIELDSYNC_SECRET_KEY must be set to a random value of at least 32 characters "
                "when FIELDSYNC_ENV=production"
            )


def _coerce(raw: str, default: Any) -> Any:
    """Give an environment string the type of the default it replaces."""
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, int):
        try:
            return int(raw)
        except ValueError as exc:
            raise ConfigurationError(f"expected an integer, got {raw!r}") from exc
    return raw
