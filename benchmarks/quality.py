"""`make quality`: evaluate the pipeline on generated orgs of both profiles and write QUALITY.md.

Seeds 1-3 are the ones the detectors and matchers were tuned on; seeds 4-6 are held out. Each run
generates a workspace, runs collect, detect, correlate and aggregate into a fresh state file
(`flows.evaluate.run_evaluation`) and scores it against the generator's truth.json. The held-out
phrasing table repeats seeds 4-6 of both profiles with every message drawn from half `b` of the
generator's phrase banks (`--phrasing b`); the rules are to be tuned on half `a` only.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from benchmarks._measure import marked_block
from benchmarks.labels import EXPORTS, HALVES, Score, detected, score
from flows.evaluate import run_evaluation
from intelligence.models import Evaluation
from sandbox import generate_workspace

REPO = Path(__file__).resolve().parents[1]
TUNED, HELD_OUT = (1, 2, 3), (4, 5, 6)
PROFILES = ("standard", "hard")
HELD_OUT_PHRASING = "b"
Results = dict[str, list[tuple[Evaluation, float]]]


def evaluate_one(
    work: Path, profile: str, seed: int, people: int, days: int, phrasing: str | None = None
) -> tuple[Evaluation, float]:
    """Give the evaluation of one generated org and the seconds the pipeline took."""
    name = f"{profile}-{seed}" + (f"-{phrasing}" if phrasing else "")
    ws = work / name
    shutil.rmtree(ws, ignore_errors=True)
    generate_workspace(ws, people=people, days=days, seed=seed, profile=profile, phrasing=phrasing)
    state = work / f"{name}.duckdb"
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


def phrasing_targets(e: Evaluation) -> dict[str, bool]:
    """Give each held-out-phrasing target (stricter than the seed targets) and whether `e` meets it."""
    return {
        "detection F1 >= 0.97": e.detection.f1 >= 0.97,
        "correlation >= 0.99": e.correlation_accuracy >= 0.99,
        "people mapping >= 0.99": e.people.accuracy >= 0.99,
    }


def _phrasing_row(e: Evaluation, seconds: float) -> str:
    """Give one row of the held-out-phrasing table, naming the targets `e` misses."""
    d = e.detection
    missed = [name for name, met in phrasing_targets(e).items() if not met]
    cells = [
        e.profile,
        str(e.seed),
        f"{d.precision:.4f}",
        f"{d.recall:.4f}",
        f"{d.f1:.4f}",
        f"{e.detector.precision:.4f} / {e.detector.recall:.4f}",
        f"{e.correlation_accuracy:.4f} ({e.correlation_correct}/{e.correlation_total})",
        f"{e.slack_meetings.precision:.4f} / {e.slack_meetings.recall:.4f}",
        f"{e.calendar.recall:.4f}",
        f"{e.people.accuracy:.4f} ({e.people.correct}/{e.people.total})",
        "yes" if not missed else "**no**: " + ", ".join(missed),
        f"{seconds:.1f}",
    ]
    return "| " + " | ".join(cells) + " |"


_PHRASING_HEADER = (
    "| profile | seed | detection P | detection R | detection F1 | raw detector P / R | correlation accuracy "
    "| huddles+calls P / R | calendar R | people mapping | targets met | pipeline s |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


# Hand-written parts of QUALITY.md, written here only for a page made from nothing: `make quality` keeps
# what the previous QUALITY.md holds between their markers (edit it there, by hand, with the rules).
_PHRASING_NOTES = [
    "The wording rules were re-derived from half `a`: every alternative of the language patterns "
    "in `intelligence/_patterns.py` that no half-a text matches was removed, unless it is the "
    "kind's own word or hand-labelled real messages use it (a comment there gives the rule). Half "
    "b is measured, never read: only its figures and its misses counted by kind are looked at.",
    "",
    "Context evidence (`intelligence/_context.py`) adds what wording cannot, from structure "
    "first. A post by an invitee of a meeting, in any channel, naming every word of its title is "
    "about it from eight hours before it starts, or from the calendar's cancelling or moving it "
    "up to a day ahead (its agenda, or the announcement of its cancellation or move), to two "
    "hours after it ends (its recap), whatever else it says; a person's reply within the hour in "
    "the thread of such an agenda or recap is part of it; a post by an invitee within ten minutes "
    "of the calendar cancelling or moving the meeting, naming half its title's words, announces "
    "that change. Beyond titles, a person's top-level post in one of the meeting's home channels "
    "(the channel most of its invitees share, or one where the detector found its calendar link "
    "or join link) in the last hour before that meeting of theirs, in the five minutes either "
    "side of its start, while it runs or in the two hours after, is meeting talk when its words "
    "(single words and neighbouring pairs) are ones these people use in exactly those windows far "
    "more than at other times. The vocabulary is learnt from each org's own messages on every "
    "run; no word list is involved. A Slack account people mapping could not tie to anyone stands "
    "in for an invitee of the same name who has no Slack account (linking counts it as that "
    "invitee too). Thresholds and windows were "
    "tuned on half `a` (seeds 1-3, both profiles, every post scored against the truth as if the "
    "detector knew no word, with only its calendar and join links: precision 0.99 or better per "
    "kind, 2,051 of 2,064 in all; on a 200-person, 40-day half-a org 2,215 of 2,217); the raw "
    "detector column above is the wording and structure rules alone, without it.",
]


_CAVEATS = [
    "- The hard profile's near misses and casual phrasings (sandbox/README.md, *Profiles*) were "
    "written in the same change as the detector rules that handle them; the held-out seeds draw "
    "new messages from the same template banks, so they test generalisation across orgs and days, "
    "not to unseen phrasing. Real workspaces will phrase things in ways neither bank has.",
    "- The held-out-phrasing table is the honest figure for wording the rules never saw; the tables "
    "above mix both halves, so half of their messages are such wording too. What half b still loses "
    "(counted by kind and structure, never read): 11 misses in the hard profile and 10 in the "
    "standard one over seeds 4-6, all talk that neither the wording rules nor context evidence find "
    "(14 during, 5 joining, and 2 cancellations posted without the title). Most hard-profile false "
    "positives are hard negatives the detector flags as recaps or joining (29 recaps and 8 joining "
    "over seeds 4-6, of 44; context evidence adds 7, joining or during talk on hard negatives), which"
    " is what keeps hard precision lowest: of those recaps, 18 name no meeting and are posted in a "
    "meeting's home channel within two hours of its end by one of its attendees, as a recap naming no"
    " meeting is, and 8 are posted more than four hours after the meeting ended, naming some of its "
    "title's words. Half a has no recap of either shape, true or false, so no rule about them can be "
    "tuned there. In the standard profile, 11 false positives (5 joining flagged by the detector, 6 "
    "talk found by context evidence). Since the previous figures, linking gives a post the detector "
    "read as a call request to the meeting of its author whose title it names (with the kind its "
    "timing gives), unless a join link answers it in its thread, and counts a stand-in account as the"
    " invitee it stands in for, as context evidence does: that recovered 34 hard-profile and 31 "
    "standard-profile misses, and added 2 of the false positives above (late recaps by stand-in "
    "accounts); the correlation mistakes below went from 20 to 21. Context evidence needs a calendar:"
    " without one (the real exports below) it adds nothing.",
    "- The real exports are community workspaces whose meetings are in-person meetups coordinated "
    "in free text, with no join links, huddles or calendar bots: the structural signals the "
    "detector rests on are absent there, which is what their recall shows.",
    "- The correlation mistakes left on half b (21 of 3,548 linked messages) are nearly all chatter, "
    "during (12, found by context evidence) or joining (5), posted while its author had two "
    "overlapping meetings whose invitees share the channel: both invite the author, both are running,"
    " and nothing in the timing, the people, the thread or the title tells them apart. The other four"
    " go to a meeting apart from the true one: two during posts and a recap found by context "
    "evidence, and a cancellation. Settled by structure since: chatter just before one meeting starts"
    " while another runs (it goes to the running one), posts by invitees who declined, mentions of "
    "people a meeting does not invite, talk its author follows with action items (a recap of the "
    "meeting that ended, whatever phase its words suggested), and recaps or action items posted in "
    "the first half of another meeting.",
]


def _phrasing_section(
    rows: list[tuple[Evaluation, float]], people: int, days: int, command: str, old: str = ""
) -> list[str]:
    """Give the lines of the held-out-phrasing section: how it was made, the table, the targets met."""
    met = {name: sum(phrasing_targets(e)[name] for e, _ in rows) for name in phrasing_targets(rows[0][0])}
    return [
        "## Held-out phrasing",
        "",
        f"Every Slack message drawn from half `{HELD_OUT_PHRASING}` of the generator's phrase banks "
        "(`sandbox/_text.py`: `SPLIT_BANKS` and `TRAP_BANKS`, evidence and noise alike; half `a` holds each "
        "bank's even positions, `b` its odd ones). Written by the same command, `" + command + "`: each row "
        f"is `sandbox.generate_workspace(people={people}, days={days}, seed=<seed>, profile=<profile>, "
        f'phrasing="{HELD_OUT_PHRASING}")`, scored like the tables above. One org by hand: '
        f"`meetintel sandbox generate WS --people {people} --days {days} --seed 4 --profile hard "
        f"--phrasing {HELD_OUT_PHRASING}`, then `meetintel evaluate --workspace WS --truth WS/truth.json`.",
        "",
        "Targets on half b: " + ", ".join(phrasing_targets(rows[0][0])) + ".",
        "",
        _PHRASING_HEADER,
        *(_phrasing_row(e, s) for e, s in rows),
        "",
        "Rows meeting each target: " + ", ".join(f"{name}: {n}/{len(rows)}" for name, n in met.items()) + ".",
        "",
        *_kept(
            old,
            "phrasing-notes",
            _PHRASING_NOTES,
        ),
        "",
    ]


def _real_section(scores: list[Score]) -> list[str]:
    """Give the lines of the real-messages section: the detector against hand labels of real exports."""
    lines = [
        "## Real messages",
        "",
        "The detector on the real Slack exports among the test fixtures, against labels written by hand "
        "before the detector was run on them (`tests/fixtures/labels/`: every message a broad keyword net "
        "flags plus a seeded sample of the rest; the labelling guide is its README). Figures from "
        "`python benchmarks/labels.py score`; `tests/intelligence/test_real_labels.py` holds them as floors.",
        "",
        "The labels are split into two fixed halves by a stable hash of (export, channel, ts): rules are "
        "tuned on `tune`, whose texts may be read, and only measured on `held`, of which only counts by kind "
        "are read. A message the detector flags outside the labels is labelled afterwards in `tune` "
        "(`source: detector`); in `held` it stays unlabelled, its text unread, and is counted in the last "
        "column (it counts in neither precision nor recall).",
        "",
        "| export | half | labelled | evidence | detected right | false alarms | missed | precision | recall "
        "| unlabelled detections |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in scores:
        evidence = s.true_positive + s.false_negative
        lines.append(
            f"| {s.export} | {s.half or 'both'} | {s.labelled} | {evidence} | {s.true_positive} | "
            f"{s.false_positive} | {s.false_negative} | {_ratio(s.precision)} | {_ratio(s.recall)} | "
            f"{s.unlabelled_detections} |"
        )
    return [*lines, ""]


def _ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _kept(old: str, name: str, default: list[str]) -> list[str]:
    """Give the hand-written block `name` of the previous QUALITY.md (`old`), markers included, or `default`
    between new markers: what the people who change the rules write about them survives `make quality`."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    kept = marked_block(old, begin, end)
    return [kept] if kept else [begin, *default, end]


def render(
    results: Results,
    phrasing: list[tuple[Evaluation, float]],
    real: list[Score],
    people: int,
    days: int,
    command: str,
    old: str = "",
) -> str:
    """Give the text of QUALITY.md: `results` per profile in seed order, then the held-out phrasing rows."""
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
    out += _phrasing_section(phrasing, people, days, command, old)
    out += _real_section(real)
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
        *_kept(
            old,
            "caveats",
            _CAVEATS,
        ),
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
    results: Results = {}
    for profile in PROFILES:
        for seed in (*TUNED, *HELD_OUT):
            e, seconds = evaluate_one(args.work, profile, seed, args.people, args.days)
            results.setdefault(profile, []).append((e, seconds))
            print(
                f"{profile} seed {seed}: targets met {all(e.targets().values())} ({seconds:.1f} s)",
                flush=True,
            )
    phrasing = _held_out_phrasing(args.work, args.people, args.days)
    command = f"python -m benchmarks.quality --people {args.people} --days {args.days}"
    real = [
        score(export, found, part)
        for export in EXPORTS
        for found in [detected(export)]
        for part in (*HALVES, None)
    ]
    old = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
    page = render(results, phrasing, real, args.people, args.days, command, old)
    args.out.write_text(page, encoding="utf-8")
    seeds_met = all(all(e.targets().values()) for rows in results.values() for e, _ in rows)
    return 0 if seeds_met and all(all(phrasing_targets(e).values()) for e, _ in phrasing) else 1


def _held_out_phrasing(work: Path, people: int, days: int) -> list[tuple[Evaluation, float]]:
    """Give the evaluations of the held-out seeds of both profiles on the held-out phrasing half."""
    rows = []
    for profile in PROFILES:
        for seed in HELD_OUT:
            e, seconds = evaluate_one(work, profile, seed, people, days, phrasing=HELD_OUT_PHRASING)
            rows.append((e, seconds))
            met = all(phrasing_targets(e).values())
            print(f"{profile} seed {seed} phrasing {HELD_OUT_PHRASING}: targets met {met} ({seconds:.1f} s)")
    return rows


if __name__ == "__main__":
    sys.exit(main())
