"""`collectors` serves each public name lazily: `__all__` and the names it can load are the same list."""

from __future__ import annotations

import subprocess
import sys
from types import ModuleType

import collectors

# Module-level names that are not the package's API: the future import, the typing flag, submodules.
NOT_API = {"annotations", "TYPE_CHECKING"}


def test_every_public_name_loads_and_every_loadable_name_is_public() -> None:
    names = [n for n in dir(collectors) if not n.startswith("_") and n not in NOT_API]
    loadable = [n for n in names if not isinstance(getattr(collectors, n), ModuleType)]
    assert sorted(collectors.__all__) == sorted(loadable)


def test_the_export_columns_load_without_the_api_clients() -> None:
    probe = (
        "import sys; from collectors import MESSAGE_COLUMNS; "
        "print(len(MESSAGE_COLUMNS), 'slack_sdk' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["14", "False"]
