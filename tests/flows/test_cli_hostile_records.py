"""Hostile records through `meetintel run` (rows 1, 2, 5 and 7 of the round-two table): the run finishes
with the bad records quarantined and counted, or stops on whole-file damage with one message naming the
setting; the published reports and the state survive."""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoints import StateStore
from flows import cli
from flows.cli import EXIT_FAILED, app
from sandbox import generate_workspace
from tests.flows.published import build_and_publish, digest

runner = CliRunner()
pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.console, "width", 250)
    monkeypatch.setattr(cli.err, "width", 400)


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Give a folder with a workspace `ws` (its Slack export as slack.zip), a state and published reports."""
    root = tmp_path_factory.mktemp("published")
    generate_workspace(root / "ws", people=12, days=3, seed=13, start=date(2026, 9, 7))
    folder = root / "ws" / "slack"
    with zipfile.ZipFile(root / "ws" / "slack.zip", "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*.json")):
            zf.write(path, path.relative_to(folder).as_posix())
    shutil.rmtree(folder)
    build_and_publish(root)
    return root


@pytest.fixture
def copy(published: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(published, tmp_path / "copy", symlinks=True))


def _run(root: Path) -> tuple[int, str]:
    args = ["run", "-w", str(root / "ws"), "-o", str(root / "out"), "-s", str(root / "state.duckdb")]
    result = runner.invoke(app, args)
    return result.exit_code, result.output


def _ics(root: Path, *lines: str) -> None:
    email = json.loads((root / "ws" / "google" / "directory" / "users.json").read_text())["users"][0]
    body = "\r\n".join(["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//t//EN", "BEGIN:VEVENT", *lines])
    path = root / "ws" / "google" / "calendar" / f"{email['primaryEmail']}.ics"
    path.write_text(body + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")


def _meetings(root: Path) -> list[dict[str, object]]:
    return list(json.loads((root / "out" / "latest" / "meetings.json").read_text()))


def test_row1_a_minutely_series_finishes_capped_and_quarantined(copy: Path) -> None:
    """An open-ended FREQ=MINUTELY series: the run completes, one `series_capped` record; a solo series
    adds no meeting."""
    before = len(_meetings(copy))
    _ics(copy, "UID:tick@x", "DTSTART:20260101T000000Z", "DTEND:20260101T000100Z", "RRULE:FREQ=MINUTELY")
    code, output = _run(copy)
    assert code == 0, output
    assert "quarantined 1 (series_capped 1)" in output
    with StateStore(copy / "state.duckdb") as store:
        assert store.quarantine_counts() == {"series_capped": 1}
        ticks = store.con.execute("SELECT count(*) FROM calendar_events WHERE ical_uid = 'tick@x'").fetchall()
    assert ticks == [(5000,)]
    assert len(_meetings(copy)) == before
    listed = runner.invoke(app, ["quarantine", "list", "--state", str(copy / "state.duckdb")])
    assert listed.exit_code == 0, listed.output
    assert "series_capped: 1 — a recurring series has more instances in the window than " in listed.output
    assert "MEETINTEL_ICS_MAX_INSTANCES" in listed.output


def test_row2_future_instances_of_a_daily_series_are_not_held(copy: Path) -> None:
    """A daily series since 2016 between two people: held meetings only up to the run's time; the 90 days
    after it are expanded but not meetings."""
    users = json.loads((copy / "ws" / "google" / "directory" / "users.json").read_text())["users"]
    guest = f"ATTENDEE;PARTSTAT=ACCEPTED:mailto:{users[1]['primaryEmail']}"
    _ics(copy, "UID:daily@x", "DTSTART:20160104T090000Z", "DTEND:20160104T091500Z", "RRULE:FREQ=DAILY",
         f"ORGANIZER:mailto:{users[0]['primaryEmail']}", guest)  # fmt: skip
    code, output = _run(copy)
    assert code == 0, output
    now = datetime.now(UTC)
    daily = [m for m in _meetings(copy) if m["ical_uid"] == "daily@x"]
    past = (now.date() - date(2016, 1, 4)).days + (1 if now.hour >= 9 else 0)
    assert len(daily) == past
    assert {m["status"] for m in daily} == {"held"}
    assert max(str(m["start"]) for m in daily) <= now.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_row5_a_zip_bomb_stops_with_the_setting_named_and_keeps_reports_and_state(copy: Path) -> None:
    """slack.zip with 64 MB of spaces in one entry: exit 1, the error names MEETINTEL_ZIP_MAX_RATIO and the
    entry, nothing extracted; published reports and stored rows unchanged."""
    archive = copy / "ws" / "slack.zip"
    with zipfile.ZipFile(archive, "a", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("general/2026-09-30.json", b"[" + b" " * (64 << 20) + b"]")
    reports = digest(copy / "out")
    with StateStore(copy / "state.duckdb") as store:
        version = store.data_version()
    code, output = _run(copy)
    assert code == EXIT_FAILED, output
    assert f"error: {archive}!general/2026-09-30.json: ZIP entry expands to " in output
    assert "more than MEETINTEL_ZIP_MAX_RATIO (200); refusing to extract it" in output
    assert "Missing closing brace" not in output
    assert digest(copy / "out") == reports
    with StateStore(copy / "state.duckdb") as store:
        assert store.data_version() == version


def test_row7_a_lone_surrogate_is_quarantined_and_the_run_completes(copy: Path) -> None:
    """One message with `\\ud800` in a day file: exit 0, `lone_surrogate 1` in the summary and the state,
    every other message of the file stored."""
    archive = copy / "ws" / "slack.zip"
    with zipfile.ZipFile(archive) as zf:
        day = sorted(n for n in zf.namelist() if n.count("/") == 1)[0]
        messages = json.loads(zf.read(day))
        entries = {n: zf.read(n) for n in zf.namelist()}
    bad = {"type": "message", "user": messages[0].get("user"), "ts": "1788774000.000009", "text": "SURROGATE"}
    entries[day] = json.dumps([*messages, bad]).replace("SURROGATE", "bad \\ud800 text").encode()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    code, output = _run(copy)
    assert code == 0, output
    assert "quarantined 1 (lone_surrogate 1)" in output
    with StateStore(copy / "state.duckdb") as store:
        assert store.quarantine_counts() == {"lone_surrogate": 1}
        [(stored,)] = store.con.execute(
            "SELECT count(*) FROM slack_messages WHERE ts = ANY(?)", [[m["ts"] for m in messages]]
        ).fetchall()
        [(key, file)] = store.con.execute("SELECT record_key, file FROM quarantine").fetchall()
    assert stored == len(messages)
    assert (key.endswith("/1788774000.000009"), file) == (True, f"slack.zip!{day}")
