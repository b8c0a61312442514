"""`meetintel query`, `export` and `archive` on the reports of a real run (stages without Prefect)."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoints import StateStore
from flows import cli, stages
from flows.cli import EXIT_FAILED, app
from sandbox import generate_workspace

runner = CliRunner()


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A small org run through every stage once, with its truth."""
    root = tmp_path_factory.mktemp("reports")
    generate_workspace(root / "ws", people=20, days=5, seed=3)
    state, out = root / "state.duckdb", root / "out"
    with StateStore(state) as store:
        run_id = store.start_run("incremental")
        stages.collect(store, root / "ws", run_id)
        stages.detect(store)
        stages.correlate_stage(store)
        stages.aggregate(store)
        stages.export(store, out, run_id)
    return {
        "state": state,
        "out": out,
        "run_id": run_id,
        "truth": json.loads((root / "ws" / "truth.json").read_text()),
    }


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.console, "width", 200)


def _query(run: dict, *args: str) -> list[dict]:
    result = runner.invoke(
        app, ["query", "--state", str(run["state"]), "--format", "json", "--limit", "0", *args]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def test_query_by_origin_finds_every_ad_hoc_meeting(run: dict) -> None:
    adhoc = [m for m in run["truth"]["meetings"] if m["origin"] == "slack"]
    found = _query(run, "--origin", "slack")
    assert len(found) == len(adhoc)
    assert {m["start"][:16] for m in found} == {m["start"][:16].replace("T", " ") for m in adhoc}


def test_query_by_status_and_date_range_matches_the_truth(run: dict) -> None:
    day = "2026-09-08"
    cancelled = [
        m
        for m in run["truth"]["meetings"]
        if m["status"] == "cancelled" and m["calendar_event_id"] and m["start"] and m["start"].startswith(day)
    ]
    found = _query(run, "--status", "cancelled", "--since", day, "--until", "2026-09-09")
    assert sorted(m["calendar_event_id"] for m in found) == sorted(m["calendar_event_id"] for m in cancelled)


def test_query_by_person_keeps_only_their_meetings(run: dict) -> None:
    person = run["truth"]["people"][0]["email"]
    theirs = [m for m in run["truth"]["meetings"] if person in m["participants"] and m["status"] == "held"]
    found = _query(run, "--person", person, "--status", "held")
    assert len(found) == len(theirs)


def test_query_csv_has_iso_dates_and_a_header(run: dict) -> None:
    result = runner.invoke(app, ["query", "--state", str(run["state"]), "--format", "csv", "--limit", "3"])
    rows = list(csv.DictReader(io.StringIO(result.output)))
    assert len(rows) == 3
    assert datetime.strptime(rows[0]["start"], "%Y-%m-%dT%H:%M:%SZ")


def test_query_rejects_an_unknown_status_naming_the_option(run: dict) -> None:
    result = runner.invoke(app, ["query", "--state", str(run["state"]), "--status", "maybe"])
    assert result.exit_code == EXIT_FAILED
    assert "--status" in result.output


def test_scoped_export_writes_only_matching_meetings_in_every_format(run: dict, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["export", "--state", str(run["state"]), "--out", str(tmp_path), "--origin", "slack"]
    )
    assert result.exit_code == 0, result.output
    adhoc = len([m for m in run["truth"]["meetings"] if m["origin"] == "slack"])
    assert len(json.loads((tmp_path / "meetings.json").read_text())) == adhoc
    assert {p.name for p in tmp_path.iterdir()} >= {
        "meetings.json",
        "people.json",
        "meetings.csv",
        "meetintel.xlsx",
        "meetintel.html",
    }


def test_run_output_is_published_with_stable_paths(run: dict) -> None:
    out = run["out"]
    assert (out / "LATEST").read_text().strip() == run["run_id"]
    assert (out / "meetings.json").resolve() == (out / "runs" / run["run_id"] / "meetings.json").resolve()
    result = runner.invoke(app, ["archive", "list", "--out", str(out)])
    assert result.exit_code == 0
    assert run["run_id"] in result.output
    assert "latest" in result.output


def test_pseudonymised_export_needs_a_salt_and_says_where(run: dict, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MEETINTEL_PSEUDONYM_SALT", raising=False)
    result = runner.invoke(
        app, ["export", "--state", str(run["state"]), "--out", str(tmp_path), "--pseudonymise"]
    )
    assert result.exit_code == EXIT_FAILED
    assert "MEETINTEL_PSEUDONYM_SALT" in result.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # exports the whole report pack twice (~2 s)
def test_pseudonymised_export_hides_every_name_and_address(run: dict, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("MEETINTEL_PSEUDONYM_SALT", "a-salt-of-twenty-chars")
    result = runner.invoke(
        app, ["export", "--state", str(run["state"]), "--out", str(tmp_path), "--pseudonymise"]
    )
    assert result.exit_code == 0, result.output
    people = json.loads((tmp_path / "people.json").read_text())
    plain = runner.invoke(app, ["export", "--state", str(run["state"]), "--out", str(tmp_path / "plain")])
    assert plain.exit_code == 0, plain.output
    assert len(people) == len(json.loads((tmp_path / "plain" / "people.json").read_text()))
    assert all(re.fullmatch(r"p[0-9a-f]{12}@[a-z.]+", p["email"]) for p in people)
    text = "".join(f.read_text(errors="ignore") for f in [*tmp_path.glob("*.json"), *tmp_path.glob("*.csv")])
    for person in run["truth"]["people"]:
        assert person["email"] not in text
        assert person["name"] not in text


def test_doctor_finds_a_fresh_run_healthy(run: dict) -> None:
    result = runner.invoke(app, ["doctor", "--state", str(run["state"]), "--out", str(run["out"])])
    assert result.exit_code == 0, result.output
