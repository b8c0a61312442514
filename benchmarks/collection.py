"""Collect a generated org live through the sandbox with Slack's tiers scaled 60x; print figures as JSON.

Tier 3 (conversations.history, conversations.replies) becomes 50 calls/s and Tier 2 (users.list,
conversations.list) 20 calls/s. Efficiency is the ideal time over the actual time, where the ideal time is
what the busiest method needs at its allowed rate (methods have separate limits, so they overlap):
max over methods of (successful calls ÷ calls per second).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

from checkpoints import StateStore
from collectors import build_live_sources
from flows import stages
from flows.settings import Settings
from sandbox import SandboxServer, ServerSettings

SCALE = 60


def main(workspace: str, truth_messages: str) -> None:
    server_settings = ServerSettings(time_scale=SCALE)
    os.environ.update(
        MEETINTEL_SLACK_TOKEN=server_settings.slack_token,
        MEETINTEL_GOOGLE_TOKEN=server_settings.google_token,
        MEETINTEL_SLACK_TIER2_PER_MINUTE=str(20 * SCALE),
        MEETINTEL_SLACK_TIER3_PER_MINUTE=str(50 * SCALE),
    )
    with SandboxServer(Path(workspace), server_settings) as server, tempfile.TemporaryDirectory() as tmp:
        settings = Settings(slack_base_url=f"{server.url}/api/", google_api_endpoint=server.url)
        sources = build_live_sources(settings.live_config())
        with StateStore(Path(tmp) / "state.duckdb") as store:
            started = time.perf_counter()
            stat, outcomes = stages.collect_from_apis(store, sources, "bench", full_refresh=False)
            elapsed = time.perf_counter() - started
            messages = store.count("slack_messages")
        stats = server.stats
    per_second = {m: n / server_settings.window_s for m, n in server_settings.tiers.items()}
    ok_calls = {m: n - stats.rate_limited.get(m, 0) for m, n in stats.requests.items()}
    slack = ("users.", "conversations.")
    slack_calls = {m: n for m, n in ok_calls.items() if m.startswith(slack)}
    ideal = max(n / per_second[m] for m, n in slack_calls.items())
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "ideal_seconds": ideal,
                "efficiency": ideal / elapsed,
                "requests": stats.total_requests,
                "rate_limited": sum(stats.rate_limited.values()),
                "calls": slack_calls,
                "messages": messages,
                "expected_messages": int(truth_messages),
                "sources": [o.status for o in outcomes],
                "rows": stat.rows_in,
            }
        )
    )


if __name__ == "__main__":
    main(*sys.argv[1:3])
