"""GDPR routes: erase an account or a contact, export an account's personal data."""

from __future__ import annotations

import uuid
from typing import Any

from flask.views import MethodView

from fieldsync.db import utcnow
from fieldsync.extensions import Blueprint, db
from fieldsync.privacy import service
from fieldsync.privacy.schemas import ErasureSchema, PersonalDataSchema
from fieldsync.web import current_actor

privacy_blp = Blueprint(
    "privacy", __name__, url_prefix="/api/v1", description="GDPR: erasure and data export"
)


@privacy_blp.route("/accounts/<uuid:account_id>/erase")
class EraseAccount(MethodView):
    @privacy_blp.response(200, ErasureSchema)
    @privacy_blp.alt_response(403, description="Reps cannot erase")
    def post(self, account_id: uuid.UUID) -> Any:
        """Erase the personal data of an account, its contacts and history (managers, admins).

        A person account keeps only its status, kind, owner, territory, cadence and postal
        area; a company account keeps its company data and loses what names a person. Contacts
        are erased; interactions lose report, next step and GPS fixes; tasks their title and
        notes; the conflict log and quarantine their copies. Phones get the result on their
        next pull. Audited. Idempotent (a second call changes nothing).
        """
        return service.erase_account(db.session, actor=current_actor(), account_id=account_id)


@privacy_blp.route("/contacts/<uuid:contact_id>/erase")
class EraseContact(MethodView):
    @privacy_blp.response(200, ErasureSchema)
    @privacy_blp.alt_response(403, description="Reps cannot erase")
    def post(self, contact_id: uuid.UUID) -> Any:
        """Erase a contact person (managers, admins): name `Erased`, the rest null, and the
        report, next step and GPS fixes of the interactions with them. Audited."""
        return service.erase_contact(db.session, actor=current_actor(), contact_id=contact_id)


@privacy_blp.route("/accounts/<uuid:account_id>/personal-data")
class PersonalData(MethodView):
    @privacy_blp.response(200, PersonalDataSchema)
    @privacy_blp.alt_response(403, description="Reps cannot export personal data")
    def get(self, account_id: uuid.UUID) -> dict[str, Any]:
        """Everything held about an account's person, deleted records included: the account,
        its contacts, interactions, tasks, the conflict-log and quarantine entries about them,
        and the consent and status histories (managers, admins). Audited."""
        data = service.personal_data(db.session, actor=current_actor(), account_id=account_id)
        return {
            "exported_at": utcnow(),
            "account": data.account,
            "deleted_at": data.account.deleted_at,
            "contacts": data.contacts,
            "interactions": data.interactions,
            "tasks": data.tasks,
            "conflicts": data.conflicts,
            "quarantine": data.quarantine,
            "consent_history": data.consent_history,
            "status_history": data.status_history,
        }


blueprints = (privacy_blp,)
