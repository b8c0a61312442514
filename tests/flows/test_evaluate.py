"""`run_evaluation` end to end on a small generated org of each profile, with its exact figures, plus the
pure scoring on hand-made states."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigurationError, DataError
from flows.evaluate import format_evaluation, run_evaluation
from intelligence.models import Evaluation
from sandbox import generate_workspace

PEOPLE, DAYS, SEED = 20, 5, 3


@pytest.fixture(scope="module", params=["standard", "hard"])
def evaluation(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Evaluation:
    """The evaluation of a 20-person, 5-day org (seed 3) of each profile."""
    root = tmp_path_factory.mktemp(request.param)
    generate_workspace(root / "ws", people=PEOPLE, days=DAYS, seed=SEED, profile=request.param)
    return run_evaluation(root / "ws", root / "ws" / "truth.json", root / "state.duckdb")


def test_small_org_figures_are_exact(evaluation: Evaluation) -> None:
    """Standard: every one of 79 evidence messages found and rightly linked, 52 calendar meetings, 22
    Slack users. Hard: 93 of 93 found, 92 rightly linked (one chat during two overlapping meetings of
    the same people goes to the other one), 68 calendar meetings, 21 Slack users."""
    e = evaluation
    figures = (
        (e.detection.tp, e.detection.fp, e.detection.fn),
        (e.correlation_correct, e.correlation_total),
        (e.calendar.expected, e.calendar.found, e.calendar.reported, e.calendar.duplicates),
        (e.calendar.cancelled_as_held, e.calendar.not_meetings_as_held, e.calendar.status_errors),
        (e.slack_meetings.tp, e.slack_meetings.fp, e.slack_meetings.fn),
        (e.people.correct, e.people.total),
    )
    expected = {
        "standard": ((79, 0, 0), (79, 79), (52, 52, 52, 0), (0, 0, 0), (10, 0, 0), (22, 22)),
        "hard": ((93, 0, 0), (92, 93), (68, 68, 68, 0), (0, 0, 0), (10, 0, 0), (21, 21)),
    }
    assert figures == expected[e.profile]
    assert all(e.targets().values())


def test_the_table_lists_every_target_as_met(evaluation: Evaluation) -> None:
    """format_evaluation gives one row per figure (11) and marks each of the 7 targets ok."""
    table = format_evaluation(evaluation)
    targets = [cell for cell in table.columns[3]._cells if cell]
    assert (table.row_count, len(targets), all(t.endswith(" ok") for t in targets)) == (11, 7, True)


def test_an_existing_state_file_is_refused(tmp_path: Path) -> None:
    """An evaluation never reuses a state: an existing path is a configuration error."""
    (tmp_path / "state.duckdb").write_bytes(b"")
    with pytest.raises(ConfigurationError, match="already exists"):
        run_evaluation(tmp_path, tmp_path / "truth.json", tmp_path / "state.duckdb")


def test_truth_that_is_not_json_is_a_data_error(tmp_path: Path) -> None:
    """A truth file that does not parse is a data error naming the file."""
    (tmp_path / "truth.json").write_text("{not json")
    with pytest.raises(DataError, match="truth.json"):
        run_evaluation(tmp_path, tmp_path / "truth.json", tmp_path / "state.duckdb")
