"""Pagination at M scale: 10^5 messages served through the real client, each exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandbox.server import SandboxServer, ServerSettings
from tests.sandbox._server_workspace import D1, slack_client, user, write_json

CHANNELS, DAYS, PER_DAY = 10, 10, 1000
THREADS_PER_DAY, REPLIES_PER_THREAD = 2, 90


def _day(channel: int, day: int) -> list[dict[str, str]]:
    """Give one day of a channel: PER_DAY messages, of which two threads with 90 replies each."""
    base = D1 + day * 86400
    messages = []
    for i in range(PER_DAY - THREADS_PER_DAY * REPLIES_PER_THREAD):
        messages.append(
            {
                "type": "message",
                "ts": f"{base + i * 40}.{channel:02d}{day:02d}00",
                "user": f"U{i % 50:09d}",
                "text": f"c{channel} d{day} m{i}",
            }
        )
    for t in range(THREADS_PER_DAY):
        parent = messages[t * 300]["ts"]
        start = int(parent.split(".")[0])
        for r in range(REPLIES_PER_THREAD):
            messages.append(
                {
                    "type": "message",
                    "ts": f"{start + 1 + r}.{channel:02d}{day:02d}10",
                    "user": f"U{r % 7:09d}",
                    "text": f"reply {r}",
                    "thread_ts": parent,
                }
            )
    return sorted(messages, key=lambda m: m["ts"])


def _workspace(root: Path) -> set[str]:
    """Write the workspace and give the set of every `channel/ts` written."""
    slack = root / "slack"
    write_json(
        slack / "users.json",
        [user(f"U{i:09d}", f"u{i}", f"User {i}", f"u{i}@acme.example") for i in range(50)],
    )
    write_json(
        slack / "channels.json",
        [{"id": f"C{c:09d}", "name": f"chan-{c}", "created": D1, "members": []} for c in range(CHANNELS)],
    )
    written = set()
    for c in range(CHANNELS):
        for d in range(DAYS):
            day = _day(c, d)
            (slack / f"chan-{c}").mkdir(parents=True, exist_ok=True)
            (slack / f"chan-{c}" / f"2026-09-{7 + d:02d}.json").write_text(
                json.dumps(day, separators=(",", ":"))
            )
            written.update(f"C{c:09d}/{m['ts']}" for m in day)
    return written


@pytest.mark.slow  # over 1.3 s: the full suite, not the fast lane
def test_pagination_at_scale_covers_every_message_exactly_once(tmp_path: Path) -> None:
    """10 channels x 10 days x 1,000 messages: history pages of 999 plus thread pages give all 10^5 once."""
    written = _workspace(tmp_path)
    assert len(written) == CHANNELS * DAYS * PER_DAY
    seen: list[str] = []
    with SandboxServer(tmp_path, ServerSettings(rate_limits=False)) as srv:
        client = slack_client(srv.url)
        for chan in client.conversations_list()["channels"]:
            for page in client.conversations_history(channel=chan["id"], limit=999):
                for m in page["messages"]:
                    seen.append(f"{chan['id']}/{m['ts']}")
                    if m.get("reply_count"):
                        assert m["reply_count"] == REPLIES_PER_THREAD
                        for thread in client.conversations_replies(channel=chan["id"], ts=m["ts"], limit=999):
                            seen.extend(
                                f"{chan['id']}/{r['ts']}" for r in thread["messages"] if r["ts"] != m["ts"]
                            )
        stats = srv.stats
    assert len(seen) == len(written)
    assert set(seen) == written
    history_pages = CHANNELS * -(-DAYS * (PER_DAY - THREADS_PER_DAY * REPLIES_PER_THREAD) // 999)
    assert stats.requests == {
        "conversations.list": 1,
        "conversations.history": history_pages,
        "conversations.replies": CHANNELS * DAYS * THREADS_PER_DAY,
    }
