"""QUALITY.md's hand-written parts survive `make quality`: the page is rebuilt around what the previous page
held between each part's markers, and a page made from nothing gets the written defaults between new ones."""

from __future__ import annotations

from benchmarks.quality import _CAVEATS, _kept


def test_a_marked_part_of_the_previous_page_is_kept_word_for_word() -> None:
    old = "# Quality\n\n<!-- caveats:begin -->\n- Wir haben das von Hand geschrieben.\n<!-- caveats:end -->\n"
    kept = _kept(old, "caveats", ["- default"])
    assert kept == ["<!-- caveats:begin -->\n- Wir haben das von Hand geschrieben.\n<!-- caveats:end -->"]


def test_a_page_without_the_part_gets_its_default_between_markers() -> None:
    made = _kept("# Quality\n\nno markers here\n", "caveats", _CAVEATS)
    assert made[0] == "<!-- caveats:begin -->"
    assert made[-1] == "<!-- caveats:end -->"
    assert made[1:-1] == _CAVEATS
    # A begin marker without its end is no block: the default is written.
    assert _kept("<!-- caveats:begin -->\nhalf\n", "caveats", ["- d"]) == [
        "<!-- caveats:begin -->",
        "- d",
        "<!-- caveats:end -->",
    ]
