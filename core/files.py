"""Atomic file writes: a temporary name beside the target, renamed onto it only once it is whole."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from core.errors import ConfigurationError


def temp_beside(target: Path) -> Path:
    """Give the temporary path a write of `target` goes through (hidden, in the same folder)."""
    return target.with_name(f".{target.name}.tmp")


@contextmanager
def atomic_target(target: Path) -> Iterator[Path]:
    """Give a temporary path beside `target`; rename it onto `target` on success, remove it on error."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create the output folder {target.parent}: {exc}", "pass a writable --out"
        ) from exc
    tmp = temp_beside(target)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def write_atomic(target: Path, text: str) -> Path:
    """Write `text` to `target` so readers see the old file or the new one, never half of it."""
    with atomic_target(target) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return target
