"""Invalid MEETINTEL_* settings and wrong tokens: classified errors that name the setting or credential."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from checkpoints import StateStore
from collectors import build_live_sources
from core.errors import ConfigurationError
from flows import stages
from flows.settings import Settings
from sandbox import SandboxServer, ServerSettings, generate_workspace


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("RETRY_ATTEMPTS", "abc", "a valid integer"),
        ("RETRY_ATTEMPTS", "0", "greater than or equal to 1"),
        ("SLACK_TIER3_PER_MINUTE", "-1", "greater than 0"),
        ("SLACK_RATE_HEADROOM", "1.5", "less than or equal to 1"),
        ("KEEP_RUNS", "0", "greater than or equal to 1"),
        ("BREAKER_RESET_SECONDS", "soon", "a valid number"),
        ("REPORT_TZ", "Mars/Phobos", "unknown time zone 'Mars/Phobos'"),
    ],
)
def test_an_invalid_setting_is_named_with_what_is_wrong(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, complaint: str
) -> None:
    """Each bad value is a ConfigurationError naming the variable, before anything is collected."""
    monkeypatch.setenv(f"MEETINTEL_{name}", value)
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_cli()
    assert raised.value.message.startswith(f"setting MEETINTEL_{name} is invalid: ")
    assert complaint in raised.value.message
    assert raised.value.hint.startswith("fix or unset it; it takes ")  # the allowed values follow


def test_a_missing_service_account_file_is_named_when_the_sources_are_built(tmp_path: Path) -> None:
    settings = Settings(
        google_service_account_file=tmp_path / "nope.json", google_subject="admin@acme.example"
    )
    with pytest.raises(
        ConfigurationError, match=r"cannot read the Google service account key file .*nope\.json"
    ):
        build_live_sources(settings.live_config())


def test_wrong_tokens_fail_each_source_with_the_credential_to_fix_and_store_nothing(tmp_path: Path) -> None:
    """Slack `invalid_auth` and Google 401: every source fails at its first call with an AuthError saying
    which credential to replace; the run goes on to the other sources (so it ends partial) and writes no rows
    and no cursors."""
    generate_workspace(tmp_path / "ws", people=10, days=1, seed=1)
    with SandboxServer(tmp_path / "ws", ServerSettings(time_scale=60)) as server:
        settings = Settings(
            slack_token=SecretStr("xoxb-not-the-right-one"),
            google_token=SecretStr("ya29.not-the-right-one"),
            slack_base_url=f"{server.url}/api/",
            google_api_endpoint=server.url,
        )
        with StateStore(tmp_path / "state.duckdb") as store:
            stat, outcomes = stages.collect_from_apis(
                store, build_live_sources(settings.live_config()), "r", False
            )
            stored = store.con.execute(
                "SELECT (SELECT count(*) FROM cursors), (SELECT count(*) FROM slack_users)"
            )
            counts = stored.fetchall()
        refused = server.stats.auth_failures
    assert {o.source: o.status for o in outcomes} == {
        "directory": "failed",
        "slack": "failed",
        "calendar": "failed",
        "drive": "failed",
    }
    reasons = {o.source: o.reason or "" for o in outcomes}
    assert reasons["slack"].startswith(
        "Slack users.list refused the token: invalid_auth — check the Slack token in "
    )
    assert "MEETINTEL_SLACK_TOKEN" in reasons["slack"]
    assert reasons["calendar"].startswith(
        "Google calendar calendarList.list refused the access token (HTTP 401); it cannot be refreshed — "
        "the token in MEETINTEL_GOOGLE_TOKEN"
    )
    assert all("not-the-right-one" not in r for r in reasons.values())
    assert (stat.rows_in, counts) == (0, [(0, 0)])
    assert sum(refused.values()) == 4  # one call per source: auth errors are never retried
