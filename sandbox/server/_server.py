"""The sandbox server's lifecycle: bind a loopback port, serve from a daemon thread, stop cleanly."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from core.errors import ConfigurationError
from sandbox.server._app import SandboxApp
from sandbox.server._http import SandboxHttpServer
from sandbox.server._settings import ScriptedFault, ServerSettings
from sandbox.server._stats import LoggedRequest, ServerStats

log = logging.getLogger("sandbox.server")
HOST = "127.0.0.1"


class SandboxServer:
    """A workspace served over HTTP from a daemon thread; use as a context manager or start()/stop()."""

    def __init__(self, workspace: Path, settings: ServerSettings | None = None, port: int = 0) -> None:
        workspace = Path(workspace)
        _check_workspace(workspace)
        self.workspace = workspace
        self.settings = settings or ServerSettings()
        self.port = port
        self.url = ""
        self._app = SandboxApp(workspace, self.settings)
        self._httpd: SandboxHttpServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> str:
        """Give the base URL ("http://127.0.0.1:<port>") after binding the port and starting to serve."""
        if self._httpd is not None:
            return self.url
        try:
            self._httpd = SandboxHttpServer((HOST, self.port), self._app)
        except OSError as err:
            raise ConfigurationError(
                f"cannot listen on {HOST}:{self.port} ({err.strerror})", "pick a free port, or 0 for any"
            ) from err
        self.port = self._httpd.server_address[1]
        self.url = f"http://{HOST}:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},  # stop() waits up to one poll; tests stop a server each
            name="sandbox-server",
            daemon=True,
        )
        self._thread.start()
        log.info("serving %s at %s", self.workspace, self.url)
        return self.url

    def stop(self) -> None:
        """Stop serving, close every client connection and release the port."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        httpd.shutdown()
        httpd.close_connections()
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = self._thread = None

    @property
    def stats(self) -> ServerStats:
        """Give a snapshot of the per-endpoint request, rate-limit, fault and auth-failure counters."""
        return self._app.stats.snapshot()

    def reset_stats(self) -> None:
        """Set every counter back to zero and empty the request log (e.g. between benchmark phases)."""
        self._app.stats.reset()
        self._app.requests.clear()

    def script(self, endpoint: str, *answers: ScriptedFault) -> None:
        """Answer the next requests to `endpoint` with `answers`, in order, then serve it normally again.

        Answers queue after those already scripted; ConfigurationError names an unknown endpoint.
        """
        self._app.faults.script(endpoint, answers)

    def requests(self, endpoint: str | None = None) -> list[LoggedRequest]:
        """Give the requests received (to `endpoint` only, when given), oldest first, credentials removed."""
        return self._app.requests.entries(endpoint)

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _check_workspace(workspace: Path) -> None:
    """Raise ConfigurationError unless `workspace` holds a `slack/` folder or a `google/` folder."""
    if not workspace.is_dir():
        raise ConfigurationError(
            f"workspace {workspace} is not a folder", "give the folder `sandbox generate` wrote"
        )
    if (workspace / "slack.zip").exists() and not (workspace / "slack").is_dir():
        raise ConfigurationError(
            f"{workspace} holds slack.zip but no slack/ folder", "unzip it into slack/ to serve it live"
        )
    if not (workspace / "slack").is_dir() and not (workspace / "google").is_dir():
        raise ConfigurationError(
            f"{workspace} has neither slack/ nor google/", "give a workspace snapshot (see DESIGN.md §3)"
        )


def serve_forever(
    workspace: Path,
    port: int,
    settings: ServerSettings,
    on_ready: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Serve `workspace` on 127.0.0.1:`port` until Ctrl-C (or until `stop` is set).

    `on_ready` is called with the base URL once the port is bound, so the CLI can print it.
    """
    server = SandboxServer(workspace, settings, port)
    url = server.start()
    if on_ready is not None:
        on_ready(url)
    stop = stop or threading.Event()
    try:
        while not stop.wait(0.5):  # short waits keep Ctrl-C responsive
            continue
    except KeyboardInterrupt:
        log.info("stopping the sandbox server")
    finally:
        server.stop()
