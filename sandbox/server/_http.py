"""HTTP transport of the sandbox server: stdlib `ThreadingHTTPServer`, keep-alive, and the socket faults."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.server._app import Request, SandboxApp

log = logging.getLogger("sandbox.server")


class SandboxHttpServer(ThreadingHTTPServer):
    """A threading HTTP server that remembers its open connections so `close_connections` can end them."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default backlog of 5 drops connects of parallel clients (1 s SYN retry)

    def __init__(self, address: tuple[str, int], app: SandboxApp) -> None:
        self.app = app
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, SandboxHandler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a failed request; a client that hung up (its timeout, a test) is routine, not a traceback."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            log.debug("client %s hung up before the answer was sent", client_address)
            return
        log.exception("sandbox request from %s failed", client_address)

    def close_connections(self) -> None:
        """Shut every open client connection (idle keep-alive ones included) so handler threads end."""
        with self._open_lock:
            sockets = list(self._open)
        for sock in sockets:
            with contextlib.suppress(OSError):  # already closed by the client
                sock.shutdown(socket.SHUT_RDWR)


class SandboxHandler(BaseHTTPRequestHandler):
    """Parse a request, hand it to the app, write the reply (or drop / truncate it)."""

    protocol_version = "HTTP/1.1"  # keep-alive: httplib2 reuses connections, as against the real APIs
    timeout = 60  # seconds an idle keep-alive connection may stay open
    server: SandboxHttpServer

    def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._serve()

    def do_POST(self) -> None:  # noqa: N802 - the name http.server dispatches to
        self._serve()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base class
        log.debug("%s " + format, self.address_string(), *args)

    def _serve(self) -> None:
        """Answer one request: write the reply, or drop / truncate it as the fault says."""
        reply = self.server.app.handle(self._request())
        if reply.drop:
            self.close_connection = True
            return
        body = reply.body[: len(reply.body) // 2] if reply.truncate else reply.body
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))  # the full length, even when truncating
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        if reply.truncate:
            self.close_connection = True

    def _request(self) -> Request:
        """Give the request with query and body parameters merged (body wins, as Slack reads both)."""
        split = urlsplit(self.path)
        params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        body_error = None
        if raw:
            try:
                params.update(_body_params(raw, self.headers.get_content_type()))
            except (ValueError, UnicodeDecodeError) as err:
                body_error = str(err)
        return Request(self.command, split.path, params, self.headers, body_error)  # type: ignore[arg-type]


def _body_params(raw: bytes, content_type: str) -> dict[str, str]:
    """Give the parameters of a form or JSON body (JSON values become strings, booleans "true"/"false")."""
    if content_type == "application/json":
        obj = json.loads(raw.decode("utf-8"))
        if not isinstance(obj, dict):
            raise ValueError("the JSON body is not an object")
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in obj.items()}
    if content_type == "application/x-www-form-urlencoded":
        return {k: v[-1] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
    return {}
