"""Crash safety, proven by force: SIGKILL the pipeline at random and chosen moments, resume, compare.

    python -m benchmarks.reliability --trials 50 --cli-trials 2 --write RELIABILITY.md

Each trial starts from a scenario's starting point (an empty state; a state holding a shorter history of
the same org; a complete state given a full refresh; an empty state collecting live from the sandbox
APIs), runs the pipeline, kills it, resumes with a normal run of the same kind and compares what is left
with an uninterrupted run of the same scenario (`_kill_state.differences`). Right after each kill it also
checks the published export: `latest` must be a whole run whose files match their manifest.

Kills are real SIGKILLs. Half the trials kill from outside after a random delay within the uninterrupted
run's wall time; the rest make the child kill itself at a chosen point (inside or after the N-th commit,
at a stage boundary, inside the export or around the full-refresh swap), so every stage is hit. Children
are forked from a preloaded fork server instead of started with the Prefect flow, so a trial costs tens of
milliseconds of start-up instead of seconds; `--cli-trials` also kills the real `meetintel run` (Prefect
flow and all) from outside, to show the thin child behaves as the flow does.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, cast

from benchmarks import _kill_child
from benchmarks._kill_child import STAGES, Job
from benchmarks._kill_state import Snapshot, differences, out_snapshot, published_problems, state_snapshot

if TYPE_CHECKING:
    from sandbox import ServerSettings

REPO = Path(__file__).resolve().parents[1]
SCENARIOS = ("fresh", "grow", "refresh", "live")
EXPORT_POINTS = ("workbook", "manifest", "link", "marker")
BYTE_EXACT: frozenset[str] = frozenset()  # the workbook and the page embed when they were made
BEGIN, END = "<!-- kill-trials:begin -->", "<!-- kill-trials:end -->"
TIME_SCALE = 60


@dataclass(frozen=True)
class Trial:
    """One kill: the scenario and how the run dies (`random:<seconds>` from outside or a `Job.kill_at`)."""

    scenario: str
    kill: str


@dataclass
class Outcome:
    """What one trial found."""

    trial: Trial
    stage: str  # where the kill landed: a stage, an inner point, or "after the run" when it came too late
    killed: bool
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Scenario:
    """A scenario's starting point and its uninterrupted result."""

    name: str
    job: Job  # paths are the starting point's; trials copy them
    expected: Snapshot
    wall: float
    commits: dict[str, list[int]]  # stage -> commit numbers inside it


def _context() -> multiprocessing.context.ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["benchmarks._kill_child"])
    return ctx


def run_child(job: Job, delay: float | None = None, timeout: float = 300) -> tuple[int, float]:
    """Run one pipeline child; SIGKILL it from outside after `delay` seconds; give its exit code and time."""
    process = _context().Process(target=_kill_child.run, args=(job,))
    started = time.perf_counter()
    process.start()
    if delay is not None:
        process.join(delay)
        if process.is_alive() and process.pid is not None:
            os.kill(process.pid, signal.SIGKILL)
    process.join(timeout)
    if process.is_alive() and process.pid is not None:
        os.kill(process.pid, signal.SIGKILL)
        process.join()
        raise RuntimeError(f"pipeline child hung for {timeout} s: {job}")
    return int(process.exitcode or 0), time.perf_counter() - started


def snapshot(job: Job) -> Snapshot:
    """Give the canonical content of a job's state and published reports."""
    snap = state_snapshot(Path(job.state))
    out_snapshot(Path(job.out), snap, BYTE_EXACT)
    return snap


def _trace(job: Job) -> list[str]:
    path = Path(job.trace)
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _copy_start(start: Job, folder: Path) -> Job:
    """Give `start` with its state and output copied into `folder` (symlinks kept as links)."""
    folder.mkdir(parents=True)
    state, out = folder / "state.duckdb", folder / "out"
    if Path(start.state).exists():
        shutil.copy2(start.state, state)
    if Path(start.out).exists():
        shutil.copytree(start.out, out, symlinks=True)
    return replace(start, state=str(state), out=str(out), trace=str(folder / "trace"))


# ---- fixtures: workspaces, the sandbox and each scenario's uninterrupted run ---------------------------


@contextmanager
def scenarios(
    root: Path, people: int, days: int, seed: int, names: tuple[str, ...] = SCENARIOS
) -> Iterator[dict[str, Scenario]]:
    """Build the named scenarios under `root` (workspaces, starting points, uninterrupted results)."""
    from sandbox import SandboxServer, ServerSettings, generate_workspace

    long = root / "ws-long"
    generate_workspace(long, people=people, days=days, seed=seed)
    if "grow" in names:
        generate_workspace(root / "ws-short", people=people, days=max(1, days - 2), seed=seed)
    settings = ServerSettings(time_scale=TIME_SCALE)
    with SandboxServer(long, settings) as server:
        built: dict[str, Scenario] = {}
        # Fresh first: its uninterrupted result is the complete state a full refresh starts from.
        for name in sorted(names, key=lambda n: n != "fresh"):
            start = _starting_point(root, name, long, server.url, settings, built.get("fresh"))
            built[name] = _uninterrupted(root, name, start)
        yield built


def _at(folder: Path) -> Job:
    """Give a job whose state, output and trace live in `folder` (no source yet)."""
    folder.mkdir(parents=True, exist_ok=True)
    return Job(state=str(folder / "state.duckdb"), out=str(folder / "out"), trace=str(folder / "trace"))


def _starting_point(
    root: Path, name: str, long: Path, url: str, settings: ServerSettings, fresh: Scenario | None
) -> Job:
    """Give where scenario `name` starts: its state and output before the run under test."""
    if name == "refresh" and fresh is not None:
        done = replace(fresh.job, state=str(root / "expected-fresh" / "state.duckdb"))
        start = _copy_start(replace(done, out=str(root / "expected-fresh" / "out")), root / "start-refresh")
        return replace(start, full_refresh=True)
    base = _at(root / f"start-{name}")
    if name == "fresh":
        return replace(base, workspace=str(long))
    if name == "grow":
        _must_complete(replace(base, workspace=str(long.with_name("ws-short"))))
        return replace(base, workspace=str(long))
    if name == "refresh":
        _must_complete(replace(base, workspace=str(long)))
        return replace(base, workspace=str(long), full_refresh=True)
    env = {
        "MEETINTEL_SLACK_TOKEN": settings.slack_token,
        "MEETINTEL_GOOGLE_TOKEN": settings.google_token,
        "MEETINTEL_SLACK_TIER2_PER_MINUTE": str(20 * TIME_SCALE),
        "MEETINTEL_SLACK_TIER3_PER_MINUTE": str(50 * TIME_SCALE),
    }
    return replace(base, slack_url=f"{url}/api/", google_url=url, env=env)


def _must_complete(job: Job) -> float:
    code, seconds = run_child(job)
    if code != 0:
        raise RuntimeError(f"an uninterrupted run failed with exit code {code}: {job}")
    return seconds


def _uninterrupted(root: Path, name: str, start: Job) -> Scenario:
    """Give a scenario with the result of running it from its starting point without a kill."""
    job = _copy_start(start, root / f"expected-{name}")
    wall = _must_complete(job)
    commits: dict[str, list[int]] = {}
    for line in _trace(job):
        if line.startswith("commit "):
            _, number, stage = line.split()
            commits.setdefault(stage, []).append(int(number))
    return Scenario(name, start, snapshot(job), wall, commits)


# ---- trials -------------------------------------------------------------------------------------------


def targeted_kills(scenario: Scenario) -> list[str]:
    """Give every chosen kill point of a scenario: each stage start, commits of each stage, export steps."""
    return [k for group in _kill_groups(scenario) for k in group]


def _kill_groups(scenario: Scenario) -> list[list[str]]:
    """Give a scenario's kill points by kind; commit kills alternate between stages."""
    groups = [[f"before:{s}" for s in STAGES], [f"before:{p}" for p in EXPORT_POINTS]]
    # The stores' opening commits ("start", "finish") only create what exists; the stages' commits matter.
    picks = [sorted({n[0], n[len(n) // 2], n[-1]}) for s, n in scenario.commits.items() if s in STAGES]
    turn = SCENARIOS.index(scenario.name) if scenario.name in SCENARIOS else 0
    picks = picks[turn % len(picks) :] + picks[: turn % len(picks)] if picks else []  # vary who goes first
    by_turn = [n for turn in range(3) for numbers in picks for n in numbers[turn : turn + 1]]
    groups += [[f"commit:{n}" for n in by_turn], [f"after-commit:{n}" for n in by_turn]]
    if scenario.name == "refresh":
        groups.append(["before:swap", "before:finish"])
    return groups


def plan(scens: dict[str, Scenario], trials: int, rng: random.Random) -> list[Trial]:
    """Give `trials` trials: half random outside kills, half chosen points of every scenario and kind."""
    queues = [[Trial(s.name, k) for k in group] for s in scens.values() for group in _kill_groups(s) if group]
    rng.shuffle(queues)
    chosen: list[Trial] = []
    while any(queues):  # one from each (scenario, kind) queue in turn
        chosen += [q.pop(0) for q in queues if q]
    names = list(scens)
    out: list[Trial] = []
    for i in range(trials):
        if i % 2 == 0 or not chosen:
            name = names[(i // 2) % len(names)]
            # Uninterrupted wall time includes the exit; 0.9 of it keeps most kills inside the run.
            out.append(Trial(name, f"random:{rng.uniform(0.0, 0.9 * scens[name].wall):.3f}"))
        else:
            out.append(chosen.pop(0))
    return out


def _landed(lines: list[str], code: int) -> tuple[bool, str]:
    """Give whether the run died and where (the last stage or point its trace reached)."""
    if code == 0 or any(line.startswith("done ") for line in lines):
        return False, "after the run"
    for line in reversed(lines):
        if line.startswith("killed "):
            return True, line.rsplit(" in ", 1)[1]
        if line.startswith("stage "):
            return True, line.split()[1]
    return True, "start"


def run_trial(scen: Scenario, trial: Trial, folder: Path) -> Outcome:
    """Run one trial in `folder`: kill, check the export at once, resume, compare with the expected state."""
    started = time.perf_counter()
    job = _copy_start(scen.job, folder)
    if trial.kill.startswith("random:"):
        code, _ = run_child(job, delay=float(trial.kill.split(":", 1)[1]))
    else:
        code, _ = run_child(replace(job, kill_at=trial.kill))
    killed, stage = _landed(_trace(job), code)
    outcome = Outcome(trial, stage, killed)
    if code not in (0, -signal.SIGKILL):
        outcome.problems.append(f"the killed run exited with code {code} instead of dying or finishing")
    outcome.problems += [f"right after the kill, {p}" for p in published_problems(Path(job.out))]
    resumed = replace(job, trace=str(folder / "trace-resume"))
    code, _ = run_child(resumed)
    if code != 0:
        outcome.problems.append(f"the resumed run exited with code {code}")
    else:
        outcome.problems += differences(scen.expected, snapshot(resumed))
    outcome.seconds = time.perf_counter() - started
    return outcome


def run_trials(scens: dict[str, Scenario], plan_: list[Trial], root: Path) -> list[Outcome]:
    """Run every planned trial, each in its own folder under `root`; print one line per trial."""
    outcomes = []
    for i, trial in enumerate(plan_):
        outcome = run_trial(scens[trial.scenario], trial, root / f"trial-{i:03d}")
        verdict = "ok" if not outcome.problems else "FAILED: " + "; ".join(outcome.problems)
        print(
            f"trial {i + 1}/{len(plan_)} {trial.scenario} {trial.kill} -> {outcome.stage}: {verdict}",
            flush=True,
        )
        outcomes.append(outcome)
    return outcomes


# ---- the real CLI ------------------------------------------------------------------------------------


def _cli(job: Job, env: dict[str, str], delay: float | None = None) -> tuple[int, float]:
    """Run `meetintel run` in its own process group; SIGKILL the whole group after `delay` seconds."""
    assert job.workspace is not None
    cmd = [sys.executable, "-m", "flows.cli", "run", "--workspace", job.workspace, "--state", job.state]
    started = time.perf_counter()
    process = subprocess.Popen(
        [*cmd, "--out", job.out],
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        process.wait(delay)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)  # the group holds the CLI and any server Prefect started
        process.wait()
    return process.returncode, time.perf_counter() - started


def cli_trials(scen: Scenario, count: int, root: Path, rng: random.Random) -> list[Outcome]:
    """Kill `meetintel run` from outside at random delays, resume it, compare with the expected state."""
    env = {**os.environ, "PREFECT_HOME": str(root / "prefect-home"), "PREFECT_LOGGING_LEVEL": "WARNING"}
    job = _copy_start(scen.job, root / "cli-uninterrupted")
    code, wall = _cli(job, env)
    control = differences(scen.expected, snapshot(job)) if code == 0 else [f"exit code {code}"]
    outcomes = [Outcome(Trial("cli", "uninterrupted"), "after the run", False, control, wall)]
    for i in range(count):
        delay = rng.uniform(0.3 * wall, wall)
        trial_job = _copy_start(scen.job, root / f"cli-{i}")
        started = time.perf_counter()
        code, _ = _cli(trial_job, env, delay)
        outcome = Outcome(Trial("cli", f"random:{delay:.1f}"), "flow", code != 0)
        outcome.problems += [f"right after the kill, {p}" for p in published_problems(Path(trial_job.out))]
        code, _ = _cli(trial_job, env)
        outcome.problems += (
            differences(scen.expected, snapshot(trial_job)) if code == 0 else [f"resume {code}"]
        )
        outcome.seconds = time.perf_counter() - started
        print(f"cli trial {i + 1}/{count} killed at {delay:.1f} s: {outcome.problems or 'ok'}", flush=True)
        outcomes.append(outcome)
    return outcomes


# ---- the report ----------------------------------------------------------------------------------------


def _tally(outcomes: list[Outcome], key: str) -> dict[str, dict[str, int]]:
    """Give {value of `key`: {"trials", "killed", "passed"}} over the outcomes."""
    table: dict[str, dict[str, int]] = {}
    for o in outcomes:
        name = o.stage if key == "stage" else o.trial.scenario
        row = table.setdefault(name, {"trials": 0, "killed": 0, "passed": 0})
        row["trials"] += 1
        row["killed"] += o.killed
        row["passed"] += not o.problems
    return dict(sorted(table.items()))


def summary(outcomes: list[Outcome]) -> dict[str, object]:
    """Give the figures of trials: counts by scenario, by stage hit and by kill kind, and the failures."""
    return {
        "trials": len(outcomes),
        "killed": sum(o.killed for o in outcomes),
        "passed": sum(not o.problems for o in outcomes),
        "random_kills": sum(o.trial.kill.startswith("random:") for o in outcomes),
        "by_stage": _tally(outcomes, "stage"),
        "by_scenario": _tally(outcomes, "scenario"),
        "failures": [
            {"scenario": o.trial.scenario, "kill": o.trial.kill, "stage": o.stage, "problems": o.problems}
            for o in outcomes
            if o.problems
        ],
    }


def _rows(table: object) -> str:
    rows = cast(dict[str, dict[str, int]], table)
    return "\n".join(f"| {k} | {v['trials']} | {v['killed']} | {v['passed']} |" for k, v in rows.items())


def markdown(figures: dict[str, object], command: str, seconds: float) -> str:
    """Give the kill-trial section of RELIABILITY.md."""
    failures = figures["failures"] or "none"
    head = "| trials | killed | passed (same state and reports as uninterrupted) |\n|---|---:|---:|---:|\n"
    return (
        f"{BEGIN}\n"
        f"Measured by `{command}` ({seconds:.0f} s wall).\n\n"
        f"- trials: **{figures['trials']}**, the pipeline killed in **{figures['killed']}** "
        f"({figures['random_kills']} kills from outside at random delays, the rest at chosen points; "
        f"a random kill that came after the run ended counts as a trial, not a kill); "
        f"passed: **{figures['passed']}**\n"
        f"- failures: {json.dumps(failures)}\n\n"
        f"| where the kill landed {head}{_rows(figures['by_stage'])}\n\n"
        f"| scenario {head}{_rows(figures['by_scenario'])}\n"
        f"{END}"
    )


def write_section(path: Path, section: str) -> None:
    """Replace the kill-trial section of `path` (between its markers), or append it."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section + "\n"
    path.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--cli-trials", type=int, default=2)
    parser.add_argument("--people", type=int, default=20)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--root", type=Path, default=None, help="Work folder (default: a new temp folder).")
    parser.add_argument("--write", type=Path, default=None, help="Write the figures into this Markdown file.")
    args = parser.parse_args(argv)
    import tempfile

    started = time.perf_counter()
    root = args.root or Path(tempfile.mkdtemp(prefix="meetintel-kill-"))
    rng = random.Random(args.seed)
    with scenarios(root, args.people, args.days, args.seed) as scens:
        print(
            "uninterrupted runs: " + ", ".join(f"{s.name} {s.wall:.1f} s" for s in scens.values()), flush=True
        )
        outcomes = run_trials(scens, plan(scens, args.trials, rng), root)
        if args.cli_trials:
            outcomes += cli_trials(scens["fresh"], args.cli_trials, root, rng)
    figures = summary(outcomes)
    print(json.dumps(figures, indent=1))
    if args.root is None and figures["passed"] == figures["trials"]:
        shutil.rmtree(root)  # kept when a trial failed, to look at
    elif figures["passed"] != figures["trials"]:
        print(f"trial folders kept in {root}")
    if args.write:
        command = "python -m benchmarks.reliability " + " ".join(argv if argv is not None else sys.argv[1:])
        write_section(args.write, markdown(figures, command.strip(), time.perf_counter() - started))
    return 0 if figures["passed"] == figures["trials"] else 1


if __name__ == "__main__":
    sys.exit(main())
