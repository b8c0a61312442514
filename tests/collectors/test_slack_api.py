"""The Slack door over real HTTP (slack_sdk against the sandbox server): pagination, incremental history and
thread re-polling, retries of rate limits and server faults, fatal errors, loops, and no token leaks."""

from __future__ import annotations

import base64
import logging
import traceback
from pathlib import Path

import pyarrow as pa
import pytest
from pydantic import SecretStr

from collectors import (
    SLACK_MESSAGES,
    SLACK_USERS,
    AuthError,
    Cursor,
    LiveChunk,
    LiveConfig,
    Normaliser,
    SlackConfig,
    SlackOptions,
    SlackRates,
    SlackSource,
    build_live_sources,
    collect_channel_messages,
    collect_users,
    history_oldest,
    slack_limiter,
)
from core.errors import DataError
from sandbox.server import SandboxServer, ScriptedFault
from tests.collectors.workspace_builders import SLACK_TOKEN, Serve, message, post, slack_config, write_slack

P = "1700000100.000100"  # a thread parent inside the lookback window
Q = "1699000000.000100"  # a thread parent long before it
USERS = [
    {
        "id": f"U{i}",
        "team_id": "T1",
        "name": f"user{i}",
        "real_name": f"User {i}",
        "profile": {"email": f"user{i}@acme.example", "display_name": f"u{i}"},
        "tz": "Europe/Berlin",
        "tz_offset": 3600,
    }
    for i in range(1, 6)
]


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Give a Slack workspace: 5 users, channel C1 (#general) with two threads and two plain messages."""
    general = [
        message(Q, "old thread"),
        message("1699000010.000100", "old reply", user="U2", thread_ts=Q),
        message("1700000000.000100", "hello"),
        message(P, "thread start"),
        message("1700000150.000100", "first reply", user="U2", thread_ts=P),
        message("1700000200.000100", "second reply", user="U3", thread_ts=P),
        message("1700000300.000100", "latest top-level"),
    ]
    channel = {"id": "C1", "name": "general", "created": 1690000000, "members": ["U1", "U2", "U3"]}
    return write_slack(tmp_path / "ws", USERS, [channel], {"general": general})


@pytest.fixture
def server(root: Path, serve: Serve) -> SandboxServer:
    """Give the sandbox serving that workspace."""
    return serve(root)


def slack(server: SandboxServer, **kwargs: object) -> SlackSource:
    """Give the Slack source built with the real client against the sandbox."""
    source = build_live_sources(LiveConfig(slack=slack_config(server.url, **kwargs))).slack  # type: ignore[arg-type]
    assert source is not None
    return source


def slack_cursor(value: str) -> str:
    """Give the cursor the sandbox pages with: base64 of `<kind>:<value>`, as Slack's (server README)."""
    return base64.b64encode(value.encode()).decode()


def messages(src: SlackSource, cursors: dict[tuple[str, str], Cursor], now: float = 1.7e9) -> list[LiveChunk]:
    """Give the chunks of collecting channel C1 from `cursors`."""
    with Normaliser() as norm:
        return list(collect_channel_messages(src.api, norm, "C1", cursors, src.options, now))


def rows(chunks: list[LiveChunk]) -> list[tuple[str, str | None, str]]:
    """Give (ts, thread_ts, text) of all chunks' messages, sorted by ts."""
    table = pa.concat_tables([c.batch for c in chunks])
    got = zip(table["ts"].to_pylist(), table["thread_ts"].to_pylist(), table["text"].to_pylist(), strict=True)
    return sorted(got)


def cursor_map(chunks: list[LiveChunk]) -> dict[tuple[str, str], Cursor]:
    return {(c.source, c.key): c for chunk in chunks for c in chunk.cursors}


def test_users_list_is_read_across_pages_into_slack_users_rows(server: SandboxServer) -> None:
    """5 users in pages of 2: three requests following next_cursor, five SLACK_USERS rows."""
    src = slack(server, list_page_size=2)
    with Normaliser() as norm:
        [chunk] = list(collect_users(src.api, norm, src.options))
    assert chunk.batch.schema == SLACK_USERS
    assert chunk.batch["user_id"].to_pylist() == ["U1", "U2", "U3", "U4", "U5"]
    assert chunk.batch["email"].to_pylist()[0] == "user1@acme.example"
    assert [r.params.get("cursor") for r in server.requests("users.list")] == [
        None,
        slack_cursor("user:U3"),
        slack_cursor("user:U5"),
    ]


def test_first_collection_reads_history_and_every_thread_and_sets_both_cursors(server: SandboxServer) -> None:
    """All 7 messages (top-level and replies) arrive; the cursors are the newest ts and newest reply.
    Pages of 3 hold a whole thread (the parent counts), so each thread is one replies request."""
    chunks = messages(slack(server, page_size=3), {})
    assert [c.batch.schema == SLACK_MESSAGES for c in chunks] == [True]
    assert rows(chunks) == [
        (Q, Q, "old thread"),
        ("1699000010.000100", Q, "old reply"),
        ("1700000000.000100", None, "hello"),
        (P, P, "thread start"),
        ("1700000150.000100", P, "first reply"),
        ("1700000200.000100", P, "second reply"),
        ("1700000300.000100", None, "latest top-level"),
    ]
    assert cursor_map(chunks) == {
        ("slack", "C1"): Cursor("slack", "C1", "1700000300.000100"),
        ("slack", "C1/threads"): Cursor("slack", "C1/threads", "1700000200.000100"),
    }
    parent = chunks[0].batch.filter(pa.compute.equal(chunks[0].batch["ts"], P))
    assert (parent["reply_count"][0].as_py(), parent["latest_reply"][0].as_py()) == (2, "1700000200.000100")
    assert len(server.requests("conversations.history")) == 2  # 4 top-level messages, pages of 3
    assert sorted(r.params["ts"] for r in server.requests("conversations.replies")) == [Q, P]


def test_second_collection_gets_exactly_the_new_messages_and_replies(server: SandboxServer) -> None:
    """A new message, a new reply in a thread inside the lookback and one outside it: the second run
    yields the new message, the new reply and the thread parent (its reply_count moved), nothing else."""
    src = slack(server, page_size=3, thread_lookback_days=7)
    first = cursor_map(messages(src, {}))
    post(
        server.workspace,
        "general",
        message("1700000400.000100", "new top-level"),
        message("1700000500.000100", "third reply", user="U4", thread_ts=P),
        message("1700000600.000100", "late reply to the old thread", thread_ts=Q),
    )
    before = len(server.requests("conversations.history"))
    second = messages(src, first)
    assert rows(second) == [
        (P, P, "thread start"),
        ("1700000400.000100", None, "new top-level"),
        ("1700000500.000100", P, "third reply"),
    ]
    batch = pa.concat_tables([c.batch for c in second])
    assert batch.filter(pa.compute.equal(batch["ts"], P))["reply_count"].to_pylist() == [3]
    assert cursor_map(second) == {
        ("slack", "C1"): Cursor("slack", "C1", "1700000400.000100"),
        ("slack", "C1/threads"): Cursor("slack", "C1/threads", "1700000500.000100"),
    }
    history = server.requests("conversations.history")[before:]
    # The window starts 7 days before the stored newest ts: Q (11.5 days older) is not re-read.
    assert {r.params.get("oldest") for r in history} == {"1699395500.000100"}
    assert [(r.params["ts"], r.params["oldest"]) for r in server.requests("conversations.replies")[2:]] == [
        (P, "1700000200.000100")
    ]


def test_collection_without_changes_yields_nothing(server: SandboxServer) -> None:
    """Run twice with nothing new: the second run yields no chunk and asks for no replies."""
    src = slack(server, page_size=2)
    first = cursor_map(messages(src, {}))
    replies_before = len(server.requests("conversations.replies"))
    assert messages(src, first) == []
    assert len(server.requests("conversations.replies")) == replies_before


def test_history_oldest_is_the_lookback_before_the_cursor_or_the_first_run_bound() -> None:
    """With a cursor: cursor minus the lookback; without: now minus history_days, or unbounded."""
    assert history_oldest("1700000300.000100", SlackOptions(thread_lookback_days=1), 0) == "1699913900.000100"
    assert history_oldest(None, SlackOptions(history_days=2), 1_700_000_000.5) == "1699827200.500000"
    assert history_oldest(None, SlackOptions(), 1_700_000_000) is None


def test_rate_limit_429_is_retried_after_its_retry_after(server: SandboxServer) -> None:
    """HTTP 429 with Retry-After: 1, then success: two requests at least a second apart."""
    server.script("users.list", ScriptedFault.error(429, retry_after=1))
    src = slack(server, list_page_size=10)
    with Normaliser() as norm:
        [chunk] = list(collect_users(src.api, norm, src.options))
    seen = server.requests("users.list")
    assert chunk.batch.num_rows == 5
    assert len(seen) == 2
    assert seen[1].at - seen[0].at >= 1.0
    stats = src.guard.stats.snapshot()
    assert (stats.requests, stats.retries, stats.rate_limited) == (2, 1, 1)


def test_ratelimited_error_body_is_retried(server: SandboxServer) -> None:
    """`{"ok": false, "error": "ratelimited"}` with HTTP 200 is a rate limit too."""
    server.script("users.list", ScriptedFault.answer(200, {"ok": False, "error": "ratelimited"}))
    src = slack(server, list_page_size=10)
    with Normaliser() as norm:
        list(collect_users(src.api, norm, src.options))
    assert (len(server.requests("users.list")), src.guard.stats.snapshot().rate_limited) == (2, 1)


def test_burst_of_server_errors_is_recovered(server: SandboxServer) -> None:
    """500, 503, 502 on the first history page, then success: all messages, 3 retries."""
    server.script(
        "conversations.history",
        ScriptedFault.error(500),
        ScriptedFault.answer(503, "Service Unavailable"),
        ScriptedFault.answer(502, "<html>"),
    )
    src = slack(server, page_size=2)
    chunks = messages(src, {})
    assert len(rows(chunks)) == 7
    assert len(server.requests("conversations.history")) == 5  # 3 failed + 2 pages
    assert src.guard.stats.snapshot().retries == 3


def test_truncated_dropped_and_non_json_answers_are_retried(server: SandboxServer) -> None:
    """A body cut in half, a closed connection and an HTML 200 are each retried; the data is complete."""
    server.script(
        "users.list",
        ScriptedFault.truncate(),
        ScriptedFault.drop(),
        ScriptedFault.answer(200, "<html>proxy error</html>"),
    )
    src = slack(server, list_page_size=10)
    with Normaliser() as norm:
        [chunk] = list(collect_users(src.api, norm, src.options))
    assert chunk.batch.num_rows == 5
    assert len(server.requests("users.list")) == 4
    assert src.guard.stats.snapshot().retries == 3


def test_invalid_token_raises_auth_error_without_retrying(server: SandboxServer) -> None:
    """A refused token is an AuthError naming the method, with a hint about scopes; one request only."""
    src = slack(server, token="xoxb-wrong-token-0000")
    with (
        Normaliser() as norm,
        pytest.raises(AuthError, match="Slack users.list refused the token: invalid_auth"),
    ):
        list(collect_users(src.api, norm, src.options))
    assert len(server.requests("users.list")) == 1


def test_a_repeated_cursor_raises_data_error_instead_of_looping(server: SandboxServer) -> None:
    """A server that keeps answering the same next_cursor is refused on the second repeat."""
    page = {"ok": True, "members": USERS[:2], "response_metadata": {"next_cursor": "o2"}}
    server.script("users.list", ScriptedFault.answer(200, page), ScriptedFault.answer(200, page))
    src = slack(server, list_page_size=2)
    with (
        Normaliser() as norm,
        pytest.raises(DataError, match="Slack users.list .* gave the cursor o2 twice"),
    ):
        list(collect_users(src.api, norm, src.options))
    assert len(server.requests("users.list")) == 2


def test_a_gone_thread_is_skipped_and_the_channel_still_collected(server: SandboxServer) -> None:
    """thread_not_found on one thread's replies: the other thread and all top-level messages arrive."""
    server.script(
        "conversations.replies", ScriptedFault.answer(200, {"ok": False, "error": "thread_not_found"})
    )
    got = rows(messages(slack(server, page_size=10), {}))
    assert len(got) == 5  # the first thread asked for (newest first: P) lost its two replies
    assert ("1699000010.000100", Q, "old reply") in got


def test_the_token_never_reaches_logs_reprs_or_exception_text(
    server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Through faults, a server echoing the token, DEBUG logs and an auth failure, the token stays hidden."""
    server.script(
        "users.list",
        ScriptedFault.answer(429, {"ok": False, "error": "ratelimited"}, {"Retry-After": "0"}),
        ScriptedFault.drop(),
        ScriptedFault.answer(500, f"upstream rejected Authorization: Bearer {SLACK_TOKEN}"),
    )
    config = slack_config(server.url, list_page_size=10)
    src = slack(server, list_page_size=10)
    with caplog.at_level(logging.DEBUG), Normaliser() as norm:
        list(collect_users(src.api, norm, src.options))
        bad = build_live_sources(LiveConfig(slack=slack_config(server.url, token=SLACK_TOKEN + "x"))).slack
        assert bad is not None
        with pytest.raises(AuthError) as caught:
            list(collect_users(bad.api, norm, bad.options))
    texts = [r.getMessage() for r in caplog.records]
    assert any("Received the following response" in t for t in texts)  # slack_sdk's DEBUG logs were on
    assert any("[redacted]" in t for t in texts)  # the echoed token was scrubbed
    exposed = [
        *texts,
        repr(config),
        str(config),
        repr(src.api),
        str(caught.value),
        "".join(traceback.format_exception(caught.value)),
    ]
    assert [t for t in exposed if SLACK_TOKEN in t] == []


def test_a_timed_out_request_is_retried(server: SandboxServer) -> None:
    """An answer slower than the 1 s timeout is abandoned and the call retried: two requests, one retry."""
    server.script("users.list", ScriptedFault.delay(1.5))
    src = build_live_sources(
        LiveConfig(slack=slack_config(server.url, list_page_size=10).model_copy(update={"timeout": 1.0}))
    ).slack
    assert src is not None
    with Normaliser() as norm:
        [chunk] = list(collect_users(src.api, norm, src.options))
    assert (chunk.batch.num_rows, len(server.requests("users.list")), src.guard.stats.snapshot().retries) == (
        5,
        2,
        1,
    )


def test_slack_settings_errors_never_echo_the_token() -> None:
    """A token of the wrong kind is refused by validation without showing it."""
    with pytest.raises(ValueError, match="must be a bot") as caught:
        SlackConfig(token=SecretStr("abc-not-a-slack-token-77"))
    assert "not-a-slack-token-77" not in str(caught.value)


def test_each_slack_method_has_its_own_bucket_at_its_tier_rate_less_the_headroom() -> None:
    """Slack limits each method separately: a history call does not wait for a replies call; the second
    history call waits 1 / (6000 x 0.95 / 60) s; methods without a tier share the `other methods` bucket."""
    limiter, bucket_of = slack_limiter(SlackRates(tier2=1200, tier3=6000, headroom=0.95))
    assert [bucket_of(m) for m in ("conversations.history", "conversations.replies", "pins.list")] == [
        "conversations.history",
        "conversations.replies",
        "other methods",
    ]
    assert limiter.acquire("conversations.history") == 0.0
    assert limiter.acquire("conversations.replies") == 0.0
    assert limiter.acquire("pins.list") == 0.0
    assert limiter.acquire("conversations.history") == pytest.approx(60 / (6000 * 0.95), abs=0.002)
    assert limiter.acquire("users.list") == 0.0
    assert limiter.acquire("users.list") == pytest.approx(60 / (1200 * 0.95), abs=0.002)
