"""Fuzz targets for the offline parsers: hypothesis strategies of hostile files and the parser each one feeds.

Each target writes one generated file and runs its parser; the only allowed failure is a MeetintelError
(DataError for bad content) whose message names the file. A parse that leaves bad records out (a lone
surrogate, an unreadable time, an end before the start, a duplicate address, a capped series) is the
outcome "quarantined": each record names the file and a known rule. `tests/collectors/test_fuzz.py` runs
them with a small budget in CI and `benchmarks/fuzz.py` with a large one for RELIABILITY figures.
"""

from __future__ import annotations

import atexit
import csv
import functools
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from hypothesis import strategies as st

from collectors._calendar_files import read_event_dumps, read_ics
from collectors._google_files import CSV_REQUIRED, read_directory_csv, read_directory_json, read_drive_files
from collectors._io import connect
from collectors._slack_export import read_day_files, read_users
from core.chunks import QUARANTINE_RULES, Quarantined
from core.errors import MeetintelError

# Text that has broken parsers before: markup, NULs, lone surrogates are not UTF-8-encodable so excluded.
_NASTY = [
    "",
    " ",
    "\x00",
    "\u202e",
    "<script>",
    "=1+1",
    "'; DROP TABLE x; --",
    "💥",
    "\\",
    '"',
    "\r\n",
    "a" * 300,
]
_text = st.one_of(st.sampled_from(_NASTY), st.text(st.characters(exclude_categories=["Cs"]), max_size=40))
# A lone surrogate survives json.dumps as the escape `\ud800`: the record rule `lone_surrogate`.
_surrogate = st.sampled_from(["\ud800", "x\udfff", "\udbff y"])
_scalar = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(allow_nan=False), _text)
_json = st.recursive(
    _scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(_text, inner, max_size=4)),
    max_leaves=12,
)
# Slack timestamps: mostly well formed, sometimes not.
_ts = st.one_of(
    st.builds(lambda s, u: f"{s}.{u:06d}", st.integers(0, 4_000_000_000), st.integers(0, 999_999)),
    _text,
    st.integers(),
    st.floats(allow_nan=False),
    st.none(),
)


def _message() -> st.SearchStrategy[dict[str, Any]]:
    keys = {
        "ts": _ts,
        "thread_ts": _ts,
        "user": _json,
        "text": st.one_of(_json, _surrogate),
        "subtype": _json,
        "reply_count": _json,
        "edited": _json,
        "reactions": _json,
        "files": _json,
        "attachments": _json,
        "room": _json,
    }
    return st.fixed_dictionaries({}, optional=keys)


def _event() -> st.SearchStrategy[dict[str, Any]]:
    when = st.one_of(
        _json,
        st.fixed_dictionaries(
            {},
            optional={
                "dateTime": st.one_of(
                    _text, st.just("2026-09-07T10:00:00+02:00"), st.just("2026-09-07T10:00:00")
                ),
                "date": st.one_of(_text, st.just("2026-09-07")),
                "timeZone": st.one_of(_text, st.just("Europe/Berlin")),
            },
        ),
    )
    keys = {
        "id": st.one_of(_text, _json),
        "status": _json,
        "summary": _json,
        "start": when,
        "end": when,
        "originalStartTime": when,
        "attendees": st.one_of(
            _json, st.lists(st.fixed_dictionaries({}, optional={"email": _json, "self": _json}))
        ),
        "conferenceData": _json,
        "attachments": _json,
        "updated": st.one_of(_text, st.just("2026-09-07T10:00:00.000Z")),
    }
    return st.fixed_dictionaries({}, optional=keys)


def _bytes_or(shaped: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    """Give mostly structured files, sometimes raw bytes or a truncated structured one."""
    cut = st.tuples(shaped, st.floats(0, 1)).map(lambda t: t[0][: int(len(t[0]) * t[1])])
    return st.one_of(shaped, shaped, shaped, cut, st.binary(max_size=200))


def _dumps(value: Any) -> bytes:
    # backslashreplace writes a lone surrogate as the JSON escape `\ud800`, as a hostile exporter would.
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "backslashreplace")


DAY_FILES = _bytes_or(st.one_of(st.lists(_message(), max_size=6), _json).map(_dumps))
USERS = _bytes_or(
    st.one_of(
        st.lists(st.fixed_dictionaries({}, optional={"id": _json, "profile": _json, "name": _json})), _json
    ).map(_dumps)
)
CALENDAR = _bytes_or(
    st.one_of(
        st.fixed_dictionaries({"items": st.lists(_event(), max_size=5)}, optional={"timeZone": _json}), _json
    ).map(_dumps)
)
DRIVE = _bytes_or(
    st.one_of(
        st.fixed_dictionaries(
            {
                "files": st.lists(
                    st.fixed_dictionaries({}, optional={"id": _json, "owners": _json, "createdTime": _json})
                )
            }
        ),
        _json,
    ).map(_dumps)
)
DIRECTORY = _bytes_or(
    st.one_of(
        st.fixed_dictionaries(
            {
                "users": st.lists(
                    st.fixed_dictionaries(
                        {},
                        optional={"id": _json, "name": _json, "organizations": _json, "relations": _json,
                                  "aliases": _json, "primaryEmail": _json},
                    )
                )
            }
        ),
        _json,
    ).map(_dumps)
)  # fmt: skip


def _csv(rows: list[list[str]], header: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8", "surrogatepass")


_CSV_HEADERS = st.one_of(
    st.just([*CSV_REQUIRED, "Department", "Manager Email", "Status [READ ONLY]"]),
    st.lists(st.sampled_from([*CSV_REQUIRED, "Department", "x"]), max_size=6),
)
DIRECTORY_CSV = _bytes_or(
    st.tuples(st.lists(st.lists(_text, max_size=8), max_size=5), _CSV_HEADERS).map(lambda t: _csv(*t))
)

_ICS_VALUES = {
    "DTSTART": st.sampled_from(["20260907T100000Z", "20260907", "20260907T100000", "INVALID", "", "2026"]),
    "DTEND": st.sampled_from(["20260907T110000Z", "20260908", "X", "20260907T090000Z"]),
    "RRULE": st.sampled_from(
        ["FREQ=WEEKLY;COUNT=3", "FREQ=DAILY;UNTIL=20260910T000000Z", "FREQ=NOPE", "FREQ="]
    ),
    "EXDATE": st.sampled_from(["20260914T100000Z", "garbage"]),
    "RECURRENCE-ID": st.sampled_from(["20260914T100000Z", "20260914", "?"]),
    "UID": st.sampled_from(["a@x", "", "b@x"]),
    "SUMMARY": _text,
    "ATTENDEE;PARTSTAT=ACCEPTED": st.sampled_from(["mailto:ann@acme.example", "", ":::"]),
    "DURATION": st.sampled_from(["PT1H", "P", "-PT1H"]),
    "X-WR-TIMEZONE": st.sampled_from(["Europe/Berlin", "Nowhere/City"]),
}


def _ics(events: list[list[tuple[str, str]]], header: list[tuple[str, str]]) -> bytes:
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", *(f"{k}:{v}" for k, v in header)]
    for props in events:
        lines += ["BEGIN:VEVENT", *(f"{k}:{v}" for k, v in props), "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return "\r\n".join(lines).encode("utf-8", "surrogatepass")


_prop = st.sampled_from(sorted(_ICS_VALUES)).flatmap(lambda k: _ICS_VALUES[k].map(lambda v: (k, v)))
ICS = _bytes_or(
    st.tuples(st.lists(st.lists(_prop, max_size=8), max_size=4), st.lists(_prop, max_size=2)).map(
        lambda t: _ics(*t)
    )
)


@dataclass(frozen=True)
class Target:
    """One parser under fuzz: the file name it reads, the strategy of file contents and how to parse."""

    name: str
    filename: str
    contents: st.SearchStrategy[bytes]
    parse: Callable[[Path, list[Quarantined]], pa.Table]


@functools.cache
def _con() -> duckdb.DuckDBPyConnection:
    """Give one DuckDB connection for every fuzz example (connecting anew would double each one's cost)."""
    con = connect()
    con.execute("SET threads = 1")
    # Free it before the interpreter shuts down: DuckDB's bindings report objects still alive then as leaks.
    atexit.register(_con.cache_clear)
    atexit.register(con.close)
    return con


def _day_file(path: Path, sink: list[Quarantined]) -> pa.Table:
    return read_day_files(_con(), [(path, "C1", str(path))], quarantine=sink)


def _calendar(path: Path, sink: list[Quarantined]) -> pa.Table:
    return read_event_dumps(_con(), [(path, "cal@acme.example", str(path))], quarantine=sink)


TARGETS = [
    Target("slack day file", "2026-09-07.json", DAY_FILES, _day_file),
    Target("slack users.json", "users.json", USERS, lambda p, _: read_users(p, str(p))),
    Target("calendar JSON", "cal.json", CALENDAR, _calendar),
    Target(".ics", "cal.ics", ICS, lambda p, q: read_ics(p, "cal", str(p), quarantine=q)),
    Target(
        "directory CSV", "users.csv", DIRECTORY_CSV, lambda p, q: read_directory_csv(p, str(p), quarantine=q)
    ),
    Target(
        "directory JSON", "users.json", DIRECTORY, lambda p, q: read_directory_json(p, str(p), quarantine=q)
    ),
    Target("Drive JSON", "files.json", DRIVE, lambda p, q: read_drive_files(p, str(p), quarantine=q)),
]


def check(target: Target, folder: Path, content: bytes) -> str:
    """Parse `content` as `target`'s file; give "parsed", "quarantined" or "refused"; any other exception
    propagates.

    A refusal must be a MeetintelError whose message names the file; a quarantined record must name the
    file and a rule of QUARANTINE_RULES.
    """
    path = folder / target.filename
    path.write_bytes(content)
    sink: list[Quarantined] = []
    try:
        table = target.parse(path, sink)
    except MeetintelError as exc:
        if str(path) not in exc.message:
            raise AssertionError(f"{target.name}: error does not name the file: {exc.message}") from exc
        return "refused"
    assert isinstance(table, pa.Table)
    for q in sink:
        assert q.file == str(path) and q.rule in QUARANTINE_RULES, q
    return "quarantined" if sink else "parsed"
