"""The push reads well-formed mutation envelopes without the schema machinery: what it reads
must be exactly what ``MutationSchema`` loads, and whatever the schema refuses still gets the
schema's own messages."""

from __future__ import annotations

import uuid
from typing import Any

import marshmallow as ma
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fieldsync.exceptions import flatten_messages
from fieldsync.sync.push import MUTATION_SCHEMA, MutationRejected, _envelope

RID = str(uuid.uuid4())


def by_schema(raw: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "loaded", MUTATION_SCHEMA.load(raw)
    except ma.ValidationError as error:
        return "rejected", flatten_messages(error.messages)


def by_envelope(raw: dict[str, Any]) -> tuple[str, Any]:
    try:
        return "loaded", _envelope(raw)
    except MutationRejected as rejected:
        return "rejected", rejected.errors


CASES: list[dict[str, Any]] = [
    {"entity": "accounts", "op": "upsert", "id": RID, "base_version": 3,
     "changed_at": "2026-11-20T10:00:00+01:00", "fields": {"name": "Rossi"}},
    {"entity": "contacts", "op": "delete", "id": RID},
    {"entity": "tasks", "op": "upsert", "id": RID.replace("-", ""), "base_version": None,
     "changed_at": None},
    {"entity": "visit_plans", "op": "upsert", "id": "{" + RID + "}",
     "changed_at": "2026-11-20T10:00:00Z", "fields": {"stops": []}},
    {"entity": "accounts", "op": "upsert", "id": RID, "changed_at": "2026-11-20T10:00:00"},
    {"entity": "accounts", "op": "upsert", "id": RID, "changed_at": "2026-11-20"},
    {"entity": "accounts", "op": "upsert", "id": RID, "changed_at": "yesterday"},
    {"entity": "accounts", "op": "upsert", "id": RID, "changed_at": 1700000000},
    {"entity": "accounts", "op": "upsert", "id": RID, "base_version": True},
    {"entity": "accounts", "op": "upsert", "id": RID, "base_version": "4"},
    {"entity": "accounts", "op": "upsert", "id": RID, "base_version": 4.0},
    {"entity": "accounts", "op": "upsert", "id": RID, "base_version": 4.5},
    {"entity": "accounts", "op": "upsert", "id": RID, "fields": None},
    {"entity": "accounts", "op": "upsert", "id": RID, "fields": ["name"]},
    {"entity": "accounts", "op": "upsert", "id": "not-a-uuid"},
    {"entity": "accounts", "op": "upsert", "id": 42},
    {"entity": "invoices", "op": "upsert", "id": RID},
    {"entity": "accounts", "op": "merge", "id": RID},
    {"entity": "accounts", "op": "upsert", "id": RID, "colour": "red"},
    {"op": "upsert", "id": RID},
    {"entity": None, "op": "upsert", "id": RID},
]  # fmt: skip


@pytest.mark.parametrize("raw", CASES)
def test_an_envelope_reads_as_the_schema_loads_it(raw: dict[str, Any]) -> None:
    assert by_envelope(raw) == by_schema(raw)


values = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=12),
    st.sampled_from(["accounts", "contacts", "interactions", "tasks", "visit_plans", "upsert",
                     "delete", RID, RID.upper(), "2026-11-20T10:00:00+02:00", "2026-11-20T10:00",
                     "2026-02-30T10:00:00Z"]),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)  # fmt: skip
envelopes = st.dictionaries(
    st.sampled_from(["entity", "op", "id", "base_version", "changed_at", "fields", "extra"]),
    values,
)


@settings(max_examples=400, deadline=None)
@given(envelopes)
def test_any_envelope_reads_as_the_schema_loads_it(raw: dict[str, Any]) -> None:
    assert by_envelope(raw) == by_schema(raw)
