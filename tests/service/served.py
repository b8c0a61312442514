"""For the service tests: a state made by a real pipeline run (the library stages, no Prefect), and the app
served by uvicorn on a free loopback port in a thread."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import uvicorn

from checkpoints import RunRecord, StateStore
from flows import stages
from flows.monitor import publish_snapshot
from sandbox import generate_workspace
from service.app import create_app
from service.config import ServiceConfig
from service.tokens import create_token


@dataclass
class Org:
    """A published org: its workspace, state, report folder, tokens file and one token per kind."""

    root: Path
    state: Path
    out: Path
    tokens_file: Path
    admin: str
    analyst: str
    analyst_names: str
    run_id: str


def build_org(root: Path, people: int = 12, days: int = 3, seed: int = 11) -> Org:
    """Generate an org, run every stage over it into a state, publish its reports and the run's snapshot."""
    generate_workspace(root / "ws", people=people, days=days, seed=seed)
    state, out = root / "state.duckdb", root / "out"
    with StateStore(state) as store:
        record = RunRecord(run_id=store.start_run("incremental"))
        record.stages.append(stages.collect(store, root / "ws", record.run_id))
        record.rows_read = dict(record.stages[0].by_table)
        record.stages += [stages.detect(store), stages.correlate_stage(store), stages.aggregate(store)]
        record.stages.append(stages.export(store, out, record.run_id)[0])
        record.status = "completed"
        store.finish_run(record)
        publish_snapshot(store.con, state)
    tokens = root / "tokens.json"
    admin, _ = create_token(tokens, "ops", "admin")
    analyst, _ = create_token(tokens, "analyst", "analyst")
    names, _ = create_token(tokens, "hr", "analyst", names=True)
    return Org(root, state, out, tokens, admin, analyst, names, record.run_id)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Served:
    url: str
    config: ServiceConfig

    def get(self, path: str, token: str | None = None, **params: object) -> httpx.Response:
        return httpx.get(self.url + path, headers=auth(token), params=params, timeout=30)  # type: ignore[arg-type]


def auth(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def config_for(org: Org, **changes: object) -> ServiceConfig:
    return ServiceConfig(
        state=org.state, out=org.out, tokens_file=org.tokens_file, refresh_seconds=0.5
    ).model_copy(update=changes)


@contextmanager
def serve(config: ServiceConfig) -> Iterator[Served]:
    """Serve the app over `config` on a free loopback port for the block."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(config), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the service did not start"
        time.sleep(0.02)
    try:
        yield Served(f"http://127.0.0.1:{port}", config)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serve_process(org: Org, env: dict[str, str]) -> Iterator[str]:
    """Run `meetintel serve` over `org` in its own process with `env` until /health answers; give its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "flows.cli", "serve", "--state", str(org.state), "--out", str(org.out)]
        + ["--port", str(port)],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else "serve exited"
            try:
                httpx.get(url + "/health", timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "serve did not answer /health within 60 s"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def serve_env(org: Org, **extra: str) -> dict[str, str]:
    """Give this process's environment with `org`'s tokens file and `extra` (MEETINTEL_* names)."""
    return dict(os.environ) | {"MEETINTEL_API_TOKENS_FILE": str(org.tokens_file)} | extra
