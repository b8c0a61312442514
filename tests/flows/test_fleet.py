"""`meetintel fleet run`: a parent flow runs each org as a subflow under a concurrency limit; a failing org is
listed as failed and the others finish; the summary artifact has one row per org."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import EXIT_PARTIAL, app
from flows.fleet import SUMMARY_KEY, OrgOutcome, limit_name
from sandbox import generate_workspace

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_server")]


def test_a_fleet_runs_every_org_and_one_failure_stops_no_other(tmp_path: Path) -> None:
    generate_workspace(tmp_path / "acme" / "ws", people=20, days=4, seed=3)
    generate_workspace(tmp_path / "globex" / "ws", people=15, days=3, seed=5)
    orgs = tmp_path / "orgs.toml"
    orgs.write_text(
        "concurrency = 2\n"
        + "".join(
            f'[[org]]\nname = "{name}"\nworkspace = "{folder}/ws"\nstate = "{folder}/state.duckdb"\n'
            f'out = "{folder}/out"\n'
            for name, folder in (("Acme", "acme"), ("broken", "nowhere"), ("Globex", "globex"))
        )
        + 'storage = "globex/lake"\n'
    )
    result = CliRunner().invoke(app, ["fleet", "run", str(orgs), "--json"])
    assert result.exit_code == EXIT_PARTIAL, result.output  # one org failed, the others completed
    outcomes = [OrgOutcome.model_validate(o) for o in json.loads(result.stdout.splitlines()[-1])["orgs"]]
    got = {o.org: (o.status, o.meetings) for o in outcomes}
    assert got == {"acme": ("completed", 53), "broken": ("failed", 0), "globex": ("completed", 33)}
    broken = next(o for o in outcomes if o.org == "broken")
    assert broken.error is not None and "does not exist" in broken.error
    assert len(json.loads((tmp_path / "acme" / "out" / "latest" / "meetings.json").read_text())) == 53
    assert list((tmp_path / "globex" / "lake").rglob("*.parquet"))  # the org's own Parquet storage

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name(limit_name(str(orgs)))
        artifacts = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[SUMMARY_KEY]))
        )
    assert limit.limit == 2
    summary = str(artifacts[0].data)
    assert "orgs: **3**, succeeded: **2**, failed: **1**, at once: **2**" in summary
    rows = [line for line in summary.splitlines() if line.startswith("| ") and not line.startswith("| org")]
    assert [r.split(" | ")[0:2] for r in rows] == [
        ["| acme", "completed"],
        ["| broken", "failed"],
        ["| globex", "completed"],
    ]
