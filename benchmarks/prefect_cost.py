"""Prefect's fixed costs, measured apart: importing the flow module, and starting the temporary API server.

`make bench` subtracts these and the stages' own seconds from `meetintel run`'s wall time; what is left is
the flow's own overhead (task and flow bookkeeping, the heartbeat, shutdown). Prints one JSON line.
"""

from __future__ import annotations

import json
import time


def main() -> None:
    started = time.perf_counter()
    import flows.pipeline  # noqa: F401 - the import is what is measured

    imported = time.perf_counter() - started
    from prefect.server.api.server import SubprocessASGIServer

    server = SubprocessASGIServer()
    started = time.perf_counter()
    server.start()
    ready = time.perf_counter() - started
    started = time.perf_counter()
    server.stop()
    stopped = time.perf_counter() - started
    figures = {"import_seconds": imported, "server_start_seconds": ready, "server_stop_seconds": stopped}
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
