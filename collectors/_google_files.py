"""Drive and directory dumps read into DRIVE_FILES and DIRECTORY_USERS rows.

`google/drive/files.json` is a Drive v3 files.list response (`{"files": [...]}`); the directory is an
Admin SDK users.list response (`google/directory/users.json`, `{"users": [...]}`) or the Admin console's
user export (`users.csv`). Both are small (one row per file or person), so plain `json`/`csv` read them.
"""

from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from collectors._io import blank_to_none, expect_list, load_json, table_of
from collectors.models import DIRECTORY_USERS, DRIVE_FILES, InputBounds
from core.chunks import Quarantined
from core.errors import DataError

_DRIVE_HINT = 'files.json must be a Drive files.list response {"files": [...]}; re-export it'
_DIRECTORY_HINT = 'users.json must be a Directory users.list response {"users": [...]}; re-export it'
_CSV_HINT = "export the users again from the Admin console (Users > Download users > all columns)"

# Admin console export headers ("Download users"); the first four are always present.
CSV_EMAIL = "Email Address [Required]"
CSV_REQUIRED = ("First Name [Required]", "Last Name [Required]", CSV_EMAIL, "Org Unit Path [Required]")
# The user's emails[] entries of type work and home, when the export carries them (the recovery email is
# an account-recovery contact, not an address of the user, so it is not read).
CSV_SECONDARY = ("Work Secondary Email", "Home Secondary Email")


def _records(path: Path, shown: str, key: str, hint: str) -> list[dict[str, Any]]:
    """Give the list under `key` of a JSON object file (an API list response)."""
    data = load_json(path, shown, hint)
    if not isinstance(data, dict):
        raise DataError(f"{shown}: expected a JSON object with {key!r}", hint)
    return expect_list(data.get(key, []), shown, f"{key!r}", hint)


def _rfc3339(value: Any, shown: str, record: str) -> datetime | None:
    """Give an RFC 3339 time ("2026-09-07T10:00:00.000Z") as an aware datetime."""
    if value in (None, ""):
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError as exc:
        raise DataError(f"{shown}: {record} has an unreadable time", "fix or re-export the file") from exc


# ---- Drive ---------------------------------------------------------------------------------------------


def read_drive_files(
    path: Path,
    shown: str,
    *,
    max_title_chars: int = InputBounds.max_title_chars,
    quarantine: list[Quarantined] | None = None,
) -> pa.Table:
    """Give the files of a files.list dump as a DRIVE_FILES table; a file with an unreadable time is left
    out and a name longer than `max_title_chars` is cut, each with a note in `quarantine`."""
    sink = quarantine if quarantine is not None else []
    records = _readable_times(_records(path, shown, "files", _DRIVE_HINT), shown, sink)
    table = table_of(records, lambda f: _drive_row(f, shown), DRIVE_FILES, shown, _DRIVE_HINT)
    long = pc.fill_null(pc.greater(pc.utf8_length(table.column("name")), max_title_chars), False)
    if not pc.any(long).as_py():
        return table
    for row in table.filter(long).select(["file_id", "name"]).to_pylist():
        sink.append(Quarantined.of("drive", shown, row["file_id"], "truncated", row["name"]))
    cut = pc.if_else(
        long, pc.utf8_slice_codeunits(table.column("name"), 0, max_title_chars), table.column("name")
    )
    return table.set_column(table.schema.get_field_index("name"), "name", cut)


_DRIVE_TIMES = ("createdTime", "modifiedTime")


def _readable_times(records: list[Any], shown: str, sink: list[Quarantined]) -> list[Any]:
    """Give `records` without the files whose createdTime or modifiedTime cannot be read (quarantined as
    `unreadable_time`); records of another shape pass, for `table_of` to name."""
    kept = []
    for item in records:
        if isinstance(item, dict) and item.get("id") and not all(_is_time(item.get(k)) for k in _DRIVE_TIMES):
            raw = ", ".join(f"{k} {item.get(k)!r}" for k in _DRIVE_TIMES)
            sink.append(Quarantined.of("drive", shown, str(item["id"]), "unreadable_time", raw))
        else:
            kept.append(item)
    return kept


def _is_time(value: Any) -> bool:
    """Give whether `value` is absent or an RFC 3339 time `_rfc3339` reads."""
    if value in (None, ""):
        return True
    try:
        datetime.fromisoformat(str(value))
    except ValueError:
        return False
    return True


def _drive_row(item: dict[str, Any], shown: str) -> dict[str, Any]:
    file_id = item.get("id")
    if not file_id:
        raise DataError(f"{shown}: a file has no id ({str(item)[:80]})", _DRIVE_HINT)
    record = f"file {file_id}"
    return {
        "file_id": file_id,
        "name": item.get("name"),
        "mime_type": item.get("mimeType"),
        "web_view_link": item.get("webViewLink"),
        "owner_emails": [o["emailAddress"] for o in item.get("owners") or [] if o.get("emailAddress")],
        "created_time": _rfc3339(item.get("createdTime"), shown, record),
        "modified_time": _rfc3339(item.get("modifiedTime"), shown, record),
        "trashed": bool(item.get("trashed")),
    }


# ---- Directory -----------------------------------------------------------------------------------------


def read_directory_json(
    path: Path, shown: str, *, quarantine: list[Quarantined] | None = None, seen: set[str] | None = None
) -> pa.Table:
    """Give the people of a users.list dump as a DIRECTORY_USERS table (see `unique_emails`)."""
    records = _records(path, shown, "users", _DIRECTORY_HINT)
    table = table_of(records, lambda u: _directory_row(u, shown), DIRECTORY_USERS, shown, _DIRECTORY_HINT)
    return unique_emails(table, shown, quarantine, seen)


def _directory_row(user: dict[str, Any], shown: str) -> dict[str, Any]:
    if not user.get("id"):
        raise DataError(f"{shown}: a user has no id ({str(user)[:80]})", _DIRECTORY_HINT)
    name = user.get("name") or {}
    org = _primary(user.get("organizations"))
    managers = [r.get("value") for r in user.get("relations") or [] if r.get("type") == "manager"]
    primary = user.get("primaryEmail")
    # Non-editable aliases (domain-alias addresses) reach the same mailbox, so they identify the person too.
    aliases = _addresses([*(user.get("aliases") or []), *(user.get("nonEditableAliases") or [])], [primary])
    listed = [e.get("address") for e in user.get("emails") or [] if isinstance(e, dict)]
    given, family = name.get("givenName"), name.get("familyName")
    return {
        "person_id": user["id"],
        "primary_email": primary,
        "aliases": aliases,
        "other_emails": _addresses(listed, [primary, *aliases]),
        "full_name": name.get("fullName") or _join(given, family),
        "given_name": given,
        "family_name": family,
        "department": blank_to_none(org.get("department")),
        "title": blank_to_none(org.get("title")),
        "manager_email": blank_to_none(managers[0]) if managers else None,
        "suspended": bool(user.get("suspended")),
    }


def _addresses(values: list[Any], known: list[Any]) -> list[str]:
    """Give the addresses among `values`, trimmed and lower-cased, once each, leaving out the `known` ones."""
    seen = {str(k).strip().lower() for k in known if k}
    out: list[str] = []
    for value in values:
        address = str(value).strip().lower() if isinstance(value, str) else ""
        if "@" in address and address not in seen:
            seen.add(address)
            out.append(address)
    return out


def _primary(organizations: list[dict[str, Any]] | None) -> dict[str, Any]:
    """Give the primary organization entry (else the first, else an empty one)."""
    orgs = organizations or []
    return next((o for o in orgs if o.get("primary")), orgs[0] if orgs else {})


def _join(*parts: str | None) -> str | None:
    return " ".join(p for p in parts if p) or None


def unique_emails(
    table: pa.Table, shown: str, quarantine: list[Quarantined] | None, seen: set[str] | None = None
) -> pa.Table:
    """Give the directory users with one user per primaryEmail (case-insensitive): the first in the file is
    kept, each later one is quarantined (two people with one address would split every mapping).

    `seen` holds the addresses of earlier batches of the same listing (a live listing comes in chunks);
    it gains this batch's addresses.
    """
    emails = pc.utf8_lower(pc.utf8_trim_whitespace(table.column("primary_email"))).to_pylist()
    seen = seen if seen is not None else set()
    keep = []
    for i, email in enumerate(emails):
        duplicate = email is not None and email in seen
        keep.append(not duplicate)
        if duplicate and quarantine is not None:
            person = table.column("person_id")[i].as_py()
            quarantine.append(Quarantined.of("directory", shown, person, "duplicate_email", email))
        if email is not None:
            seen.add(email)
    return table if all(keep) else table.filter(pa.array(keep))


def read_directory_csv(path: Path, shown: str, *, quarantine: list[Quarantined] | None = None) -> pa.Table:
    """Give the people of an Admin console user export (CSV) as DIRECTORY_USERS; person_id is the e-mail."""
    try:
        # utf-8-sig: the Admin console writes a byte-order mark that would stick to the first header.
        with path.open(newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [h for h in CSV_REQUIRED if h not in (reader.fieldnames or [])]
            if missing:
                raise DataError(f"{shown}: missing column(s) {', '.join(missing)}", _CSV_HINT)
            rows = [_csv_row(r, shown, reader.line_num) for r in reader]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{shown}: not a readable CSV file ({exc})", _CSV_HINT) from exc
    return unique_emails(pa.Table.from_pylist(rows, schema=DIRECTORY_USERS), shown, quarantine)


def _csv_row(row: dict[str, str], shown: str, line: int) -> dict[str, Any]:
    email = (row.get(CSV_EMAIL) or "").strip()
    if not email:
        raise DataError(f"{shown}: line {line} has no {CSV_EMAIL!r}", _CSV_HINT)
    given = blank_to_none((row.get("First Name [Required]") or "").strip())
    family = blank_to_none((row.get("Last Name [Required]") or "").strip())
    return {
        "person_id": email,
        "primary_email": email,
        "aliases": [],
        "other_emails": _addresses([row.get(h) for h in CSV_SECONDARY], [email]),
        "full_name": _join(given, family),
        "given_name": given,
        "family_name": family,
        "department": blank_to_none((row.get("Department") or "").strip()),
        "title": blank_to_none((row.get("Employee Title") or "").strip()),
        "manager_email": blank_to_none((row.get("Manager Email") or "").strip()),
        "suspended": (row.get("Status [READ ONLY]") or "").strip().lower() == "suspended",
    }
