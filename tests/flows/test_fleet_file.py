"""The orgs file of `meetintel fleet run`: paths from its folder, and errors that name what to fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigurationError
from flows.fleet import OrgOutcome, load_fleet, summary_markdown


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "orgs.toml"
    path.write_text(text)
    return path


def test_relative_paths_are_read_from_the_files_folder_and_uris_are_kept(tmp_path: Path) -> None:
    fleet = load_fleet(
        write(
            tmp_path,
            '[[org]]\nname = "A"\nworkspace = "a/ws"\nstate = "a/s.duckdb"\nout = "a/out"\n'
            'storage = "a/lake"\n'
            '[[org]]\nname = "B"\nlive = true\nstate = "/srv/b.duckdb"\nout = "b/out"\nstorage = "s3://x/b"\n',
        )
    )
    a, b = fleet.orgs
    assert (a.workspace, a.state, a.out, a.storage) == (
        str(tmp_path / "a/ws"),
        str(tmp_path / "a/s.duckdb"),
        str(tmp_path / "a/out"),
        str(tmp_path / "a/lake"),
    )
    assert (b.workspace, b.live, b.state, b.storage) == (None, True, "/srv/b.duckdb", "s3://x/b")
    assert fleet.concurrency == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("concurrency = 2\n", "invalid at org: Field required"),
        ('[[org]]\nname = "A"\nstate = "s"\nout = "o"\n', "needs either a workspace or live = true"),
        (
            '[[org]]\nname = "A b"\nworkspace = "w"\nstate = "s1"\nout = "o1"\n'
            '[[org]]\nname = "a-B"\nworkspace = "w"\nstate = "s2"\nout = "o2"\n',
            "two orgs share the name 'a-b'",
        ),
        ('concurrency = 0\n[[org]]\nname = "A"\nworkspace = "w"\nstate = "s"\nout = "o"\n', "at concurrency"),
        ("[[org]\n", "is not valid TOML"),
    ],
)
def test_a_bad_orgs_file_says_what_is_wrong(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_fleet(write(tmp_path, text))


def test_the_summary_has_one_row_per_org() -> None:
    text = summary_markdown(
        [
            OrgOutcome(org="a", status="completed", run_id="r1", meetings=3, people=4, seconds=1.25),
            OrgOutcome(org="b", status="failed", seconds=0.5, error="workspace x | y does not exist"),
        ],
        2,
    )
    assert text.splitlines()[2:] == [
        "- orgs: **2**, succeeded: **1**, failed: **1**, at once: **2**",
        "",
        "| org | status | run | meetings | people | seconds | error |",
        "|---|---|---|---:|---:|---:|---|",
        "| a | completed | r1 | 3 | 4 | 1.2 |  |",
        "| b | failed |  | 0 | 0 | 0.5 | workspace x / y does not exist |",
    ]


def test_fleet_run_has_help_and_refuses_a_bad_file_before_prefect_starts(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from flows.cli import EXIT_FAILED, app

    runner = CliRunner()
    shown = runner.invoke(app, ["fleet", "run", "--help"])
    assert shown.exit_code == 0 and "--concurrency" in shown.output
    bad = runner.invoke(app, ["fleet", "run", str(write(tmp_path, "[[org]\n"))])
    assert bad.exit_code == EXIT_FAILED
    assert "is not valid TOML" in bad.output
