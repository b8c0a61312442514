"""The operations commands through the real `meetintel` app: token, breaker, config show, health, errors,
status --format json and serve."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from flows import profiles
from flows.cli import app
from flows.monitor import read_snapshot
from service.tokens import digest, load_tokens
from tests.service.served import Org, build_org, serve_env, serve_process

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Org:
    return build_org(tmp_path_factory.mktemp("cli-org"))


@pytest.fixture(autouse=True)
def _no_profile(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No MEETINTEL_* variable and no profile chosen, before and after (a command may choose one)."""
    for name in list(os.environ):
        if name.startswith("MEETINTEL_") or name == "PREFECT_API_URL":
            monkeypatch.delenv(name)
    profiles.use(None, None)
    yield
    profiles.use(None, None)


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_token_create_prints_the_token_once_and_keeps_only_its_hash(tmp_path: Path) -> None:
    tokens = tmp_path / "tokens.json"
    code, out, err = invoke(
        "token", "create", "--name", "grafana", "--role", "analyst", "--file", str(tokens)
    )
    assert code == 0
    token = out.strip()
    assert token.startswith("mi_") and len(token) == 46
    assert "keep it now, it is not shown again" in err
    stored = tokens.read_text()
    assert token not in stored
    (entry,) = load_tokens(tokens).tokens
    assert (entry.name, entry.role, entry.names, entry.sha256) == ("grafana", "analyst", False, digest(token))
    assert oct(tokens.stat().st_mode & 0o777) == "0o600"
    code, out, _ = invoke("token", "list", "--file", str(tokens), "--format", "json")
    assert [(t["name"], t["role"]) for t in json.loads(out)] == [("grafana", "analyst")]
    assert invoke("token", "revoke", "grafana", "--file", str(tokens))[0] == 0
    assert load_tokens(tokens).tokens == []
    code, _, err = invoke("token", "revoke", "grafana", "--file", str(tokens))
    assert code == 1
    assert "no token with id or name 'grafana'" in err


def test_token_commands_need_a_tokens_file() -> None:
    code, _, err = invoke("token", "list")
    assert code == 1
    assert "no tokens file is set" in err


def test_breaker_open_status_and_auto(org: Org) -> None:
    state = str(org.state)
    assert invoke("breaker", "open", "slack", "--state", state)[:2] == (
        0,
        "slack: breaker force-open; the next runs skip it\n",
    )
    code, out, _ = invoke("breaker", "status", "--state", state, "--format", "json")
    rows = {r["source"]: (r["state"], r["override"]) for r in json.loads(out)}
    assert rows == {
        "slack": ("closed", "force-open"),
        "calendar": ("closed", "auto"),
        "drive": ("closed", "auto"),
        "directory": ("closed", "auto"),
    }
    code, out, _ = invoke("health", "--state", state, "--out", str(org.out), "--format", "json")
    assert code == 1  # red: a breaker forced open
    parts = {c["name"]: c["status"] for c in json.loads(out)["components"]}
    assert parts["source:slack"] == "red"
    assert invoke("breaker", "auto", "slack", "--state", state)[0] == 0
    code, out, _ = invoke("health", "--state", state, "--out", str(org.out), "--format", "json")
    assert (code, json.loads(out)["status"]) == (0, "green")
    code, _, err = invoke("breaker", "open", "fax", "--state", state)
    assert code == 1
    assert "unknown source 'fax'" in err


def test_errors_and_status_as_json(org: Org) -> None:
    code, out, _ = invoke("errors", "--state", str(org.state), "--format", "json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = invoke("status", "--state", str(org.state), "--format", "json")
    assert code == 0
    body = json.loads(out)
    assert [r["run_id"] for r in body["runs"]] == [org.run_id]
    assert body["runs"][0]["status"] == "completed"
    assert body["counts"]["meeting_records"] == len(
        json.loads((org.out / "latest" / "meetings.json").read_text())
    )


def test_health_without_a_state_is_red(tmp_path: Path) -> None:
    code, out, _ = invoke(
        "health", "--state", str(tmp_path / "none.duckdb"), "--out", str(tmp_path), "-f", "json"
    )
    assert code == 1
    assert {c["name"]: c["status"] for c in json.loads(out)["components"]}["state_store"] == "red"


def test_config_show_names_each_source_and_masks_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "meetintel.toml").write_text('[default]\nout = "reports"\n[profiles.prod]\nkeep_runs = 5\n')
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MEETINTEL_SLACK_TOKEN", "xoxb-secret-value")
    code, out, _ = invoke("--profile", "prod", "config", "show", "--format", "json")
    assert code == 0
    rows = {r["setting"]: (r["value"], r["source"]) for r in json.loads(out)}
    assert rows["out"] == ("reports", "meetintel.toml [default]")
    assert rows["keep_runs"] == (5, "meetintel.toml [profiles.prod]")
    assert rows["slack_token"] == ("**********", "MEETINTEL_SLACK_TOKEN")
    assert rows["serve_port"] == (8765, "default")
    assert "xoxb-secret-value" not in out
    code, out, _ = invoke("config", "show", "--profile", "nope", "--format", "json")
    assert code == 1


@pytest.mark.slow
def test_serve_answers_health_on_loopback(org: Org) -> None:
    with serve_process(org, serve_env(org)) as url:
        answer = httpx.get(f"{url}/health", timeout=5)
        assert (answer.status_code, answer.json()["status"]) == (200, "green")
        runs = httpx.get(f"{url}/api/runs", headers={"Authorization": f"Bearer {org.admin}"})
        assert [r["run_id"] for r in runs.json()["items"]] == [org.run_id]


@pytest.mark.slow
def test_a_real_run_honours_a_forced_open_breaker_and_publishes_its_figures(
    tmp_path: Path, prefect_server: None
) -> None:
    """`meetintel breaker open slack`, then a live run against the sandbox: Slack is skipped with the
    operator's reason (exit 3, partial), and the run leaves its snapshot and per-stage resource peaks."""
    from sandbox import generate_workspace

    generate_workspace(tmp_path / "ws", people=10, days=2, seed=5)
    state, out = tmp_path / "state.duckdb", tmp_path / "out"
    assert invoke("breaker", "open", "slack", "--state", str(state))[0] == 0
    code, stdout, _ = invoke(
        "run", "--sandbox", str(tmp_path / "ws"), "--state", str(state), "--out", str(out), "--json"
    )
    assert code == 3, stdout
    summary = json.loads(stdout)
    assert summary["status"] == "partial"
    snap = read_snapshot(state)
    assert snap is not None
    (last,) = [r for r in snap.runs if r.run_id == summary["run_id"]]
    slack = next(s for s in last.sources if s.source == "slack")
    assert slack.status == "skipped_breaker_open"
    assert slack.reason is not None and "forced open by an operator override" in slack.reason
    assert [s for s in last.sources if s.source != "slack" and s.status != "ok"] == []
    assert list(last.resources) == ["collect", "detect", "correlate", "aggregate", "export"]
    assert all(r.samples >= 2 and r.rss_peak_bytes > 50_000_000 for r in last.resources.values())
