"""Client files as rows of cells: CSV (encoding and delimiter detected) and XLSX (openpyxl's
read-only streaming mode), with the spreadsheet's own row numbers.

The header row is the first of the top rows whose cells name the most known fields (a title
row or a merged group heading above the real headers is passed over); blank rows are skipped
but keep their numbers, so a report's row is the line a spreadsheet shows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from fieldsync.exceptions import ValidationError
from fieldsync.imports.headers import recognise

DELIMITERS = (",", ";", "\t")
HEADER_SEARCH_ROWS = 10
XLSX_MAGIC = b"PK\x03\x04"


@dataclass
class Table:
    """A header row and the data rows after it, as (row number, cells)."""

    headers: list[Any]
    header_row: int
    rows: Iterator[tuple[int, list[Any]]]
    estimated_rows: int | None  # for a progress bar (data rows, roughly)
    close: Any = None

    def __enter__(self) -> Table:
        return self

    def __exit__(self, *_: Any) -> None:
        if self.close is not None:
            self.close()


def _blank(cells: list[Any] | tuple[Any, ...]) -> bool:
    return all(c is None or (isinstance(c, str) and not c.strip()) for c in cells)


def _score(cells: list[Any]) -> int:
    return sum(1 for c in cells if c is not None and recognise(str(c)) is not None)


def _split_header(numbered: Iterator[tuple[int, list[Any]]]) -> tuple[int, list[Any], list[Any]]:
    """Find the header among the first rows; return (its number, its cells, rows after it
    already read)."""
    window: list[tuple[int, list[Any]]] = []
    for number, cells in numbered:
        if _blank(cells):
            continue
        window.append((number, cells))
        if len(window) >= HEADER_SEARCH_ROWS:
            break
    if not window:
        raise ValidationError("The file has no rows.", fields={"file": ["Empty file."]})
    best = max(range(len(window)), key=lambda i: (_score(window[i][1]), -i))
    if _score(window[best][1]) == 0:
        best = 0  # nothing recognised: the first row is the header (a mapping may name it)
    number, headers = window[best]
    return number, headers, window[best + 1 :]


def _chain(
    head: list[tuple[int, list[Any]]], tail: Iterator[tuple[int, list[Any]]]
) -> Iterator[tuple[int, list[Any]]]:
    yield from head
    for number, cells in tail:
        if not _blank(cells):
            yield number, cells


# --- CSV -------------------------------------------------------------------------------------


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Windows-1252, else Latin-1 (which decodes anything)."""
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return data.decode("latin-1")


def detect_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the most columns, consistently."""
    sample = text[:65536].splitlines()[:20]
    sample = [line for line in sample if line.strip()][:10] or [""]

    def widths(delimiter: str) -> list[int]:
        return [len(row) for row in csv.reader(sample, delimiter=delimiter)]

    def quality(delimiter: str) -> tuple[int, int]:
        counts = widths(delimiter)
        header = counts[0] if counts else 1
        consistent = sum(1 for c in counts if c == header)
        return (header if header > 1 else 0) * consistent, header

    return max(DELIMITERS, key=quality)


def read_csv(data: bytes) -> Table:
    text = decode(data)
    delimiter = detect_delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    # reader.line_num is the file line where the record ended: a quoted cell may span lines,
    # and the spreadsheet row number is the record count (what a spreadsheet shows).
    numbered = ((number, list(cells)) for number, cells in enumerate(reader, start=1))
    header_row, headers, first = _split_header(numbered)
    return Table(
        headers=headers,
        header_row=header_row,
        rows=_chain(first, numbered),
        estimated_rows=max(text.count("\n") - header_row, 0),
    )


# --- XLSX ------------------------------------------------------------------------------------


def read_xlsx(file: IO[bytes]) -> Table:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(file, read_only=True, data_only=True)
    except (InvalidFileException, KeyError, ValueError, OSError) as error:
        raise ValidationError(
            "The file is not a readable XLSX workbook.", fields={"file": [str(error)[:200]]}
        ) from None
    except Exception as error:  # a damaged zip (BadZipFile) and the like
        raise ValidationError(
            "The file is not a readable XLSX workbook.", fields={"file": [type(error).__name__]}
        ) from None
    sheet = workbook.worksheets[0]
    # Files written by other tools often carry a wrong <dimension>: read what is there.
    estimated = sheet.max_row if sheet.max_row and sheet.max_row > 1 else None
    sheet.reset_dimensions()
    numbered = (
        (number, list(cells))
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1)
    )
    header_row, headers, first = _split_header(numbered)
    return Table(
        headers=headers,
        header_row=header_row,
        rows=_chain(first, numbered),
        estimated_rows=(estimated - header_row) if estimated else None,
        close=workbook.close,
    )


def open_table(file: IO[bytes], filename: str | None = None) -> Table:
    """Read a CSV or XLSX file (told apart by content: an XLSX is a zip)."""
    start = file.read(4)
    file.seek(0)
    if start == XLSX_MAGIC:
        return read_xlsx(file)
    if filename and filename.lower().endswith((".xls", ".xlsm", ".ods")):
        raise ValidationError(
            "Only .csv and .xlsx files can be imported.",
            fields={"file": ["Save the sheet as .xlsx or .csv."]},
        )
    return read_csv(file.read())
