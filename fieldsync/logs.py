"""Structured logs: one JSON object per line in production, key=value text in development."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_extras(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class KeyValueFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        pairs = " ".join(f"{k}={v}" for k, v in _extras(record).items() if v is not None)
        line = f"{self.formatTime(record, '%H:%M:%S')} {record.levelname:<5} {record.name}: "
        line += f"{record.getMessage()} {pairs}".rstrip()
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def configure(level: str, *, json_logs: bool) -> None:
    """Route the ``fieldsync`` loggers to stderr once, in the chosen format."""
    logger = logging.getLogger("fieldsync")
    logger.setLevel(level.upper())
    if any(getattr(h, "fieldsync", False) for h in logger.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter() if json_logs else KeyValueFormatter())
    handler.fieldsync = True  # type: ignore[attr-defined]
    logger.addHandler(handler)
    logger.propagate = False
