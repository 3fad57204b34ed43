"""What crosses the wire for imports and exports."""

from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from fieldsync.imports.export import FORMATS
from fieldsync.portfolio.schemas import AccountQueryArgsSchema


class ImportFormSchema(ma.Schema):
    """The multipart form. ``file`` is read from the request's files (webargs reads one
    location per schema); it is declared here so the OpenAPI form shows both parts."""

    class Meta:
        unknown = ma.RAISE

    file = ma.fields.Raw(
        load_default=None,
        metadata={"type": "string", "format": "binary", "description": "Required: .csv or .xlsx"},
    )
    dry_run = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Report what the import would do, change nothing"},
    )
    mapping = ma.fields.String(
        load_default=None,
        validate=validate.Length(max=20_000),
        metadata={
            "description": 'JSON object {"file header": "field" | null} overriding the '
            "recognised headers (null ignores the column)"
        },
    )


class ImportErrorSchema(ma.Schema):
    row = ma.fields.Integer(metadata={"description": "Spreadsheet row; the header is row 1"})
    field = ma.fields.String(allow_none=True, metadata={"description": "Column of the file"})
    message = ma.fields.String()


class ImportReportSchema(ma.Schema):
    created = ma.fields.Integer()
    updated = ma.fields.Integer()
    skipped = ma.fields.Integer(metadata={"description": "Rows that changed nothing"})
    errors = ma.fields.List(ma.fields.Nested(ImportErrorSchema))
    rows = ma.fields.Integer(metadata={"description": "Data rows read (blank rows excepted)"})
    dry_run = ma.fields.Boolean()


class AccountExportArgsSchema(AccountQueryArgsSchema):
    """The account list's filters, and the file format (paging does not apply)."""

    class Meta:
        exclude = ("limit", "cursor")

    format = ma.fields.String(load_default="csv", validate=validate.OneOf(FORMATS))
