"""Packages whose public names load on first use (PEP 562), so a command pays only for what it touches.

`meetintel status` reads the runs ledger: it needs DuckDB and the run records, not Arrow, the store's
writers or the API clients that other names of the same packages bring in.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(
    package: str, namespace: dict[str, Any], homes: Mapping[str, tuple[str, ...]]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Give a package's `__getattr__` and `__dir__`: each name of `homes` (module -> names) is imported from
    its module the first time it is asked for, then kept in the package's `namespace`."""
    home = {name: module for module, names in homes.items() for name in names}

    def __getattr__(name: str) -> object:
        module = home.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value  # later look-ups skip this function
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *home})

    return __getattr__, __dir__
