"""Admin SDK Directory v1 `users.list` served from `google/directory/users.json`."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import DataError
from sandbox.server._files import Stamp, dump, encode_token, read_json, stamp_of
from sandbox.server._google import GoogleError, invalid, page_offset, page_size, respond
from sandbox.server._settings import ServerSettings

_ORDER_KEYS = {
    "email": ("primaryEmail",),
    "givenName": ("name", "givenName"),
    "familyName": ("name", "familyName"),
}


@dataclass(frozen=True)
class _User:
    obj: dict[str, Any]
    text: str


class DirectoryStore:
    """`google/directory/users.json` of a workspace, re-read when it changes."""

    def __init__(self, path: Path, epoch: str) -> None:
        self.path = path
        self.epoch = epoch
        self._lock = threading.Lock()
        self._stamp: Stamp | None = None
        self._users: list[_User] = []

    def users(self) -> list[_User]:
        """Give the directory users in file order."""
        with self._lock:
            stamp = stamp_of(self.path)
            if stamp != self._stamp:
                self._users = _load(self.path) if stamp is not None else []
                self._stamp = stamp
            return self._users


def _load(path: Path) -> list[_User]:
    """Give the directory users of users.json; DataError names the file and user when malformed."""
    data = read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("users"), list):
        raise DataError(f"{path} has no `users` array", 'write a users.list answer: {"users": [...]}')
    out = []
    for i, item in enumerate(data["users"]):
        if not isinstance(item, dict) or not isinstance(item.get("primaryEmail"), str):
            raise DataError(f"{path} user #{i} has no string `primaryEmail`", "fix or regenerate users.json")
        obj = item if "kind" in item else {"kind": "admin#directory#user", **item}
        out.append(_User(obj, dump(obj)))
    return out


def users_list(store: DirectoryStore, settings: ServerSettings, params: Mapping[str, str]) -> bytes:
    """Give a page of the domain's users (`customer=my_customer` or `domain=<domain>`)."""
    users = _scope(store.users(), settings, params)
    if params.get("query"):
        raise invalid("query", "Invalid Input: the sandbox does not support users.list query")
    users = _ordered(users, params)
    size = page_size(settings, "directory.users.list", params, "maxResults")
    start = page_offset(params, "users", store.epoch, "Invalid Input: pageToken")
    page = users[start : start + size]
    tail: dict[str, Any] = {}
    if start + size < len(users):
        tail["nextPageToken"] = encode_token({"t": "users", "e": store.epoch, "o": start + size})
    head = {"kind": "admin#directory#users", "etag": f'"{len(users)}"'}
    return respond(head, "users", [u.text for u in page], tail, params.get("fields"))


def _scope(users: list[_User], settings: ServerSettings, params: Mapping[str, str]) -> list[_User]:
    """Give the users the request may list: the whole customer, or one domain of it."""
    customer, domain = params.get("customer"), params.get("domain")
    if not customer and not domain:
        raise GoogleError(400, "badRequest", "Bad Request")
    if customer and customer not in ("my_customer", settings.google_customer_id):
        raise GoogleError(400, "badRequest", "Bad Request")
    if not domain:
        return users
    chosen = [u for u in users if u.obj["primaryEmail"].rsplit("@", 1)[-1].lower() == domain.lower()]
    if not chosen:
        raise GoogleError(403, "forbidden", "Not Authorized to access this resource/api")
    return chosen


def _ordered(users: list[_User], params: Mapping[str, str]) -> list[_User]:
    """Give the users in the requested order (file order without `orderBy`)."""
    order_by = params.get("orderBy")
    if not order_by:
        return users
    path = _ORDER_KEYS.get(order_by)
    if path is None:
        raise invalid("orderBy")
    descending = (params.get("sortOrder") or "ASCENDING").upper() == "DESCENDING"
    return sorted(users, key=lambda u: str(_dig(u.obj, path) or "").lower(), reverse=descending)


def _dig(obj: dict[str, Any], path: tuple[str, ...]) -> Any:
    """Give the value at a key path of nested objects, or None."""
    value: Any = obj
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value
