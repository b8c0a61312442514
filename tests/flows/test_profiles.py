"""Configuration profiles: [default] and [profiles.<name>] of meetintel.toml, under env and options."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.errors import ConfigurationError
from flows import profiles
from flows.settings import Settings

TOML = """
[default]
out = "reports"
keep_runs = 30
alert_partial_runs = 4

[profiles.prod]
state = "/data/prod.duckdb"
keep_runs = 5

[profiles.broken]
keep_runs = 0

[profiles.typo]
keep_rnus = 3
"""


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Each test in a folder of its own with meetintel.toml, no MEETINTEL_* variable and no profile."""
    for name in list(os.environ):
        if name.startswith("MEETINTEL_"):
            monkeypatch.delenv(name)
    (tmp_path / "meetintel.toml").write_text(TOML)
    monkeypatch.chdir(tmp_path)
    profiles.use(None, None)
    yield tmp_path
    profiles.use(None, None)


def test_default_table_applies_without_a_profile() -> None:
    s = Settings.from_cli()
    assert (s.out, s.keep_runs, s.state, s.alert_partial_runs) == (
        Path("reports"),
        30,
        Path("meetintel-state.duckdb"),
        4,
    )


def test_a_profile_inherits_default_and_overrides_it() -> None:
    profiles.use("prod")
    s = Settings.from_cli()
    assert (s.out, s.keep_runs, s.state, s.alert_partial_runs) == (
        Path("reports"),
        5,
        Path("/data/prod.duckdb"),
        4,
    )


def test_the_environment_overrides_the_file_and_options_override_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MEETINTEL_PROFILE", "prod")
    monkeypatch.setenv("MEETINTEL_KEEP_RUNS", "9")
    assert Settings.from_cli().keep_runs == 9
    assert Settings.from_cli().state == Path("/data/prod.duckdb")
    assert Settings.from_cli(keep_runs=2).keep_runs == 2


def test_the_file_can_be_named_by_meetintel_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "elsewhere.toml"
    other.write_text('[default]\nout = "x"\n')
    monkeypatch.setenv("MEETINTEL_CONFIG", str(other))
    assert Settings.from_cli().out == Path("x")


def test_an_invalid_value_names_the_key_the_file_table_and_the_allowed_values(tmp_path: Path) -> None:
    profiles.use("broken")
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_cli()
    assert raised.value.message == (
        "setting keep_runs in meetintel.toml [profiles.broken] is invalid: "
        "Input should be greater than or equal to 1"
    )
    assert raised.value.hint == "fix or unset it; it takes a whole number >= 1, or nothing"


def test_an_unknown_key_is_refused_with_its_table() -> None:
    profiles.use("typo")
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_cli()
    assert raised.value.message == "meetintel.toml [profiles.typo]: unknown setting 'keep_rnus'"


def test_an_unknown_profile_lists_the_known_ones() -> None:
    profiles.use("staging")
    with pytest.raises(ConfigurationError) as raised:
        Settings.from_cli()
    assert raised.value.message == "profile 'staging' is not in meetintel.toml"
    assert raised.value.hint == "use one of its profiles (broken, prod, typo) or add [profiles.staging]"


def test_a_profile_without_a_file_says_to_create_one(tmp_path: Path) -> None:
    (tmp_path / "meetintel.toml").unlink()
    profiles.use("prod")
    with pytest.raises(
        ConfigurationError, match=r"profile 'prod' was asked for but there is no meetintel.toml"
    ):
        Settings.from_cli()


def test_broken_toml_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / "meetintel.toml").write_text("[default\nout = 1")
    with pytest.raises(ConfigurationError, match=r"cannot read meetintel.toml: "):
        Settings.from_cli()


def test_origin_says_where_each_value_came_from(monkeypatch: pytest.MonkeyPatch) -> None:
    profiles.use("prod")
    monkeypatch.setenv("MEETINTEL_REPORT_TZ", "Europe/Berlin")
    known = set(Settings.model_fields)
    assert profiles.origin_of("keep_runs", {}, known) == "meetintel.toml [profiles.prod]"
    assert profiles.origin_of("out", {}, known) == "meetintel.toml [default]"
    assert profiles.origin_of("report_tz", {}, known) == "MEETINTEL_REPORT_TZ"
    assert profiles.origin_of("serve_port", {}, known) == "default"
    assert profiles.origin_of("out", {"out": "o"}, known) == "--out"
