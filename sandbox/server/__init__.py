"""The local API sandbox: serves a workspace snapshot as the Slack Web API and Google APIs on 127.0.0.1.

The real clients work against it unchanged:

    slack_sdk.WebClient(token=settings.slack_token, base_url=f"{url}/api/")
    googleapiclient.discovery.build("calendar", "v3", static_discovery=True,
                                    client_options={"api_endpoint": url}, credentials=...)

Served: Slack auth.test, team.info, users.list, conversations.list/info/members/history/replies;
Calendar calendarList.list, events.list; Drive files.list, changes.getStartPageToken, changes.list;
Admin Directory users.list. See sandbox/server/README.md for the semantics and the choices made.
"""

from __future__ import annotations

from sandbox.server._server import SandboxServer, serve_forever
from sandbox.server._settings import ENDPOINTS, FaultSpec, ScriptedFault, ServerSettings
from sandbox.server._stats import LoggedRequest, ServerStats

__all__ = [
    "ENDPOINTS",
    "FaultSpec",
    "LoggedRequest",
    "SandboxServer",
    "ScriptedFault",
    "ServerSettings",
    "ServerStats",
    "serve_forever",
]
