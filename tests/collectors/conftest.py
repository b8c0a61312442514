"""Fixtures for the collectors: a small hand-made workspace (real data: tests/conftest.py), and the sandbox
server that serves hand-made workspaces to the live collectors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest

from sandbox.server import SandboxServer
from tests.collectors.workspace_builders import (
    CALENDAR,
    DIRECTORY,
    DRIVE,
    ICS,
    Serve,
    live_settings,
    write_export,
    write_json,
)


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


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Give `serve(root, **settings)`: the sandbox serving `root` on a free loopback port until the test
    ends, with the live tests' tokens and no server-side rate limits unless `settings` say otherwise."""
    with ExitStack() as stack:

        def start(root: Path, **settings: Any) -> SandboxServer:
            return stack.enter_context(SandboxServer(root, live_settings(**settings)))

        yield start
