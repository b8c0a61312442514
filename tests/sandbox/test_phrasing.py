"""Held-out phrasing: every phrase bank splits into disjoint halves `a` and `b`, and an org generated with
one half carries no phrase of the other, while the default (both halves) stays as it was."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.errors import ConfigurationError
from sandbox import _text as text
from sandbox import generate_workspace
from sandbox._profile import HARD, STANDARD

PEOPLE, DAYS, SEED = 20, 5, 7
_FIELD = re.compile(r"\{(\w+)\}")


def _templates(name: str, part: str) -> tuple[str, ...]:
    """Give the texts of bank `name` (base or hard extras) whatever its entry shape."""
    entries: tuple[Any, ...] = text.HARD_BANKS.get(name, ()) if part == "hard" else getattr(text, name)
    return tuple(e[0] if isinstance(e, tuple) else e for e in entries)


def _banks() -> Iterator[tuple[str, tuple[str, ...]]]:
    """Give every split bank, its hard-profile extras as banks of their own."""
    for name in (*text.SPLIT_BANKS, *text.TRAP_BANKS):
        yield name, _templates(name, "base")
        if name in text.HARD_BANKS:
            yield f"{name} (hard)", _templates(name, "hard")


def _half_templates(phrasing: str) -> set[str]:
    return {t for _, entries in _banks() for t in text.half(entries, phrasing)}


def _pattern(template: str) -> re.Pattern[str] | None:
    """Give a regex that matches the messages `template` fills, or None when it has no words of its own."""
    pieces = _FIELD.split(template)
    literal = pieces[0::2]
    if not any(p.strip() for p in literal):
        return None  # e.g. "{link}": a bare link, no phrasing to recognise
    return re.compile("(?s)" + ".*?".join(re.escape(p) for p in literal))


def _texts(root: Path) -> list[str]:
    """Give the text of every Slack message of a workspace (replies and bot posts included)."""
    return [
        str(m.get("text", ""))
        for path in sorted((root / "slack").glob("*/*.json"))
        for m in json.loads(path.read_text(encoding="utf-8"))
    ]


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def orgs(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """Workspaces of both profiles in each phrasing half (20 people, 5 days, seed 7)."""
    base = tmp_path_factory.mktemp("phrasing")
    out = {}
    for profile in ("standard", "hard"):
        for phrasing in text.PHRASINGS:
            root = base / f"{profile}-{phrasing}"
            generate_workspace(root, PEOPLE, DAYS, SEED, profile=profile, phrasing=phrasing)
            out[profile, phrasing] = root
    return out


def test_every_bank_splits_into_two_disjoint_halves_of_about_equal_size() -> None:
    """Each bank's halves share no phrase, together give the whole bank, and differ in size by one at most."""
    for name, entries in _banks():
        a, b = text.half(entries, "a"), text.half(entries, "b")
        assert not set(a) & set(b), name
        assert sorted(a + b) == sorted(entries), name
        assert abs(len(a) - len(b)) <= 1, name


def test_no_phrase_sits_in_both_halves_across_banks() -> None:
    """A phrase that two banks share (a reschedule wording) falls in the same half in both."""
    assert not _half_templates("a") & _half_templates("b")


def test_each_half_keeps_every_bank_under_each_profile() -> None:
    """Every bank, hard negatives and near misses keep phrases in both halves, links and no links alike."""
    for profile in (STANDARD, HARD):
        for phrasing in text.PHRASINGS:
            p = replace(profile, phrasing=phrasing)
            assert all(text.bank(p, name) for name in text.SPLIT_BANKS)
            assert text.hard_negatives(p) and text.near_misses(p)
            joining = text.bank(p, "JOINING")
            assert any("{link}" in t or "{url}" in t for t in joining)
            assert any("{link}" not in t and "{url}" not in t for t in joining)


def test_default_phrasing_uses_the_whole_banks_unchanged() -> None:
    """Without a phrasing the banks are the very tuples of before, so the RNG draws stay the same."""
    for name in text.SPLIT_BANKS:
        assert text.bank(STANDARD, name) == getattr(text, name)
        assert text.bank(HARD, name) == getattr(text, name) + text.HARD_BANKS.get(name, ())
    assert text.hard_negatives(STANDARD) == text.HARD_NEGATIVES
    assert text.hard_negatives(HARD) == text.HARD_NEGATIVES + text.NEAR_MISSES


@pytest.mark.parametrize("profile", ["standard", "hard"])
@pytest.mark.parametrize("phrasing", ["a", "b"])
def test_an_org_of_one_half_holds_no_phrase_of_the_other(
    orgs: dict[tuple[str, str], Path], profile: str, phrasing: str
) -> None:
    """No Slack message of a `--phrasing a` org reads as a template of half b, and the other way round."""
    other = "b" if phrasing == "a" else "a"
    own = [p for t in _half_templates(phrasing) if (p := _pattern(t))]
    foreign = {t: p for t in _half_templates(other) if (p := _pattern(t))}
    leaks = {
        t
        for body in _texts(orgs[profile, phrasing])
        if not any(p.fullmatch(body) for p in own)
        for t, p in foreign.items()
        if p.fullmatch(body)
    }
    assert leaks == set()


@pytest.mark.parametrize("profile", ["standard", "hard"])
def test_each_half_still_writes_every_evidence_kind(orgs: dict[tuple[str, str], Path], profile: str) -> None:
    """Both halves give agenda, joining, call links, recaps, reschedules and the rest, and hard negatives."""
    for phrasing in text.PHRASINGS:
        truth = json.loads((orgs[profile, phrasing] / "truth.json").read_text())
        kinds = {e["kind"] for m in truth["meetings"] for e in m["slack_evidence"]}
        assert kinds >= {"agenda", "joining", "call_link", "during", "recap", "action_items", "reschedule"}
        assert truth["hard_negatives"]
        assert truth["generator"]["phrasing"] == phrasing


def test_the_halves_write_different_texts(orgs: dict[tuple[str, str], Path]) -> None:
    """The same seed in the two halves gives different messages (the banks really differ)."""
    assert set(_texts(orgs["standard", "a"])) != set(_texts(orgs["standard", "b"]))


def test_no_phrasing_writes_the_same_bytes_and_records_nothing(tmp_path: Path) -> None:
    """phrasing=None is the default run byte for byte, and its truth.json names no phrasing."""
    generate_workspace(tmp_path / "plain", 12, 3, SEED, profile="hard")
    generate_workspace(tmp_path / "none", 12, 3, SEED, profile="hard", phrasing=None)
    assert _digest(tmp_path / "plain") == _digest(tmp_path / "none")
    assert "phrasing" not in json.loads((tmp_path / "plain" / "truth.json").read_text())["generator"]


def test_an_unknown_phrasing_is_refused(tmp_path: Path) -> None:
    """Only `a`, `b` or nothing is accepted; the folder is left alone."""
    with pytest.raises(ConfigurationError, match="phrasing"):
        generate_workspace(tmp_path / "ws", 12, 1, SEED, phrasing="c")
    assert not (tmp_path / "ws").exists()
