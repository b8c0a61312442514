"""The `make bench` helpers: tree sampling, new day files, the scaling plot, profiles, BENCHMARKS.md."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from benchmarks._measure import Series, add_new_messages, run_child, scaling_svg
from benchmarks.run import PEER, PRESERVED, profile_top, render

SVG = "{http://www.w3.org/2000/svg}"

# A child that starts a grandchild holding 200 MB for a second, waits for it, then prints JSON.
PARENT = """
import json, subprocess, sys
grand = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(200 << 20); b[::4096] = "
                          "b'x' * len(b[::4096]); time.sleep(1.0)"])
grand.wait()
print(json.dumps({"grandchild": grand.returncode}))
"""


@pytest.mark.slow  # samples a child process for about a second
def test_the_tree_peak_counts_what_the_child_started() -> None:
    m = run_child(["-c", PARENT])
    assert m.output == {"grandchild": 0}
    assert m.peak_rss_mb < 100  # the child itself never held the 200 MB
    assert m.tree_peak_mb >= 200  # the grandchild's did count


def _day(ts: list[str]) -> list[dict[str, str]]:
    return [{"ts": t, "thread_ts": ts[0], "text": f"m{t}", "user": "U1"} for t in ts]


def test_new_messages_are_the_last_days_again_a_day_later(tmp_path: Path) -> None:
    source = tmp_path / "ws"
    for channel, days in {"general": 3, "random": 2}.items():
        folder = source / "slack" / channel
        folder.mkdir(parents=True)
        for d in range(days):
            stamp = 1788739200 + d * 86400
            (folder / f"2026-09-0{7 + d}.json").write_text(
                json.dumps(_day([f"{stamp}.000100", f"{stamp}.000200"]))
            )
    (source / "slack" / "users.json").write_text("[]")
    target = tmp_path / "plus"
    # 10 messages; 40 % is 4: one round of both channels' last days (2 + 2).
    assert add_new_messages(source, target, 0.4) == 4
    new = json.loads((target / "slack" / "general" / "2026-09-10.json").read_text())
    assert [m["ts"] for m in new] == ["1788998400.000100", "1788998400.000200"]
    assert [m["thread_ts"] for m in new] == ["1788998400.000100"] * 2
    assert sorted(p.name for p in (target / "slack" / "random").iterdir()) == [
        "2026-09-07.json", "2026-09-08.json", "2026-09-09.json"
    ]  # fmt: skip
    assert not (source / "slack" / "general" / "2026-09-10.json").exists()  # the source is untouched
    old = target / "slack" / "general" / "2026-09-07.json"
    assert (
        old.stat().st_ino == (source / "slack" / "general" / "2026-09-07.json").stat().st_ino
    )  # a hard link


def test_the_scaling_plot_has_a_panel_and_a_point_per_figure() -> None:
    series = [
        Series("seconds", "s", [(10_000, 2.0), (100_000, 9.0), (1_000_000, 60.0)], "#111"),
        Series("peak RSS", "MB", [(10_000, 250.0), (100_000, 300.0), (1_000_000, 450.0)], "#222"),
    ]
    root = ET.fromstring(scaling_svg(series, "t"))
    assert len(root.findall(f"{SVG}path")) == 2
    assert len(root.findall(f"{SVG}circle")) == 6
    labels = [t.text for t in root.findall(f"{SVG}text")]
    assert {"seconds (s, log)", "peak RSS (MB, log)", "60", "450", "1M"} <= set(labels)


def test_profile_top_gives_each_functions_share_once_per_sample(tmp_path: Path) -> None:
    raw = tmp_path / "p.raw"
    raw.write_text(
        "main (benchmarks/pipeline.py:50);collect (flows/stages.py:81);read (collectors/files.py:9) 6\n"
        "main (benchmarks/pipeline.py:50);collect (flows/stages.py:82);commit (checkpoints/store.py:1) 3\n"
        "main (benchmarks/pipeline.py:50);detect (flows/stages.py:120) 1\n"
    )
    top = profile_top(raw, n=3)
    assert top["inclusive"] == [
        ("flows/stages.py:collect", 0.9),
        ("collectors/files.py:read", 0.6),
        ("checkpoints/store.py:commit", 0.3),
    ]
    assert top["own"][0] == ("collectors/files.py:read", 0.6)


def test_render_keeps_the_other_sections(tmp_path: Path) -> None:
    blocks = [f"{b}\n## theirs {i}\n{e}" for i, (b, e) in enumerate([PEER, *PRESERVED])]
    old = "# old\n\n" + "\n\n".join(blocks) + "\n\n## Excel writer\n\nfigures\n"
    text = render([], "make bench", None, None, old)
    for block in blocks:
        assert block in text
    assert text.endswith("## Excel writer\n\nfigures\n")
    assert "# old" not in text
