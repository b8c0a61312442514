"""`make quality`: evaluate the pipeline on generated orgs of both profiles and write QUALITY.md.

Seeds 1-3 are the ones the detectors and matchers were tuned on; seeds 4-6 are held out. Each run
generates a workspace, runs collect, detect, correlate and aggregate into a fresh state file
(`flows.evaluate.run_evaluation`) and scores it against the generator's truth.json.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from flows.evaluate import run_evaluation
from intelligence.models import Evaluation
from sandbox import generate_workspace

REPO = Path(__file__).resolve().parents[1]
TUNED, HELD_OUT = (1, 2, 3), (4, 5, 6)
PROFILES = ("standard", "hard")


def evaluate_one(work: Path, profile: str, seed: int, people: int, days: int) -> tuple[Evaluation, float]:
    """Give the evaluation of one generated org and the seconds the pipeline took."""
    ws = work / f"{profile}-{seed}"
    shutil.rmtree(ws, ignore_errors=True)
    generate_workspace(ws, people=people, days=days, seed=seed, profile=profile)
    state = work / f"{profile}-{seed}.duckdb"
    for stale in (state, Path(f"{state}.wal")):
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    result = run_evaluation(ws, ws / "truth.json", state)
    return result, time.perf_counter() - started


def _row(e: Evaluation, seconds: float) -> str:
    """Give one markdown table row with every figure of `e`."""
    c, d = e.calendar, e.detection
    cells = [
        str(e.seed),
        "tuned" if e.seed in TUNED else "**held out**",
        f"{d.precision:.4f}",
        f"{d.recall:.4f}",
        f"{d.f1:.4f}",
        f"{e.detector.precision:.4f} / {e.detector.recall:.4f}",
        f"{e.correlation_accuracy:.4f} ({e.correlation_correct}/{e.correlation_total})",
        f"{c.precision:.4f}",
        f"{c.recall:.4f} ({c.found}/{c.expected})",
        str(c.duplicates),
        str(c.cancelled_as_held),
        str(c.not_meetings_as_held),
        f"{e.slack_meetings.precision:.4f} / {e.slack_meetings.recall:.4f}",
        f"{e.people.accuracy:.4f} ({e.people.correct}/{e.people.total})",
        "yes" if all(e.targets().values()) else "**no**",
        f"{seconds:.1f}",
    ]
    return "| " + " | ".join(cells) + " |"


_HEADER = (
    "| seed | set | detection P | detection R | detection F1 | raw detector P / R | correlation accuracy "
    "| calendar P "
    "| calendar R | duplicates | cancelled held | non-meetings held | huddles+calls P / R | people mapping "
    "| targets met | pipeline s |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def render(results: dict[str, list[tuple[Evaluation, float]]], people: int, days: int, command: str) -> str:
    """Give the text of QUALITY.md for `results` (per profile, in seed order)."""
    out = [
        "# Quality: meetintel against the generator's ground truth",
        "",
        f"Written by `{command}` (`make quality`). Each row: `sandbox.generate_workspace(people={people}, "
        f"days={days}, seed=<seed>, profile=<profile>)`, then `flows.evaluate.run_evaluation` (collect, "
        "detect, correlate, aggregate into a fresh state) scored by `intelligence.evaluate.evaluate`. One "
        "org by hand: `meetintel sandbox ...` then "
        "`meetintel evaluate --workspace WS --truth WS/truth.json`.",
        "",
        f"Detectors and matchers were tuned on seeds {', '.join(map(str, TUNED))}; seeds "
        f"{', '.join(map(str, HELD_OUT))} are held out.",
        "",
        "Targets: detection F1 >= 0.95, correlation accuracy >= 0.98, people mapping >= 0.99, "
        "calendar-meeting precision and recall >= 0.99 with zero duplicates, no cancelled or focus-time "
        "(nor any other non-meeting) event reported as held.",
        "",
    ]
    for profile, rows in results.items():
        out += [f"## {profile} profile", "", _HEADER, *(_row(e, s) for e, s in rows), ""]
    out += [
        "## Definitions",
        "",
        "- **Detection**: a message is positive when truth.json lists it as evidence of a meeting; it is "
        "predicted positive when the pipeline linked it to a meeting (`meeting_evidence`). A message the "
        "detector flagged that no meeting claimed reaches no report and counts as predicted negative.",
        "- **Correlation accuracy**: of the true evidence messages that were linked, the share linked to the "
        "right meeting: the same calendar event id for calendar meetings; for huddles and ad hoc calls, a "
        "meeting with no event id whose channels include the message's channel and whose span overlaps the "
        "true one (5 minutes' tolerance).",
        "- **Calendar P / R**: distinct true event ids found / meeting rows with an event id (a duplicate or "
        "a non-meeting costs precision) and / true calendar meetings (held or cancelled).",
        "- **Huddles+calls P / R**: each Slack-only meeting claims the true meeting most of its messages "
        "belong to; the first claim is a hit.",
        "- **People mapping**: Slack users (guests included) whose person carries the primary email (or "
        "guest address) truth.json gives.",
        "- **Raw detector**: the `evidence` table (every message the detector flagged, linked or not) scored "
        "like detection, for diagnosis.",
        "",
        "## Caveats",
        "",
        "- The hard profile's near misses and casual phrasings (sandbox/README.md, *Profiles*) were written "
        "in the same change as the detector rules that handle them; the held-out seeds draw new messages "
        "from the same template banks, so they test generalisation across orgs and days, not to unseen "
        "phrasing. Real workspaces will phrase things in ways neither bank has.",
        "- The correlation mistakes left are of two sorts: a recap posted after two same-titled meetings "
        "of one day (it goes to the nearer, later one), and generic joining or during chatter posted "
        "while its author had two overlapping meetings discussed in the same channel.",
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Run the evaluations, write QUALITY.md and give 0 when every target held on every seed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--people", type=int, default=60)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--work", type=Path, default=REPO / "bench-data" / "quality")
    parser.add_argument("--out", type=Path, default=REPO / "QUALITY.md")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[str, list[tuple[Evaluation, float]]] = {}
    for profile in PROFILES:
        for seed in (*TUNED, *HELD_OUT):
            e, seconds = evaluate_one(args.work, profile, seed, args.people, args.days)
            results.setdefault(profile, []).append((e, seconds))
            print(
                f"{profile} seed {seed}: targets met {all(e.targets().values())} ({seconds:.1f} s)",
                flush=True,
            )
    command = f"python -m benchmarks.quality --people {args.people} --days {args.days}"
    args.out.write_text(render(results, args.people, args.days, command), encoding="utf-8")
    return 0 if all(all(e.targets().values()) for rows in results.values() for e, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
