"""An incremental run after new data gives exactly what a full refresh of the same data gives.

A generated org is run once; then new day files, a reply that joins a linked meeting's thread and a new
calendar event are added, and the stages run again on the same state. A fresh state built from the grown
workspace in one run must hold the same meetings.json, people.json and report tables, row for row.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from checkpoints import StateStore
from core.tables import REPORT_TABLES
from flows import stages
from sandbox import generate_workspace

pytestmark = pytest.mark.slow  # three runs and three full refreshes of one org

DAY = 86400


NOTES: dict[Path, str] = {}  # the export stage's last note per output folder
# Per run: whether the data version after the last stage is the one detect left (the flow reads it once
# after detect for the cache keys of correlate, aggregate and export).
SETTLED: list[bool] = []


def _run(workspace: Path, state: Path, out: Path) -> dict[str, bool]:
    """Run every stage once on `state`; give which stages were skipped."""
    with StateStore(state) as store:
        run_id = store.start_run("incremental")
        skipped = {
            "collect": stages.collect(store, workspace, run_id).skipped,
            "detect": stages.detect(store).skipped,
        }
        after_detect = store.data_version()
        skipped["correlate"] = stages.correlate_stage(store).skipped
        skipped["aggregate"] = stages.aggregate(store).skipped
        exported = stages.export(store, out, run_id)[0]
        skipped["export"] = exported.skipped
        SETTLED.append(store.data_version() == after_detect)
        NOTES[out] = exported.note.split("; ", 1)[-1]
    return skipped


def _shift(ts: str, days: int) -> str:
    whole, frac = ts.split(".", 1)
    return f"{int(whole) + days * DAY}.{frac}"


def _add_days(workspace: Path, channels: int) -> int:
    """Write the last day of the first `channels` channels again, two days later; give the messages."""
    added = 0
    folders = sorted(p for p in (workspace / "slack").iterdir() if p.is_dir())[:channels]
    for folder in folders:
        last = max(folder.glob("*.json"))
        messages = json.loads(last.read_text())
        for m in messages:
            for key in ("ts", "thread_ts", "latest_reply"):
                if isinstance(m.get(key), str) and "." in m[key]:
                    m[key] = _shift(m[key], 2)
            m.pop("replies", None)
        day = date.fromisoformat(last.stem) + timedelta(days=2)
        (folder / f"{day.isoformat()}.json").write_text(json.dumps(messages))
        added += len(messages)
    return added


def _reply_in_thread(workspace: Path, state: Path) -> tuple[str, str, str]:
    """Add a reply with an action item under a top-level message linked to a calendar meeting; give
    (meeting_id, channel_id, reply ts)."""
    with StateStore(state) as store:
        meeting, channel, ts, name = store.con.execute(
            """SELECT l.meeting_id, l.channel_id, l.ts, c.name
               FROM meeting_evidence l JOIN meetings m USING (meeting_id)
               JOIN slack_messages s USING (channel_id, ts) JOIN slack_channels c USING (channel_id)
               WHERE m.calendar_event_id IS NOT NULL AND l.kind = 'agenda'
                 AND coalesce(s.thread_ts, s.ts) = s.ts
               ORDER BY l.ts, l.channel_id LIMIT 1"""
        ).fetchone()
        user = store.con.execute(
            "SELECT user_id FROM slack_users WHERE NOT coalesce(is_bot, false) ORDER BY user_id LIMIT 1"
        ).fetchone()[0]
    seconds = int(ts.split(".")[0]) + 600  # ten minutes after the agenda
    reply_ts = f"{seconds}.777777"
    day = (date(1970, 1, 1) + timedelta(seconds=seconds)).isoformat()  # the UTC day the reply is posted
    target = workspace / "slack" / name / f"{day}.json"
    messages = json.loads(target.read_text()) if target.exists() else []
    messages.append(
        {
            "type": "message",
            "user": user,
            "text": "Action items: I will send the notes for this before we meet.",
            "ts": reply_ts,
            "thread_ts": ts,
        }
    )
    target.unlink(missing_ok=True)  # the workspace is hard-linked to the first one's files
    target.write_text(json.dumps(messages))
    return meeting, channel, reply_ts


def _new_event(workspace: Path) -> str:
    """Add a copy of a held two-person event as a new event one hour later; give its id."""
    calendar = sorted((workspace / "google" / "calendar").glob("*.json"))[0]
    doc = json.loads(calendar.read_text())
    source = next(
        e
        for e in doc["items"]
        if e.get("status") != "cancelled"
        and len(e.get("attendees", [])) >= 2
        and "dateTime" in e.get("start", {})
        and not e.get("recurringEventId")
    )
    event = json.loads(json.dumps(source))
    event["id"] = "incrementalcheck01"
    event["iCalUID"] = "incrementalcheck01@google.com"
    event["summary"] = "Incremental check review"
    for key in ("start", "end"):
        stamp = event[key]["dateTime"]
        hour = int(stamp[11:13])
        event[key]["dateTime"] = f"{stamp[:11]}{(hour + 1) % 24:02d}{stamp[13:]}"
    doc["items"].append(event)
    calendar.unlink()
    calendar.write_text(json.dumps(doc))
    return event["id"]


def _meetings(out: Path) -> list[dict]:
    return sorted(json.loads((out / "latest" / "meetings.json").read_text()), key=lambda m: m["meeting_id"])


def _people(out: Path) -> list[dict]:
    return sorted(json.loads((out / "latest" / "people.json").read_text()), key=lambda p: p["person_id"])


def _tables(state: Path) -> dict[str, list[tuple]]:
    with StateStore(state) as store:
        return {
            name: sorted(store.con.execute(f"SELECT * FROM {name}").fetchall(), key=repr)
            for name in [*REPORT_TABLES, "meeting_records", "people_records", "meetings", "meeting_evidence"]
        }


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """One state run three times (the org; + new days and a thread reply; + a new calendar event), and a
    full refresh of each grown workspace into a fresh state."""
    root = tmp_path_factory.mktemp("incremental")
    generate_workspace(root / "ws", people=20, days=8, seed=5)
    first = _run(root / "ws", root / "inc.duckdb", root / "inc-out")
    before = _meetings(root / "inc-out")
    shutil.copytree(root / "ws", root / "ws-a")
    added, reply = _add_days(root / "ws-a", 3), _reply_in_thread(root / "ws-a", root / "inc.duckdb")
    with StateStore(root / "inc.duckdb") as store:
        cache = store.get_meta("calendar_cache")
    slack_only = _run(root / "ws-a", root / "inc.duckdb", root / "inc-out")
    linked = NOTES[root / "inc-out"]
    with StateStore(root / "inc.duckdb") as store:
        kept = store.get_meta("calendar_cache") == cache
    shutil.copytree(root / "inc-out" / "latest", root / "inc-a", symlinks=False)
    inc_a = _tables(root / "inc.duckdb")
    shutil.copytree(root / "ws-a", root / "ws-b")
    event = _new_event(root / "ws-b")
    with_event = _run(root / "ws-b", root / "inc.duckdb", root / "inc-out")
    return {
        "root": root,
        "runs": [first, slack_only, with_event],
        "full_a": _run(root / "ws-a", root / "full-a.duckdb", root / "full-a-out"),
        "full_b": _run(root / "ws-b", root / "full-b.duckdb", root / "full-b-out"),
        "inc_a": inc_a,
        "kept": kept,
        "linked": linked,
        "before": before,
        "added": added,
        "reply": reply,
        "event": event,
    }


def test_the_incremental_runs_process_the_new_data(runs: dict) -> None:
    assert runs["added"] == 86
    ran = {name: False for name in ("collect", "detect", "correlate", "aggregate", "export")}
    # A new calendar event alone brings no message to detect in.
    assert runs["runs"] == [ran, ran, {**ran, "detect": True}]
    assert runs["kept"]  # new Slack days alone leave the calendar side of correlation as it was
    # people.json, people.csv and documents.csv keep their rows: the new run links the previous files.
    assert runs["linked"] == "3 unchanged reports linked"
    root = runs["root"]
    meeting, channel, ts = runs["reply"]
    after_a = {m["meeting_id"]: m for m in json.loads((root / "inc-a" / "meetings.json").read_text())}
    joined = [e for e in after_a[meeting]["slack_evidence"] if (e["channel_id"], e["ts"]) == (channel, ts)]
    assert joined == [{"channel_id": channel, "ts": ts, "kind": "action_items", "role": "post"}]
    meetings = {m["meeting_id"]: m for m in _meetings(root / "inc-out")}
    assert len(meetings) == len(after_a) + 1  # the new calendar event is one more meeting
    assert meetings[f"cal:{runs['event']}"]["title"] == "Incremental check review"


def test_the_data_version_moves_in_collect_and_detect_only(runs: dict) -> None:
    assert len(runs["runs"]) == 3
    assert SETTLED == [True] * 5  # three incremental runs, two full refreshes


def test_incremental_reports_equal_a_full_refresh_after_new_slack_days(runs: dict) -> None:
    root = runs["root"]
    incremental = sorted(
        json.loads((root / "inc-a" / "meetings.json").read_text()), key=lambda m: m["meeting_id"]
    )
    assert incremental == _meetings(root / "full-a-out")
    people = sorted(json.loads((root / "inc-a" / "people.json").read_text()), key=lambda p: p["person_id"])
    assert people == _people(root / "full-a-out")
    full = _tables(root / "full-a.duckdb")
    for name in full:
        assert runs["inc_a"][name] == full[name], name


def test_incremental_reports_equal_a_full_refresh_after_a_new_event(runs: dict) -> None:
    root = runs["root"]
    assert _meetings(root / "inc-out") == _meetings(root / "full-b-out")
    assert _people(root / "inc-out") == _people(root / "full-b-out")
    incremental, full = _tables(root / "inc.duckdb"), _tables(root / "full-b.duckdb")
    assert incremental.keys() == full.keys()
    for name in incremental:
        assert incremental[name] == full[name], name


def test_a_run_with_no_new_data_skips_every_stage_after_collect(runs: dict) -> None:
    root = runs["root"]
    again = _run(root / "ws-b", root / "inc.duckdb", root / "inc-out")
    assert again == {"collect": False, "detect": True, "correlate": True, "aggregate": True, "export": True}


def test_the_calendar_side_is_rebuilt_once_an_event_start_passes(runs: dict) -> None:
    state = runs["root"] / "as-of.duckdb"
    shutil.copyfile(runs["root"] / "inc.duckdb", state)
    names = ["cache_calendar_events", "cache_calendar_meetings", "cache_calendar_attendees"]
    now = datetime.now(UTC)
    with StateStore(state) as store:
        saved = json.loads(store.get_meta("calendar_cache"))
        assert stages._calendar_cache(store, now) == "cache_calendar_"
        assert json.loads(store.get_meta("calendar_cache")) == saved  # nothing started since: kept
        assert all(store.has_table(n) for n in names)
        # Built as if on the org's second morning: events of the days after have started since.
        store.set_meta("calendar_cache", json.dumps({**saved, "as_of": "2026-09-08T06:00:00+00:00"}))
        stages._calendar_cache(store, now)
        assert not any(store.has_table(n) for n in names)
        assert json.loads(store.get_meta("calendar_cache")) == {**saved, "as_of": now.isoformat()}
