"""The Slack door over real HTTP (slack_sdk against a local server): pagination, incremental history and
thread re-polling, retries of rate limits and server faults, fatal errors, loops, and no token leaks."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import pyarrow as pa
import pytest
from pydantic import SecretStr

from collectors._live_models import LiveChunk, LiveConfig, SlackConfig, SlackRates
from collectors._normalise import Normaliser
from collectors._resilience import AuthError
from collectors.live import SlackSource, build_live_sources
from collectors.models import SLACK_MESSAGES, SLACK_USERS, Cursor
from collectors.slack_api import collect_channel_messages, collect_users, history_oldest, slack_limiter
from core.errors import DataError
from tests.collectors.fake_api import SLACK_TOKEN, FakeApi, Fault, rate_limited, slack_config

P = "1700000100.000100"  # a thread parent inside the lookback window
Q = "1699000000.000100"  # a thread parent long before it


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    """Give a running fake Slack workspace: 5 users, channel C1 with two threads, pages of 2."""
    with FakeApi(page_size=2) as api:
        d = api.slack
        d.users = [
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
        d.channels = [
            {"id": "C1", "name": "general", "is_channel": True, "is_member": True, "created": 1690000000}
        ]
        d.post("C1", Q, "old thread")
        d.post("C1", "1699000010.000100", "old reply", user="U2", thread_ts=Q)
        d.post("C1", "1700000000.000100", "hello")
        d.post("C1", P, "thread start")
        d.post("C1", "1700000150.000100", "first reply", user="U2", thread_ts=P)
        d.post("C1", "1700000200.000100", "second reply", user="U3", thread_ts=P)
        d.post("C1", "1700000300.000100", "latest top-level")
        yield api


def slack(fake: FakeApi, **kwargs: object) -> SlackSource:
    """Give the Slack source built with the real client against the fake server."""
    source = build_live_sources(LiveConfig(slack=slack_config(fake.url, **kwargs))).slack  # type: ignore[arg-type]
    assert source is not None
    return source


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


def test_users_list_is_read_across_pages_into_slack_users_rows(fake: FakeApi) -> None:
    """5 users in pages of 2: three requests following next_cursor, five SLACK_USERS rows."""
    src = slack(fake, list_page_size=2)
    with Normaliser() as norm:
        [chunk] = list(collect_users(src.api, norm, src.options))
    assert chunk.batch.schema == SLACK_USERS
    assert chunk.batch["user_id"].to_pylist() == ["U1", "U2", "U3", "U4", "U5"]
    assert chunk.batch["email"].to_pylist()[0] == "user1@acme.example"
    assert [r.params.get("cursor") for r in fake.requests("users.list")] == [None, "o2", "o4"]


def test_first_collection_reads_history_and_every_thread_and_sets_both_cursors(fake: FakeApi) -> None:
    """All 7 messages (top-level and replies) arrive; the cursors are the newest ts and newest reply."""
    chunks = messages(slack(fake, page_size=2), {})
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
    assert len(fake.requests("conversations.history")) == 2  # 4 top-level messages, pages of 2
    assert sorted(r.params["ts"] for r in fake.requests("conversations.replies")) == [Q, P]


def test_second_collection_gets_exactly_the_new_messages_and_replies(fake: FakeApi) -> None:
    """A new message, a new reply in a thread inside the lookback and one outside it: the second run
    yields the new message, the new reply and the thread parent (its reply_count moved), nothing else."""
    src = slack(fake, page_size=2, thread_lookback_days=7)
    first = cursor_map(messages(src, {}))
    fake.slack.post("C1", "1700000400.000100", "new top-level")
    fake.slack.post("C1", "1700000500.000100", "third reply", user="U4", thread_ts=P)
    fake.slack.post("C1", "1700000600.000100", "late reply to the old thread", thread_ts=Q)
    before = len(fake.requests("conversations.history"))
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
    history = fake.requests("conversations.history")[before:]
    # The window starts 7 days before the stored newest ts: Q (11.5 days older) is not re-read.
    assert {r.params.get("oldest") for r in history} == {"1699395500.000100"}
    assert [(r.params["ts"], r.params["oldest"]) for r in fake.requests("conversations.replies")[2:]] == [
        (P, "1700000200.000100")
    ]


def test_collection_without_changes_yields_nothing(fake: FakeApi) -> None:
    """Run twice with nothing new: the second run yields no chunk and asks for no replies."""
    src = slack(fake, page_size=2)
    first = cursor_map(messages(src, {}))
    replies_before = len(fake.requests("conversations.replies"))
    assert messages(src, first) == []
    assert len(fake.requests("conversations.replies")) == replies_before


def test_history_oldest_is_the_lookback_before_the_cursor_or_the_first_run_bound() -> None:
    """With a cursor: cursor minus the lookback; without: now minus history_days, or unbounded."""
    from collectors._live_models import SlackOptions

    assert history_oldest("1700000300.000100", SlackOptions(thread_lookback_days=1), 0) == "1699913900.000100"
    assert history_oldest(None, SlackOptions(history_days=2), 1_700_000_000.5) == "1699827200.500000"
    assert history_oldest(None, SlackOptions(), 1_700_000_000) is None


def test_rate_limit_429_is_retried_after_its_retry_after(fake: FakeApi) -> None:
    """HTTP 429 with Retry-After: 1, then success: two requests at least a second apart."""
    fake.fail("users.list", rate_limited(1))
    src = slack(fake, list_page_size=10)
    with Normaliser() as norm:
        [chunk] = list(collect_users(src.api, norm, src.options))
    seen = fake.requests("users.list")
    assert chunk.batch.num_rows == 5
    assert len(seen) == 2
    assert seen[1].at - seen[0].at >= 1.0
    stats = src.guard.stats.snapshot()
    assert (stats.requests, stats.retries, stats.rate_limited) == (2, 1, 1)


def test_ratelimited_error_body_is_retried(fake: FakeApi) -> None:
    """`{"ok": false, "error": "ratelimited"}` with HTTP 200 is a rate limit too."""
    fake.fail("users.list", Fault(200, {"ok": False, "error": "ratelimited"}))
    src = slack(fake, list_page_size=10)
    with Normaliser() as norm:
        list(collect_users(src.api, norm, src.options))
    assert (len(fake.requests("users.list")), src.guard.stats.snapshot().rate_limited) == (2, 1)


def test_burst_of_server_errors_is_recovered(fake: FakeApi) -> None:
    """500, 503, 502 on the first history page, then success: all messages, 3 retries."""
    fake.fail("conversations.history", Fault(500), Fault(503, "Service Unavailable"), Fault(502, "<html>"))
    src = slack(fake, page_size=2)
    chunks = messages(src, {})
    assert len(rows(chunks)) == 7
    assert len(fake.requests("conversations.history")) == 5  # 3 failed + 2 pages
    assert src.guard.stats.snapshot().retries == 3


def test_truncated_dropped_and_non_json_answers_are_retried(fake: FakeApi) -> None:
    """A body cut in half, a closed connection and an HTML 200 are each retried; the data is complete."""
    fake.fail(
        "users.list",
        Fault(kind="truncate", body={"ok": True, "members": []}),
        Fault(kind="drop"),
        Fault(200, "<html>proxy error</html>"),
    )
    src = slack(fake, list_page_size=10)
    with Normaliser() as norm:
        [chunk] = list(collect_users(src.api, norm, src.options))
    assert chunk.batch.num_rows == 5
    assert len(fake.requests("users.list")) == 4
    assert src.guard.stats.snapshot().retries == 3


def test_invalid_token_raises_auth_error_without_retrying(fake: FakeApi) -> None:
    """A refused token is an AuthError naming the method, with a hint about scopes; one request only."""
    src = slack(fake, token="xoxb-wrong-token-0000")
    with (
        Normaliser() as norm,
        pytest.raises(AuthError, match="Slack users.list refused the token: invalid_auth"),
    ):
        list(collect_users(src.api, norm, src.options))
    assert len(fake.requests("users.list")) == 1


def test_a_repeated_cursor_raises_data_error_instead_of_looping(fake: FakeApi) -> None:
    """A server that keeps answering the same next_cursor is refused on the second repeat."""
    fake.hooks["members"] = lambda body: {**body, "response_metadata": {"next_cursor": "o2"}}
    src = slack(fake, list_page_size=2)
    with (
        Normaliser() as norm,
        pytest.raises(DataError, match="Slack users.list .* gave the cursor o2 twice"),
    ):
        list(collect_users(src.api, norm, src.options))
    assert len(fake.requests("users.list")) == 2


def test_a_gone_thread_is_skipped_and_the_channel_still_collected(fake: FakeApi) -> None:
    """thread_not_found on one thread's replies: the other thread and all top-level messages arrive."""
    fake.fail("conversations.replies", Fault(200, {"ok": False, "error": "thread_not_found"}))
    got = rows(messages(slack(fake, page_size=10), {}))
    assert len(got) == 5  # the first thread asked for (newest first: P) lost its two replies
    assert ("1699000010.000100", Q, "old reply") in got


def test_the_token_never_reaches_logs_reprs_or_exception_text(
    fake: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    """Through faults, a server echoing the token, DEBUG logs and an auth failure, the token stays hidden."""
    fake.fail(
        "users.list",
        rate_limited(0),
        Fault(kind="drop"),
        Fault(500, f"upstream rejected Authorization: Bearer {SLACK_TOKEN}"),
    )
    config = slack_config(fake.url, list_page_size=10)
    src = slack(fake, list_page_size=10)
    with caplog.at_level(logging.DEBUG), Normaliser() as norm:
        list(collect_users(src.api, norm, src.options))
        bad = build_live_sources(LiveConfig(slack=slack_config(fake.url, token=SLACK_TOKEN + "x"))).slack
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


def test_a_timed_out_request_is_retried(fake: FakeApi) -> None:
    """An answer slower than the 1 s timeout is abandoned and the call retried: two requests, one retry."""
    fake.fail("users.list", Fault(kind="delay", delay=1.5))
    src = build_live_sources(
        LiveConfig(slack=slack_config(fake.url, list_page_size=10).model_copy(update={"timeout": 1.0}))
    ).slack
    assert src is not None
    with Normaliser() as norm:
        [chunk] = list(collect_users(src.api, norm, src.options))
    assert (chunk.batch.num_rows, len(fake.requests("users.list")), src.guard.stats.snapshot().retries) == (
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
