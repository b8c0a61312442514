"""Golden files: the reports of a small fixed org match, byte for byte, the files in tests/fixtures/golden/.

Each golden file is its own test, so a failure names the file; it shows the start of a unified diff. After a
deliberate change to an export, `make golden` rewrites every file (see tests/exports/golden.py).
"""

from __future__ import annotations

import difflib
import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.exports.golden import GOLDEN, build, canonical_xml, golden_names

HINT = "run `make golden` if the change is intended"
DIFF_LINES = 40


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Build the fixed org's reports once for the module."""
    return build(tmp_path_factory.mktemp("golden-build"))


def _diff(name: str, expected: bytes, actual: bytes) -> str:
    """Give the first lines of a unified diff from the golden file to the built one."""
    lines = difflib.unified_diff(
        expected.decode("utf-8", "replace").splitlines(),
        actual.decode("utf-8", "replace").splitlines(),
        f"golden/{name}",
        f"built/{name}",
        lineterm="",
    )
    return "\n".join(itertools.islice(lines, DIFF_LINES))


@pytest.mark.parametrize("name", golden_names())
def test_export_matches_its_golden_file(name: str, built: dict[str, bytes]) -> None:
    """The built file is byte for byte the checked-in golden file."""
    expected = (GOLDEN / name).read_bytes()
    if name not in built:
        pytest.fail(f"{name} is no longer built; {HINT}", pytrace=False)
    if built[name] != expected:
        message = f"{name} differs from its golden file; {HINT}\n{_diff(name, expected, built[name])}"
        pytest.fail(message, pytrace=False)


def test_every_built_file_has_a_golden_file(built: dict[str, bytes]) -> None:
    """The golden folder holds exactly the files the build gives: none missing, none stale."""
    missing = sorted(set(built) - set(golden_names()))
    stale = sorted(set(golden_names()) - set(built))
    assert not missing and not stale, f"missing {missing}, stale {stale}; {HINT}"


def test_two_builds_give_identical_files(built: dict[str, bytes], tmp_path: Path) -> None:
    """Building again (another folder, a later clock) gives the same bytes, so the golden files are stable."""
    again = build(tmp_path)
    assert sorted(again) == sorted(built)
    changed = [name for name in built if again[name] != built[name]]
    assert not changed, (
        f"not deterministic: {changed}\n{_diff(changed[0], built[changed[0]], again[changed[0]])}"
    )


def test_canonical_xml_ignores_attribute_order_layout_and_the_build_clock() -> None:
    """Two writers of the same cells give the same canonical sheet; text inside cells is kept exactly."""
    now = datetime(2026, 9, 7, 12, 0, tzinfo=UTC)
    window = (now - timedelta(seconds=1), now + timedelta(seconds=1))
    # The same row as one writer and another write it; 46272.5 is 2026-09-07 12:00, the build's clock.
    one = b'<?xml version="1.0"?>\n<row r="1" spans="1:2"><c t="s" r="A1"><v>0</v></c>'
    one += b'<c r="B1"><v>46272.5</v></c></row>'
    two = b'<row spans="1:2" r="1">\n  <c r="A1" t="s">\n    <v>0</v>\n  </c>\n'
    two += b'  <c r="B1"><v>46272.5</v></c>\n</row>'
    assert canonical_xml(one, window) == canonical_xml(two, window)
    assert canonical_xml(one, window).splitlines() == [
        '<row r="1" spans="1:2">',
        '  <c r="A1" t="s">',
        "    <v>0</v>",
        "  </c>",
        '  <c r="B1">',
        "    <v>(build time)</v>",
        "  </c>",
        "</row>",
    ]
    spaced = b'<si><t xml:space="preserve">  two  spaces &amp; a &gt; </t></si>'
    assert '<t xml:space="preserve">  two  spaces &amp; a &gt; </t>' in canonical_xml(spaced, window)
