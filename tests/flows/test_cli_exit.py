"""The `meetintel` command ends its process without the interpreter's teardown (`flows.cli.exit_now`), and
still does what an exit must: the status, other threads finished, atexit handlers run, output flushed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from checkpoints import StateStore
from flows.cli import EXIT_FAILED

REPO = Path(__file__).resolve().parents[2]

# A worker thread that is not a daemon still writes after the main thread is done; an atexit handler
# writes too; stdout is a pipe (block-buffered) and holds unflushed text when exit_now is called.
PROBE = """
import atexit, sys, threading, time
from pathlib import Path
from flows.cli import exit_now

folder = Path(sys.argv[1])
class Teardown:
    def __init__(self, path: str) -> None:
        self.path = path
    def __del__(self, _open=open) -> None:  # runs in the teardown, when builtins may be gone already
        with _open(self.path, "wb") as out:
            out.write(b"ran")
kept = Teardown(str(folder / "teardown"))
if sys.argv[3] == "profiled":
    sys.setprofile(lambda *args: None)
def late() -> None:
    time.sleep(0.3)
    (folder / "thread").write_text("finished")
threading.Thread(target=late).start()
atexit.register(lambda: (folder / "atexit").write_text("ran"))
print("buffered line")
exit_now(sys.argv[2] if not sys.argv[2].isdigit() else int(sys.argv[2]))
"""


def _probe(folder: Path, code: str, profiled: bool = False) -> subprocess.CompletedProcess[str]:
    buffered = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as a user's shell has it
    command = [sys.executable, "-c", PROBE, str(folder), code, "profiled" if profiled else "plain"]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60, env=buffered)


def test_exit_now_waits_for_threads_runs_atexit_flushes_and_keeps_the_status(tmp_path: Path) -> None:
    done = _probe(tmp_path, "3")
    assert (done.returncode, done.stdout, done.stderr) == (3, "buffered line\n", "")
    assert (tmp_path / "thread").read_text() == "finished"
    assert (tmp_path / "atexit").read_text() == "ran"
    assert not (tmp_path / "teardown").exists()  # the teardown is what is skipped


def test_under_a_profiler_exit_now_is_the_usual_exit_so_the_profiler_can_write(tmp_path: Path) -> None:
    done = _probe(tmp_path, "3", profiled=True)
    assert (done.returncode, done.stdout, done.stderr) == (3, "buffered line\n", "")
    assert [(tmp_path / name).read_text() for name in ("thread", "atexit", "teardown")] == [
        "finished",
        "ran",
        "ran",
    ]


def test_exit_now_with_a_message_prints_it_and_ends_with_status_1(tmp_path: Path) -> None:
    done = _probe(tmp_path, "no state given")
    assert (done.returncode, done.stdout, done.stderr) == (1, "buffered line\n", "no state given\n")


def test_the_command_gives_its_json_whole_through_a_pipe_and_its_failure_status(tmp_path: Path) -> None:
    state = tmp_path / "state.duckdb"
    with StateStore(state) as store:
        run_id = store.start_run("full")
    command = [sys.executable, "-m", "flows.cli", "status", "--state", str(state), "--format", "json"]
    shown = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0
    assert [r["run_id"] for r in json.loads(shown.stdout)["runs"]] == [run_id]
    missing = [*command[:-4], "--state", str(tmp_path / "none.duckdb")]
    failed = subprocess.run(missing, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert failed.returncode == EXIT_FAILED
    assert "no state file at" in failed.stderr
