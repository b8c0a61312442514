"""Hand labels of real Slack messages: which to label (`select`), and how the detector does on them (`score`).

    python benchmarks/labels.py select [EXPORT ...]    one JSON line per message to label
    python benchmarks/labels.py score  [EXPORT ...]    precision and recall of the detector on the labels

The labels fall into two fixed halves by a stable hash of (export, channel, ts) (`half`): rules are tuned on
`tune`, whose messages `score` lists with their text, and measured on `held`, of which it prints only counts
by kind, so that its texts stay unread.

EXPORT is a folder name under tests/fixtures/third_party (default: both real Slack exports). The selection is
every message the keyword net `NET` flags plus a seeded random sample of `SAMPLE` of the rest; the rules for
labelling, the net and the sample are written down in tests/fixtures/labels/README.md.
`select` uses the standard library only; `score` collects the export's ZIP into an in-memory DuckDB with
`collectors.collect_workspace` and runs `intelligence.detect_evidence` on it, as the pipeline does.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
THIRD_PARTY = REPO / "tests" / "fixtures" / "third_party"
LABELS = REPO / "tests" / "fixtures" / "labels"
EXPORTS: dict[str, str] = {
    "houstondatavis_slack_export": "houstondatavis_slack_export_2016-07-31.zip",
    "slack_export_viewer_testarchive": "testarchive.zip",
}
SAMPLE, SEED = 200, 11
HALVES = ("tune", "held")

# The broad keyword net, case-insensitive, on a message's searchable text (`searchable`).
# \b before a stem catches its inflections (meet, meets, meeting, meetup; call, calls, calling).
NET = re.compile(
    r"|".join(
        [
            r"\bmeet",
            r"\bcall",
            r"hangout",
            r"zoom",
            r"agenda",
            r"\bsync",
            r"huddle",
            r"stand-?\s?up",
            r"\bjoin",
            r"webex",
            r"\bteams\b",
            r"skype",
            r"gotomeeting|goto\s?meeting",
            r"appear\.in",
            r"uberconference|bluejeans|join\.me|whereby",
            r"conference",
            r"dial[- ]?in",
            r"\brsvp",
            r"reschedul|postpon|\bcancel",
            r"recap",
            r"action items?",
            r"zoom\.us|meet\.google\.com|hangouts\.google\.com",
            r"teams\.microsoft\.com|teams\.live\.com|webex\.com",
            r"calendar\.google\.com|google\.com/calendar",
            r"tomorrow|tonight|next week|this week",
            r"\b(monday|tuesday|wednesday|thursday|friday|saturday|sunday)s?\b",
            r"see (you|y'?all)",
            r"\bevent|workshop|\bvenue|\bsession|\bslides|\bpresent|\btalk\b",
            r"\bminutes\b|\bnotes\b",
            r"\b\d{1,2}(:\d\d)?\s?(am|pm|a\.m\.|p\.m\.)(?![a-z])",
            r"\b\d{1,2}:\d\d\b",
        ]
    ),
    re.IGNORECASE,
)
# System messages whose text is a fixed template ("<@U…> has joined the channel"): never matched by the net
# (the word "joined" there is not about a meeting); they stay in the pool the random sample is drawn from.
TEMPLATE_SUBTYPES = frozenset({"channel_join", "channel_leave"})


def export_zip(export: str) -> Path:
    return THIRD_PARTY / export / EXPORTS[export]


def messages(export: str) -> Iterator[dict]:
    """Yield every message of an export's ZIP, in (channel, ts) order, with `_channel` and `_day_file`."""
    rows = []
    with zipfile.ZipFile(export_zip(export)) as zf:
        for name in zf.namelist():
            parts = name.split("/")
            if len(parts) != 2 or not parts[1].endswith(".json"):
                continue
            for m in json.loads(zf.read(name)):
                if isinstance(m, dict) and m.get("type") == "message":
                    rows.append({**m, "_channel": parts[0], "_day_file": name})
    yield from sorted(rows, key=lambda m: (m["_channel"], m["ts"]))


def searchable(m: dict) -> str:
    """Give the text the net reads: the message text plus its attachments', file's and comment's text."""
    parts = [m.get("text") or ""]
    # Legacy file shares carry one `file` object (title, name, a text preview), comments a `comment`.
    for a in m.get("attachments") or []:
        parts += [
            str(a.get(k) or "") for k in ("pretext", "title", "text", "fallback", "title_link", "from_url")
        ]
    f = m.get("file") if isinstance(m.get("file"), dict) else {}
    parts += [str(f.get(k) or "") for k in ("title", "name", "preview")]
    comment = m.get("comment") if isinstance(m.get("comment"), dict) else {}
    parts.append(str(comment.get("comment") or ""))
    return "\n".join(p for p in parts if p)


def net_hits(m: dict) -> list[str]:
    if m.get("subtype") in TEMPLATE_SUBTYPES:
        return []
    return sorted({hit.group(0).lower() for hit in NET.finditer(searchable(m))})


def select(export: str) -> list[dict]:
    """Give the messages to label: every one the net flags, plus a seeded sample of `SAMPLE` of the rest."""
    flagged, rest = [], []
    for m in messages(export):
        row = {
            "export": export,
            "channel": m["_channel"],
            "file": m["_day_file"],
            "ts": m["ts"],
            "user": m.get("user") or m.get("bot_id"),
            "subtype": m.get("subtype"),
            "text": m.get("text") or "",
        }
        extra = searchable(m)[len(row["text"]) :].strip()
        if extra:
            row["extra"] = extra
        hits = net_hits(m)
        (flagged if hits else rest).append({**row, "why": hits or ["sample"]})
    sample = random.Random(SEED).sample(rest, min(SAMPLE, len(rest)))
    return sorted(flagged + sample, key=lambda r: (r["channel"], r["ts"]))


KINDS = frozenset(
    {
        "huddle",
        "during",
        "calendar_bot",
        "calendar_link",
        "call_link",
        "call_request",
        "agenda",
        "joining",
        "reschedule",
        "cancellation",
        "recap",
        "action_items",
    }
)  # the keys of core.tables.derived.EVIDENCE_ROLES
ROLES = frozenset({"pre", "signal", "during", "post"})
SOURCES = frozenset({"net", "sample", "detector"})


def label_problems(export: str) -> list[str]:
    """Give what is wrong with an export's label file: every message `select` lists labelled exactly once with
    its source (`net` or `sample`), any further label marked `detector` (a message only the detector flagged,
    labelled after it ran), fields and kinds valid, order by (channel, ts)."""
    problems = []
    labels = load_labels(export)
    keys = [(x.get("channel"), x.get("ts")) for x in labels]
    if keys != sorted(keys):
        problems.append("labels are not sorted by (channel, ts)")
    if len(set(keys)) != len(keys):
        problems.append("a message is labelled more than once")
    selected = {
        (r["channel"], r["ts"]): "sample" if r["why"] == ["sample"] else "net" for r in select(export)
    }
    for x in labels:
        key = (x.get("channel"), x.get("ts"))
        where = f"{export} {key[0]}/{key[1]}"
        if set(x) != {"export", "channel", "ts", "source", "evidence", "kind", "role", "reason"}:
            problems.append(f"{where}: fields {sorted(x)}")
            continue
        if x["export"] != export or x["source"] not in SOURCES or not isinstance(x["evidence"], bool):
            problems.append(f"{where}: export, source or evidence invalid")
        if key in selected and x["source"] != selected[key]:
            problems.append(f"{where}: source {x['source']}, selected by {selected[key]}")
        if key not in selected and x["source"] != "detector":
            problems.append(f"{where}: labelled but not selected")
        if x["evidence"] and (x["kind"] not in KINDS or x["role"] not in ROLES):
            problems.append(f"{where}: evidence with kind {x['kind']!r}, role {x['role']!r}")
        if not x["evidence"] and (x["kind"] is not None or x["role"] is not None):
            problems.append(f"{where}: not evidence but kind or role set")
        if not isinstance(x["reason"], str) or not x["reason"].strip() or "\n" in x["reason"]:
            problems.append(f"{where}: reason must be one non-empty line")
    problems += [f"{export} {c}/{t}: selected but not labelled" for c, t in selected.keys() - set(keys)]
    return problems


def half(export: str, channel: str, ts: str) -> str:
    """Give the fixed half (`tune` or `held`) of a labelled message: the low bit of a SHA-256 of its key."""
    return HALVES[hashlib.sha256(f"{export}/{channel}/{ts}".encode()).digest()[0] & 1]


def load_labels(export: str) -> list[dict]:
    """Give the hand labels of an export (tests/fixtures/labels/<export>.jsonl), in file order."""
    with open(LABELS / f"{export}.jsonl", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def detected(export: str) -> dict[tuple[str, str], list[str]]:
    """Give the detector's evidence kinds per (channel folder, ts) for an export.

    The export's ZIP is collected with `collectors.collect_workspace` into an in-memory DuckDB holding every
    raw table, then `intelligence.detect_evidence` runs on it; channel ids are mapped back to folder names.
    """
    import duckdb
    import pyarrow as pa

    from collectors import RAW_TABLES, collect_workspace
    from intelligence import detect_evidence

    batches: dict[str, list[pa.Table]] = {name: [] for name in RAW_TABLES}
    for chunk in collect_workspace(export_zip(export), {}):
        batches[chunk.table].append(chunk.batch)
    con = duckdb.connect()
    try:
        for name, raw in RAW_TABLES.items():
            table = pa.concat_tables(batches[name]) if batches[name] else raw.schema.empty_table()
            con.register("_incoming", table.cast(raw.schema))
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM _incoming")
            con.unregister("_incoming")
        names = dict(con.execute("SELECT channel_id, name FROM slack_channels").fetchall())
        found: dict[tuple[str, str], list[str]] = {}
        for row in detect_evidence(con).to_pylist():
            key = (names.get(row["channel_id"], row["channel_id"]), row["ts"])
            found.setdefault(key, []).append(row["kind"])
        return found
    finally:
        con.close()


@dataclass
class Score:
    """The detector against an export's hand labels: counts, and each disagreement."""

    export: str
    half: str | None = None  # None: both halves
    labelled: int = 0
    true_positive: int = 0
    false_positive: int = 0
    false_negative: int = 0
    kind_agree: int = 0
    unlabelled_detections: int = 0  # detector rows on messages outside the selection
    disagreements: list[dict[str, Any]] = field(default_factory=list)
    right_by_kind: Counter[str] = field(default_factory=Counter)  # label kind of each true positive

    @property
    def precision(self) -> float | None:
        """Share of the labelled messages the detector flags that are evidence; None when it flags none."""
        flagged = self.true_positive + self.false_positive
        return self.true_positive / flagged if flagged else None

    @property
    def recall(self) -> float | None:
        """Share of the labelled evidence the detector flags; None when no message is labelled evidence."""
        relevant = self.true_positive + self.false_negative
        return self.true_positive / relevant if relevant else None

    @property
    def kind_agreement(self) -> float | None:
        return self.kind_agree / self.true_positive if self.true_positive else None


def score(
    export: str, found: dict[tuple[str, str], list[str]] | None = None, part: str | None = None
) -> Score:
    """Score the detector on an export's labels, those of half `part` only when given: a labelled message
    counts as detected when the detector gives it any evidence row; kind agreement is counted over the
    messages both call evidence."""
    found = detected(export) if found is None else found
    if part is not None:
        found = {key: kinds for key, kinds in found.items() if half(export, *key) == part}
    labels = [x for x in load_labels(export) if part is None or half(export, x["channel"], x["ts"]) == part]
    result = Score(export, part, labelled=len(labels))
    texts = {(m["_channel"], m["ts"]): m.get("text") or "" for m in messages(export)}
    for label in labels:
        key = (label["channel"], label["ts"])
        kinds = found.get(key, [])
        if label["evidence"] and kinds:
            result.true_positive += 1
            result.right_by_kind[label["kind"]] += 1
            if label["kind"] in kinds:
                result.kind_agree += 1
            else:
                result.disagreements.append(
                    {**label, "detector": kinds, "issue": "kind", "text": texts.get(key)}
                )
        elif label["evidence"]:
            result.false_negative += 1
            result.disagreements.append(
                {**label, "detector": None, "issue": "missed", "text": texts.get(key)}
            )
        elif kinds:
            result.false_positive += 1
            result.disagreements.append(
                {**label, "detector": kinds, "issue": "false alarm", "text": texts.get(key)}
            )
    labelled = {(label["channel"], label["ts"]) for label in labels}
    result.unlabelled_detections = sum(1 for key in found if key not in labelled)
    return result


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _report(s: Score, texts: bool) -> str:
    """Give a score's summary line, then each disagreement with its text (`texts`) or counts by kind."""
    lines = [
        f"{s.export} [{s.half or 'both halves'}]: {s.labelled} labelled, "
        f"detector tp={s.true_positive} fp={s.false_positive} "
        f"fn={s.false_negative}; precision {_figure(s.precision)}, recall {_figure(s.recall)}, "
        f"kind agreement {_figure(s.kind_agreement)} ({s.kind_agree}/{s.true_positive}); "
        f"{s.unlabelled_detections} detections on unlabelled messages",
    ]
    if not texts:
        return "\n".join([*lines, *_counts_by_kind(s)])
    for d in s.disagreements:
        text = " ".join((d["text"] or "").split())[:110]
        lines.append(
            f"  {d['issue']:<11} {d['channel']}/{d['ts']} label={d['kind'] if d['evidence'] else 'none'} "
            f"detector={','.join(d['detector'] or ['none'])} | {text}"
        )
    return "\n".join(lines)


def _counts_by_kind(s: Score) -> list[str]:
    """Give a score's right and missed evidence per label kind and its false alarms per detector kind."""
    missed = Counter(d["kind"] for d in s.disagreements if d["issue"] == "missed")
    false = Counter(k for d in s.disagreements if d["issue"] == "false alarm" for k in d["detector"])
    rows = [
        f"  {k:<14} right={s.right_by_kind[k]} missed={missed[k]}" for k in sorted(s.right_by_kind | missed)
    ]
    return [*rows, *(f"  false alarm as {k}: {n}" for k, n in sorted(false.items()))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["select", "score"])
    parser.add_argument(
        "exports", nargs="*", metavar="EXPORT", help=f"one of {', '.join(EXPORTS)} (default: both)"
    )
    args = parser.parse_args(argv)
    if unknown := set(args.exports) - set(EXPORTS):
        parser.error(f"unknown export(s): {', '.join(sorted(unknown))}")
    for export in args.exports or EXPORTS:
        if args.command == "select":
            for row in select(export):
                print(json.dumps(row, ensure_ascii=False))
        else:
            found = detected(export)
            print(_report(score(export, found), texts=False))
            for part in HALVES:
                print(_report(score(export, found, part), texts=part == "tune"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
