"""Every list pages through ``fieldsync.paging``: a cursor that is well formed but wrong for
the list (another list's key, a naive instant, a bad id) is a 422 naming ``cursor``, never a
500, and never a silently different page."""

from __future__ import annotations

import uuid

import pytest
from flask.testing import FlaskClient

from fieldsync.schemas import encode_cursor
from tests.conftest import World

# (path, who lists it, what the list is ordered by besides the id)
LISTS = [
    ("/api/v1/accounts", "manager", None),
    ("/api/v1/territories", "manager", "text"),
    ("/api/v1/segments", "manager", "text"),
    ("/api/v1/plans", "manager", "date"),
    ("/api/v1/conflicts", "manager", "instant"),
    ("/api/v1/quarantine", "admin", "instant"),
    ("/api/v1/audit", "admin", "instant"),
]
BAD_ID = [
    {"i": "not-a-uuid", "k": "2026-11-20T10:00:00+00:00"},
    {"k": "2026-11-20T10:00:00+00:00"},  # no id
]
BAD_TIME_KEY = [
    {"i": str(uuid.uuid4()), "k": "2026-11-20T10:00:00"},  # a naive instant
    {"i": str(uuid.uuid4()), "k": "yesterday"},
    {"i": str(uuid.uuid4())},  # no key
]


@pytest.mark.parametrize(("path", "role", "key"), LISTS)
def test_a_wrong_cursor_is_a_422_naming_it(
    client: FlaskClient, world: World, path: str, role: str, key: str | None
) -> None:
    headers = getattr(world, role).headers
    assert client.get(path, headers=headers).status_code == 200, path
    wrong = BAD_ID + (BAD_TIME_KEY if key in ("date", "instant") else [])
    for state in wrong:
        response = client.get(path, query_string={"cursor": encode_cursor(state)}, headers=headers)
        assert response.status_code == 422, (path, state, response.status_code, response.json)
        assert "cursor" in response.json["error"]["details"]["fields"], (path, response.json)
