"""Crash safety, a reduced sample of `make reliability`: SIGKILL the pipeline, resume, compare.

Each trial kills a real pipeline process (forked from the harness's fork server) and then checks that the
resumed run leaves the same rows, the same canonical table hashes, no duplicate keys, no lost messages
and the same published reports as an uninterrupted run, and that right after the kill `latest` was never
a half-written export.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.reliability import Outcome, Scenario, Trial, run_trial, scenarios, targeted_kills

pytestmark = pytest.mark.slow  # SIGKILL trials in child processes


@pytest.fixture(scope="module")
def scens(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Scenario]]:
    """An empty state and a complete state (for a full refresh) of a 10-person, 2-day org, run once each."""
    with scenarios(
        tmp_path_factory.mktemp("kill"), people=10, days=2, seed=5, names=("fresh", "refresh")
    ) as s:
        yield s


def test_the_uninterrupted_runs_commit_in_every_stage(scens: dict[str, Scenario]) -> None:
    """The kill points exist: every stage of a fresh run commits, so commit kills reach each of them."""
    assert sorted(scens["fresh"].commits) == [
        "aggregate",
        "collect",
        "correlate",
        "detect",
        "export",
        "finish",
        "start",
    ]
    assert "before:swap" in targeted_kills(scens["refresh"])


@pytest.mark.parametrize(
    ("scenario", "kill", "landed"),
    [
        ("fresh", "random:half", None),
        ("fresh", "commit:mid-collect", "collect"),
        ("fresh", "before:manifest", "export"),
        ("refresh", "before:swap", "swap"),
    ],
)
def test_a_killed_run_resumes_to_the_uninterrupted_result(
    scens: dict[str, Scenario], tmp_path: Path, scenario: str, kill: str, landed: str | None
) -> None:
    scen = scens[scenario]
    if kill == "random:half":
        outcome = _killed_from_outside(scen, scenario, tmp_path)
    else:
        if kill == "commit:mid-collect":
            numbers = scen.commits["collect"]
            kill = f"commit:{numbers[len(numbers) // 2]}"
        outcome = run_trial(scen, Trial(scenario, kill), tmp_path / "trial")
    assert outcome.problems == []
    assert outcome.killed
    if landed is not None:
        assert outcome.stage == landed


def _killed_from_outside(scen: Scenario, scenario: str, tmp_path: Path) -> Outcome:
    """Kill the run from outside at half its uninterrupted time; on a machine faster than when that time
    was measured the run may finish first, so try a quarter and an eighth before giving up."""
    outcome = None
    for share in (2, 4, 8):
        outcome = run_trial(scen, Trial(scenario, f"random:{scen.wall / share:.3f}"), tmp_path / f"t{share}")
        if outcome.killed:
            break
    assert outcome is not None
    return outcome
