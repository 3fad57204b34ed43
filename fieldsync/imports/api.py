"""Routes of client files: ``POST /imports`` (a report back) and ``GET /accounts/export``
(a streamed CSV or XLSX)."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, current_app, request, stream_with_context
from flask.views import MethodView

from fieldsync.audit.service import record_audit
from fieldsync.exceptions import ValidationError
from fieldsync.extensions import Blueprint, db
from fieldsync.imports import schemas as s
from fieldsync.imports.export import MEDIA_TYPES, export_accounts
from fieldsync.imports.headers import check_mapping
from fieldsync.imports.reader import open_table
from fieldsync.imports.service import import_accounts
from fieldsync.web import current_actor, require_role

imports_blp = Blueprint(
    "imports", __name__, url_prefix="/api/v1/imports", description="Client files in"
)
# Its own blueprint under /accounts: ``/export`` is not an id (the item route takes a UUID).
exports_blp = Blueprint(
    "account_exports", __name__, url_prefix="/api/v1/accounts", description="Client files out"
)


@imports_blp.before_request
def _admit_client_files() -> None:
    """Admins and managers only (before a large body is read), and a larger body limit."""
    require_role("admin", "manager")
    request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]


@imports_blp.route("")
class Imports(MethodView):
    accepts_files = True  # multipart/form-data is allowed here (fieldsync.web)

    @imports_blp.arguments(s.ImportFormSchema, location="form")
    @imports_blp.response(200, s.ImportReportSchema)
    @imports_blp.alt_response(403, description="Reps do not import")
    @imports_blp.alt_response(413, description="Over FIELDSYNC_IMPORT_MAX_BYTES (use the CLI)")
    @imports_blp.doc(
        summary="Import a client file",
        description="A .csv (UTF-8 or Windows-1252, `,` `;` or tab) or .xlsx file whose headers "
        "are in English, Italian, French, Spanish or German. Rows matching an account (same "
        "id, VAT number or email, or same name and address) update it; the others create "
        "accounts. Bad rows are reported and left out, the others go in. `dry_run=true` "
        "reports the same without changing anything.",
    )
    def post(self, form: dict[str, Any]) -> dict[str, Any]:
        upload = request.files.get("file")
        if upload is None:
            raise ValidationError(
                "A file is required.", fields={"file": ["Missing data for required field."]}
            )
        mapping = None
        if form["mapping"] is not None:
            try:
                mapping = check_mapping(json.loads(form["mapping"]))
            except ValueError:
                raise ValidationError(
                    "The mapping is not JSON.", fields={"mapping": ["Not valid JSON."]}
                ) from None
        with open_table(upload.stream, upload.filename) as table:
            report = import_accounts(
                db.session,
                actor=current_actor(),
                table=table,
                dry_run=form["dry_run"],
                mapping=mapping,
            )
        return report.as_dict()


@exports_blp.route("/export")
class AccountExport(MethodView):
    @exports_blp.arguments(s.AccountExportArgsSchema, location="query")
    @exports_blp.response(
        200,
        description="The file, streamed: one row per account, English headers",
        content_type="text/csv",
    )
    @exports_blp.doc(
        summary="Export accounts",
        description="The accounts you can see that match the list's filters, as CSV "
        "(`format=csv`, UTF-8 with BOM) or XLSX (`format=xlsx`). Importing the file again "
        "finds the same accounts and changes nothing.",
    )
    def get(self, args: dict[str, Any]) -> Response:
        fmt = args.pop("format")
        chunks = export_accounts(db.session, actor=current_actor(), filters=args, fmt=fmt)
        record_audit(
            db.session,
            actor=current_actor(),
            action="accounts.export",
            entity="accounts",
            record_id=None,
            details={"format": fmt, "filters": args},
        )
        return Response(
            stream_with_context(chunks),
            mimetype=MEDIA_TYPES[fmt],
            headers={"Content-Disposition": f'attachment; filename="accounts.{fmt}"'},
        )


blueprints = (imports_blp, exports_blp)
