"""The detector on hand-labelled messages of the real Slack exports (tests/fixtures/labels), as floors.

The floors are the figures measured with `python benchmarks/labels.py score`, rounded down to two decimals,
for each fixed half of the labels (`tune`, whose texts rules may be tuned on; `held`, measured only) and for
both; raise them when detection improves. The labelling guide is tests/fixtures/labels/README.md.
"""

from __future__ import annotations

import pytest

from benchmarks.labels import EXPORTS, HALVES, KINDS, half, label_problems, score
from core.tables.derived import EVIDENCE_ROLES

# (export, half or None for both) -> (precision floor, recall floor, detections on unlabelled messages);
# None: no labelled evidence, and the detector must flag nothing. A detection outside the labels is labelled
# (`source: detector`) in half `tune`; in half `held` it stays unlabelled, its text unread, and is counted.
FLOORS: dict[tuple[str, str | None], tuple[float, float, int] | None] = {
    ("houstondatavis_slack_export", None): (0.85, 0.27, 5),
    ("houstondatavis_slack_export", "tune"): (0.88, 0.32, 0),
    ("houstondatavis_slack_export", "held"): (0.77, 0.20, 5),
    **{("slack_export_viewer_testarchive", part): None for part in (None, *HALVES)},
}


def test_label_kinds_are_the_projects_evidence_kinds() -> None:
    assert set(EVIDENCE_ROLES) == KINDS


@pytest.mark.parametrize("export", sorted(EXPORTS))
def test_label_files_are_well_formed(export: str) -> None:
    """Every message the keyword net or the seeded sample selects is labelled once, with a valid kind."""
    assert label_problems(export) == []


def test_the_halves_split_each_exports_labels_by_a_stable_hash() -> None:
    """Every label falls in one fixed half (`tune`, `held`) by its key's hash, the same on every run."""
    sizes = {export: tuple(score(export, {}, part).labelled for part in HALVES) for export in sorted(EXPORTS)}
    assert sizes == {"houstondatavis_slack_export": (212, 172), "slack_export_viewer_testarchive": (77, 81)}
    assert half("houstondatavis_slack_export", "general", "1433867648.000006") == "tune"


@pytest.mark.parametrize(("export", "part"), sorted(FLOORS, key=lambda k: (k[0], k[1] or "")))
def test_detector_holds_its_measured_precision_and_recall(export: str, part: str | None) -> None:
    result = score(export, part=part)
    floors = FLOORS[(export, part)]
    if floors is None:
        assert (result.true_positive, result.false_positive, result.false_negative) == (0, 0, 0)
        assert result.unlabelled_detections == 0
        return
    precision, recall, unlabelled = floors
    assert result.unlabelled_detections == unlabelled, "a detection with no label: label it if in half tune"
    assert result.precision is not None and result.precision >= precision
    assert result.recall is not None and result.recall >= recall
