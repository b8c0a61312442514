"""`collect_live` end to end over real HTTP: the sandbox server serving a generated workspace (parity with
the offline door, increments, resyncs, rate limits, breakers, resumption) and a hand-made one with scripted
answers for exact per-channel failures and bucket sharing."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from checkpoints import StateStore
from collectors import (
    RAW_TABLES,
    BreakerPolicy,
    Cursor,
    LiveChunk,
    LiveConfig,
    LiveSources,
    ReplaceScope,
    build_live_sources,
    collect_live,
    collect_workspace,
)
from sandbox import generate_workspace
from sandbox.server import FaultSpec, SandboxServer, ScriptedFault, ServerSettings
from tests.collectors.workspace_builders import (
    Serve,
    google_config,
    message,
    quick_retry,
    slack_config,
    write_google,
    write_slack,
)

SLACK_SANDBOX, GOOGLE_SANDBOX = "xoxb-sandbox", "ya29.sandbox"
SLACK_METHODS = (
    "users.list",
    "conversations.list",
    "conversations.members",
    "conversations.history",
    "conversations.replies",
)
Store = dict[tuple[str, str], Cursor]


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Give a small generated workspace (12 people, 3 days), shared read-only by the tests."""
    out = tmp_path_factory.mktemp("live") / "workspace"
    generate_workspace(out, people=12, days=3, seed=3)
    return out


@pytest.fixture
def appendable(generated: Path, tmp_path: Path) -> Path:
    """Give a private copy of the generated workspace that a test may append to."""
    return Path(shutil.copytree(generated, tmp_path / "workspace"))


def sandbox_sources(url: str, slack_token: str = SLACK_SANDBOX, **kwargs: object) -> LiveSources:
    """Give live sources for all four APIs of a sandbox at `url`, with fast client-side rates."""
    slack = slack_config(url, slack_token, **kwargs.pop("slack", {}))  # type: ignore[arg-type]
    google = google_config(url, GOOGLE_SANDBOX, **kwargs.pop("google", {}))  # type: ignore[arg-type]
    return build_live_sources(LiveConfig(slack=slack, google=google))


def by_table(chunks: list[LiveChunk]) -> dict[str, pa.Table]:
    """Give the rows of the chunks per raw table, sorted by the table's key."""
    tables: dict[str, list[pa.Table]] = {}
    for chunk in chunks:
        tables.setdefault(chunk.table, []).append(chunk.batch)
    return {name: sort(pa.concat_tables(batches), name) for name, batches in tables.items()}


def sort(table: pa.Table, name: str) -> pa.Table:
    return table.sort_by([(k, "ascending") for k in RAW_TABLES[name].key])


def saved(chunks: list[LiveChunk], into: Store | None = None) -> Store:
    """Give the cursors the store would hold after committing `chunks` in order."""
    store = dict(into or {})
    for chunk in chunks:
        store.update({(c.source, c.key): c for c in chunk.cursors})
    return store


def test_live_collection_equals_the_offline_collection_of_the_same_workspace(generated: Path) -> None:
    """Every raw table read through the APIs equals, row for row, what the offline door reads from files."""
    offline: dict[str, list[pa.Table]] = {}
    for chunk in collect_workspace(generated, {}):
        offline.setdefault(chunk.table, []).append(chunk.batch)
    with SandboxServer(generated, ServerSettings(rate_limits=False)) as server:
        run = collect_live(sandbox_sources(server.url), {}, full_refresh=False)
        live = by_table(list(run))
        stats = server.stats
    for name in RAW_TABLES:
        assert live[name].equals(sort(pa.concat_tables(offline[name]), name)), name
    outcomes = {o.source: o for o in run.outcomes()}
    assert [o.source for o in run.outcomes()] == ["directory", "slack", "calendar", "drive"]
    assert {o.status for o in outcomes.values()} == {"ok"}
    assert outcomes["slack"].rows == {
        t: live[t].num_rows for t in ("slack_users", "slack_channels", "slack_messages")
    }
    assert outcomes["slack"].stats.requests == sum(stats.requests[m] for m in SLACK_METHODS)
    assert outcomes["calendar"].stats.requests == stats.requests["calendar.events.list"] + 1
    assert (outcomes["slack"].stats.retries, outcomes["slack"].breaker.state) == (0, "closed")


def test_second_run_collects_exactly_the_appended_messages_and_replies(appendable: Path) -> None:
    """A message and a thread reply appended between two runs: the second run yields those two and the
    thread parent (its reply_count moved), no calendar or Drive rows, and the directory whole."""
    with SandboxServer(appendable, ServerSettings(rate_limits=False)) as server:
        sources = sandbox_sources(server.url)
        first = list(collect_live(sources, {}, full_refresh=False))
        channel = next(
            c for c in json.loads((appendable / "slack/channels.json").read_text()) if c["name"] == "general"
        )
        days = sorted((appendable / "slack/general").glob("*.json"))
        last_day = json.loads(days[-1].read_text())
        parent = [m for m in last_day if m.get("reply_count")][-1]
        newest = max(Decimal(m["ts"]) for d in days for m in json.loads(d.read_text()))
        new_top, new_reply = f"{newest + 100:.6f}", f"{newest + 200:.6f}"
        (appendable / "slack/general/2026-12-31.json").write_text(
            json.dumps(
                [
                    {
                        "type": "message",
                        "ts": new_top,
                        "user": parent["user"],
                        "text": "anyone up for lunch?",
                    },
                    {
                        "type": "message",
                        "ts": new_reply,
                        "user": parent["user"],
                        "text": "late reply",
                        "thread_ts": parent["ts"],
                        "parent_user_id": parent["user"],
                    },
                ]
            )
        )
        run = collect_live(sources, saved(first), full_refresh=False)
        second = list(run)
    tables = by_table(second)
    messages = tables["slack_messages"]
    assert sorted(zip(messages["ts"].to_pylist(), messages["thread_ts"].to_pylist(), strict=True)) == sorted(
        [(parent["ts"], parent["ts"]), (new_top, None), (new_reply, parent["ts"])]
    )
    assert messages.filter(pa.compute.equal(messages["ts"], parent["ts"]))["reply_count"].to_pylist() == [
        parent["reply_count"] + 1
    ]
    assert set(messages["channel_id"].to_pylist()) == {channel["id"]}
    assert tables["calendar_events"].num_rows == 0 and tables["drive_files"].num_rows == 0
    assert tables["directory_users"].num_rows == by_table(first)["directory_users"].num_rows
    assert saved(second)[("slack", channel["id"])] == Cursor("slack", channel["id"], new_top)
    assert saved(second)[("slack", f"{channel['id']}/threads")].value == new_reply
    assert all(c.replace_scope is None for c in second)
    assert {o.status for o in run.outcomes()} == {"ok"}


@pytest.mark.slow  # over 1.3 s: the full suite, not the fast lane
def test_a_deleted_event_is_stored_cancelled_with_what_it_was(appendable: Path, tmp_path: Path) -> None:
    """An event deleted between two runs comes back from the sync token as Google's stub (id and status).
    The store marks the row cancelled and keeps its title, times and attendees; a new etag."""
    path = sorted((appendable / "google/calendar").glob("*.json"))[0]
    calendar_id = path.stem
    with (
        SandboxServer(appendable, ServerSettings(rate_limits=False)) as server,
        StateStore(tmp_path / "state.duckdb") as store,
    ):
        sources = sandbox_sources(server.url)
        for chunk in collect_live(sources, {}, full_refresh=False):
            store.commit_live(chunk, "first")
        listing = json.loads(path.read_text())
        gone = next(e for e in listing["items"] if e["status"] == "confirmed" and e.get("attendees"))
        listing["items"] = [e for e in listing["items"] if e["id"] != gone["id"]]
        path.write_text(json.dumps(listing))
        query = (
            "SELECT * EXCLUDE (status, etag, updated) FROM calendar_events "
            "WHERE calendar_id = ? AND event_id = ?"
        )
        before = store.con.execute(query, [calendar_id, gone["id"]]).fetchall()
        run = collect_live(sources, store.cursors(), full_refresh=False)
        stubs = [c for c in run if c.table == "calendar_events"]
        for chunk in stubs:
            store.commit_live(chunk, "second")
        after = store.con.execute(query, [calendar_id, gone["id"]]).fetchall()
        status = store.con.execute(
            "SELECT status, summary FROM calendar_events WHERE calendar_id = ? AND event_id = ?",
            [calendar_id, gone["id"]],
        ).fetchall()
    [stub] = [c.batch.to_pylist() for c in stubs if c.batch.num_rows]
    assert [(r["event_id"], r["status"], r["summary"], r["start"]) for r in stub] == [
        (gone["id"], "cancelled", None, None)
    ]
    assert status == [("cancelled", gone["summary"])]
    assert after == before and len(before) == 1


@pytest.mark.slow  # over 1.3 s: the full suite, not the fast lane
def test_sync_tokens_refused_by_a_restarted_server_resync_each_calendar_in_full(generated: Path) -> None:
    """A new sandbox process answers old sync tokens with 410: every calendar is listed again whole,
    each chunk replacing its calendar's rows; the run is still ok and counts the resyncs."""
    with SandboxServer(generated, ServerSettings(rate_limits=False)) as server:
        first = list(collect_live(sandbox_sources(server.url), {}, full_refresh=False))
    calendars = sorted(c.key for c in saved(first).values() if c.source == "calendar")
    with SandboxServer(generated, ServerSettings(rate_limits=False)) as server:
        sources = sandbox_sources(server.url)
        run = collect_live(sources, saved(first), full_refresh=False)
        second = [c for c in run if c.table == "calendar_events"]
        events_requests = server.stats.requests["calendar.events.list"]
    assert sorted(c.replace_scope.value for c in second if c.replace_scope) == calendars
    assert by_table(second)["calendar_events"].equals(by_table(first)["calendar_events"])
    calendar = next(o for o in run.outcomes() if o.source == "calendar")
    assert (calendar.status, calendar.stats.resyncs, calendar.stats.failures) == ("ok", len(calendars), 0)
    assert events_requests == 2 * len(calendars)  # the refused token, then one full page each


@pytest.mark.slow  # over 1.3 s: the full suite, not the fast lane
def test_full_refresh_ignores_cursors_and_replaces_every_calendar(generated: Path) -> None:
    """With cursors saved, a full refresh still reads everything and lists every calendar whole."""
    with SandboxServer(generated, ServerSettings(rate_limits=False)) as server:
        sources = sandbox_sources(server.url)
        first = list(collect_live(sources, {}, full_refresh=False))
        again = list(collect_live(sources, saved(first), full_refresh=True))
    assert {name: t.num_rows for name, t in by_table(again).items()} == {
        name: t.num_rows for name, t in by_table(first).items()
    }
    assert all(c.replace_scope is not None for c in again if c.table == "calendar_events")
    assert saved(again) == saved(first)


def test_an_endpoint_failing_hard_opens_the_breaker_and_the_next_run_skips_the_source(
    generated: Path,
) -> None:
    """events.list always 500: two calendars fail after their retries, the breaker opens, calendar fails
    with the breaker's reason; the next run skips calendar without a request. Other sources are ok."""
    settings = ServerSettings(rate_limits=False, faults={"calendar.events.list": FaultSpec(error_rate=1.0)})
    google = {
        "retry": quick_retry(max_attempts=2),
        "breaker": BreakerPolicy(fail_max=2, reset_timeout=600),
        "calendar_workers": 1,
    }
    with SandboxServer(generated, settings) as server:
        sources = sandbox_sources(server.url, google=google)
        run = collect_live(sources, {}, full_refresh=False)
        first = list(run)
        calls = server.stats.requests["calendar.events.list"]
        outcome = {o.source: o for o in run.outcomes()}
        rerun = collect_live(sources, saved(first), full_refresh=False)
        list(rerun)
        calls_after = server.stats.requests["calendar.events.list"]
        calendar_lists = server.stats.requests["calendar.calendarList.list"]
    assert calls == 4  # two calendars, two attempts each; the third calendar is refused by the open breaker
    cal = outcome["calendar"]
    assert cal.status == "failed"
    assert "calendar circuit breaker is open after 2 consecutive failures" in (cal.reason or "")
    assert (cal.breaker.state, cal.stats.retries, cal.stats.failures) == ("open", 2, 2)
    assert {o.source: o.status for o in rerun.outcomes()} == {
        "directory": "ok",
        "slack": "ok",
        "calendar": "skipped_breaker_open",
        "drive": "ok",
    }
    skipped = next(o for o in rerun.outcomes() if o.source == "calendar")
    assert "last error: Google calendar events.list: HTTP 500" in (skipped.reason or "")
    assert (calls_after, calendar_lists) == (calls, 1)
    assert skipped.as_dict()["breaker_state"] == "open"


@pytest.mark.slow  # over 1.3 s: the full suite, not the fast lane
def test_sandbox_rate_limits_are_retried_and_both_sides_count_the_same(generated: Path) -> None:
    """The server allows 40 replies calls a second and answers 429 beyond; every message still arrives and
    the client's rate-limited and retry counts equal the server's refusals."""
    settings = ServerSettings(time_scale=60, tiers={"conversations.replies": 40})
    with SandboxServer(generated, settings) as server:
        run = collect_live(sandbox_sources(server.url), {}, full_refresh=False)
        tables = by_table(list(run))
        refused = server.stats.rate_limited.get("conversations.replies", 0)
    slack = next(o for o in run.outcomes() if o.source == "slack")
    assert tables["slack_messages"].num_rows == sum(
        len(json.loads(p.read_text())) for p in (generated / "slack").glob("*/*.json")
    )
    assert refused >= 1
    assert (slack.status, slack.stats.rate_limited, slack.stats.retries) == ("ok", refused, refused)


@pytest.mark.slow  # seconds of paced requests: the full suite runs it
def test_client_token_buckets_keep_under_the_server_limits_so_no_429_happens(generated: Path) -> None:
    """Client and server both at Slack's published tiers (per second instead of per minute): the client's
    per-method buckets run 5% under them, so scheduling jitter never lands a call over a limit."""
    settings = ServerSettings(time_scale=60)
    rates = {"tier1": 60, "tier2": 20 * 60, "tier3": 50 * 60, "tier4": 100 * 60}
    with SandboxServer(generated, settings) as server:
        run = collect_live(sandbox_sources(server.url, slack={"rates": rates}), {}, full_refresh=False)
        list(run)
        refused = server.stats.rate_limited
        replies = server.stats.requests["conversations.replies"]
    assert replies == 78  # 1.6 s of calls in a row at the limit
    assert refused == {}
    assert {o.source: o.stats.rate_limited for o in run.outcomes()}["slack"] == 0


@pytest.mark.slow  # over 1.3 s: the full suite, not the fast lane
def test_an_interrupted_run_resumes_without_losing_a_message(generated: Path) -> None:
    """Stop after three message chunks, keep only what was committed; the next run completes the set."""
    with SandboxServer(generated, ServerSettings(rate_limits=False)) as server:
        sources = sandbox_sources(server.url, slack={"chunk_rows": 20, "workers": 1})
        full = by_table(list(collect_live(sources, {}, full_refresh=True)))["slack_messages"]
        run = collect_live(sources, {}, full_refresh=False)
        committed: list[LiveChunk] = []
        for chunk in run:
            committed.append(chunk)
            if sum(c.table == "slack_messages" for c in committed) == 3:
                break
        run.close()
        slack = next(o for o in run.outcomes() if o.source == "slack")
        rest = list(collect_live(sources, saved(committed), full_refresh=False))
    assert (slack.status, slack.reason) == ("failed", "collection was stopped before the source finished")
    got = pa.concat_tables([c.batch for c in committed + rest if c.table == "slack_messages"])
    keys = set(zip(got["channel_id"].to_pylist(), got["ts"].to_pylist(), strict=True))
    assert keys == set(zip(full["channel_id"].to_pylist(), full["ts"].to_pylist(), strict=True))


def test_refused_slack_token_fails_only_slack_and_never_shows_the_token(
    generated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A wrong Slack token: slack fails with an auth reason and hint, the Google sources are ok, and the
    token is in no log record or outcome."""
    wrong = "xoxb-not-the-sandbox-token-42"
    with (
        SandboxServer(generated, ServerSettings(rate_limits=False)) as server,
        caplog.at_level(logging.DEBUG),
    ):
        run = collect_live(sandbox_sources(server.url, slack_token=wrong), {}, full_refresh=False)
        list(run)
    outcomes = {o.source: o for o in run.outcomes()}
    assert {s: o.status for s, o in outcomes.items()} == {
        "directory": "ok",
        "slack": "failed",
        "calendar": "ok",
        "drive": "ok",
    }
    assert (outcomes["slack"].reason or "").startswith(
        "Slack users.list refused the token: invalid_auth — check"
    )
    texts = [r.getMessage() for r in caplog.records] + [json.dumps(o.as_dict()) for o in outcomes.values()]
    assert [t for t in texts if wrong in t or GOOGLE_SANDBOX in t] == []


# ---- exact per-channel behaviour, on a hand-made workspace ---------------------------------------------


def serve_channels(
    serve: Serve,
    root: Path,
    order: Sequence[int] = (1, 2, 3),
    unjoined: tuple[str, ...] = ("C3",),
    events: Sequence[dict[str, object]] = (),
) -> SandboxServer:
    """Serve public channels C<n> (#chan<n>, listed in `order`) with one message each; the app has not
    joined `unjoined`. With `events`, ann@acme.example's calendar holds them (Drive, directory empty)."""
    channels = [{"id": f"C{n}", "name": f"chan{n}", "created": 1690000000} for n in order]
    posted = {f"chan{n}": [message(f"170000000{n}.000100", f"hello {n}")] for n in order}
    write_slack(root, [], channels, posted)
    if events:
        write_google(root, {"ann@acme.example": events})
    return serve(root, unjoined_channels=unjoined)


def slack_only(server: SandboxServer, **options: object) -> LiveSources:
    """Give the Slack source alone, one worker and no member lists unless `options` say otherwise."""
    config = slack_config(server.url, **{"fetch_members": False, "workers": 1, **options})  # type: ignore[arg-type]
    return build_live_sources(LiveConfig(slack=config))


def test_unreadable_channels_are_skipped_and_the_run_stays_ok(serve: Serve, tmp_path: Path) -> None:
    """C3 (not a member) is never read; C2 answers not_in_channel; C1 is collected; status ok."""
    server = serve_channels(serve, tmp_path, order=(2, 1, 3))  # C2 is read first: the script answers it
    server.script(
        "conversations.history", ScriptedFault.answer(200, {"ok": False, "error": "not_in_channel"})
    )
    run = collect_live(slack_only(server), {}, full_refresh=False)
    messages = by_table(list(run))["slack_messages"]
    [slack] = run.outcomes()
    assert messages["channel_id"].to_pylist() == ["C1"]
    assert (slack.status, slack.skipped_units, slack.failed_units) == ("ok", ("C3", "C2"), ())
    assert [r.params["channel"] for r in server.requests("conversations.history")] == ["C2", "C1"]


def test_a_channel_failing_hard_fails_the_source_but_the_others_are_collected(
    serve: Serve, tmp_path: Path
) -> None:
    """C1's history answers 500 through every retry: C2 is collected with its cursor; slack is failed and
    names C1 and the error."""
    server = serve_channels(serve, tmp_path)
    server.script("conversations.history", *[ScriptedFault.error(500)] * 3)
    run = collect_live(slack_only(server, retry=quick_retry(max_attempts=3)), {}, full_refresh=False)
    chunks = list(run)
    [slack] = run.outcomes()
    assert by_table(chunks)["slack_messages"]["channel_id"].to_pylist() == ["C2"]
    assert saved(chunks)[("slack", "C2")] == Cursor("slack", "C2", "1700000002.000100")
    assert ("slack", "C1") not in saved(chunks)
    assert slack.status == "failed"
    assert slack.reason == "1 of 2 units failed: C1: Slack conversations.history: HTTP 500, internal_error"
    assert (slack.failed_units, slack.stats.retries, slack.breaker.state) == (("C1",), 2, "closed")


@pytest.mark.slow  # seconds of paced requests: the full suite runs it
def test_channel_workers_share_the_method_bucket(serve: Serve, tmp_path: Path) -> None:
    """Four channels read by four workers with tier 3 at 120 calls a minute (less 5% headroom): the history
    calls reach the server about 0.53 s apart, whatever thread made them (not four at once)."""
    server = serve_channels(serve, tmp_path, order=(1, 2, 3, 4), unjoined=())
    rates = {"tier1": 1, "tier2": 60_000, "tier3": 120, "tier4": 60_000}
    run = collect_live(slack_only(server, workers=4, rates=rates), {}, full_refresh=False)
    assert by_table(list(run))["slack_messages"].num_rows == 4
    times = sorted(r.at for r in server.requests("conversations.history"))
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # A few ms of scheduling jitter on a busy machine, never the 0.5 s the bucket imposes.
    assert len(times) == 4 and min(gaps) >= 0.4, gaps


@pytest.mark.slow  # seconds of paced requests: the full suite runs it
def test_sources_are_collected_at_the_same_time(serve: Serve, tmp_path: Path) -> None:
    """Slack held to 2 history calls a second over four channels takes about 1.5 s; the calendar, a source
    with limits of its own, is read meanwhile rather than after it."""
    sync = {"id": "e1", "summary": "Sync", "status": "confirmed"}
    server = serve_channels(serve, tmp_path, order=(1, 2, 3, 4), unjoined=(), events=[sync])
    rates = {"tier1": 1, "tier2": 60_000, "tier3": 120, "tier4": 60_000}
    config = LiveConfig(
        slack=slack_config(server.url, fetch_members=False, workers=1, rates=rates),
        google=google_config(server.url),
    )
    run = collect_live(build_live_sources(config), {}, full_refresh=False)
    tables = by_table(list(run))
    history = [r.at for r in server.requests("conversations.history")]
    events = [r.at for r in server.requests("calendar.events.list")]
    assert (tables["slack_messages"].num_rows, tables["calendar_events"].num_rows) == (4, 1)
    assert [o.status for o in run.outcomes()] == ["ok", "ok", "ok", "ok"]
    assert len(history) == 4 and max(events) < max(history), (events, history)


def test_outcome_as_dict_is_plain_json_for_the_runs_ledger(serve: Serve, tmp_path: Path) -> None:
    """as_dict gives every counter and the breaker state under stable keys."""
    run = collect_live(slack_only(serve_channels(serve, tmp_path)), {}, full_refresh=False)
    list(run)
    [slack] = run.outcomes()
    assert json.loads(json.dumps(slack.as_dict())) == {
        "source": "slack",
        "status": "ok",
        "reason": None,
        "rows": {"slack_users": 0, "slack_channels": 3, "slack_messages": 2},
        "requests": 4,
        "retries": 0,
        "rate_limited": 0,
        "transient_faults": 0,
        "failures": 0,
        "short_circuited": 0,
        "waited_seconds": slack.stats.waited_seconds,
        "breaker_state": "closed",
        "breaker_failures": 0,
        "breaker_opened_at": None,
        "failed_units": [],
        "skipped_units": ["C3"],
    }


def test_replace_scope_is_a_plain_triple() -> None:
    """A ReplaceScope compares equal to the (table, column, value) tuple the store may expect."""
    assert ReplaceScope("calendar_events", "calendar_id", "a@x") == ("calendar_events", "calendar_id", "a@x")
