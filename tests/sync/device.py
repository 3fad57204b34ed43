"""A simulated offline phone: a local store filled by pull and emptied by push, over HTTP."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient

ENTITIES = ("accounts", "contacts", "interactions", "tasks", "territories", "visit_plans")


@dataclass
class Phone:
    client: FlaskClient
    token: str
    store: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {e: {} for e in ENTITIES}
    )
    cursor: str | None = None
    pages: int = 0

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def pull(self, limit: int = 500, checksum: bool = False) -> dict[str, Any]:
        """Pull until has_more is false; return the last page."""
        while True:
            params: dict[str, Any] = {"limit": limit}
            if self.cursor:
                params["cursor"] = self.cursor
            if checksum:
                params["checksum"] = "true"
            response = self.client.get(
                "/api/v1/sync/pull", query_string=params, headers=self.headers
            )
            assert response.status_code == 200, response.json
            page = response.json
            self.apply(page)
            self.pages += 1
            self.cursor = page["cursor"]
            if not page["has_more"]:
                return page

    def apply(self, page: dict[str, Any]) -> None:
        for entity, changes in page["changes"].items():
            upserted_ids = {r["id"] for r in changes["upserted"]}
            removed = set(changes["removed"])
            assert not upserted_ids & removed, f"{entity}: same id upserted and removed in a page"
            for rid in removed:
                self.store[entity].pop(rid, None)
            for record in changes["upserted"]:
                self.store[entity][record["id"]] = record

    def push(
        self,
        mutations: list[dict[str, Any]],
        changeset_id: str | None = None,
        device_time: datetime | None = None,
    ) -> dict[str, Any]:
        body = {
            "changeset_id": changeset_id or str(uuid.uuid4()),
            "device_time": (device_time or datetime.now(UTC)).isoformat(),
            "mutations": mutations,
        }
        response = self.client.post("/api/v1/sync/push", json=body, headers=self.headers)
        assert response.status_code == 200, response.json
        return dict(response.json)

    def versions(self) -> set[str]:
        return {
            f"{entity}:{rid}:{record['version']}"
            for entity, records in self.store.items()
            for rid, record in records.items()
        }


def upsert(
    entity: str,
    record_id: str,
    fields: dict[str, Any],
    base_version: int | None = None,
    changed_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "entity": entity,
        "op": "upsert",
        "id": record_id,
        "base_version": base_version,
        "changed_at": (changed_at or datetime.now(UTC)).isoformat(),
        "fields": fields,
    }


def delete(
    entity: str, record_id: str, base_version: int | None, changed_at: datetime | None = None
) -> dict[str, Any]:
    return {
        "entity": entity,
        "op": "delete",
        "id": record_id,
        "base_version": base_version,
        "changed_at": (changed_at or datetime.now(UTC)).isoformat(),
    }
