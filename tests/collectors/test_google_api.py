"""The Google door over real HTTP (googleapiclient against the sandbox server): Calendar sync tokens and 410
resyncs, Drive start token and changes, Directory pages, retries, fatal errors, credentials, no leaks."""

from __future__ import annotations

import base64
import json
import logging
import traceback
from datetime import UTC, datetime
from pathlib import Path

import google.oauth2.credentials
import pyarrow as pa
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from collectors import (
    CALENDAR_EVENTS,
    DIRECTORY_USERS,
    DRIVE_FILES,
    AuthError,
    Cursor,
    GoogleAuth,
    GoogleConfig,
    GoogleOptions,
    GoogleSource,
    LiveChunk,
    LiveConfig,
    Normaliser,
    ReplaceScope,
    build_live_sources,
    collect_calendar,
    collect_directory,
    collect_drive,
    collect_live,
    collect_workspace,
    list_calendars,
)
from core.errors import ConfigurationError, DataError
from sandbox.server import SandboxServer, ScriptedFault
from tests.collectors.workspace_builders import (
    GOOGLE_TOKEN,
    Serve,
    google_config,
    quick_retry,
    write_calendar,
    write_drive,
    write_google,
)
from tests.sandbox._server_workspace import google as google_service

ANN, BOB = "ann@acme.example", "bob@acme.example"


def event(event_id: str, summary: str, start: str, end: str, **extra: object) -> dict[str, object]:
    """Give an events.list item of a timed event organised by Ann."""
    return {
        "id": event_id,
        "iCalUID": f"{event_id}@google.com",
        "status": "confirmed",
        "summary": summary,
        "start": {"dateTime": start, "timeZone": "Europe/Berlin"},
        "end": {"dateTime": end, "timeZone": "Europe/Berlin"},
        "organizer": {"email": ANN},
        "attendees": [
            {"email": ANN, "responseStatus": "accepted", "organizer": True},
            {"email": BOB, "responseStatus": "needsAction"},
        ],
        "updated": "2026-09-01T10:00:00.000Z",
        "etag": '"1"',
        **extra,
    }


FILES = [
    {
        "id": f"f{n}",
        "name": f"Doc {n}",
        "mimeType": "application/vnd.google-apps.document",
        "webViewLink": f"https://docs.google.com/document/d/f{n}/edit",
        "owners": [{"emailAddress": ANN}],
        "createdTime": "2026-09-01T09:00:00.000Z",
        "modifiedTime": "2026-09-02T09:00:00.000Z",
    }
    for n in (1, 2, 3)
]
SYNC = event("e1", "Weekly sync", "2026-09-08T15:30:00+02:00", "2026-09-08T16:00:00+02:00")
ANN_EVENTS = [
    SYNC,
    event(
        "e2_20260909T080000Z",
        "Standup",
        "2026-09-09T10:00:00+02:00",
        "2026-09-09T10:15:00+02:00",
        recurringEventId="e2",
        originalStartTime={"dateTime": "2026-09-09T10:00:00+02:00"},
    ),
    {
        "id": "e3",
        "status": "confirmed",
        "summary": "Offsite",
        "start": {"date": "2026-09-10"},
        "end": {"date": "2026-09-11"},
        "updated": "2026-09-01T10:00:00Z",
    },
]


@pytest.fixture
def server(tmp_path: Path, serve: Serve) -> SandboxServer:
    """Give the sandbox serving two calendars, three Drive files and three directory users."""
    users = [
        {
            "id": f"10{n}",
            "primaryEmail": f"p{n}@acme.example",
            "name": {"fullName": f"Person {n}"},
            "aliases": [f"alias{n}@acme.example"],
            "suspended": n == 3,
        }
        for n in (1, 2, 3)
    ]
    return serve(write_google(tmp_path / "ws", {ANN: ANN_EVENTS, BOB: [SYNC]}, FILES, users))


def source(server: SandboxServer, name: str, config: GoogleConfig | None = None) -> GoogleSource:
    """Give one Google source (calendar, drive or directory) with the real client against the sandbox."""
    sources = build_live_sources(LiveConfig(google=config or google_config(server.url, page_size=2)))
    found = getattr(sources, name)
    assert isinstance(found, GoogleSource)
    return found


def full_listing(server: SandboxServer, calendar_id: str) -> tuple[list[str | None], str]:
    """Give the page tokens and the nextSyncToken a full listing of the calendar in pages of 2 gets now,
    asked directly with googleapiclient (the tokens are the server's own, opaque to clients)."""
    events = google_service("calendar", "v3", server.url, GOOGLE_TOKEN).events()
    tokens: list[str | None] = [None]
    while True:
        page = events.list(
            calendarId=calendar_id, singleEvents=True, showDeleted=True, maxResults=2, pageToken=tokens[-1]
        ).execute()
        if "nextPageToken" not in page:
            return tokens, page["nextSyncToken"]
        tokens.append(page["nextPageToken"])


def start_token(server: SandboxServer) -> str:
    """Give the Drive start page token the server hands out now."""
    changes = google_service("drive", "v3", server.url, GOOGLE_TOKEN).changes()
    return str(changes.getStartPageToken().execute()["startPageToken"])


def drive_endpoints(server: SandboxServer) -> list[str]:
    """Give the Drive methods the server was asked for, in order."""
    return [r.endpoint for r in server.requests() if r.endpoint.startswith("drive.")]


def calendar(src: GoogleSource, calendar_id: str, token: str | None) -> LiveChunk:
    with Normaliser() as norm:
        [chunk] = list(collect_calendar(src.api, norm, calendar_id, token, src.options))
    return chunk


def drive(src: GoogleSource, token: str | None) -> list[LiveChunk]:
    with Normaliser() as norm:
        return list(collect_drive(src.api, norm, token, src.options))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_calendar_list_is_read_across_pages(server: SandboxServer) -> None:
    """calendarList.list gives both calendars (pages of 1: two requests)."""
    src = source(server, "calendar", google_config(server.url, page_size=1))
    assert list_calendars(src.api, src.options) == [ANN, BOB]
    assert len(server.requests("calendar.calendarList.list")) == 2


def test_first_calendar_sync_lists_everything_replaces_the_calendar_and_saves_the_sync_token(
    server: SandboxServer,
) -> None:
    """Three events over two pages; the chunk replaces Ann's rows and carries the last nextSyncToken."""
    chunk = calendar(source(server, "calendar"), ANN, None)
    assert chunk.batch.schema == CALENDAR_EVENTS
    assert chunk.replace_scope == ReplaceScope("calendar_events", "calendar_id", ANN)
    requested = [r.params.get("pageToken") for r in server.requests("calendar.events.list")]
    pages, sync = full_listing(server, ANN)
    assert chunk.cursors == [Cursor("calendar", ANN, sync)]
    b = chunk.batch
    assert b["event_id"].to_pylist() == ["e1", "e2_20260909T080000Z", "e3"]
    assert b["start"].to_pylist()[:2] == [utc("2026-09-08T13:30:00+00:00"), utc("2026-09-09T08:00:00+00:00")]
    # The all-day event starts at midnight in the calendar's own zone (Europe/Berlin, from the response).
    assert (b["all_day"][2].as_py(), b["start"][2].as_py()) == (True, utc("2026-09-09T22:00:00+00:00"))
    assert b["recurring_event_id"].to_pylist() == [None, "e2", None]
    assert b["attendees"][0].as_py()[1] == {
        "email": BOB,
        "display_name": None,
        "response_status": "needsAction",
        "optional": False,
        "organizer": False,
        "is_self": False,
        "resource": False,
    }
    assert requested == pages and len(pages) == 2
    assert {r.params["singleEvents"] for r in server.requests("calendar.events.list")} == {"true"}


def test_incremental_calendar_sync_gets_only_changed_events_with_the_sync_token(
    server: SandboxServer,
) -> None:
    """After one change and one new event, the sync-token listing gives exactly those two, no replace."""
    src = source(server, "calendar")
    [first] = calendar(src, ANN, None).cursors
    moved = event("e1", "Weekly sync (moved)", "2026-09-08T16:30:00+02:00", "2026-09-08T17:00:00+02:00")
    added = event("e4", "Design review", "2026-09-11T11:00:00+02:00", "2026-09-11T12:00:00+02:00")
    write_calendar(server.workspace, ANN, [moved, *ANN_EVENTS[1:], added])
    chunk = calendar(src, ANN, first.value)
    assert chunk.batch["event_id"].to_pylist() == ["e1", "e4"]
    assert chunk.batch["summary"].to_pylist() == ["Weekly sync (moved)", "Design review"]
    assert chunk.replace_scope is None
    assert server.requests("calendar.events.list")[-1].params["syncToken"] == first.value
    _, sync = full_listing(server, ANN)
    assert chunk.cursors == [Cursor("calendar", ANN, sync)] and sync != first.value


def test_expired_sync_token_410_drops_the_token_and_resyncs_the_calendar_in_full(
    server: SandboxServer,
) -> None:
    """A 410 answer: the calendar is listed again without a token, the chunk replaces its rows."""
    src = source(server, "calendar")
    [first] = calendar(src, ANN, None).cursors
    server.script("calendar.events.list", ScriptedFault.error(410))
    before = len(server.requests("calendar.events.list"))
    chunk = calendar(src, ANN, first.value)
    assert chunk.batch["event_id"].to_pylist() == ["e1", "e2_20260909T080000Z", "e3"]
    assert chunk.replace_scope == ReplaceScope("calendar_events", "calendar_id", ANN)
    assert [r.params.get("syncToken") for r in server.requests("calendar.events.list")[before:]] == [
        first.value,
        None,
        None,
    ]
    stats = src.guard.stats.snapshot()
    assert (stats.resyncs, stats.retries, stats.failures) == (1, 0, 0)


def test_drive_first_run_takes_the_start_token_before_listing_files(server: SandboxServer) -> None:
    """getStartPageToken comes first; all files are listed; the last chunk saves the start token."""
    chunks = drive(source(server, "drive"), None)
    assert drive_endpoints(server) == [
        "drive.changes.getStartPageToken",
        "drive.files.list",
        "drive.files.list",
    ]
    batch = pa.concat_tables([c.batch for c in chunks])
    assert batch.schema == DRIVE_FILES
    assert batch["file_id"].to_pylist() == ["f1", "f2", "f3"]
    assert batch["owner_emails"].to_pylist()[0] == [ANN]
    assert "webViewLink" in server.requests("drive.files.list")[0].params["fields"]
    assert chunks[-1].cursors == [Cursor("drive", "changes", start_token(server))]


def test_drive_changes_give_changed_new_and_removed_files_and_the_new_start_token(
    server: SandboxServer,
) -> None:
    """A rename, a removal (a trashed row) and a new file since the token; the cursor moves on."""
    src = source(server, "drive")
    token = drive(src, None)[-1].cursors[0].value
    renamed = {**FILES[0], "name": "Doc 1 (final)"}
    write_drive(server.workspace, [renamed, FILES[2], {"id": "f4", "name": "Notes", "trashed": False}])
    chunks = drive(src, token)
    requested = [r.params["pageToken"] for r in server.requests("drive.changes.list")]
    batch = pa.concat_tables([c.batch for c in chunks])
    got = list(
        zip(
            batch["file_id"].to_pylist(), batch["name"].to_pylist(), batch["trashed"].to_pylist(), strict=True
        )
    )
    assert got == [("f1", "Doc 1 (final)", False), ("f2", None, True), ("f4", "Notes", False)]
    new_token = start_token(server)
    assert chunks[-1].cursors == [Cursor("drive", "changes", new_token)] and new_token != token
    changes = google_service("drive", "v3", server.url, GOOGLE_TOKEN).changes()
    assert requested == [token, changes.list(pageToken=token, pageSize=2).execute()["nextPageToken"]]


def test_directory_users_are_listed_whole_across_pages(server: SandboxServer) -> None:
    """users.list for the customer, three users over two pages, no cursor."""
    src = source(server, "directory")
    with Normaliser() as norm:
        chunks = list(collect_directory(src.api, norm, src.options))
    batch = pa.concat_tables([c.batch for c in chunks])
    assert batch.schema == DIRECTORY_USERS
    assert batch["primary_email"].to_pylist() == ["p1@acme.example", "p2@acme.example", "p3@acme.example"]
    assert batch["suspended"].to_pylist() == [False, False, True]
    assert [c.cursors for c in chunks] == [[]]
    assert {r.params["customer"] for r in server.requests("directory.users.list")} == {"my_customer"}


def test_google_rate_limits_429_and_403_are_retried_honouring_retry_after(server: SandboxServer) -> None:
    """429 with Retry-After 1 and a 403 rateLimitExceeded, then success: 3 requests, the first wait >= 1 s."""
    limited = {
        "error": {
            "code": 403,
            "message": "Rate Limit Exceeded",
            "errors": [{"reason": "rateLimitExceeded", "domain": "usageLimits"}],
        }
    }
    server.script(
        "directory.users.list", ScriptedFault.error(429, retry_after=1), ScriptedFault.answer(403, limited)
    )
    src = source(server, "directory", google_config(server.url, page_size=10))
    with Normaliser() as norm:
        [chunk] = list(collect_directory(src.api, norm, src.options))
    seen = server.requests("directory.users.list")
    assert (chunk.batch.num_rows, len(seen)) == (3, 3)
    assert seen[1].at - seen[0].at >= 1.0
    stats = src.guard.stats.snapshot()
    assert (stats.requests, stats.retries, stats.rate_limited) == (3, 2, 2)


def test_server_errors_truncated_bodies_and_drops_are_retried_by_one_layer_only(
    server: SandboxServer,
) -> None:
    """500, a truncated body, a dropped connection, an HTML 200: the server sees 5 requests, the guard 5."""
    server.script(
        "drive.files.list",
        ScriptedFault.error(500),
        ScriptedFault.truncate(),
        ScriptedFault.drop(),
        ScriptedFault.answer(200, "<html>gateway</html>"),
    )
    src = source(server, "drive", google_config(server.url, page_size=10, retry=quick_retry(max_attempts=5)))
    chunks = drive(src, None)
    assert pa.concat_tables([c.batch for c in chunks]).num_rows == 3
    assert len(server.requests("drive.files.list")) == 5
    stats = src.guard.stats.snapshot()
    assert (stats.requests, stats.retries) == (6, 4)  # the start token's request counts too


def test_refused_credentials_are_an_auth_error_without_retries(server: SandboxServer) -> None:
    """HTTP 401 on a bare access token is an AuthError naming the setting to replace; one request only."""
    src = source(server, "directory", google_config(server.url, token="ya29.wrong-token"))
    with Normaliser() as norm, pytest.raises(AuthError, match="the token in MEETINTEL_GOOGLE_TOKEN"):
        list(collect_directory(src.api, norm, src.options))
    assert len(server.requests("directory.users.list")) == 1


def test_a_repeated_page_token_raises_data_error(server: SandboxServer) -> None:
    """A service answering the same nextPageToken twice is refused instead of looped on."""
    page = {"users": [], "nextPageToken": "t1"}
    server.script("directory.users.list", ScriptedFault.answer(200, page), ScriptedFault.answer(200, page))
    src = source(server, "directory")
    with Normaliser() as norm, pytest.raises(DataError, match="gave the page token t1 twice"):
        list(collect_directory(src.api, norm, src.options))


def test_service_account_with_delegation_gets_a_token_for_the_subject(server: SandboxServer) -> None:
    """A service-account key signs a JWT for the subject and read-only scope; its access token is used."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "acme",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "collector@acme.iam.gserviceaccount.com",
        "client_id": "1",
        "token_uri": f"{server.url}/token",
    }
    auth = GoogleAuth(
        kind="service_account", service_account_info=SecretStr(json.dumps(info)), subject="admin@acme.example"
    )
    config = GoogleConfig(auth=auth, api_endpoint=server.url, options=GoogleOptions(page_size=10))
    src = source(server, "calendar", config)
    assert list_calendars(src.api, src.options) == [ANN, BOB]
    [grant] = server.requests("oauth.token")
    claims = json.loads(base64.urlsafe_b64decode(grant.params["assertion"].split(".")[1] + "=="))
    assert (claims["sub"], claims["scope"]) == (
        "admin@acme.example",
        "https://www.googleapis.com/auth/calendar.readonly",
    )
    assert server.requests("calendar.calendarList.list")[0].authorization == f"Bearer {GOOGLE_TOKEN}"
    assert "BEGIN PRIVATE KEY" not in repr(config) + str(config)


def test_oauth_user_credentials_refresh_then_read(
    server: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Authorized-user credentials trade their refresh token for an access token, then read."""
    # google-auth always sends authorized users to Google's token endpoint; point that at the sandbox.
    monkeypatch.setattr(google.oauth2.credentials, "_GOOGLE_OAUTH2_TOKEN_ENDPOINT", f"{server.url}/token")
    info = {
        "client_id": "cid",
        "client_secret": "csecret-123",
        "refresh_token": "rtoken-456",
        "token_uri": f"{server.url}/token",
    }
    auth = GoogleAuth(kind="authorized_user", authorized_user_info=SecretStr(json.dumps(info)))
    src = source(server, "directory", GoogleConfig(auth=auth, api_endpoint=server.url))
    with Normaliser() as norm:
        [chunk] = list(collect_directory(src.api, norm, src.options))
    assert chunk.batch.num_rows == 3
    assert server.requests("oauth.token")[0].params["grant_type"] == "refresh_token"


def test_unusable_service_account_key_is_a_configuration_error_without_the_secret(
    server: SandboxServer,
) -> None:
    """A key missing its private key fails with ConfigurationError that does not echo the key's content."""
    info = {
        "type": "service_account",
        "client_email": "x@y",
        "token_uri": "https://oauth2.googleapis.com/token",
        "private_key_id": "secret-key-id-789",
    }
    auth = GoogleAuth(kind="service_account", service_account_info=SecretStr(json.dumps(info)))
    with pytest.raises(ConfigurationError, match="service_account credentials are unusable") as caught:
        build_live_sources(LiveConfig(google=GoogleConfig(auth=auth, api_endpoint=server.url)))
    assert "secret-key-id-789" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="not valid JSON"):
        bad = GoogleAuth(kind="service_account", service_account_info=SecretStr("{not json"))
        build_live_sources(LiveConfig(google=GoogleConfig(auth=bad)))


def test_google_auth_needs_exactly_the_fields_of_its_kind() -> None:
    """A bearer auth without a token, or with two credentials, is refused, and the error hides the input."""
    with pytest.raises(ValueError, match="needs exactly one") as caught:
        GoogleAuth(kind="bearer", service_account_info=SecretStr("ya29.should-not-show"))
    assert "should-not-show" not in str(caught.value)


def test_the_google_token_never_reaches_logs_reprs_or_exception_text(
    server: SandboxServer, caplog: pytest.LogCaptureFixture
) -> None:
    """With DEBUG logging, a 500 echoing the token and a refused call, the bearer token stays hidden."""
    echo = {"error": {"code": 500, "message": f"bad header {GOOGLE_TOKEN}"}}
    server.script("calendar.events.list", ScriptedFault.answer(500, echo))
    config = google_config(server.url)
    src = source(server, "calendar", config)
    with caplog.at_level(logging.DEBUG):
        calendar(src, ANN, None)
        bad = source(server, "calendar", google_config(server.url, token=GOOGLE_TOKEN + "x"))
        with pytest.raises(AuthError) as caught:
            calendar(bad, ANN, None)
    texts = [r.getMessage() for r in caplog.records]
    assert any("URL being requested" in t for t in texts)  # googleapiclient's request log was on
    exposed = [
        *texts,
        repr(config),
        str(config),
        repr(src.api),
        str(caught.value),
        "".join(traceback.format_exception(caught.value)),
    ]
    assert [t for t in exposed if GOOGLE_TOKEN in t] == []


def test_a_refused_drive_changes_token_falls_back_to_a_full_listing(server: SandboxServer) -> None:
    """changes.list answering 400 Invalid Value for a stale token (the sandbox refuses a token it never
    issued, as Drive does): all files are listed again with a fresh start token, instead of the source
    failing on every run from then on."""
    chunks = drive(source(server, "drive"), "stale-token")
    assert pa.concat_tables([c.batch for c in chunks])["file_id"].to_pylist() == ["f1", "f2", "f3"]
    assert drive_endpoints(server) == [
        "drive.changes.list",
        "drive.changes.getStartPageToken",
        "drive.files.list",
        "drive.files.list",
    ]
    assert chunks[-1].cursors == [Cursor("drive", "changes", start_token(server))]


def test_a_calendar_that_is_gone_is_skipped_and_the_others_collected(server: SandboxServer) -> None:
    """events.list 404 for one configured calendar (no such calendar in the workspace): it is a skipped
    unit, the run stays ok."""
    config = google_config(
        server.url,
        page_size=10,
        calendar_ids=("gone@acme.example", ANN),
        calendar_workers=1,
        drive=False,
        directory=False,
    )
    run = collect_live(build_live_sources(LiveConfig(google=config)), {}, full_refresh=False)
    chunks = list(run)
    [outcome] = run.outcomes()
    assert [c.replace_scope for c in chunks] == [ReplaceScope("calendar_events", "calendar_id", ANN)]
    assert (outcome.source, outcome.status, outcome.skipped_units, outcome.rows) == (
        "calendar",
        "ok",
        ("gone@acme.example",),
        {"calendar_events": 3},
    )


def test_credentials_files_are_read_from_disk_and_a_missing_one_is_named(
    server: SandboxServer, tmp_path: Path
) -> None:
    """A service-account key given as a file is used; a missing file is a ConfigurationError naming it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    info = {
        "type": "service_account",
        "private_key_id": "k1",
        "private_key": pem,
        "client_id": "1",
        "client_email": "collector@acme.iam.gserviceaccount.com",
        "token_uri": f"{server.url}/token",
    }
    (tmp_path / "key.json").write_text(json.dumps(info))
    auth = GoogleAuth(kind="service_account", service_account_file=tmp_path / "key.json", subject=ANN)
    src = source(server, "directory", GoogleConfig(auth=auth, api_endpoint=server.url))
    with Normaliser() as norm:
        assert [c.batch.num_rows for c in collect_directory(src.api, norm, src.options)] == [3]
    missing = GoogleAuth(kind="authorized_user", authorized_user_file=tmp_path / "nope.json")
    with pytest.raises(ConfigurationError, match=r"cannot read the Google authorized user file .*nope\.json"):
        build_live_sources(LiveConfig(google=GoogleConfig(auth=missing)))


def test_a_timed_out_google_request_is_retried(server: SandboxServer) -> None:
    """An answer slower than the 0.3 s timeout is abandoned and retried: two requests, one retry."""
    server.script("directory.users.list", ScriptedFault.delay(1.0))
    config = google_config(server.url, page_size=10).model_copy(update={"timeout": 0.3})
    src = source(server, "directory", config)
    with Normaliser() as norm:
        [chunk] = list(collect_directory(src.api, norm, src.options))
    assert (chunk.batch.num_rows, len(server.requests("directory.users.list"))) == (3, 2)
    assert src.guard.stats.snapshot().retries == 1


# One user with every kind of address the Directory holds, in mixed case, with repeats across the kinds.
EVERY_ADDRESS_USER = {
    "id": "207",
    "primaryEmail": "Mira.Holm@acme.example",
    "name": {"givenName": "Mira", "familyName": "Holm"},
    "aliases": ["MHolm@acme.example", "mira.holm@acme.example"],
    "nonEditableAliases": ["mira.holm@acme-mail.example"],
    "emails": [
        {"address": "mira.holm@acme.example", "primary": True},
        {"address": "mholm@acme.example"},
        {"address": "Mira.Projects@acme.example", "type": "work"},
        {"address": "mira@homemail.example", "type": "home"},
    ],
}


def test_live_and_offline_directory_give_the_same_row_for_every_address_kind(
    tmp_path: Path, serve: Serve
) -> None:
    """users.list through the real client and the same users.json read offline give one identical row:
    aliases and non-editable aliases in `aliases`, the rest of emails[] in `other_emails`, lower case."""
    root = write_google(tmp_path / "ws", {}, [], [EVERY_ADDRESS_USER])
    [offline] = [c.batch for c in collect_workspace(root, {}) if c.table == "directory_users"]
    src = source(serve(root), "directory")
    with Normaliser() as norm:
        [chunk] = list(collect_directory(src.api, norm, src.options))
    assert chunk.batch.to_pylist() == offline.to_pylist()
    [row] = offline.to_pylist()
    assert (row["primary_email"], row["aliases"], row["other_emails"]) == (
        "Mira.Holm@acme.example",
        ["mholm@acme.example", "mira.holm@acme-mail.example"],
        ["mira.projects@acme.example", "mira@homemail.example"],
    )
