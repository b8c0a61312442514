"""The sandbox's Google Calendar, Drive and Directory APIs, exercised with the real googleapiclient."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.error import HTTPError as UrlHTTPError

import pytest
from googleapiclient.errors import HttpError

from sandbox.server import SandboxServer, ServerSettings
from sandbox.server._google import JWT_GRANT, parse_fields, select
from tests.sandbox._server_workspace import (
    ALICE_CAL,
    BOB_CAL,
    DIRECTORY,
    DRIVE_FILES,
    EVENTS,
    anonymous_http,
    build_workspace,
    bump,
    event,
    google,
    write_json,
)

ALL_IDS = [e["id"] for e in EVENTS]
LIVE_IDS = [e["id"] for e in EVENTS if e.get("status") != "cancelled"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SandboxServer]:
    """Serve the tiny workspace; Alice is the token's own account."""
    with SandboxServer(build_workspace(tmp_path), ServerSettings(google_user=ALICE_CAL)) as srv:
        yield srv


def _all_pages(request_fn, **kwargs) -> list[dict[str, Any]]:
    """Give every page of a list method, following nextPageToken."""
    pages, token = [], None
    while True:
        page = request_fn(**{**kwargs, **({"pageToken": token} if token else {})}).execute()
        pages.append(page)
        token = page.get("nextPageToken")
        if not token:
            return pages


def _error(err: HttpError) -> dict[str, Any]:
    return json.loads(err.content)["error"]


def _calendar_file(server: SandboxServer, calendar_id: str) -> Path:
    return server.workspace / "google" / "calendar" / f"{calendar_id}.json"


def _rewrite_calendar(server: SandboxServer, calendar_id: str, items: list[dict[str, Any]]) -> None:
    path = _calendar_file(server, calendar_id)
    write_json(path, {"kind": "calendar#events", "timeZone": "Europe/Berlin", "items": items})
    bump(path)


# ---------------------------------------------------------------------------------------------- calendar


def test_calendar_list_gives_every_calendar_file_with_owner_role_for_the_token_user(
    server: SandboxServer,
) -> None:
    """calendarList.list lists the calendar files; the configured user's own calendar is owner and primary."""
    page = google("calendar", "v3", server.url).calendarList().list().execute()
    assert [(c["id"], c["accessRole"], c.get("primary", False), c["timeZone"]) for c in page["items"]] == [
        (ALICE_CAL, "owner", True, "Europe/Berlin"),
        (BOB_CAL, "reader", False, "Europe/Berlin"),
    ]


def test_calendar_list_min_access_role_keeps_calendars_with_at_least_that_role(server: SandboxServer) -> None:
    """minAccessRole=writer keeps only the token user's own calendar; reader keeps every calendar."""
    calendars = google("calendar", "v3", server.url).calendarList()
    assert [c["id"] for c in calendars.list(minAccessRole="writer").execute()["items"]] == [ALICE_CAL]
    assert [c["id"] for c in calendars.list(minAccessRole="reader").execute()["items"]] == [
        ALICE_CAL,
        BOB_CAL,
    ]


def test_calendar_list_pages_with_max_results(server: SandboxServer) -> None:
    """maxResults=1 gives one calendar per page, following nextPageToken."""
    pages = _all_pages(google("calendar", "v3", server.url).calendarList().list, maxResults=1)
    assert [[c["id"] for c in p["items"]] for p in pages] == [[ALICE_CAL], [BOB_CAL]]


def test_calendar_paths_with_the_service_path_prefix_work_too(server: SandboxServer) -> None:
    """api_endpoint given as `<url>/calendar/v3/` (the rootUrl+servicePath shape) reaches the same data."""
    cal = google("calendar", "v3", f"{server.url}/calendar/v3/")
    assert [c["id"] for c in cal.calendarList().list().execute()["items"]] == [ALICE_CAL, BOB_CAL]


def test_events_list_hides_cancelled_instances_unless_show_deleted(server: SandboxServer) -> None:
    """With singleEvents=true Google leaves cancelled instances out unless showDeleted=true."""
    events = google("calendar", "v3", server.url).events()
    default = events.list(calendarId=ALICE_CAL, singleEvents=True).execute()
    assert [e["id"] for e in default["items"]] == LIVE_IDS
    deleted = events.list(calendarId=ALICE_CAL, singleEvents=True, showDeleted=True).execute()
    assert [e["id"] for e in deleted["items"]] == ALL_IDS
    assert deleted["items"][0] == EVENTS[0]
    assert (deleted["kind"], deleted["timeZone"], deleted["accessRole"]) == (
        "calendar#events",
        "Europe/Berlin",
        "owner",
    )


def test_events_list_primary_resolves_to_the_token_user(server: SandboxServer) -> None:
    """calendarId=primary is the configured google_user's calendar."""
    page = (
        google("calendar", "v3", server.url).events().list(calendarId="primary", singleEvents=True).execute()
    )
    assert [e["id"] for e in page["items"]] == LIVE_IDS


@pytest.mark.parametrize(
    ("time_min", "time_max", "expected"),
    [
        # timeMin is exclusive against an event's end, timeMax exclusive against its start.
        ("2026-09-07T08:30:00Z", None, ["review1", "focus1", "offsite"]),
        ("2026-09-07T08:29:59Z", None, ["sync_20260907T080000Z", "review1", "focus1", "offsite"]),
        (None, "2026-09-08T06:00:00Z", ["sync_20260907T080000Z"]),
        (None, "2026-09-08T06:00:01Z", ["sync_20260907T080000Z", "focus1"]),
        ("2026-09-08T00:00:00+02:00", "2026-09-09T00:00:00+02:00", ["review1", "focus1"]),
        # all-day events are read in the calendar's zone: 2026-09-09 starts at 22:00Z the day before.
        ("2026-09-08T21:00:00Z", "2026-09-08T22:00:01Z", ["offsite"]),
    ],
)
def test_events_list_time_window_follows_google(
    server: SandboxServer, time_min: str | None, time_max: str | None, expected: list[str]
) -> None:
    """timeMin/timeMax select events overlapping the window, exclusive at both ends."""
    args = {k: v for k, v in (("timeMin", time_min), ("timeMax", time_max)) if v}
    page = google("calendar", "v3", server.url).events().list(calendarId=ALICE_CAL, singleEvents=True, **args)
    assert [e["id"] for e in page.execute()["items"]] == expected


def test_events_list_order_by_start_time(server: SandboxServer) -> None:
    """orderBy=startTime sorts by start (requires singleEvents, else 400)."""
    events = google("calendar", "v3", server.url).events()
    page = events.list(calendarId=ALICE_CAL, singleEvents=True, orderBy="startTime").execute()
    assert [e["id"] for e in page["items"]] == ["sync_20260907T080000Z", "focus1", "review1", "offsite"]
    with pytest.raises(HttpError) as raised:
        events.list(calendarId=ALICE_CAL, orderBy="startTime").execute()
    assert raised.value.resp.status == 400


def test_events_pagination_covers_every_event_once_and_sync_token_is_on_the_last_page(
    server: SandboxServer,
) -> None:
    """maxResults=2 pages cover all events once; nextSyncToken appears on the last page only."""
    events = google("calendar", "v3", server.url).events()
    pages = _all_pages(events.list, calendarId=ALICE_CAL, singleEvents=True, showDeleted=True, maxResults=2)
    assert [[e["id"] for e in p["items"]] for p in pages] == [ALL_IDS[0:2], ALL_IDS[2:4], ALL_IDS[4:5]]
    assert ["nextSyncToken" in p for p in pages] == [False, False, True]
    assert ["nextPageToken" in p for p in pages] == [True, True, False]


def test_sync_token_returns_only_events_changed_since(server: SandboxServer) -> None:
    """After a full sync, appending one event and editing another returns exactly those two; then nothing."""
    events = google("calendar", "v3", server.url).events()
    full = events.list(calendarId=ALICE_CAL, singleEvents=True, showDeleted=True).execute()
    assert events.list(calendarId=ALICE_CAL, syncToken=full["nextSyncToken"]).execute()["items"] == []
    added = event("new1", "Kickoff", "2026-09-09T09:00:00+02:00", "2026-09-09T10:00:00+02:00")
    edited = {**EVENTS[2], "summary": "Design review (moved)", "updated": "2026-09-05T10:00:00.000Z"}
    _rewrite_calendar(server, ALICE_CAL, [EVENTS[0], EVENTS[1], edited, EVENTS[3], EVENTS[4], added])
    delta = events.list(calendarId=ALICE_CAL, singleEvents=True, syncToken=full["nextSyncToken"]).execute()
    assert [e["id"] for e in delta["items"]] == ["review1", "new1"]
    assert delta["items"][0]["summary"] == "Design review (moved)"
    assert events.list(calendarId=ALICE_CAL, syncToken=delta["nextSyncToken"]).execute()["items"] == []


def test_sync_token_reports_a_removed_event_as_a_cancelled_stub(server: SandboxServer) -> None:
    """An event that disappears from the calendar comes back from incremental sync as status=cancelled."""
    events = google("calendar", "v3", server.url).events()
    token = events.list(calendarId=BOB_CAL, singleEvents=True).execute()["nextSyncToken"]
    _rewrite_calendar(server, BOB_CAL, EVENTS[:2])
    delta = events.list(calendarId=BOB_CAL, syncToken=token).execute()
    assert delta["items"] == [
        {"kind": "calendar#event", "etag": EVENTS[2]["etag"], "id": "review1", "status": "cancelled"}
    ]


def test_sync_token_remembers_the_time_window_of_the_full_sync(server: SandboxServer) -> None:
    """Changes outside the original timeMin/timeMax stay out of the incremental answer."""
    events = google("calendar", "v3", server.url).events()
    full = events.list(calendarId=ALICE_CAL, singleEvents=True, timeMin="2026-09-08T00:00:00Z").execute()
    early = event("early", "Early", "2026-09-01T09:00:00+02:00", "2026-09-01T10:00:00+02:00")
    late = event("late", "Late", "2026-09-10T09:00:00+02:00", "2026-09-10T10:00:00+02:00")
    _rewrite_calendar(server, ALICE_CAL, [*EVENTS, early, late])
    delta = events.list(calendarId=ALICE_CAL, syncToken=full["nextSyncToken"]).execute()
    assert [e["id"] for e in delta["items"]] == ["late"]


def test_sync_token_with_time_min_is_a_400(server: SandboxServer) -> None:
    """Combining syncToken with timeMin is refused with HTTP 400, as Google does."""
    events = google("calendar", "v3", server.url).events()
    token = events.list(calendarId=ALICE_CAL, singleEvents=True).execute()["nextSyncToken"]
    with pytest.raises(HttpError) as raised:
        events.list(calendarId=ALICE_CAL, syncToken=token, timeMin="2026-09-01T00:00:00Z").execute()
    assert (raised.value.resp.status, _error(raised.value)["errors"][0]["location"]) == (400, "timeMin")


def test_unknown_or_foreign_sync_token_is_410_full_sync_required(
    server: SandboxServer, tmp_path: Path
) -> None:
    """A garbage token, another calendar's token and a token of an earlier server process all get 410."""
    events = google("calendar", "v3", server.url).events()
    bob_token = events.list(calendarId=BOB_CAL, singleEvents=True).execute()["nextSyncToken"]
    with SandboxServer(server.workspace, ServerSettings()) as other:
        old_token = (
            google("calendar", "v3", other.url).events().list(calendarId=ALICE_CAL).execute()["nextSyncToken"]
        )
    for token in ("garbage", bob_token, old_token):
        with pytest.raises(HttpError) as raised:
            events.list(calendarId=ALICE_CAL, syncToken=token).execute()
        error = _error(raised.value)
        assert (raised.value.resp.status, error["code"], error["errors"][0]["reason"]) == (
            410,
            410,
            "fullSyncRequired",
        )


def test_unknown_calendar_is_404(server: SandboxServer) -> None:
    """A calendar id without a file is Google's 404 notFound."""
    with pytest.raises(HttpError) as raised:
        google("calendar", "v3", server.url).events().list(calendarId="nobody@acme.example").execute()
    assert (raised.value.resp.status, _error(raised.value)["errors"][0]["reason"]) == (404, "notFound")


def test_bad_time_min_is_a_400(server: SandboxServer) -> None:
    """timeMin without a time zone offset is refused, as Google refuses it."""
    with pytest.raises(HttpError) as raised:
        google("calendar", "v3", server.url).events().list(
            calendarId=ALICE_CAL, timeMin="2026-09-07T00:00:00"
        ).execute()
    assert raised.value.resp.status == 400


def test_events_list_q_and_event_types_filter(server: SandboxServer) -> None:
    """q searches summary/description/location/people; eventTypes keeps the listed types."""
    events = google("calendar", "v3", server.url).events()
    assert [e["id"] for e in events.list(calendarId=ALICE_CAL, q="zoom.us mocks").execute()["items"]] == [
        "review1"
    ]
    focus = events.list(calendarId=ALICE_CAL, eventTypes="focusTime").execute()
    assert [e["id"] for e in focus["items"]] == ["focus1"]


# ------------------------------------------------------------------------------------------------- drive


def test_files_list_without_fields_gives_drive_default_fields(server: SandboxServer) -> None:
    """Drive answers kind/id/name/mimeType per file unless `fields` asks for more."""
    page = google("drive", "v3", server.url).files().list(pageSize=2).execute()
    assert page["files"] == [
        {
            "kind": "drive#file",
            "id": f"file{i}",
            "name": f"Doc {i}",
            "mimeType": "application/vnd.google-apps.document",
        }
        for i in range(2)
    ]
    assert set(page) == {"kind", "incompleteSearch", "files", "nextPageToken"}


def test_files_list_with_fields_pages_through_every_file_once(server: SandboxServer) -> None:
    """pageSize=2 pages with a fields selector give each file once with exactly the selected fields."""
    files = google("drive", "v3", server.url).files()
    pages = _all_pages(files.list, pageSize=2, fields="nextPageToken,files(id,owners(emailAddress),trashed)")
    got = [f for p in pages for f in p["files"]]
    assert got == [{"id": f["id"], "owners": f["owners"], "trashed": f["trashed"]} for f in DRIVE_FILES]
    assert [len(p["files"]) for p in pages] == [2, 2, 1]


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("trashed = false", ["file0", "file1", "file2", "file3"]),
        ("modifiedTime > '2026-09-03T12:00:00Z' and trashed = false", ["file3"]),
        ("name contains 'doc 2'", ["file2"]),
        (f"'{ALICE_CAL}' in owners and mimeType != 'application/pdf'", [f"file{i}" for i in range(5)]),
    ],
)
def test_files_list_q_filters(server: SandboxServer, q: str, expected: list[str]) -> None:
    """The common Drive q clauses filter the listing."""
    page = google("drive", "v3", server.url).files().list(q=q).execute()
    assert [f["id"] for f in page["files"]] == expected


def test_files_list_unsupported_q_is_a_400(server: SandboxServer) -> None:
    """A q the sandbox cannot evaluate is refused rather than ignored."""
    with pytest.raises(HttpError) as raised:
        google("drive", "v3", server.url).files().list(q="fullText contains 'x' or starred = true").execute()
    assert (raised.value.resp.status, _error(raised.value)["errors"][0]["location"]) == (400, "q")


def test_drive_changes_list_reports_changes_since_the_start_token(server: SandboxServer) -> None:
    """A start token sees nothing; after an edit, an addition and a removal it lists exactly those."""
    drive = google("drive", "v3", server.url)
    start = drive.changes().getStartPageToken().execute()["startPageToken"]
    quiet = drive.changes().list(pageToken=start).execute()
    assert (quiet["changes"], "newStartPageToken" in quiet) == ([], True)
    files = [{**DRIVE_FILES[0], "name": "Doc 0 v2"}, *DRIVE_FILES[1:4], {**DRIVE_FILES[0], "id": "file9"}]
    path = server.workspace / "google" / "drive" / "files.json"
    write_json(path, {"files": files})
    bump(path)
    pages = _all_pages(
        drive.changes().list,
        pageToken=start,
        pageSize=2,
        fields="nextPageToken,newStartPageToken,changes(fileId,removed,file(name))",
    )
    changes = [c for p in pages for c in p["changes"]]
    assert changes == [
        {"fileId": "file0", "removed": False, "file": {"name": "Doc 0 v2"}},
        {"fileId": "file4", "removed": True},
        {"fileId": "file9", "removed": False, "file": {"name": "Doc 0"}},
    ]
    assert ["newStartPageToken" in p for p in pages] == [False, True]
    after = drive.changes().list(pageToken=pages[-1]["newStartPageToken"]).execute()
    assert after["changes"] == []


def test_drive_change_token_of_an_earlier_server_replays_every_file(server: SandboxServer) -> None:
    """A token from another server process lists every current file (a safe replay for upserting clients)."""
    with SandboxServer(server.workspace) as other:
        old = google("drive", "v3", other.url).changes().getStartPageToken().execute()["startPageToken"]
    page = google("drive", "v3", server.url).changes().list(pageToken=old, pageSize=100).execute()
    assert [c["fileId"] for c in page["changes"]] == [f["id"] for f in DRIVE_FILES]


# --------------------------------------------------------------------------------------------- directory


def test_directory_users_list_pages_through_the_customer(server: SandboxServer) -> None:
    """users.list(customer=my_customer) pages through users.json in file order."""
    users = google("admin", "directory_v1", server.url).users()
    pages = _all_pages(users.list, customer="my_customer", maxResults=2)
    assert [[u["primaryEmail"] for u in p["users"]] for p in pages] == [
        [DIRECTORY[0]["primaryEmail"], DIRECTORY[1]["primaryEmail"]],
        [DIRECTORY[2]["primaryEmail"], DIRECTORY[3]["primaryEmail"]],
        [DIRECTORY[4]["primaryEmail"]],
    ]
    assert pages[0]["users"][0] == {"kind": "admin#directory#user", **DIRECTORY[0]}


def test_directory_users_list_domain_filter_and_ordering(server: SandboxServer) -> None:
    """domain= keeps that domain's users; orderBy=email sorts them."""
    users = google("admin", "directory_v1", server.url).users()
    page = users.list(domain="acme.example", orderBy="email").execute()
    assert [u["primaryEmail"] for u in page["users"]] == sorted(
        d["primaryEmail"] for d in DIRECTORY if d["primaryEmail"].endswith("@acme.example")
    )


def test_directory_users_list_needs_customer_or_domain(server: SandboxServer) -> None:
    """Neither customer nor domain is Google's 400 Bad Request."""
    with pytest.raises(HttpError) as raised:
        google("admin", "directory_v1", server.url).users().list().execute()
    assert (raised.value.resp.status, _error(raised.value)["errors"][0]["reason"]) == (400, "badRequest")


# ------------------------------------------------------------------------------------------------- auth


def test_google_without_credentials_or_with_a_wrong_token_is_401(server: SandboxServer) -> None:
    """No Authorization header and a wrong bearer token both get 401 with Google's error body."""
    with pytest.raises(HttpError) as raised:
        google("drive", "v3", server.url, http=anonymous_http()).files().list().execute()
    assert (raised.value.resp.status, _error(raised.value)["errors"][0]["reason"]) == (401, "authError")
    request = urllib.request.Request(f"{server.url}/files", headers={"Authorization": "Bearer ya29.wrong"})
    with pytest.raises(UrlHTTPError) as wrong:
        urllib.request.urlopen(request, timeout=5)
    assert (wrong.value.code, wrong.value.headers["WWW-Authenticate"].startswith("Bearer")) == (401, True)
    assert json.loads(wrong.value.read())["error"]["status"] == "UNAUTHENTICATED"


def _post_token(url: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
    """POST a form to the sandbox's OAuth token endpoint; give the status and the JSON answer."""
    request = urllib.request.Request(f"{url}/token", data=urllib.parse.urlencode(form).encode())
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except UrlHTTPError as err:
        return err.code, json.loads(err.read())


def test_token_endpoint_grants_the_sandbox_token_to_jwt_and_refresh_grants(server: SandboxServer) -> None:
    """A JWT-bearer grant (service accounts) and a refresh-token grant (authorized users) both get the
    sandbox's Google token, which then reads; the log keeps the claims but no signature or secret."""
    jwt = {"grant_type": JWT_GRANT, "assertion": "eyJoZWFkZXIi.eyJzdWIiOiJhQGIifQ.c2lnbmF0dXJl"}
    refresh = {"grant_type": "refresh_token", "refresh_token": "rt-1", "client_id": "c", "client_secret": "s"}
    for form in (jwt, refresh):
        status, body = _post_token(server.url, form)
        assert (status, body) == (
            200,
            {"access_token": "ya29.sandbox", "expires_in": 3600, "token_type": "Bearer"},
        )
    assert google("drive", "v3", server.url, token=body["access_token"]).files().list().execute()["files"]
    logged = [r.params for r in server.requests("oauth.token")]
    assert logged[0]["assertion"] == "eyJoZWFkZXIi.eyJzdWIiOiJhQGIifQ.[redacted]"
    assert (logged[1]["refresh_token"], logged[1]["client_secret"], logged[1]["client_id"]) == (
        "[redacted]",
        "[redacted]",
        "c",
    )
    assert server.stats.requests["oauth.token"] == 2


@pytest.mark.parametrize(
    ("form", "error"),
    [
        ({"grant_type": "password", "username": "a"}, "unsupported_grant_type"),
        ({"grant_type": "refresh_token", "client_id": "c"}, "invalid_request"),
        ({"grant_type": JWT_GRANT, "assertion": "not-a-jwt"}, "invalid_grant"),
    ],
)
def test_token_endpoint_refuses_other_grants_in_oauths_error_shape(
    server: SandboxServer, form: dict[str, str], error: str
) -> None:
    """Another grant type, a missing parameter or an assertion that is no JWT: 400 with OAuth's error."""
    status, body = _post_token(server.url, form)
    assert (status, body["error"]) == (400, error)


# ---------------------------------------------------------------------------------------------- helpers


@pytest.mark.parametrize(
    ("spec", "tree"),
    [
        ("id", {"id": None}),
        ("nextPageToken,files(id,name)", {"nextPageToken": None, "files": {"id": None, "name": None}}),
        ("files/owners/emailAddress", {"files": {"owners": {"emailAddress": None}}}),
        ("files(id),files(owners(emailAddress))", {"files": {"id": None, "owners": {"emailAddress": None}}}),
        ("items, nextSyncToken", {"items": None, "nextSyncToken": None}),
    ],
)
def test_parse_fields_gives_the_selection_tree(spec: str, tree: dict) -> None:
    """Google's `fields` grammar (commas, sub-selections, slash paths) parses into a tree."""
    assert parse_fields(spec) == tree


def test_select_applies_a_tree_through_lists_and_wildcards() -> None:
    """Selections reach into list elements; `*` keeps every key while sub-selections still narrow."""
    value = {"files": [{"id": "a", "owners": [{"emailAddress": "x", "me": True}], "n": 1}], "k": 2}
    assert select(value, parse_fields("files(id,owners/emailAddress)")) == {
        "files": [{"id": "a", "owners": [{"emailAddress": "x"}]}]
    }
    assert select(value, parse_fields("*,files(id)")) == {"files": [{"id": "a"}], "k": 2}
