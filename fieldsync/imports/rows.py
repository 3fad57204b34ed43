"""Rows of a client file as account values: each row parsed on its own (a bad cell makes a
``RowError`` naming the row and column), in chunks, in this process or in a child process
that reads and parses while the parent writes to the database (``parse_in_background``).
"""

from __future__ import annotations

import multiprocessing
import queue
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path
from typing import Any

from fieldsync.exceptions import APIError, ValidationError
from fieldsync.imports import normalise as n
from fieldsync.imports.headers import resolve_headers
from fieldsync.imports.reader import Table, open_table
from fieldsync.portfolio.models import Account, Contact

TEXT_FIELDS = (
    "name", "title", "first_name", "last_name", "website", "industry", "legal_form", "street",
    "city", "region", "notes",
)  # fmt: skip
_LENGTHS = {c.name: getattr(c.type, "length", None) for c in Account.__table__.columns}
_CONTACT_LENGTHS = {c.name: getattr(c.type, "length", None) for c in Contact.__table__.columns}
Columns = dict[str, tuple[int, str]]  # field -> (column index, header as the file shows it)


@dataclass(frozen=True)
class RowError:
    row: int
    field: str | None
    message: str


@dataclass
class ParsedRow:
    row: int
    values: dict[str, Any]  # account columns
    contact: dict[str, Any] | None
    owner_email: str | None
    record_id: uuid.UUID | None
    name_key: str | None = None  # set by the importer's matching


class RowProblem(Exception):
    def __init__(self, column: str | None, message: str) -> None:
        super().__init__(message)
        self.column, self.message = column, message


# --- rows ------------------------------------------------------------------------------------


def columns_of(table: Table, mapping: dict[str, str | None] | None) -> dict[str, tuple[int, str]]:
    """Field → (column index, header text as the file shows it)."""
    found = resolve_headers(table.headers, mapping)
    columns = {f: (i, str(table.headers[i]).strip()) for i, f in found.items()}
    if "name" not in columns and not {"first_name", "last_name"} & columns.keys():
        raise ValidationError(
            "No column names the accounts (company name, or first and last name).",
            fields={"file": [f"Headers read: {[str(h) for h in table.headers if h]}"]},
        )
    return columns


def _checked(value: str, name: str, column: str, lengths: dict[str, int | None]) -> str:
    limit = lengths.get(name)
    if limit and len(value) > limit:
        raise RowProblem(column, f"At most {limit} characters (got {len(value)}).")
    return value


def parse_row(number: int, cells: list[Any], columns: dict[str, tuple[int, str]]) -> ParsedRow:
    """One row's cells as account values and a contact; RowProblem names the bad column."""
    raw: dict[str, str] = {}
    for name, (index, _) in columns.items():
        text = n.clean(cells[index]) if index < len(cells) else None
        if text is not None:
            raw[name] = text
    header = {name: columns[name][1] for name in columns}

    def parse(name: str, parser: Callable[..., Any], *args: Any) -> Any:
        try:
            return parser(raw[name], *args)
        except ValueError as error:
            raise RowProblem(header[name], str(error)) from None

    values: dict[str, Any] = {}
    country = parse("country", n.parse_country) if "country" in raw else None
    if country:
        values["country"] = country
    for name in TEXT_FIELDS:
        if name in raw:
            values[name] = _checked(raw[name], name, header[name], _LENGTHS)
    if "postal_code" in raw:
        code = n.postal_code(raw["postal_code"], country)
        values["postal_code"] = _checked(code, "postal_code", header["postal_code"], _LENGTHS)
    for name, parser in (("email", n.parse_email), ("vat_number", n.parse_vat),
                         ("status", n.parse_status), ("kind", n.parse_kind),
                         ("tags", n.parse_tags), ("color", n.parse_color),
                         ("contact_preference", n.parse_contact_preference)):  # fmt: skip
        if name in raw:
            values[name] = parse(name, parser)
    for name in ("phone", "mobile"):
        if name in raw:
            values[name] = parse(name, n.parse_phone, country)
    if "annual_revenue" in raw:
        values["annual_revenue"] = round(parse("annual_revenue", n.parse_number), 2)
        if not 0 <= values["annual_revenue"] < 1e15:
            raise RowProblem(header["annual_revenue"], "Must be between 0 and 10^15.")
    for name, top in (("employees", 10_000_000), ("visit_every_days", 3650)):
        if name in raw:
            values[name] = parse(name, n.parse_whole)
            if not (0 if name == "employees" else 1) <= values[name] <= top:
                raise RowProblem(header[name], f"Out of range (at most {top}).")
    if ("latitude" in raw) != ("longitude" in raw):
        missing = "longitude" if "latitude" in raw else "latitude"
        raise RowProblem(header.get(missing, missing), "Latitude and longitude go together.")
    if "latitude" in raw:
        values["lat"] = parse("latitude", n.parse_coordinate, 90)
        values["lon"] = parse("longitude", n.parse_coordinate, 180)
    if "name" not in values:
        person = " ".join(values[k] for k in ("first_name", "last_name") if k in values)
        if not person:
            raise RowProblem(columns.get("name", (0, "name"))[1], "A name is required.")
        values["name"] = _checked(person, "name", "name", _LENGTHS)
        values.setdefault("kind", "person")
    record_id = None
    if "id" in raw:
        try:
            record_id = uuid.UUID(raw["id"])
        except ValueError:
            raise RowProblem(header["id"], f"Not an id: {raw['id']!r}.") from None
    owner = parse("owner", n.parse_email) if "owner" in raw else None
    return ParsedRow(number, values, _contact(raw, header, country), owner, record_id)


def _contact(
    raw: dict[str, str], header: dict[str, str], country: str | None
) -> dict[str, Any] | None:
    names = ("contact_name", "contact_first_name", "contact_last_name", "contact_email",
             "contact_phone", "contact_role")  # fmt: skip
    if not any(name in raw for name in names):
        return None
    contact: dict[str, Any] = {}
    if "contact_name" in raw:
        contact["first_name"], contact["last_name"] = n.split_person(raw["contact_name"])
    for source, target in (("contact_first_name", "first_name"), ("contact_last_name", "last_name"),
                           ("contact_role", "role")):  # fmt: skip
        if source in raw:
            contact[target] = raw[source]
    try:
        if "contact_email" in raw:
            contact["email"] = n.parse_email(raw["contact_email"])
        if "contact_phone" in raw:
            contact["phone"] = n.parse_phone(raw["contact_phone"], country)
    except ValueError as error:
        column = (
            "contact_email"
            if "email" not in contact and "contact_email" in raw
            else "contact_phone"
        )
        raise RowProblem(header[column], str(error)) from None
    if not contact.get("last_name"):
        column = header.get("contact_name") or header.get("contact_last_name") or "contact"
        raise RowProblem(column, "A contact needs a name (at least a last name).")
    for name in ("first_name", "last_name", "role"):
        if contact.get(name):
            _checked(contact[name], name, header.get(f"contact_{name}", name), _CONTACT_LENGTHS)
    return contact


def _chunks(
    rows: Iterator[tuple[int, list[Any]]], size: int
) -> Iterator[list[tuple[int, list[Any]]]]:
    while chunk := list(islice(rows, size)):
        yield chunk


@dataclass
class ParsedChunk:
    """One chunk of the file: how many rows it read, the good ones and the bad ones."""

    size: int
    rows: list[ParsedRow]
    errors: list[RowError]


@dataclass
class ParsedFile:
    """The columns the file's headers name, and its rows, parsed, chunk by chunk."""

    columns: Columns
    estimated_rows: int | None
    chunks: Iterator[ParsedChunk]
    close: Any = field(default=None)


def parse_chunk(chunk: list[tuple[int, list[Any]]], columns: Columns) -> ParsedChunk:
    rows: list[ParsedRow] = []
    errors: list[RowError] = []
    for number, cells in chunk:
        try:
            rows.append(parse_row(number, cells, columns))
        except RowProblem as problem:
            errors.append(RowError(number, problem.column, problem.message))
    return ParsedChunk(len(chunk), rows, errors)


def parse_table(table: Table, mapping: dict[str, str | None] | None, chunk_size: int) -> ParsedFile:
    """Parse a table in this process, a chunk at a time as the import asks for it."""
    columns = columns_of(table, mapping)
    chunks = (parse_chunk(chunk, columns) for chunk in _chunks(table.rows, chunk_size))
    return ParsedFile(columns, table.estimated_rows, chunks)


# --- in a child process ----------------------------------------------------------------------

_QUEUE_DEPTH = 4  # chunks read ahead: bounds the memory the two processes hold


def _produce(path: str, mapping: dict[str, str | None] | None, chunk_size: int, out: Any) -> None:
    """The child: read and parse the file, send its columns and then its chunks."""
    try:
        with Path(path).open("rb") as file, open_table(file, path) as table:
            columns = columns_of(table, mapping)
            out.put(("columns", columns, table.estimated_rows))
            for chunk in _chunks(table.rows, chunk_size):
                out.put(("chunk", parse_chunk(chunk, columns)))
    except APIError as error:
        out.put(("error", error.message, (error.details or {}).get("fields")))
        return
    except Exception as error:  # anything else: the parent reports it, nothing is written
        out.put(("error", f"The file could not be read: {type(error).__name__}.", None))
        return
    out.put(("done",))


def parse_in_background(
    path: Path, mapping: dict[str, str | None] | None, chunk_size: int
) -> ParsedFile:
    """Read and parse the file in a child process: on two cores the file's parsing (about
    as costly as the database work) overlaps the writes instead of adding to them."""
    context = multiprocessing.get_context("spawn")  # no inherited connections or threads
    channel = context.Queue(maxsize=_QUEUE_DEPTH)
    child = context.Process(
        target=_produce, args=(str(path), mapping, chunk_size, channel), daemon=True
    )
    child.start()

    def receive() -> Any:
        while True:
            try:
                return channel.get(timeout=1)
            except queue.Empty:
                if not child.is_alive():
                    raise ValidationError(
                        "The file could not be read (its reader stopped).",
                        fields={"file": ["Reader process ended early."]},
                    ) from None

    def stop() -> None:
        if child.is_alive():
            child.terminate()
        child.join(timeout=5)
        channel.close()

    first = receive()
    if first[0] == "error":
        stop()
        raise ValidationError(first[1], fields=first[2])

    def chunks() -> Iterator[ParsedChunk]:
        try:
            while True:
                message = receive()
                if message[0] == "done":
                    return
                if message[0] == "error":
                    raise ValidationError(message[1], fields=message[2])
                yield message[1]
        finally:
            stop()

    return ParsedFile(first[1], first[2], chunks(), close=stop)
