"""Fixtures for the offline collectors: a small hand-made workspace (real data: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.collectors.workspace_builders import CALENDAR, DIRECTORY, DRIVE, ICS, write_export, write_json


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """Give a complete small workspace: Slack export folder, two calendars, Drive and directory dumps."""
    root = tmp_path / "ws"
    write_export(root / "slack")
    write_json(root / "google" / "calendar" / "ann@acme.example.json", CALENDAR)
    (root / "google" / "calendar" / "bob@acme.example.ics").write_text(ICS.replace("\n", "\r\n"))
    write_json(root / "google" / "drive" / "files.json", DRIVE)
    write_json(root / "google" / "directory" / "users.json", DIRECTORY)
    return root
