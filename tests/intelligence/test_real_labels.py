"""The detector on hand-labelled messages of the real Slack exports (tests/fixtures/labels), as floors.

The floors are the figures measured with `python benchmarks/labels.py score`, rounded down to two decimals;
raise them when detection improves. The labelling guide is tests/fixtures/labels/README.md.
"""

from __future__ import annotations

import pytest

from benchmarks.labels import EXPORTS, KINDS, label_problems, score
from core.tables.derived import EVIDENCE_ROLES

# export -> (precision floor, recall floor); None: no labelled evidence, and the detector must flag nothing.
FLOORS: dict[str, tuple[float, float] | None] = {
    "houstondatavis_slack_export": (0.50, 0.03),
    "slack_export_viewer_testarchive": None,
}


def test_label_kinds_are_the_projects_evidence_kinds() -> None:
    assert set(EVIDENCE_ROLES) == KINDS


@pytest.mark.parametrize("export", sorted(EXPORTS))
def test_label_files_are_well_formed(export: str) -> None:
    """Every message the keyword net or the seeded sample selects is labelled once, with a valid kind."""
    assert label_problems(export) == []


@pytest.mark.parametrize("export", sorted(EXPORTS))
def test_detector_holds_its_measured_precision_and_recall(export: str) -> None:
    result = score(export)
    assert result.unlabelled_detections == 0, "the detector flags a message with no label: label it"
    floors = FLOORS[export]
    if floors is None:
        assert (result.true_positive, result.false_positive, result.false_negative) == (0, 0, 0)
        return
    precision, recall = floors
    assert result.precision is not None and result.precision >= precision
    assert result.recall is not None and result.recall >= recall
