"""Times of day for visit planning: ``HH:MM`` and ``datetime.time`` as seconds since midnight,
and an account's opening hours on one date as the windows in which a visit may start.

Opening hours are the account's JSON (``{"mon": [["08:30", "12:30"], ["14:00", "18:00"]]}``):
``None`` or ``{}`` means open all day; a non-empty object without the date's weekday means
closed that day. A visit of `service` seconds may start in ``[open, close - service]``: it
must end before closing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from fieldsync.planning.problem import TimeWindow

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SECONDS = 24 * 3600


def seconds(value: dt.time) -> float:
    """Return a time of day as seconds since midnight."""
    return value.hour * 3600.0 + value.minute * 60.0 + value.second + value.microsecond / 1e6


def clock(value: float) -> dt.time:
    """Return seconds since midnight as a time of day, to the second (23:59:59 at most)."""
    whole = min(DAY_SECONDS - 1, max(0, round(value)))
    return dt.time(whole // 3600, whole % 3600 // 60, whole % 60)


def parse_hhmm(text: Any) -> float | None:
    """Return ``"HH:MM"`` as seconds since midnight (``"24:00"`` is midnight at the end of the
    day), or None when it is not such a time."""
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        return None
    hours, minutes = text[:2], text[3:]
    if not (hours.isdigit() and minutes.isdigit()):
        return None
    h, m = int(hours), int(minutes)
    if h == 24 and m == 0:
        return float(DAY_SECONDS)
    if h > 23 or m > 59:
        return None
    return h * 3600.0 + m * 60.0


def opening_ranges(
    opening_hours: Mapping[str, Any] | None, date: dt.date
) -> list[tuple[float, float]] | None:
    """Return the account's opening ranges on `date` in seconds, in order; None when it is open
    all day, ``[]`` when it is closed. Malformed ranges (the schema refuses them; old data may
    hold them) are skipped rather than failing a plan."""
    if not opening_hours:
        return None
    ranges = opening_hours.get(WEEKDAYS[date.weekday()])
    if not isinstance(ranges, Sequence) or isinstance(ranges, str):
        return []
    out = []
    for item in ranges:
        if not isinstance(item, Sequence) or isinstance(item, str) or len(item) != 2:
            continue
        start, end = parse_hhmm(item[0]), parse_hhmm(item[1])
        if start is not None and end is not None and end > start:
            out.append((start, end))
    return sorted(out)


def visit_windows(
    opening_hours: Mapping[str, Any] | None, date: dt.date, service: float, offset: float = 0.0
) -> tuple[TimeWindow, ...] | None:
    """Return when a visit of `service` seconds may start on `date` (shifted by `offset`):
    None for open all day, ``()`` when closed or no range is long enough."""
    ranges = opening_ranges(opening_hours, date)
    if ranges is None:
        return None
    return tuple(
        TimeWindow(offset + start, offset + end - service)
        for start, end in ranges
        if end - service >= start
    )


def fits(windows: Sequence[TimeWindow] | None, at: float) -> bool:
    """Return whether a visit may start at `at` given its windows (None: any time)."""
    return windows is None or any(w.start <= at <= w.end for w in windows)
