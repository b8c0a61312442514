"""API tokens: bearer tokens with a role, kept only as SHA-256 hashes in the file MEETINTEL_API_TOKENS_FILE.

A token is shown once, when it is made (`meetintel token create`); the file holds its hash, its name, its
role (`admin` or `analyst`) and whether an analyst may see people's names. A presented token is hashed and
compared with every stored hash in constant time (`hmac.compare_digest`), so neither the file nor the timing
of an answer gives a token away.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from core.errors import ConfigurationError
from core.files import write_atomic

Role = Literal["admin", "analyst"]
PREFIX = "mi_"  # so a leaked token is recognisable (secret scanners, logs)


class TokenEntry(BaseModel):
    """One token as stored: never the token itself."""

    id: str  # short public id, for `token list` and `token revoke`
    name: str
    role: Role
    names: bool = False  # an analyst token that may see people's names
    sha256: str
    created_at: datetime


class TokenFile(BaseModel):
    tokens: list[TokenEntry] = Field(default_factory=list)


def digest(token: str) -> str:
    """Give the SHA-256 hex digest of a token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def load_tokens(path: Path) -> TokenFile:
    """Give the tokens stored in `path` (none when the file does not exist yet)."""
    if not path.exists():
        return TokenFile()
    try:
        return TokenFile.model_validate_json(path.read_bytes())
    except (OSError, ValidationError) as exc:
        raise ConfigurationError(
            f"the API tokens file {path} cannot be read ({type(exc).__name__})",
            "fix its JSON, or move it aside and make new tokens with `meetintel token create`",
        ) from exc


def _save(path: Path, tokens: TokenFile) -> None:
    write_atomic(path, tokens.model_dump_json(indent=1))
    path.chmod(0o600)  # hashes only, but nobody else needs to read them


def create_token(path: Path, name: str, role: Role, names: bool = False) -> tuple[str, TokenEntry]:
    """Make a new token, store its hash in `path` and give (the token, its entry); the token is not kept."""
    if not name.strip():
        raise ConfigurationError("a token needs a name", "pass --name, e.g. --name grafana")
    tokens = load_tokens(path)
    if any(t.name == name for t in tokens.tokens):
        raise ConfigurationError(
            f"a token named {name!r} exists already", "revoke it first or pick another name"
        )
    token = PREFIX + secrets.token_urlsafe(32)
    entry = TokenEntry(
        id=secrets.token_hex(4),
        name=name,
        role=role,
        names=names or role == "admin",
        sha256=digest(token),
        created_at=datetime.now(UTC),
    )
    tokens.tokens.append(entry)
    _save(path, tokens)
    return token, entry


def revoke_token(path: Path, key: str) -> TokenEntry:
    """Remove the token whose id or name is `key`; give its entry."""
    tokens = load_tokens(path)
    found = [t for t in tokens.tokens if key in (t.id, t.name)]
    if not found:
        raise ConfigurationError(f"no token with id or name {key!r} in {path}", "see `meetintel token list`")
    tokens.tokens = [t for t in tokens.tokens if t not in found]
    _save(path, tokens)
    return found[0]


def match_token(tokens: TokenFile, presented: str) -> TokenEntry | None:
    """Give the entry whose hash matches `presented`, comparing with every entry in constant time."""
    wanted = digest(presented)
    found = None
    for entry in tokens.tokens:
        if hmac.compare_digest(entry.sha256, wanted):
            found = entry
    return found
