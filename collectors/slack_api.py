"""Slack Web API door: the slack_sdk client behind the one client protocol, and the Slack collectors.

Retries live in one layer only, the source's `Guard` (tenacity): the WebClient gets no RetryHandlers.
Its errors are classified here, once: rate limits (HTTP 429 with Retry-After, or `ratelimited`), 5xx,
timeouts, resets and non-JSON bodies are transient; auth and scope errors are fatal for the whole source;
`not_in_channel` and friends make one channel unreadable, nothing more.

History is incremental per channel with two cursors saved together with the channel's last chunk:
`("slack", <channel>)` holds the newest top-level `ts` read, `("slack", "<channel>/threads")` the newest
`latest_reply` seen on a thread parent. A run re-reads the parents posted within `thread_lookback_days` of
the newest top-level message; a parent whose `latest_reply` passed the threads cursor gets its new replies
fetched. (Both cursors are values seen in history pages, never clocks, so a reply or message posted while
a run reads is picked up by the next run.)
"""

from __future__ import annotations

import http.client
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.error import URLError

from pydantic import SecretStr
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError

from collectors._live_models import SlackOptions, SlackRates
from collectors._normalise import Normaliser
from collectors._pagination import slack_pages
from collectors._resilience import (
    AuthError,
    RateLimiter,
    RedactingFilter,
    TokenBucket,
    TransientError,
    Unreadable,
    redact,
    retry_after_seconds,
)
from collectors.client import ApiClient
from collectors.models import Cursor
from core.chunks import LiveChunk, Quarantined
from core.errors import ConfigurationError, DataError, FatalError

log = logging.getLogger("meetintel.collectors.slack")

# Slack `error` codes and what they mean for collection.
AUTH_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "ekm_access_denied",
        "org_login_required",
        "team_access_not_granted",
        "access_denied",
        "invalid_token",
    }
)
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "rate_limited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
UNREADABLE_ERRORS = frozenset({"not_in_channel", "channel_not_found", "thread_not_found"})
_NON_JSON = "Received a response in a non-JSON format"

_AUTH_HINT = (
    "check the Slack token in MEETINTEL_SLACK_TOKEN (or its Secret block, MEETINTEL_SLACK_TOKEN_BLOCK): "
    "a bot (xoxb-) or user (xoxp-) token of the Slack app with the scopes channels:history, "
    "groups:history, channels:read, groups:read, users:read, users:read.email"
)
_TRANSIENT_HINT = "Slack is unavailable or limiting us; the next run continues where this one stopped"


class SlackWebApi:
    """The Slack Web API over `slack_sdk.WebClient`, errors classified; it never retries by itself."""

    def __init__(
        self, token: SecretStr, base_url: str = "https://slack.com/api/", timeout: float = 30.0
    ) -> None:
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self._secrets = (token.get_secret_value(),)
        self._client = WebClient(
            token=token.get_secret_value(),
            base_url=self.base_url,
            timeout=int(max(1, round(timeout))),
            retry_handlers=[],  # tenacity in the Guard is the only retry layer
            logger=_redacting_logger(self._secrets),
        )

    def __repr__(self) -> str:
        return f"SlackWebApi(base_url={self.base_url!r}, token=SecretStr('**********'))"

    def call(self, method: str, params: Mapping[str, Any]) -> dict[str, Any]:
        """Give the body of `method` called with `params`, or raise a classified error."""
        try:
            response = self._client.api_call(method, http_verb="GET", params=dict(params))
        except SlackApiError as exc:
            raise self._api_error(method, exc) from None
        except (http.client.HTTPException, URLError, OSError) as exc:  # timeouts and resets are OSErrors
            raise TransientError(
                f"Slack {method}: {type(exc).__name__}: {redact(str(exc), self._secrets)}", _TRANSIENT_HINT
            ) from None
        except SlackClientError as exc:
            raise ConfigurationError(
                f"Slack {method}: {redact(str(exc), self._secrets)}", "check the Slack base URL and settings"
            ) from None
        data = response.data
        if not isinstance(data, dict):
            raise TransientError(f"Slack {method}: the body is not a JSON object", _TRANSIENT_HINT)
        return data

    def _api_error(self, method: str, exc: SlackApiError) -> Exception:
        """Give the classified error of a failed call (HTTP error status or `ok: false`)."""
        response = exc.response
        status = int(getattr(response, "status_code", 0) or 0)
        data = response.data if isinstance(response.data, dict) else {}
        error = str(data.get("error") or f"HTTP {status}")
        shown = redact(error, self._secrets)
        headers = {str(k).lower(): v for k, v in (getattr(response, "headers", None) or {}).items()}
        if status == 429 or error in ("ratelimited", "rate_limited"):
            wait = retry_after_seconds(_header(headers, "retry-after"))
            return TransientError(
                f"Slack {method}: rate limited (HTTP {status})",
                _TRANSIENT_HINT,
                retry_after=wait,
                status=status,
                rate_limited=True,
            )
        if status >= 500 or error in TRANSIENT_ERRORS or error.startswith(_NON_JSON):
            what = "a non-JSON or truncated body" if error.startswith(_NON_JSON) else shown
            return TransientError(f"Slack {method}: HTTP {status}, {what}", _TRANSIENT_HINT, status=status)
        if error in AUTH_ERRORS or status in (401, 403):
            return AuthError(f"Slack {method} refused the token: {shown}", _AUTH_HINT)
        if error in UNREADABLE_ERRORS:
            return Unreadable(f"Slack {method}: {shown}", "invite the app to the channel to collect it")
        return FatalError(f"Slack {method} failed: {shown} (HTTP {status})", "check the request parameters")


def _header(headers: Mapping[str, Any], name: str) -> str | None:
    value = headers.get(name)
    if isinstance(value, list | tuple):
        value = value[0] if value else None
    return str(value) if value is not None else None


def _redacting_logger(secrets: tuple[str, ...]) -> logging.Logger:
    """Give a logger for slack_sdk that propagates to ours and strips the token from every message."""
    logger = logging.Logger("meetintel.collectors.slack.sdk")
    logger.parent = log
    logger.addFilter(RedactingFilter(secrets))
    return logger


def slack_limiter(rates: SlackRates) -> tuple[RateLimiter, Callable[[str], str]]:
    """Give a token bucket per Slack method (its tier's rate) and the function naming a method's bucket.

    Methods without a tier of their own share one tier-3 bucket, the cautious choice for an unknown method.
    """
    buckets = {m: TokenBucket(rates.client_per_minute(m), rates.burst) for m in rates.method_tiers}
    buckets[_OTHER] = TokenBucket(rates.client_per_minute(_OTHER), rates.burst)
    return RateLimiter(buckets), lambda method: method if method in rates.method_tiers else _OTHER


_OTHER = "other methods"  # the bucket of methods not in `SlackRates.method_tiers`


# ---- collectors ---------------------------------------------------------------------------------------


def collect_users(api: ApiClient, norm: Normaliser, options: SlackOptions) -> Iterator[LiveChunk]:
    """Yield all users of the workspace (users.list, every page) as one SLACK_USERS chunk."""
    members: list[dict[str, Any]] = []
    for page in slack_pages(api, "users.list", {"limit": options.list_page_size}):
        members.extend(page.get("members") or [])
    quarantined: list[Quarantined] = []
    batch = norm.slack_users(members, "Slack users.list", quarantine=quarantined)
    yield LiveChunk("slack_users", batch, source="slack", quarantined=quarantined)


def list_conversations(api: ApiClient, options: SlackOptions) -> list[dict[str, Any]]:
    """Give every conversation of the configured types (conversations.list, archived ones included)."""
    params = {"types": options.conversation_types, "limit": options.list_page_size, "exclude_archived": False}
    conversations: list[dict[str, Any]] = []
    for page in slack_pages(api, "conversations.list", params):
        conversations.extend(page.get("channels") or [])
    for conv in conversations:
        if not conv.get("id"):
            raise DataError(
                f"Slack conversations.list gave a conversation without id ({str(conv)[:80]})",
                "report the response; no conversation can be stored without its id",
            )
    return conversations


def is_readable(conv: Mapping[str, Any], options: SlackOptions) -> bool:
    """Give whether to read a conversation's history: not when conversations.list says we are not in it."""
    return not (options.member_channels_only and conv.get("is_member") is False and not conv.get("is_im"))


def channel_members(api: ApiClient, channel_id: str, options: SlackOptions) -> list[str]:
    """Give the member ids of a conversation (conversations.members, every page)."""
    members: list[str] = []
    params = {"channel": channel_id, "limit": options.list_page_size}
    for page in slack_pages(api, "conversations.members", params):
        members.extend(page.get("members") or [])
    return members


def collect_channel_rows(
    api: ApiClient, norm: Normaliser, conversations: list[dict[str, Any]], options: SlackOptions
) -> LiveChunk:
    """Give the conversations as one SLACK_CHANNELS chunk, with members when so configured."""
    if options.fetch_members:
        conversations = [{**c, "members": channel_members(api, c["id"], options)} for c in conversations]
    quarantined: list[Quarantined] = []
    batch = norm.slack_channels(conversations, "Slack conversations.list", quarantine=quarantined)
    return LiveChunk("slack_channels", batch, source="slack", quarantined=quarantined)


def _ts(value: Any, channel_id: str) -> Decimal:
    """Give a Slack ts as a Decimal (exact, ordered), or a DataError naming the channel."""
    try:
        return Decimal(str(value))
    except ArithmeticError as exc:
        raise DataError(
            f"Slack channel {channel_id}: a message has the unreadable ts {value!r}",
            "report the response; messages are keyed by ts",
        ) from exc


def _latest_reply(message: Mapping[str, Any], channel_id: str) -> Decimal | None:
    """Give a thread parent's `latest_reply` (None for messages that start no thread with replies)."""
    if message.get("thread_ts") != message.get("ts"):
        return None
    latest = message.get("latest_reply")
    if latest:
        return _ts(latest, channel_id)
    # Old payloads carry reply_count without latest_reply: treat the thread as changed, read it whole.
    return _ts(message["ts"], channel_id) if int(message.get("reply_count") or 0) > 0 else None


def history_oldest(history: str | None, options: SlackOptions, now: float) -> str | None:
    """Give `oldest` of conversations.history: the lookback before the cursor, or the first-run bound."""
    if history is not None:
        start = Decimal(history) - Decimal(str(options.thread_lookback_days * 86400))
        return str(max(start, Decimal(0)).quantize(Decimal("0.000001")))
    if options.history_days is not None:
        return f"{now - options.history_days * 86400:.6f}"
    return None


class _Buffer:
    """Messages of one channel waiting to become a chunk of at most `chunk_rows` rows."""

    def __init__(self, norm: Normaliser, channel_id: str, chunk_rows: int) -> None:
        self.norm, self.channel_id, self.chunk_rows = norm, channel_id, chunk_rows
        self.messages: list[dict[str, Any]] = []

    def add(self, message: dict[str, Any]) -> Iterator[LiveChunk]:
        """Hold `message`; yield a chunk (without cursors) once `chunk_rows` are held."""
        self.messages.append(message)
        if len(self.messages) >= self.chunk_rows:
            yield self.flush([])

    def flush(self, cursors: list[Cursor]) -> LiveChunk:
        """Give the held messages as a chunk carrying `cursors` and the messages quarantined from them."""
        quarantined: list[Quarantined] = []
        shown = f"Slack channel {self.channel_id}"
        batch = self.norm.slack_messages(self.channel_id, self.messages, shown, quarantine=quarantined)
        self.messages = []
        return LiveChunk("slack_messages", batch, cursors, source="slack", quarantined=quarantined)


@dataclass
class _Mark:
    """A watermark: the newest ts seen of one kind, as Slack spelled it and as an exact Decimal."""

    text: str | None

    @property
    def value(self) -> Decimal | None:
        return Decimal(self.text) if self.text else None

    def passed_by(self, value: Decimal) -> bool:
        """Give whether `value` is newer than the mark (everything is, when the mark is unset)."""
        mark = self.value
        return mark is None or value > mark

    def raise_to(self, text: str, value: Decimal) -> None:
        """Move the mark to `text` when it is newer."""
        if self.passed_by(value):
            self.text = text


def thread_cursor_key(channel_id: str) -> str:
    """Give the cursor key of a channel's threads watermark."""
    return f"{channel_id}/threads"


class _ChannelRead:
    """One incremental read of a channel: which messages to take and where the cursors move."""

    def __init__(
        self,
        norm: Normaliser,
        channel_id: str,
        cursors: Mapping[tuple[str, str], Cursor],
        options: SlackOptions,
    ) -> None:
        self.channel_id, self.options = channel_id, options
        history = _cursor_value(cursors, channel_id)
        threads = _cursor_value(cursors, thread_cursor_key(channel_id)) or history
        self.top, self.replies = _Mark(history), _Mark(threads)  # as stored
        self.next_top, self.next_replies = _Mark(history), _Mark(threads)  # as they move
        self.buffer = _Buffer(norm, channel_id, options.chunk_rows)
        self.parents: list[str] = []  # threads whose replies to fetch
        self.taken: set[str] = set()

    def history_params(self, now: float) -> dict[str, Any]:
        """Give the conversations.history parameters: the channel, page size and `oldest` bound."""
        params: dict[str, Any] = {"channel": self.channel_id, "limit": self.options.page_size}
        oldest = history_oldest(self.top.text, self.options, now)
        if oldest is not None:
            params["oldest"] = oldest
        return params

    def take_history(self, messages: list[dict[str, Any]]) -> Iterator[LiveChunk]:
        """Take the new top-level messages and the parents whose thread moved; note their threads."""
        for message in messages:
            ts = _ts(message.get("ts"), self.channel_id)
            latest = _latest_reply(message, self.channel_id)
            moved = latest is not None and self.replies.passed_by(latest)
            if self.top.passed_by(ts) or moved:
                yield from self._take(message)
            if moved:
                self.parents.append(message["ts"])
            self.next_top.raise_to(message["ts"], ts)
            if latest is not None:
                self.next_replies.raise_to(str(message.get("latest_reply") or message["ts"]), latest)

    def take_replies(self, replies: Iterator[dict[str, Any]]) -> Iterator[LiveChunk]:
        """Take replies not taken yet (a broadcast reply also shows in history)."""
        for reply in replies:
            if reply["ts"] not in self.taken:
                yield from self._take(reply)

    def _take(self, message: dict[str, Any]) -> Iterator[LiveChunk]:
        self.taken.add(message["ts"])
        yield from self.buffer.add(message)

    def changed(self) -> bool:
        """Give whether anything was taken or a cursor moved."""
        return bool(self.taken) or self.next_top != self.top or self.next_replies != self.replies

    def finish(self) -> LiveChunk:
        """Give the last chunk: the messages still held and the channel's next cursors."""
        cursors = [Cursor("slack", self.channel_id, self.next_top.text)] if self.next_top.text else []
        if self.next_replies.text:
            cursors.append(Cursor("slack", thread_cursor_key(self.channel_id), self.next_replies.text))
        return self.buffer.flush(cursors)


def collect_channel_messages(
    api: ApiClient,
    norm: Normaliser,
    channel_id: str,
    cursors: Mapping[tuple[str, str], Cursor],
    options: SlackOptions,
    now: float,
) -> Iterator[LiveChunk]:
    """Yield a channel's messages new since its cursors (top-level and replies); the last chunk carries
    the channel's next cursors. Nothing is yielded when nothing changed."""
    read = _ChannelRead(norm, channel_id, cursors, options)
    for page in slack_pages(api, "conversations.history", read.history_params(now)):
        yield from read.take_history(page.get("messages") or [])
    for parent in read.parents:
        yield from read.take_replies(_new_replies(api, channel_id, parent, read.replies.value, options))
    if read.changed():
        yield read.finish()


def _cursor_value(cursors: Mapping[tuple[str, str], Cursor], key: str) -> str | None:
    cursor = cursors.get(("slack", key))
    return cursor.value if cursor and cursor.value else None


def _new_replies(
    api: ApiClient, channel_id: str, parent: str, since: Decimal | None, options: SlackOptions
) -> Iterator[dict[str, Any]]:
    """Yield the replies of a thread newer than `since` (all replies when None); a gone thread gives none."""
    params: dict[str, Any] = {"channel": channel_id, "ts": parent, "limit": options.page_size}
    if since is not None:
        params["oldest"] = str(since)
    try:
        for page in slack_pages(api, "conversations.replies", params):
            for reply in page.get("messages") or []:
                ts = _ts(reply.get("ts"), channel_id)
                if reply["ts"] != parent and (since is None or ts > since):
                    yield reply
    except Unreadable as exc:
        log.info("Slack channel %s: thread %s skipped (%s)", channel_id, parent, exc.message)
