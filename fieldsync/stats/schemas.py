"""What crosses the wire for statistics."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import marshmallow as ma
from marshmallow import validate

from fieldsync.portfolio.schemas import StorableText, when
from fieldsync.stats.service import METRICS


class DayOrInstant(ma.fields.Field):
    """``YYYY-MM-DD`` (a day of the organisation's time zone) or an ISO 8601 instant."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, str) and len(value) == 10:
            try:
                return date.fromisoformat(value)
            except ValueError:
                raise ma.ValidationError("Not a date (YYYY-MM-DD) nor an instant.") from None
        return when()._deserialize(value, attr, data, **kwargs)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> Any:
        return value.isoformat() if isinstance(value, date | datetime) else value


class CoverageArgsSchema(StorableText, ma.Schema):
    class Meta:
        unknown = ma.RAISE

    group_by = ma.fields.String(required=True, validate=validate.OneOf(("rep", "territory")))
    start = DayOrInstant(
        data_key="from",
        metadata={"description": "Start (inclusive): a date or an instant; default `to` - 30 days"},
    )
    end = DayOrInstant(
        data_key="to",
        metadata={"description": "End: an instant (exclusive) or a date (included); default now"},
    )


def _figures() -> dict[str, ma.fields.Field]:
    fields: dict[str, ma.fields.Field] = {name: ma.fields.Integer() for name in METRICS}
    fields["coverage_pct"] = ma.fields.Float(
        allow_none=True,
        metadata={"description": "visited_within_cadence / with_cadence in %, null if none"},
    )
    return fields


CoverageFiguresSchema = ma.Schema.from_dict(_figures(), name="CoverageFigures")
CoverageGroupSchema = ma.Schema.from_dict(
    {
        "id": ma.fields.UUID(
            allow_none=True, metadata={"description": "Rep or territory; null: no territory"}
        ),
        "name": ma.fields.String(allow_none=True),
        **_figures(),
    },
    name="CoverageGroup",
)


class CoverageSchema(ma.Schema):
    group_by = ma.fields.String()
    start = ma.fields.DateTime(data_key="from")
    end = ma.fields.DateTime(data_key="to")
    items = ma.fields.List(ma.fields.Nested(CoverageGroupSchema))
    totals = ma.fields.Nested(CoverageFiguresSchema)
