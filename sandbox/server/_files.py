"""Workspace file access for the sandbox server: change stamps, tolerant JSON reads, opaque tokens."""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from pathlib import Path
from typing import Any

from core.errors import DataError

# A file's identity for change detection: (mtime_ns, size). None when the file does not exist.
Stamp = tuple[int, int]

_READ_ATTEMPTS = 3
_READ_RETRY_S = 0.02


def stamp_of(path: Path) -> Stamp | None:
    """Give the file's (mtime_ns, size), or None when it is missing."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_mtime_ns, st.st_size)


def read_json(path: Path) -> Any:
    """Give the parsed JSON of `path`, retrying briefly because a writer may be mid-append.

    Raises DataError naming the file when it stays unreadable.
    """
    for attempt in range(_READ_ATTEMPTS):
        try:
            return json.loads(path.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            if attempt == _READ_ATTEMPTS - 1:
                raise DataError(
                    f"{path} is not valid JSON ({err})",
                    "fix or regenerate the workspace file; appenders should write a temp file and rename it",
                ) from err
            time.sleep(_READ_RETRY_S)
    raise AssertionError("unreachable")  # the loop either returns or raises


def dump(obj: Any) -> str:
    """Give compact JSON text of `obj`, keeping non-ASCII characters as they are."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def splice(head: dict[str, Any], key: str, items: list[str], tail: dict[str, Any]) -> bytes:
    """Give the JSON body `{**head, key: [items...], **tail}` where `items` are already JSON texts.

    Pages are served from pre-rendered item texts, so building a 999-message page joins strings
    instead of re-encoding every message.
    """
    opening = dump(head)[:-1] + ("," if head else "")  # '{"ok":true,' or '{'
    closing = "," + dump(tail)[1:] if tail else "}"
    return (opening + dump(key) + ":[" + ",".join(items) + "]" + closing).encode("utf-8")


def encode_token(payload: dict[str, Any]) -> str:
    """Give an opaque URL-safe token carrying `payload`."""
    return base64.urlsafe_b64encode(dump(payload).encode("utf-8")).decode("ascii").rstrip("=")


def decode_token(token: str) -> dict[str, Any] | None:
    """Give the payload of a token made by `encode_token`, or None when it is not one."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return payload if isinstance(payload, dict) else None
