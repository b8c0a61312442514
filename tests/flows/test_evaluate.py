"""`run_evaluation` end to end on a small generated org of each profile, with its exact figures, plus the
pure scoring on hand-made states, and the misses listed when the truth is edited to force some."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from core.errors import ConfigurationError, DataError
from flows.cli import app
from flows.evaluate import format_evaluation, format_misses, run_evaluation
from intelligence.models import Evaluation, Miss
from sandbox import generate_workspace

# The whole module runs in the full suite, not the fast lane: each profile's small org costs 1.2-1.7 s
# to set up.
pytestmark = pytest.mark.slow

PEOPLE, DAYS, SEED = 20, 5, 3


@pytest.fixture(scope="module", params=["standard", "hard"])
def evaluation(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Evaluation:
    """The evaluation of a 20-person, 5-day org (seed 3) of each profile."""
    root = tmp_path_factory.mktemp(request.param)
    generate_workspace(root / "ws", people=PEOPLE, days=DAYS, seed=SEED, profile=request.param, phrasing="a")
    return run_evaluation(root / "ws", root / "ws" / "truth.json", root / "state.duckdb")


def test_small_org_figures_are_exact(evaluation: Evaluation) -> None:
    """On phrasing half `a` (the half the rules are tuned on): standard, every one of 85 evidence messages
    found and rightly linked, 52 calendar meetings, 22 Slack users; hard, 87 of 87 found and rightly
    linked, 68 calendar meetings, 21 Slack users."""
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
        "standard": ((85, 0, 0), (85, 85), (52, 52, 52, 0), (0, 0, 0), (10, 0, 0), (22, 22)),
        "hard": ((87, 0, 0), (87, 87), (68, 68, 68, 0), (0, 0, 0), (10, 0, 0), (21, 21)),
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


# Forced misses in the standard seed-3 org: a noise message the truth now calls a call request of the
# first planning meeting, that meeting's first agenda post taken out of the truth, and a Slack user whose
# truth address is one the directory does not hold.
NOISE = ("CSZFC9NTDH8", "1788790412.450453")
AGENDA = ("CDA86W83DZY", "1788767349.846761")
USER = "UPCYBUQ6EWS"


def _force_misses(truth: dict) -> dict:
    """Give `truth` edited so the pipeline's right answers read as one miss of each kind above."""
    meeting = next(m for m in truth["meetings"] if m["key"] == "m-000003")
    meeting["slack_evidence"] = [
        e for e in meeting["slack_evidence"] if (e["channel_id"], e["ts"]) != AGENDA
    ] + [{"channel_id": NOISE[0], "ts": NOISE[1], "kind": "call_request", "role": "pre"}]
    truth["noise_messages"] = [n for n in truth["noise_messages"] if (n["channel_id"], n["ts"]) != NOISE]
    truth["slack_user_emails"][USER] = "t.zhou@acme.example"
    return truth


@pytest.fixture(scope="module")
def forced(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A standard 20-person, 5-day org (seed 3) and a truth.json edited by `_force_misses`."""
    root = tmp_path_factory.mktemp("forced")
    generate_workspace(root / "ws", people=PEOPLE, days=DAYS, seed=SEED, profile="standard")
    truth = json.loads((root / "ws" / "truth.json").read_text(encoding="utf-8"))
    (root / "truth.json").write_text(json.dumps(_force_misses(truth)), encoding="utf-8")
    return root / "ws", root / "truth.json"


@pytest.fixture(scope="module")
def forced_evaluation(forced: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> Evaluation:
    """The evaluation of the forced org."""
    return run_evaluation(*forced, tmp_path_factory.mktemp("state") / "state.duckdb")


def _miss(e: Evaluation, figure: str, subject_start: str) -> Miss:
    return next(m for m in e.misses_of(figure) if m.subject.startswith(subject_start))


def test_a_missed_message_shows_its_text_the_truth_and_nothing_said(forced_evaluation: Evaluation) -> None:
    """The noise message the truth now counts is listed with its channel, ts and text, the truth's kind,
    role and meeting, and 'nothing' from the pipeline, which matched no rule."""
    miss = _miss(forced_evaluation, "detection", f"#team-engineering ({NOISE[0]}) {NOISE[1]}")
    assert miss.lines() == [
        f'missed: #team-engineering ({NOISE[0]}) {NOISE[1]} "morning all :wave:"',
        '  truth:    call_request (pre) of m-000003 "Engineering planning" '
        "(event kcs55c9euhv1h8b9erd21pq9vo, 2026-09-07 09:30)",
        "  pipeline: nothing",
        "  reason:   no rule matched",
    ]


def test_a_false_positive_shows_what_the_pipeline_said_and_why(forced_evaluation: Evaluation) -> None:
    """The agenda post taken out of the truth is listed with the kind, role and meeting the pipeline gave
    it, the phrase that matched and the correlation's reasons."""
    miss = _miss(forced_evaluation, "detection", f"#proj-atlas ({AGENDA[0]}) {AGENDA[1]}")
    assert miss.lines() == [
        f"false positive: #proj-atlas ({AGENDA[0]}) {AGENDA[1]} \"agenda for today's Engineering planning: "
        'metrics review, metrics review. add anything else to <https://drive.google.com…"',
        "  truth:    not meeting evidence",
        '  pipeline: agenda (pre) linked to cal:kcs55c9euhv1h8b9erd21pq9vo "Engineering planning" (held)',
        '  reason:   matched "agenda for", reasons: posted 2 h before start by the organizer; mentions the '
        "title; posted in a channel where 100% of the attendees are members",
    ]


def test_a_people_miss_shows_the_identity_both_persons_and_the_match(forced_evaluation: Evaluation) -> None:
    """The Slack user whose truth address changed is the only people miss, listed with the Slack name and
    email, the truth's address, the person the pipeline chose with its match, and the identity link."""
    assert format_misses(
        forced_evaluation.model_copy(update={"misses": forced_evaluation.misses_of("people")})
    ) == [
        "people: 1 miss",
        f'wrong person: {USER} "Tariq Zhou" <tariq.zhou@acme.example>',
        "  truth:    t.zhou@acme.example (Tariq Zhou)",
        "  pipeline: 930710792395841162160 tariq.zhou@acme.example (match primary)",
        "  reason:   identity link: primary_email (1.00)",
    ]


def test_misses_are_listed_up_to_the_limit_per_figure(forced_evaluation: Evaluation) -> None:
    """A limit of 1 shows one miss under each figure's heading (which counts them all); 0 lists none."""
    lines = format_misses(forced_evaluation, 1)
    headings = [line for line in lines if not line.startswith((" ", "missed", "false", "wrong"))]
    detection = len(forced_evaluation.misses_of("detection"))
    assert headings == [f"detection: {detection} misses (first 1)", "people: 1 miss"]
    assert len(lines) == 2 + 2 * 4
    assert format_misses(forced_evaluation, 0) == []


def test_the_command_prints_misses_and_json_holds_them_all(forced: tuple[Path, Path], tmp_path: Path) -> None:
    """`meetintel evaluate --misses 1` prints the figures then one miss per figure; `--json` gives every
    miss; both exit 3 since the people target is missed."""
    ws, truth = forced
    base = ["evaluate", "--workspace", str(ws), "--truth", str(truth)]
    shown = CliRunner().invoke(app, [*base, "--misses", "1", "--state", str(tmp_path / "a.duckdb")])
    assert shown.exit_code == 3
    assert "people: 1 miss" in shown.stdout and f"wrong person: {USER}" in shown.stdout
    as_json = CliRunner().invoke(app, [*base, "--json", "--state", str(tmp_path / "b.duckdb")])
    parsed = json.loads(as_json.stdout)
    assert as_json.exit_code == 3
    assert [m["what"] for m in parsed["misses"] if m["figure"] == "people"] == ["wrong person"]
