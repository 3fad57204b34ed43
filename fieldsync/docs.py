"""The browsable API documentation, served with no internet access.

flask-smorest renders the Swagger UI page; its JavaScript and CSS come from the
``swagger-ui-bundle`` package and are served by this app, never from a CDN.
"""

from __future__ import annotations

from flask import Blueprint, Flask, send_from_directory
from flask.typing import ResponseReturnValue
from swagger_ui_bundle import swagger_ui_path

API_DESCRIPTION = """\
Backend of offline-first field sales apps: the client portfolio (accounts, contacts,
interactions, tasks, territories), offline sync, geocoding and visit planning.

**Conventions.** JSON in UTF-8; times ISO 8601 with a zone; ids are UUIDs, chosen by the client
when it creates a record. Every request but login and refresh carries
`Authorization: Bearer <access_token>`. Responses over 1 KB are gzip-compressed when the request
says `Accept-Encoding: gzip`.

**Errors.** Every error has the body
`{"error": {"code", "message", "details"?}}`; validation errors list the offending fields in
`details.fields` (nested fields dotted, e.g. `address.country`). Codes: `bad_request` 400
(malformed JSON, including `NaN`, `Infinity` and numbers beyond a double's range, which
RFC 8259 JSON does not have; wrong content type), `unauthorized` 401, `forbidden` 403,
`not_found` 404 (also for records of another organisation), `conflict` 409, `gone` 410,
`precondition_failed` 412, `payload_too_large` 413, `validation_error` 422, `rate_limited` 429
(with `Retry-After`), `unavailable` 503 (with `Retry-After`), `internal_error` 500 (with
`details.correlation_id`).

**Paging.** Lists answer `{"items": [...], "next_cursor"}`; pass `next_cursor` back as `?cursor=`
until it is `null`. `limit` defaults to 100, at most 1000. A cursor is opaque and stays valid
while the filters are unchanged.

**Versions.** `GET` of one record answers `ETag: "<version>"`. `PATCH` takes
`If-Match: "<version>"` (quotes optional); when it names a version other than the current one
the answer is 412 and nothing is written. Without `If-Match` the patch applies to the current
version (last writer wins), which suits integrations; phones should send it.

**Server-owned fields** (`id` after creation, `version`, `created_at`, `updated_at`,
`geocode_status`, `geocode_error`, `territory_id`, `last_visit_at`, `user_id` of interactions,
`verification`) are rejected on input with a validation error naming them; unknown fields are
rejected the same way.

**Auth.** Access tokens live `expires_in` seconds; a refresh token works once and returns a new
pair. Presenting an already used refresh token revokes that login session (token theft
detection): the app must then log in again. Logging out, revoking the device or deactivating the
user stops the tokens at once. Logging in with the id of a revoked device re-activates it (the
password is the proof). Failed logins are limited per account and per IP (429 with
`Retry-After`).

**Visit plans.** One plan per rep and local date (the organisation's time zone, `Europe/Rome` by
default): planning a day again replaces the stored plan (same id, next version) and keeps the
status of stops planned again. `start`/`end` default to the rep's `home_location`; `end: null`
means back to the start. Without `account_ids` the candidates are the accounts of the rep's
scope falling due by two days after the last day planned, most urgent first (2,000 at most);
with `account_ids` exactly those (an account the rep cannot see is a 422). Week and team
requests take `fixed` items with a `date` (week) or a `rep_id` (team). Phones hold the plans of
the last 14 days and later ones; a phone changes a stop's `status` only (push or PATCH), and a
visit logged at a planned account on the plan's day marks the stop `done`.

**Client files.** `POST /imports` imports within the request, up to the server's upload limit
(10 MB by default, 413 beyond: use `fieldsync import accounts`); a manager's imported accounts
are owned by the manager unless an `owner` column names another user. Exports are UTF-8 CSV with
a BOM (or XLSX) with English headers that the importer reads back.

**Privacy.** Erasure (managers and admins) blanks a person's identity and contact data; for a
company account only the data of the person named on it (title, first and last name, email,
mobile, notes, custom). Postal code, city, region and country stay, for statistics. Reps may use
segments but see only their own scope; coverage statistics are for managers and admins.

Geographic data: © GeoNames (CC BY 4.0) where the embedded gazetteer is used.
"""

docs_assets = Blueprint("docs_assets", __name__)


@docs_assets.get("/docs/assets/<path:filename>")
def swagger_asset(filename: str) -> ResponseReturnValue:
    """Serve Swagger UI's own files from the installed package."""
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)


def init_docs(app: Flask) -> None:
    app.register_blueprint(docs_assets)
