"""The generator's hard profile: deterministic and prefix-stable like standard, with its extra traps."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sandbox import generate_workspace
from sandbox._text import NEAR_MISSES

PEOPLE, DAYS, SEED = 20, 5, 7
# Measured on this org: messages, hard negatives, meetings by kind, recurring instances by status.
EXPECTED = (
    1869,
    82,
    {"one_off": 40, "recurring": 23, "huddle": 5, "adhoc_call": 5},
    {"held": 21, "cancelled": 2},
)
NEAR_MISS_WHYS = {
    "'hopping on' a plane",
    "'recap' of a newsletter",
    "call recording link, not a call",
    "cancelling something that is not a meeting",
    "moving a deliverable, not a meeting",
    "screen recording, no call",
    "skipping something that is not a meeting",
    "starting a rollout, not a meeting",
    "talk about a meeting doc, no meeting",
    "tool talk, no call",
}


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def hard(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A hard-profile workspace (20 people, 5 days, seed 7) and its truth."""
    root = tmp_path_factory.mktemp("hard") / "ws"
    generate_workspace(root, PEOPLE, DAYS, SEED, profile="hard")
    return root, json.loads((root / "truth.json").read_text())


def test_hard_profile_is_deterministic_and_prefix_stable(
    hard: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Same arguments give the same bytes; a 3-day run writes the first 3 days' Slack files identically."""
    root, _ = hard
    generate_workspace(tmp_path / "again", PEOPLE, DAYS, SEED, profile="hard")
    generate_workspace(tmp_path / "short", PEOPLE, 3, SEED, profile="hard")
    assert _files(tmp_path / "again") == _files(root)
    short = {
        k: v for k, v in _files(tmp_path / "short").items() if k.startswith("slack/") and k.count("/") == 2
    }
    assert short == {k: v for k, v in _files(root).items() if k in short}
    assert len(short) == 29  # day files of the 3-day run, counted once by listing slack/*/*.json


def test_hard_truth_names_its_profile_and_counts(hard: tuple[Path, dict[str, Any]]) -> None:
    """truth.json records the profile; the figures of this org are pinned."""
    _, truth = hard
    kinds = Counter(m["kind"] for m in truth["meetings"])
    statuses = Counter(m["status"] for m in truth["meetings"] if m["kind"] == "recurring")
    figures = (truth["counts"]["messages"], len(truth["hard_negatives"]), dict(kinds), dict(statuses))
    assert truth["generator"]["profile"] == "hard"
    assert figures == EXPECTED


def test_hard_noise_includes_near_misses(hard: tuple[Path, dict[str, Any]]) -> None:
    """Near misses (tool talk, skipped checks, moved deliverables...) appear among the hard negatives."""
    _, truth = hard
    whys = {h["why"] for h in truth["hard_negatives"]}
    assert {why for _, why in NEAR_MISSES} & whys == NEAR_MISS_WHYS


def test_hard_org_has_a_hidden_namesake(hard: tuple[Path, dict[str, Any]]) -> None:
    """Two employees share a full name; one hides their Slack email, the other's email carries a digit."""
    _, truth = hard
    by_name: dict[str, list[dict[str, Any]]] = {}
    for p in truth["people"]:
        if p["internal"]:
            by_name.setdefault(p["name"], []).append(p)
    pairs = [ps for ps in by_name.values() if len(ps) == 2]
    # Two pairs: the hidden namesake, and the ambiguous-name pair every org has (see test_generate.py).
    quirks = sorted(sorted(str(p["quirk"]) for p in ps) for ps in pairs)
    assert quirks == [["None", "hidden"], ["ambiguous_name", "ambiguous_name"]]
    namesake = next(ps for ps in pairs if {p["quirk"] for p in ps} == {None, "hidden"})
    assert any(p["email"].split("@")[0][-1].isdigit() for p in namesake)
