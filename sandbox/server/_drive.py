"""Drive v3 `files.list`, `changes.getStartPageToken` and `changes.list` from `google/drive/files.json`.

The file is re-read when it changes; files whose JSON changed (or that are new) get the next version
number and vanished files become removals, so change tokens (which carry a version) list exactly what
changed. A change token from an earlier server process lists every current file again (a safe replay:
clients upsert by file id). Without `fields`, answers carry Drive's default field set only, as Drive does.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import DataError
from sandbox.server._files import Stamp, decode_token, dump, encode_token, read_json, stamp_of
from sandbox.server._google import (
    GoogleError,
    flag,
    invalid,
    page_offset,
    page_size,
    parse_time,
    respond,
    rfc3339,
)
from sandbox.server._settings import ServerSettings

FILES_DEFAULT_FIELDS = "kind,nextPageToken,incompleteSearch,files(kind,id,name,mimeType)"
CHANGES_DEFAULT_FIELDS = (
    "kind,nextPageToken,newStartPageToken,"
    "changes(kind,changeType,time,removed,fileId,file(kind,id,name,mimeType))"
)
_ORDER_FIELDS = {
    "createdTime": "createdTime",
    "modifiedTime": "modifiedTime",
    "name": "name",
    "name_natural": "name",
    "recency": "modifiedTime",
}


@dataclass(frozen=True)
class _FileRow:
    obj: dict[str, Any]
    text: str
    seq: int  # version at which the file last changed
    time: str  # when the change was seen (RFC 3339)


@dataclass
class _DriveState:
    stamp: Stamp | None = None
    version: int = 0
    files: dict[str, _FileRow] = field(default_factory=dict)
    removed: dict[str, tuple[int, str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class DriveSnapshot:
    """Drive as one request sees it."""

    version: int
    files: list[_FileRow]  # in file order
    by_id: dict[str, _FileRow]
    removed: dict[str, tuple[int, str]]


class DriveStore:
    """`google/drive/files.json` of a workspace, with a change log kept since the server started."""

    def __init__(self, path: Path, epoch: str) -> None:
        self.path = path
        self.epoch = epoch
        self._lock = threading.Lock()
        self._state = _DriveState()

    def snapshot(self) -> DriveSnapshot:
        """Give the current files and change log, re-reading the file when it changed."""
        with self._lock:
            st = self._state
            stamp = stamp_of(self.path)
            if stamp != st.stamp:
                items = _load_files(self.path) if stamp is not None else []
                _apply(st, items, self.path)
                st.stamp = stamp
            by_id = dict(st.files)
            return DriveSnapshot(st.version, [by_id[i] for i in st.order], by_id, dict(st.removed))


def _load_files(path: Path) -> list[dict[str, Any]]:
    """Give the file items of files.json; DataError names the file and item when malformed."""
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("files"), list):
        raise DataError(f"{path} has no `files` array", 'write a files.list answer: {"files": [...]}')
    for i, item in enumerate(data["files"]):
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise DataError(f"{path} file #{i} has no string `id`", "fix or regenerate files.json")
    return data["files"]


def _apply(st: _DriveState, items: list[dict[str, Any]], path: Path) -> None:
    """Merge a fresh read into the state, versioning what changed."""
    version = st.version + 1
    now = rfc3339(time.time())
    changed = False
    seen = []
    for item in items:
        text = dump(item if "kind" in item else {"kind": "drive#file", **item})
        seen.append(item["id"])
        old = st.files.get(item["id"])
        if old is not None and old.text == text:
            continue
        # The first read dates each file's change at its modifiedTime; later changes at when they were seen.
        when = str(item.get("modifiedTime") or now) if st.version == 0 else now
        st.files[item["id"]] = _FileRow(item, text, version, when)
        st.removed.pop(item["id"], None)
        changed = True
    for file_id in set(st.files) - set(seen):
        del st.files[file_id]
        st.removed[file_id] = (version, now)
        changed = True
    st.order = list(dict.fromkeys(seen))
    if changed:
        st.version = version


# ------------------------------------------------------------------------------------------------ query

_VALUE = r"'(?:[^'\\]|\\.)*'|true|false"
_CLAUSE = re.compile(
    rf"\s*(?:(?P<field>\w+)\s*(?P<op>!=|<=|>=|=|<|>|\bcontains\b)\s*(?P<value>{_VALUE})"
    rf"|(?P<member>'(?:[^'\\]|\\.)*')\s+in\s+(?P<collection>\w+))\s*"
)
_AND = re.compile(r"and\b\s*", re.IGNORECASE)
_TIME_FIELDS = ("createdTime", "modifiedTime")


def parse_query(q: str) -> list[tuple[str, str, Any]]:
    """Give the clauses of a Drive `q` made of `field op value` and `'x' in owners`, joined by `and`."""
    clauses = []
    pos = 0
    while True:
        m = _CLAUSE.match(q, pos)
        if not m:
            raise invalid("q", f"Invalid Value: the sandbox does not understand q near {q[pos:]!r}")
        clauses.append(_clause(m, q))
        pos = m.end()
        if pos == len(q):
            return clauses
        a = _AND.match(q, pos)
        if not a:
            raise invalid("q", f"Invalid Value: only 'and' joins clauses in the sandbox (near {q[pos:]!r})")
        pos = a.end()


def _clause(m: re.Match[str], q: str) -> tuple[str, str, Any]:
    """Give one parsed q clause as (field, operator, value); 400 for what the sandbox cannot evaluate."""
    if m.group("member"):
        if m.group("collection") != "owners":
            raise invalid("q", f"Invalid Value: the sandbox supports `in owners` only ({q!r})")
        return ("owners", "in", _unquote(m.group("member")))
    name, op, raw = m.group("field"), m.group("op"), m.group("value")
    value: Any = raw == "true" if raw in ("true", "false") else _unquote(raw)
    if name == "trashed" and op in ("=", "!=") and isinstance(value, bool):
        return (name, op, value)
    if name in ("name", "mimeType") and op in ("=", "!=", "contains") and isinstance(value, str):
        return (name, op, value)
    if name in _TIME_FIELDS and op != "contains" and isinstance(value, str):
        return (name, op, parse_time("q", value))
    raise invalid("q", f"Invalid Value: unsupported clause {m.group(0).strip()!r}")


def _unquote(raw: str) -> str:
    """Give the text of a quoted q value without its quotes and escapes."""
    return re.sub(r"\\(.)", r"\1", raw[1:-1])


def _holds(obj: dict[str, Any], clause: tuple[str, str, Any]) -> bool:
    """Tell whether a file satisfies one q clause."""
    name, op, value = clause
    if op == "in":
        return any(o.get("emailAddress") == value for o in obj.get("owners") or [] if isinstance(o, dict))
    actual: Any = obj.get(name)
    if name == "trashed":
        actual = bool(actual)
    elif name in _TIME_FIELDS:
        actual = parse_time(name, actual) if actual else None
        if actual is None:
            return False
    if op == "contains":
        return isinstance(actual, str) and value.lower() in actual.lower()
    return {
        "=": actual == value,
        "!=": actual != value,
        "<": actual is not None and actual < value,
        "<=": actual is not None and actual <= value,
        ">": actual is not None and actual > value,
        ">=": actual is not None and actual >= value,
    }[op]


# ---------------------------------------------------------------------------------------------- methods


def files_list(store: DriveStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give a page of files, filtered by `q` and sorted by `orderBy` when given."""
    rows = store.snapshot().files
    if params.get("q"):
        clauses = parse_query(params["q"])
        rows = [r for r in rows if all(_holds(r.obj, c) for c in clauses)]
    rows = _ordered(rows, params.get("orderBy") or "")
    size = page_size(settings, "drive.files.list", params, "pageSize")
    start = page_offset(params, "files", store.epoch, "Invalid Value")
    page = rows[start : start + size]
    tail: dict[str, Any] = {}
    if start + size < len(rows):
        tail["nextPageToken"] = encode_token({"t": "files", "e": store.epoch, "o": start + size})
    head = {"kind": "drive#fileList", "incompleteSearch": False}
    return respond(head, "files", [r.text for r in page], tail, params.get("fields") or FILES_DEFAULT_FIELDS)


def _ordered(rows: list[_FileRow], order_by: str) -> list[_FileRow]:
    """Give rows sorted by a Drive `orderBy` ("modifiedTime desc,name"); file order without one."""
    keys = [k.split() for k in order_by.split(",") if k.strip()]
    for parts in reversed(keys):  # stable sorts from the last key to the first
        name = _ORDER_FIELDS.get(parts[0])
        if name is None or len(parts) > 2 or (len(parts) == 2 and parts[1].lower() != "desc"):
            raise invalid("orderBy", f"Invalid Value: the sandbox cannot order by {' '.join(parts)!r}")
        rows = sorted(rows, key=_field_text(name), reverse=len(parts) == 2)
    return rows


def _field_text(name: str) -> Callable[[_FileRow], str]:
    """Give a sort key reading one file field as text (RFC 3339 times sort correctly as text)."""
    return lambda row: str(row.obj.get(name) or "")


def start_page_token(store: DriveStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give the token from which changes.list reports later changes."""
    snap = store.snapshot()
    body = {"kind": "drive#startPageToken", "startPageToken": _change_token(store.epoch, snap.version + 1)}
    return dump(body).encode("utf-8")


def _change_token(epoch: str, version: int, after: list[Any] | None = None) -> str:
    """Give a change token: the version to list from and, inside a listing, the last change served."""
    payload: dict[str, Any] = {"t": "changes", "e": epoch, "v": version}
    if after is not None:
        payload["a"] = after
    return encode_token(payload)


def changes_list(store: DriveStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give a page of changes since the page token; the last page carries newStartPageToken."""
    raw = params.get("pageToken")
    if not raw:
        raise GoogleError(400, "required", "Required parameter: pageToken", location="pageToken")
    token = decode_token(raw)
    if not token or token.get("t") != "changes" or not isinstance(token.get("v"), int):
        raise invalid("pageToken", "Invalid Value")
    same_epoch = token.get("e") == store.epoch
    since = int(token["v"]) if same_epoch else 0
    after = tuple(token["a"]) if same_epoch and isinstance(token.get("a"), list) else None
    snap = store.snapshot()
    entries = sorted(
        [(r.seq, fid) for fid, r in snap.by_id.items() if r.seq >= since]
        + (
            [(seq, fid) for fid, (seq, _) in snap.removed.items() if seq >= since]
            if flag(params, "includeRemoved", True)
            else []
        )
    )
    if after is not None:
        entries = [e for e in entries if e > after]
    size = page_size(settings, "drive.changes.list", params, "pageSize")
    page = entries[:size]
    tail: dict[str, Any] = {}
    if len(entries) > size:
        tail["nextPageToken"] = _change_token(store.epoch, since, list(page[-1]))
    else:
        tail["newStartPageToken"] = _change_token(store.epoch, snap.version + 1)
    items = [_change(fid, snap) for _, fid in page]
    fields = params.get("fields") or CHANGES_DEFAULT_FIELDS
    return respond({"kind": "drive#changeList"}, "changes", items, tail, fields)


def _change(file_id: str, snap: DriveSnapshot) -> str:
    """Give the JSON text of one change entry (a removal, or the file as it is now)."""
    row = snap.by_id.get(file_id)
    if row is None:
        _, when = snap.removed[file_id]
        return dump(
            {"kind": "drive#change", "changeType": "file", "time": when, "removed": True, "fileId": file_id}
        )
    head = dump(
        {"kind": "drive#change", "changeType": "file", "time": row.time, "removed": False, "fileId": file_id}
    )
    return head[:-1] + ',"file":' + row.text + "}"
