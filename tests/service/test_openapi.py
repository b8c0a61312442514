"""docs/openapi.json is the app's spec: checked in, valid, and honoured by a live `meetintel serve`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from service.openapi import DOCS, render
from tests.service.served import build_org, serve_env, serve_process

REPO = Path(__file__).resolve().parents[2]


def test_the_checked_in_spec_matches_the_app() -> None:
    """Fails when a route, model or parameter changed without `python -m service.openapi --write`."""
    assert DOCS.read_text(encoding="utf-8") == render(), (
        "docs/openapi.json is stale: run `.venv/bin/python -m service.openapi --write docs/openapi.json`"
    )


def test_the_spec_is_valid_openapi() -> None:
    spec = json.loads(DOCS.read_text(encoding="utf-8"))
    validate(spec)
    assert spec["openapi"].startswith("3.1")
    assert set(spec["paths"]) >= {
        "/",
        "/health",
        "/metrics",
        "/api/runs",
        "/api/runs/{run_id}",
        "/api/meetings",
        "/api/people",
        "/api/errors",
        "/api/trends",
        "/api/breakers",
        "/api/breakers/{source}",
        "/api/alerts",
        "/slack/events",
    }


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_against_a_live_serve(tmp_path: Path) -> None:
    """Fuzz every operation of the spec against `meetintel serve` in its own process: no 5xx anywhere."""
    org = build_org(tmp_path)
    env = serve_env(org, MEETINTEL_SLACK_SIGNING_SECRET="s" * 32, MEETINTEL_SERVE_REFRESH_SECONDS="0.5")
    env.pop("PREFECT_API_URL", None)
    with serve_process(org, env) as url:
        # The admin pass skips POST /api/runs: without a Prefect API it answers 503 by design (said in the
        # spec); the analyst pass covers it (403).
        passes = [
            (org.admin, ["--exclude-operation-id", "start_run_api_runs_post"]),
            (org.analyst, []),
        ]
        for token, extra in passes:
            done = subprocess.run(
                [
                    str(Path(sys.executable).parent / "schemathesis"),
                    "run",
                    str(REPO / "docs" / "openapi.json"),
                    "--url",
                    url,
                    "--checks",
                    "not_a_server_error",
                    "-H",
                    f"Authorization: Bearer {token}",
                    "--max-examples",
                    "25",
                    "--seed",
                    "7",
                    "--request-timeout",
                    "10",
                    "--generation-database",
                    "none",  # leaves no .schemathesis/ folder behind
                    *extra,
                ],
                capture_output=True,
                text=True,
                timeout=600,
                cwd=tmp_path,
                env=env,
            )
            assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
