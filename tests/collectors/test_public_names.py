"""The lazy packages (`collectors`, `checkpoints`, `core.tables`) serve each public name on first use:
`__all__` and the names each can load are the same list."""

from __future__ import annotations

import importlib
import subprocess
import sys
from types import ModuleType

import pytest

# Module-level names that are not the package's API: the future import, the typing flag, the helper that
# makes the package lazy, submodules.
NOT_API = {"annotations", "TYPE_CHECKING", "lazy_names"}


@pytest.mark.parametrize("package", ["collectors", "checkpoints", "core.tables"])
def test_every_public_name_loads_and_every_loadable_name_is_public(package: str) -> None:
    module = importlib.import_module(package)
    names = [n for n in dir(module) if not n.startswith("_") and n not in NOT_API]
    loadable = [n for n in names if not isinstance(getattr(module, n), ModuleType)]
    assert sorted(module.__all__) == sorted(loadable)


def test_the_export_columns_load_without_the_api_clients() -> None:
    probe = (
        "import sys; from collectors import MESSAGE_COLUMNS; "
        "print(len(MESSAGE_COLUMNS), 'slack_sdk' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["14", "False"]


def test_an_unknown_name_is_an_attribute_error_naming_the_package() -> None:
    import checkpoints

    with pytest.raises(AttributeError, match="module 'checkpoints' has no attribute 'StateStor'"):
        checkpoints.StateStor  # noqa: B018
