"""The Google door over real HTTP (googleapiclient against a local server): Calendar sync tokens and 410
resyncs, Drive start token and changes, Directory pages, retries, fatal errors, credentials, no leaks."""

from __future__ import annotations

import base64
import json
import logging
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import google.oauth2.credentials
import pyarrow as pa
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import SecretStr

from collectors._live_models import (
    GoogleAuth,
    GoogleConfig,
    GoogleOptions,
    LiveChunk,
    LiveConfig,
    ReplaceScope,
)
from collectors._normalise import Normaliser
from collectors._resilience import AuthError
from collectors.google_api import collect_calendar, collect_directory, collect_drive, list_calendars
from collectors.live import GoogleSource, build_live_sources, collect_live
from collectors.models import CALENDAR_EVENTS, DIRECTORY_USERS, DRIVE_FILES, Cursor
from core.errors import ConfigurationError, DataError
from tests.collectors.fake_api import GOOGLE_TOKEN, FakeApi, Fault, google_config, quick_retry

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


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    """Give a running fake Google: two calendars, three Drive files, three directory users; pages of 2."""
    with FakeApi(page_size=2) as api:
        g = api.google
        g.put_event(ANN, event("e1", "Weekly sync", "2026-09-08T15:30:00+02:00", "2026-09-08T16:00:00+02:00"))
        g.put_event(
            ANN,
            event(
                "e2_20260909T080000Z",
                "Standup",
                "2026-09-09T10:00:00+02:00",
                "2026-09-09T10:15:00+02:00",
                recurringEventId="e2",
                originalStartTime={"dateTime": "2026-09-09T10:00:00+02:00"},
            ),
        )
        g.put_event(
            ANN,
            {
                "id": "e3",
                "status": "confirmed",
                "summary": "Offsite",
                "start": {"date": "2026-09-10"},
                "end": {"date": "2026-09-11"},
                "updated": "2026-09-01T10:00:00Z",
            },
        )
        g.put_event(BOB, event("e1", "Weekly sync", "2026-09-08T15:30:00+02:00", "2026-09-08T16:00:00+02:00"))
        for n in (1, 2, 3):
            g.put_file(
                {
                    "id": f"f{n}",
                    "name": f"Doc {n}",
                    "mimeType": "application/vnd.google-apps.document",
                    "webViewLink": f"https://docs.google.com/document/d/f{n}/edit",
                    "owners": [{"emailAddress": ANN}],
                    "createdTime": "2026-09-01T09:00:00.000Z",
                    "modifiedTime": "2026-09-02T09:00:00.000Z",
                }
            )
        g.users = [
            {
                "id": f"10{n}",
                "primaryEmail": f"p{n}@acme.example",
                "name": {"fullName": f"Person {n}"},
                "aliases": [f"alias{n}@acme.example"],
                "suspended": n == 3,
            }
            for n in (1, 2, 3)
        ]
        yield api


def source(fake: FakeApi, name: str, config: GoogleConfig | None = None) -> GoogleSource:
    """Give one Google source (calendar, drive or directory) with the real client against the fake."""
    sources = build_live_sources(LiveConfig(google=config or google_config(fake.url, page_size=2)))
    found = getattr(sources, name)
    assert isinstance(found, GoogleSource)
    return found


def calendar(src: GoogleSource, calendar_id: str, token: str | None) -> LiveChunk:
    with Normaliser() as norm:
        [chunk] = list(collect_calendar(src.api, norm, calendar_id, token, src.options))
    return chunk


def drive(src: GoogleSource, token: str | None) -> list[LiveChunk]:
    with Normaliser() as norm:
        return list(collect_drive(src.api, norm, token, src.options))


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def test_calendar_list_is_read_across_pages(fake: FakeApi) -> None:
    """calendarList.list gives both calendars (pages of 1: two requests)."""
    src = source(fake, "calendar", google_config(fake.url, page_size=1))
    assert list_calendars(src.api, src.options) == [ANN, BOB]
    assert len(fake.requests("calendar.calendarList.list")) == 2


def test_first_calendar_sync_lists_everything_replaces_the_calendar_and_saves_the_sync_token(
    fake: FakeApi,
) -> None:
    """Three events over two pages; the chunk replaces Ann's rows and carries the last nextSyncToken."""
    chunk = calendar(source(fake, "calendar"), ANN, None)
    assert chunk.batch.schema == CALENDAR_EVENTS
    assert chunk.replace_scope == ReplaceScope("calendar_events", "calendar_id", ANN)
    assert chunk.cursors == [Cursor("calendar", ANN, "sync:ann@acme.example:7")]
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
    assert [r.params.get("pageToken") for r in fake.requests("calendar.events.list")] == [None, "o2"]
    assert {r.params["singleEvents"] for r in fake.requests("calendar.events.list")} == {"true"}


def test_incremental_calendar_sync_gets_only_changed_events_with_the_sync_token(fake: FakeApi) -> None:
    """After one change and one new event, the sync-token listing gives exactly those two, no replace."""
    src = source(fake, "calendar")
    [first] = calendar(src, ANN, None).cursors
    fake.google.put_event(
        ANN, event("e1", "Weekly sync (moved)", "2026-09-08T16:30:00+02:00", "2026-09-08T17:00:00+02:00")
    )
    fake.google.put_event(
        ANN, event("e4", "Design review", "2026-09-11T11:00:00+02:00", "2026-09-11T12:00:00+02:00")
    )
    chunk = calendar(src, ANN, first.value)
    assert chunk.batch["event_id"].to_pylist() == ["e1", "e4"]
    assert chunk.batch["summary"].to_pylist() == ["Weekly sync (moved)", "Design review"]
    assert chunk.replace_scope is None
    assert chunk.cursors == [Cursor("calendar", ANN, "sync:ann@acme.example:9")]
    assert fake.requests("calendar.events.list")[-1].params["syncToken"] == first.value


def test_expired_sync_token_410_drops_the_token_and_resyncs_the_calendar_in_full(fake: FakeApi) -> None:
    """A 410 answer: the calendar is listed again without a token, the chunk replaces its rows."""
    src = source(fake, "calendar")
    [first] = calendar(src, ANN, None).cursors
    fake.google.expired_before = 10**6
    before = len(fake.requests("calendar.events.list"))
    chunk = calendar(src, ANN, first.value)
    assert chunk.batch["event_id"].to_pylist() == ["e1", "e2_20260909T080000Z", "e3"]
    assert chunk.replace_scope == ReplaceScope("calendar_events", "calendar_id", ANN)
    assert [r.params.get("syncToken") for r in fake.requests("calendar.events.list")[before:]] == [
        first.value,
        None,
        None,
    ]
    stats = src.guard.stats.snapshot()
    assert (stats.resyncs, stats.retries, stats.failures) == (1, 0, 0)


def test_drive_first_run_takes_the_start_token_before_listing_files(fake: FakeApi) -> None:
    """getStartPageToken comes first; all files are listed; the last chunk saves the start token."""
    chunks = drive(source(fake, "drive"), None)
    assert [r.endpoint for r in fake.seen if r.endpoint.startswith("drive.")] == [
        "drive.changes.getStartPageToken",
        "drive.files.list",
        "drive.files.list",
    ]
    batch = pa.concat_tables([c.batch for c in chunks])
    assert batch.schema == DRIVE_FILES
    assert batch["file_id"].to_pylist() == ["f1", "f2", "f3"]
    assert batch["owner_emails"].to_pylist()[0] == [ANN]
    assert chunks[-1].cursors == [Cursor("drive", "changes", "7")]
    assert "webViewLink" in fake.requests("drive.files.list")[0].params["fields"]


def test_drive_changes_give_changed_new_and_removed_files_and_the_new_start_token(fake: FakeApi) -> None:
    """A rename, a removal (a trashed row) and a new file since the token; the cursor moves on."""
    src = source(fake, "drive")
    token = drive(src, None)[-1].cursors[0].value
    fake.google.put_file({"id": "f1", "name": "Doc 1 (final)"})
    fake.google.put_file({"id": "f2"}, removed=True)
    fake.google.put_file({"id": "f4", "name": "Notes", "trashed": False})
    chunks = drive(src, token)
    batch = pa.concat_tables([c.batch for c in chunks])
    got = list(
        zip(
            batch["file_id"].to_pylist(), batch["name"].to_pylist(), batch["trashed"].to_pylist(), strict=True
        )
    )
    assert got == [("f1", "Doc 1 (final)", False), ("f2", None, True), ("f4", "Notes", False)]
    assert chunks[-1].cursors == [Cursor("drive", "changes", "10")]
    assert [r.params["pageToken"] for r in fake.requests("drive.changes.list")] == [token, "7/o2"]


def test_directory_users_are_listed_whole_across_pages(fake: FakeApi) -> None:
    """users.list for the customer, three users over two pages, no cursor."""
    src = source(fake, "directory")
    with Normaliser() as norm:
        chunks = list(collect_directory(src.api, norm, src.options))
    batch = pa.concat_tables([c.batch for c in chunks])
    assert batch.schema == DIRECTORY_USERS
    assert batch["primary_email"].to_pylist() == ["p1@acme.example", "p2@acme.example", "p3@acme.example"]
    assert batch["suspended"].to_pylist() == [False, False, True]
    assert [c.cursors for c in chunks] == [[]]
    assert {r.params["customer"] for r in fake.requests("directory.users.list")} == {"my_customer"}


def test_google_rate_limits_429_and_403_are_retried_honouring_retry_after(fake: FakeApi) -> None:
    """429 with Retry-After 1 and a 403 rateLimitExceeded, then success: 3 requests, the first wait >= 1 s."""
    limited = {
        "error": {
            "code": 403,
            "message": "Rate Limit Exceeded",
            "errors": [{"reason": "rateLimitExceeded", "domain": "usageLimits"}],
        }
    }
    fake.fail(
        "directory.users.list",
        Fault(429, {"error": {"code": 429}}, {"Retry-After": "1"}),
        Fault(403, limited),
    )
    src = source(fake, "directory", google_config(fake.url, page_size=10))
    with Normaliser() as norm:
        [chunk] = list(collect_directory(src.api, norm, src.options))
    seen = fake.requests("directory.users.list")
    assert (chunk.batch.num_rows, len(seen)) == (3, 3)
    assert seen[1].at - seen[0].at >= 1.0
    stats = src.guard.stats.snapshot()
    assert (stats.requests, stats.retries, stats.rate_limited) == (3, 2, 2)


def test_server_errors_truncated_bodies_and_drops_are_retried_by_one_layer_only(fake: FakeApi) -> None:
    """500, a truncated body, a dropped connection, an HTML 200: the server sees 5 requests, the guard 5."""
    fake.fail(
        "drive.files.list",
        Fault(500, {"error": {"code": 500}}),
        Fault(kind="truncate", body={"files": []}),
        Fault(kind="drop"),
        Fault(200, "<html>gateway</html>"),
    )
    src = source(fake, "drive", google_config(fake.url, page_size=10, retry=quick_retry(max_attempts=5)))
    chunks = drive(src, None)
    assert pa.concat_tables([c.batch for c in chunks]).num_rows == 3
    assert len(fake.requests("drive.files.list")) == 5
    assert (src.guard.stats.snapshot().requests, src.guard.stats.snapshot().retries) == (
        6,
        4,
    )  # + start token


def test_refused_credentials_are_an_auth_error_without_retries(fake: FakeApi) -> None:
    """HTTP 401 on a bare access token is an AuthError naming the setting to replace; one request only."""
    src = source(fake, "directory", google_config(fake.url, token="ya29.wrong-token"))
    with Normaliser() as norm, pytest.raises(AuthError, match="the token in MEETINTEL_GOOGLE_TOKEN"):
        list(collect_directory(src.api, norm, src.options))
    assert len(fake.requests("directory.users.list")) == 1


def test_a_repeated_page_token_raises_data_error(fake: FakeApi) -> None:
    """A service answering the same nextPageToken twice is refused instead of looped on."""
    page = {"users": [], "nextPageToken": "t1"}
    fake.fail("directory.users.list", Fault(200, page), Fault(200, page))
    src = source(fake, "directory")
    with Normaliser() as norm, pytest.raises(DataError, match="gave the page token t1 twice"):
        list(collect_directory(src.api, norm, src.options))


def test_service_account_with_delegation_gets_a_token_for_the_subject(fake: FakeApi) -> None:
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
        "token_uri": f"{fake.url}/token",
    }
    auth = GoogleAuth(
        kind="service_account", service_account_info=SecretStr(json.dumps(info)), subject="admin@acme.example"
    )
    config = GoogleConfig(auth=auth, api_endpoint=fake.url, options=GoogleOptions(page_size=10))
    src = source(fake, "calendar", config)
    assert list_calendars(src.api, src.options) == [ANN, BOB]
    [grant] = fake.requests("oauth.token")
    claims = json.loads(base64.urlsafe_b64decode(grant.params["assertion"].split(".")[1] + "=="))
    assert (claims["sub"], claims["scope"]) == (
        "admin@acme.example",
        "https://www.googleapis.com/auth/calendar.readonly",
    )
    assert fake.requests("calendar.calendarList.list")[0].authorization == f"Bearer {GOOGLE_TOKEN}"
    assert "BEGIN PRIVATE KEY" not in repr(config) + str(config)


def test_oauth_user_credentials_refresh_then_read(fake: FakeApi, monkeypatch: pytest.MonkeyPatch) -> None:
    """Authorized-user credentials trade their refresh token for an access token, then read."""
    # google-auth always sends authorized users to Google's token endpoint; point that at the fake.
    monkeypatch.setattr(google.oauth2.credentials, "_GOOGLE_OAUTH2_TOKEN_ENDPOINT", f"{fake.url}/token")
    info = {
        "client_id": "cid",
        "client_secret": "csecret-123",
        "refresh_token": "rtoken-456",
        "token_uri": f"{fake.url}/token",
    }
    auth = GoogleAuth(kind="authorized_user", authorized_user_info=SecretStr(json.dumps(info)))
    src = source(fake, "directory", GoogleConfig(auth=auth, api_endpoint=fake.url))
    with Normaliser() as norm:
        [chunk] = list(collect_directory(src.api, norm, src.options))
    assert chunk.batch.num_rows == 3
    assert fake.requests("oauth.token")[0].params["grant_type"] == "refresh_token"


def test_unusable_service_account_key_is_a_configuration_error_without_the_secret(fake: FakeApi) -> None:
    """A key missing its private key fails with ConfigurationError that does not echo the key's content."""
    info = {
        "type": "service_account",
        "client_email": "x@y",
        "token_uri": "https://oauth2.googleapis.com/token",
        "private_key_id": "secret-key-id-789",
    }
    auth = GoogleAuth(kind="service_account", service_account_info=SecretStr(json.dumps(info)))
    with pytest.raises(ConfigurationError, match="service_account credentials are unusable") as caught:
        build_live_sources(LiveConfig(google=GoogleConfig(auth=auth, api_endpoint=fake.url)))
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
    fake: FakeApi, caplog: pytest.LogCaptureFixture
) -> None:
    """With DEBUG logging, a 500 echoing the token and a refused call, the bearer token stays hidden."""
    fake.fail(
        "calendar.events.list", Fault(500, {"error": {"code": 500, "message": f"bad header {GOOGLE_TOKEN}"}})
    )
    config = google_config(fake.url)
    src = source(fake, "calendar", config)
    with caplog.at_level(logging.DEBUG):
        calendar(src, ANN, None)
        bad = source(fake, "calendar", google_config(fake.url, token=GOOGLE_TOKEN + "x"))
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


def test_a_refused_drive_changes_token_falls_back_to_a_full_listing(fake: FakeApi) -> None:
    """changes.list answering 400 Invalid Value for a stale token: all files are listed again with a
    fresh start token, instead of the source failing on every run from then on."""
    invalid = {"error": {"code": 400, "message": "Invalid Value", "errors": [{"reason": "invalid"}]}}
    fake.fail("drive.changes.list", Fault(400, invalid))
    chunks = drive(source(fake, "drive"), "stale-token")
    assert pa.concat_tables([c.batch for c in chunks])["file_id"].to_pylist() == ["f1", "f2", "f3"]
    assert chunks[-1].cursors == [Cursor("drive", "changes", "7")]
    assert [r.endpoint for r in fake.seen if r.endpoint.startswith("drive.")] == [
        "drive.changes.list",
        "drive.changes.getStartPageToken",
        "drive.files.list",
        "drive.files.list",
    ]


def test_a_calendar_that_is_gone_is_skipped_and_the_others_collected(fake: FakeApi) -> None:
    """events.list 404 for one configured calendar: it is a skipped unit, the run stays ok."""
    fake.fail("calendar.events.list", Fault(404, {"error": {"code": 404, "message": "Not Found"}}))
    config = google_config(
        fake.url,
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
    fake: FakeApi, tmp_path: Path
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
        "token_uri": f"{fake.url}/token",
    }
    (tmp_path / "key.json").write_text(json.dumps(info))
    auth = GoogleAuth(kind="service_account", service_account_file=tmp_path / "key.json", subject=ANN)
    src = source(fake, "directory", GoogleConfig(auth=auth, api_endpoint=fake.url))
    with Normaliser() as norm:
        assert [c.batch.num_rows for c in collect_directory(src.api, norm, src.options)] == [3]
    missing = GoogleAuth(kind="authorized_user", authorized_user_file=tmp_path / "nope.json")
    with pytest.raises(ConfigurationError, match=r"cannot read the Google authorized user file .*nope\.json"):
        build_live_sources(LiveConfig(google=GoogleConfig(auth=missing)))


def test_a_timed_out_google_request_is_retried(fake: FakeApi) -> None:
    """An answer slower than the 0.3 s timeout is abandoned and retried: two requests, one retry."""
    fake.fail("directory.users.list", Fault(kind="delay", delay=1.0))
    config = google_config(fake.url, page_size=10).model_copy(update={"timeout": 0.3})
    src = source(fake, "directory", config)
    with Normaliser() as norm:
        [chunk] = list(collect_directory(src.api, norm, src.options))
    assert (chunk.batch.num_rows, len(fake.requests("directory.users.list"))) == (3, 2)
    assert src.guard.stats.snapshot().retries == 1
