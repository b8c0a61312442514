"""Drive and directory dumps: files.list, users.list and the Admin console CSV export."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest

from collectors import collect_workspace
from core.errors import DataError
from tests.collectors.workspace_builders import DIRECTORY, DRIVE, write_json

CSV_HEADER = (
    "First Name [Required],Last Name [Required],Email Address [Required],Password [Required],"
    "Org Unit Path [Required],Employee Title,Manager Email,Department,Status [READ ONLY]\n"
)


def _table(root: Path, name: str) -> pa.Table:
    """Give the rows of raw table `name` that a fresh collection of `root` yields."""
    [batch] = [c.batch for c in collect_workspace(root, {}) if c.table == name]
    return batch


def _workspace(tmp_path: Path, relative: str, data: object) -> Path:
    """Write one Google dump into a fresh workspace and give the workspace root."""
    path = tmp_path / "ws" / "google" / relative
    if isinstance(data, str):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data, encoding="utf-8-sig")  # the Admin console writes a byte-order mark
    else:
        write_json(path, data)
    return tmp_path / "ws"


def test_drive_files_map_owners_times_and_trash(tmp_path: Path) -> None:
    """files.list items become rows: owner e-mails, RFC 3339 times in UTC, trashed false unless set."""
    rows = _table(_workspace(tmp_path, "drive/files.json", DRIVE), "drive_files").to_pylist()
    assert rows == [
        {
            "file_id": "doc1",
            "name": "Agenda",
            "mime_type": "application/vnd.google-apps.document",
            "web_view_link": "https://docs.google.com/document/d/doc1/edit",
            "owner_emails": ["ann@acme.example"],
            "created_time": datetime(2026, 9, 1, 8, 0, tzinfo=UTC),
            "modified_time": datetime(2026, 9, 2, 9, 30, 0, 500000, tzinfo=UTC),
            "trashed": False,
        },
        {
            "file_id": "old1",
            "name": "Old",
            "mime_type": "text/plain",
            "web_view_link": None,
            "owner_emails": [],
            "created_time": None,
            "modified_time": None,
            "trashed": True,
        },
    ]


def test_drive_file_with_an_unreadable_time_is_quarantined_and_the_others_kept(tmp_path: Path) -> None:
    """A createdTime that is not RFC 3339 leaves that file out (`unreadable_time`, keyed by its id, the
    value kept as its raw value); the dump's other files are stored."""
    files = {"files": [{"id": "d9", "createdTime": "yesterday"}, {"id": "d10", "name": "Kept"}]}
    [chunk] = [c for c in collect_workspace(_workspace(tmp_path, "drive/files.json", files), {})
               if c.table == "drive_files"]  # fmt: skip
    assert chunk.batch.column("file_id").to_pylist() == ["d10"]
    [q] = chunk.quarantined
    assert (q.source, q.file, q.record_key, q.rule) == (
        "drive",
        "google/drive/files.json",
        "d9",
        "unreadable_time",
    )
    assert "yesterday" in q.raw_value


def test_directory_users_map_aliases_organization_and_manager(tmp_path: Path) -> None:
    """users.list: aliases kept, department/title from the primary organization, manager from relations."""
    rows = _table(_workspace(tmp_path, "directory/users.json", DIRECTORY), "directory_users").to_pylist()
    assert rows == [
        {
            "person_id": "100",
            "primary_email": "ann@acme.example",
            "aliases": ["alee@acme.example"],
            "full_name": "Ann Lee",
            "given_name": "Ann",
            "family_name": "Lee",
            "department": "Engineering",
            "title": "Engineer",
            "manager_email": "cto@acme.example",
            "suspended": False,
            "other_emails": [],
        },
        {
            "person_id": "101",
            "primary_email": "cto@acme.example",
            "aliases": [],
            "full_name": "Cy To",  # no fullName: given and family names joined
            "given_name": "Cy",
            "family_name": "To",
            "department": None,
            "title": None,
            "manager_email": None,
            "suspended": False,
            "other_emails": [],
        },
    ]


def test_directory_users_list_response_that_is_not_an_object_is_refused(tmp_path: Path) -> None:
    """A bare array is not a users.list response: DataError naming users.json and what it expected."""
    root = _workspace(tmp_path, "directory/users.json", [{"id": "1"}])
    with pytest.raises(DataError, match=r"users\.json: expected a JSON object with 'users'"):
        _table(root, "directory_users")


def test_admin_console_csv_maps_columns_and_uses_the_email_as_person_id(tmp_path: Path) -> None:
    """The CSV export's headers map to the directory columns; Status 'Suspended' sets suspended."""
    csv = (
        CSV_HEADER
        + "Ann,Lee,ann@acme.example,****,/Engineering,Engineer,cto@acme.example,Engineering,Active\n"
        + "Old,Timer,old@acme.example,****,/,,,,Suspended\n"
    )
    rows = _table(_workspace(tmp_path, "directory/users.csv", csv), "directory_users").to_pylist()
    assert rows == [
        {
            "person_id": "ann@acme.example",
            "primary_email": "ann@acme.example",
            "aliases": [],
            "full_name": "Ann Lee",
            "given_name": "Ann",
            "family_name": "Lee",
            "department": "Engineering",
            "title": "Engineer",
            "manager_email": "cto@acme.example",
            "suspended": False,
            "other_emails": [],
        },
        {
            "person_id": "old@acme.example",
            "primary_email": "old@acme.example",
            "aliases": [],
            "full_name": "Old Timer",
            "given_name": "Old",
            "family_name": "Timer",
            "department": None,
            "title": None,
            "manager_email": None,
            "suspended": True,
            "other_emails": [],
        },
    ]


def test_admin_console_csv_without_required_columns_names_them(tmp_path: Path) -> None:
    """A CSV missing required headers raises a DataError listing the missing ones."""
    root = _workspace(
        tmp_path, "directory/users.csv", "Email Address [Required],Department\nx@acme.example,\n"
    )
    with pytest.raises(DataError) as err:
        _table(root, "directory_users")
    assert "missing column(s) First Name [Required], Last Name [Required], Org Unit Path [Required]" in str(
        err.value
    )


def test_admin_console_csv_row_without_email_names_the_line(tmp_path: Path) -> None:
    """The e-mail is the person id; a row without it raises a DataError with its line number."""
    root = _workspace(tmp_path, "directory/users.csv", CSV_HEADER + "Ann,Lee,,****,/,,,,Active\n")
    with pytest.raises(DataError, match=r"users\.csv: line 2 has no 'Email Address \[Required\]'"):
        _table(root, "directory_users")


def test_cartography_users_list_page_ingests_both_users(tmp_path: Path, third_party: Path) -> None:
    """The cartography users.list mock page (copied: the reader refuses links): both users, exact fields."""
    target = tmp_path / "ws" / "google" / "directory" / "users.json"
    target.parent.mkdir(parents=True)
    shutil.copyfile(
        third_party / "gworkspace_directory_cartography" / "directory_users_list_page.json", target
    )
    rows = _table(tmp_path / "ws", "directory_users").to_pylist()
    # Read by eye from the JSON: 2 users; only user-1 has an organizations entry.
    summary = [
        (r["person_id"], r["primary_email"], r["full_name"], r["department"], r["title"]) for r in rows
    ]
    assert summary == [
        ("user-1", "mbsimpson@simpson.corp", "Marge Simpson", "Management", "Chief Executive Officer"),
        ("user-2", "hjsimpson@simpson.corp", "Homer Simpson", None, None),
    ]
    assert [(r["suspended"], r["aliases"], r["manager_email"]) for r in rows] == [(False, [], None)] * 2


def test_admin_console_csv_secondary_email_columns_become_other_emails(tmp_path: Path) -> None:
    """Work and Home Secondary Email columns, when the export has them, are the user's other addresses."""
    csv = (
        "First Name [Required],Last Name [Required],Email Address [Required],Org Unit Path [Required],"
        "Work Secondary Email,Home Secondary Email,Recovery Email\n"
        "Rui,Costa,rui.costa@acme.example,/,Rui.C@Acme.example,,rui.recovery@mail.example\n"
    )
    [row] = _table(_workspace(tmp_path, "directory/users.csv", csv), "directory_users").to_pylist()
    assert (row["aliases"], row["other_emails"]) == ([], ["rui.c@acme.example"])
