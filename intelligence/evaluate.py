"""Evaluation: a finished pipeline state scored against the generator's truth.json.

Definitions (docs and QUALITY.md quote them):

- **Detection.** A Slack message is a *true positive* when the truth lists it as evidence of a meeting
  (any meeting, any kind). It is *predicted positive* when the pipeline linked it to a meeting (a row of
  `meeting_evidence`): a message the detector flagged but no meeting claimed reaches no report, so it
  counts as predicted negative. `detector` scores the raw `evidence` table the same way, for diagnosis.
- **Correlation accuracy.** Of the true evidence messages that were linked, the share linked to the
  right meeting: for a calendar meeting, a meeting with the same calendar event id; for a huddle or ad
  hoc call, a meeting without an event id whose channels include the message's channel and whose time
  span overlaps the true one (within `SLACK_SLACK_MINUTES`).
- **Calendar meetings.** Reported rows with a calendar event id against the truth meetings with one.
  Precision is distinct true ids found / rows reported, so a duplicate or a non-meeting costs
  precision; recall is distinct true ids found / true ids. Violations count truth-cancelled events and
  truth non-meetings (focus time, out of office, solo, all day) that were reported as held.
- **Slack meetings.** Each reported meeting without an event id claims the truth meeting most of its
  linked messages belong to; the first claim of a true huddle or call is a hit, anything else a false
  positive, and true huddles and calls nobody claimed are misses.
- **People.** For every Slack user in `slack_user_emails`, the person whose `slack_user_ids` hold the user
  must have that email (case-insensitive) as `email`; a user whose truth person has the quirk
  `ambiguous_name` (a full name two directory people share, on an address the directory does not know)
  must instead stay unmatched: their person carries no directory primary email.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import duckdb

from core.errors import DataError
from core.sql import require_columns
from intelligence.models import (
    EVIDENCE,
    MEETING_EVIDENCE,
    MEETINGS,
    PEOPLE,
    CalendarScore,
    Evaluation,
    PeopleScore,
    Rates,
)

# A huddle or call counts as the same meeting when the spans overlap, give or take this much.
SLACK_SLACK_MINUTES = 5
# Mistakes kept per figure in `Evaluation.examples`.
EXAMPLES = 8

Key = tuple[str, str]  # (channel_id, ts)


def evaluate(con: duckdb.DuckDBPyConnection, truth: Mapping[str, Any]) -> Evaluation:
    """Give the detection, correlation, calendar, ad hoc and people figures of the state on `con`."""
    for table, schema in (
        ("evidence", EVIDENCE),
        ("meetings", MEETINGS),
        ("meeting_evidence", MEETING_EVIDENCE),
        ("people", PEOPLE),
    ):
        require_columns(con, table, schema)
    _check_truth(truth)
    meetings = _meetings(con)
    links = {
        (c, t): m
        for m, c, t in con.execute("SELECT meeting_id, channel_id, ts FROM meeting_evidence").fetchall()
    }
    detected = {(c, t) for c, t in con.execute("SELECT channel_id, ts FROM evidence").fetchall()}
    owner = {(e["channel_id"], e["ts"]): m for m in truth["meetings"] for e in m["slack_evidence"]}
    examples: dict[str, list[str]] = {}
    generator = truth["generator"]
    correct, total = _correlation(links, owner, meetings, examples)
    return Evaluation(
        profile=str(generator.get("profile", "standard")),
        seed=int(generator["seed"]),
        people_count=int(generator["people"]),
        days=int(generator["days"]),
        detection=_rates(set(links), set(owner), examples, "detection"),
        detector=_rates(detected, set(owner), examples, "detector"),
        correlation_correct=correct,
        correlation_total=total,
        correlation_accuracy=_ratio(correct, total),
        calendar=_calendar(meetings, truth, examples),
        slack_meetings=_slack_meetings(links, owner, meetings, truth, examples),
        people=_people(con, truth, examples),
        examples=examples,
    )


def _check_truth(truth: Mapping[str, Any]) -> None:
    """Raise DataError when `truth` lacks a block the evaluation needs."""
    missing = [k for k in ("generator", "meetings", "not_meetings", "slack_user_emails") if k not in truth]
    if missing:
        raise DataError(
            f"truth.json lacks {', '.join(missing)}",
            "pass the truth.json the sandbox generator wrote next to the workspace",
        )


def _meetings(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Give every reported meeting by id with its event id, status, span (epoch seconds) and channels."""
    rows = con.execute(
        """SELECT meeting_id, calendar_event_id, status, epoch(start), epoch("end"), channel_ids
           FROM meetings ORDER BY meeting_id"""
    ).fetchall()
    return {
        r[0]: {"event": r[1], "status": r[2], "start": r[3], "end": r[4], "channels": list(r[5] or [])}
        for r in rows
    }


def _ratio(num: int, den: int) -> float:
    """Give num / den rounded to four places, 1.0 when there is nothing to divide."""
    return round(num / den, 4) if den else 1.0


def _rates(predicted: set[Key], expected: set[Key], examples: dict[str, list[str]], name: str) -> Rates:
    """Give precision, recall and F1 of `predicted` against `expected`, noting a few mistakes."""
    tp, fp, fn = len(predicted & expected), len(predicted - expected), len(expected - predicted)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    _note(examples, f"{name} false positives", [f"{c} {t}" for c, t in sorted(predicted - expected)])
    _note(examples, f"{name} misses", [f"{c} {t}" for c, t in sorted(expected - predicted)])
    return Rates(tp=tp, fp=fp, fn=fn, precision=precision, recall=recall, f1=f1)


def _note(examples: dict[str, list[str]], key: str, items: list[str]) -> None:
    """Keep the first few `items` under `key` when there are any."""
    if items:
        examples[key] = items[:EXAMPLES]


def _epoch(iso: str) -> float:
    """Give the epoch seconds of a truth timestamp such as 2026-09-08T13:30:00Z."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _right_meeting(key: Key, true: Mapping[str, Any], reported: Mapping[str, Any]) -> bool:
    """Give whether `reported` is the meeting the truth says message `key` belongs to."""
    if true["calendar_event_id"]:
        return bool(reported["event"] == true["calendar_event_id"])
    if reported["event"] is not None or key[0] not in reported["channels"]:
        return False
    slack = SLACK_SLACK_MINUTES * 60
    return bool(
        reported["start"] <= _epoch(true["end"]) + slack and _epoch(true["start"]) <= reported["end"] + slack
    )


def _correlation(
    links: Mapping[Key, str],
    owner: Mapping[Key, Mapping[str, Any]],
    meetings: Mapping[str, Mapping[str, Any]],
    examples: dict[str, list[str]],
) -> tuple[int, int]:
    """Give how many linked true evidence messages went to the right meeting, out of how many."""
    wrong = []
    correct = total = 0
    for key in sorted(set(links) & set(owner)):
        total += 1
        if _right_meeting(key, owner[key], meetings[links[key]]):
            correct += 1
        else:
            wrong.append(
                f"{key[0]} {key[1]}: truth {owner[key]['key']} ({owner[key]['title']}), got {links[key]}"
            )
    _note(examples, "correlation mistakes", wrong)
    return correct, total


def _calendar(
    meetings: Mapping[str, Mapping[str, Any]], truth: Mapping[str, Any], examples: dict[str, list[str]]
) -> CalendarScore:
    """Give the calendar-meeting figures: found once, nothing extra, right status, nothing held wrongly."""
    expected = {m["calendar_event_id"]: m["status"] for m in truth["meetings"] if m["calendar_event_id"]}
    not_meetings = {n["calendar_event_id"]: n["reason"] for n in truth["not_meetings"]}
    rows = [(m["event"], m["status"]) for m in meetings.values() if m["event"] is not None]
    counts = Counter(event for event, _ in rows)
    found = {event for event in counts if event in expected}
    held = {event for event, status in rows if status == "held"}
    status_errors = sorted(e for e, s in rows if e in expected and s != expected[e])
    wrongly_held = sorted(e for e in held if expected.get(e) == "cancelled" or e in not_meetings)
    _note(examples, "calendar duplicates", sorted(e for e, n in counts.items() if n > 1))
    _note(examples, "calendar extra", sorted(e for e in counts if e not in expected))
    _note(examples, "calendar missed", sorted(set(expected) - found))
    _note(examples, "calendar status errors", status_errors)
    _note(examples, "held but cancelled or not a meeting", wrongly_held)
    return CalendarScore(
        expected=len(expected),
        reported=len(rows),
        found=len(found),
        duplicates=sum(n - 1 for n in counts.values()),
        precision=_ratio(len(found), len(rows)),
        recall=_ratio(len(found), len(expected)),
        status_errors=len(status_errors),
        cancelled_as_held=sum(1 for e in held if expected.get(e) == "cancelled"),
        not_meetings_as_held=sum(1 for e in held if e in not_meetings),
        focus_time_as_held=sum(1 for e in held if not_meetings.get(e) == "focus_time"),
    )


def _slack_meetings(
    links: Mapping[Key, str],
    owner: Mapping[Key, Mapping[str, Any]],
    meetings: Mapping[str, Mapping[str, Any]],
    truth: Mapping[str, Any],
    examples: dict[str, list[str]],
) -> Rates:
    """Give how well huddles and ad hoc calls were found: one reported meeting per true one."""
    votes: dict[str, Counter[str]] = {}
    for key, meeting_id in links.items():
        if meetings[meeting_id]["event"] is None:
            true = owner.get(key)
            votes.setdefault(meeting_id, Counter())[true["key"] if true else ""] += 1
    expected = {m["key"] for m in truth["meetings"] if not m["calendar_event_id"]}
    claimed: set[str] = set()
    extra = []
    for meeting_id in sorted(m for m, r in meetings.items() if r["event"] is None):
        ranked = sorted(votes.get(meeting_id, Counter()).items(), key=lambda kv: (-kv[1], kv[0]))
        best = ranked[0][0] if ranked else ""
        if best in expected and best not in claimed:
            claimed.add(best)
        else:
            extra.append(meeting_id)
    tp, fp, fn = len(claimed), len(extra), len(expected - claimed)
    _note(examples, "slack meetings extra", extra)
    _note(examples, "slack meetings missed", sorted(expected - claimed))
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    return Rates(tp=tp, fp=fp, fn=fn, precision=precision, recall=recall, f1=f1)


def _people(
    con: duckdb.DuckDBPyConnection, truth: Mapping[str, Any], examples: dict[str, list[str]]
) -> PeopleScore:
    """Give the share of Slack users whose person carries the primary email the truth gives."""
    rows = con.execute(
        "SELECT user_id, lower(email) FROM (SELECT unnest(slack_user_ids) AS user_id, email FROM people)"
    ).fetchall()
    mapped: dict[str, str | None] = {u: e for u, e in rows}
    expected: dict[str, str] = truth["slack_user_emails"]
    listed = truth.get("people") or []
    ambiguous = {p["slack_user_id"] for p in listed if p.get("quirk") == "ambiguous_name"}
    primaries = {str(p["email"]).lower() for p in listed if p.get("internal")}
    wrong = sorted(
        u
        for u, e in expected.items()
        if (mapped.get(u) in primaries if u in ambiguous else mapped.get(u) != e.lower())
    )
    _note(examples, "people mistakes", [f"{u}: truth {expected[u]}, got {mapped.get(u)}" for u in wrong])
    return PeopleScore(
        correct=len(expected) - len(wrong),
        total=len(expected),
        accuracy=_ratio(len(expected) - len(wrong), len(expected)),
    )
