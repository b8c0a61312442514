"""Configuration profiles: `meetintel.toml` with a `[default]` table and `[profiles.<name>]` tables that
inherit from it and override it. The keys are the settings' names (`out`, `keep_runs`...).

Precedence, strongest first: command-line options, MEETINTEL_* environment variables, the chosen profile,
`[default]`, the built-in defaults. The file is `--config FILE`, else MEETINTEL_CONFIG, else `meetintel.toml`
in the working folder when there is one; the profile is `--profile NAME`, else MEETINTEL_PROFILE.
`flows.settings.Settings` stays the only schema: this module only reads the file and says where a value came
from.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from core.errors import ConfigurationError

CONFIG_ENV = "MEETINTEL_CONFIG"
PROFILE_ENV = "MEETINTEL_PROFILE"
DEFAULT_FILE = "meetintel.toml"


@dataclass
class Choice:
    """The file and profile this process reads (set once from the CLI's --config and --profile)."""

    file: Path | None = None
    profile: str | None = None


_choice = Choice()


def use(profile: str | None = None, file: Path | None = None) -> None:
    """Read settings from `file` (or the default places) and profile `profile` from now on."""
    _choice.file, _choice.profile = file, profile


def current() -> Choice:
    """Give the file and profile chosen for this process."""
    return _choice


def config_file() -> Path | None:
    """Give the configuration file in force, or None when there is none."""
    if _choice.file is not None:
        if not _choice.file.is_file():
            raise ConfigurationError(
                f"the configuration file {_choice.file} does not exist", "pass an existing --config"
            )
        return _choice.file
    named = os.environ.get(CONFIG_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigurationError(
                f"the configuration file {path} ({CONFIG_ENV}) does not exist", f"fix or unset {CONFIG_ENV}"
            )
        return path
    local = Path(DEFAULT_FILE)
    return local if local.is_file() else None


def profile_name() -> str | None:
    return _choice.profile or os.environ.get(PROFILE_ENV) or None


@dataclass
class Layer:
    """One table of the file: where it is (`meetintel.toml [profiles.prod]`) and its values."""

    where: str
    values: dict[str, Any] = field(default_factory=dict)


def layers(known: set[str], profile: str | None = None) -> list[Layer]:
    """Give `[default]` then the profile's table (weakest first); refuse unknown keys and profiles."""
    path = config_file()
    profile = profile or profile_name()
    if path is None:
        if profile:
            raise ConfigurationError(
                f"profile {profile!r} was asked for but there is no {DEFAULT_FILE}",
                f"create {DEFAULT_FILE} with a [profiles.{profile}] table, or pass --config FILE",
            )
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"cannot read {path}: {exc}", "fix its TOML syntax") from exc
    found = [Layer(f"{path} [default]", _table(data, "default", path))]
    profiles = data.get("profiles", {})
    if profile:
        if not isinstance(profiles, dict) or profile not in profiles:
            names = ", ".join(sorted(profiles)) if isinstance(profiles, dict) and profiles else "none"
            raise ConfigurationError(
                f"profile {profile!r} is not in {path}",
                f"use one of its profiles ({names}) or add [profiles.{profile}]",
            )
        found.append(Layer(f"{path} [profiles.{profile}]", _table(profiles, profile, path)))
    for layer in found:
        unknown = sorted(set(layer.values) - known)
        if unknown:
            raise ConfigurationError(
                f"{layer.where}: unknown setting {unknown[0]!r}",
                "use the settings' names (`meetintel config show` lists them), e.g. out, state, keep_runs",
            )
    return found


def _table(data: dict[str, Any], key: str, path: Path) -> dict[str, Any]:
    table = data.get(key, {})
    if not isinstance(table, dict):
        raise ConfigurationError(f"{path}: [{key}] is not a table", f"write it as a [{key}] section")
    return dict(table)


def origin_of(key: str, given: dict[str, Any], known: set[str]) -> str:
    """Say where `key`'s value comes from: an option, the environment, a table of the file, a default."""
    if key in given:
        return "--" + key.replace("_", "-")
    env = "MEETINTEL_" + key.upper()
    if any(name.upper() == env for name in os.environ):
        return env
    for layer in reversed(layers(known)):
        if key in layer.values:
            return layer.where
    return "default"


class ProfileSource(PydanticBaseSettingsSource):
    """A pydantic-settings source giving the merged `[default]` and profile values (weaker than the env)."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls)
        self._values: dict[str, Any] = {}
        for layer in layers(set(settings_cls.model_fields)):
            self._values.update(layer.values)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return self._values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self._values)
