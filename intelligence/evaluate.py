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

Every mistake behind a figure is listed as a `Miss`: the message, event, meeting or Slack user, what the
truth says, what the pipeline said ('nothing' when it made nothing) and the reason it gave.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb

from core.errors import DataError
from core.sql import has_table, require_columns
from intelligence.models import (
    EVIDENCE,
    MEETING_EVIDENCE,
    MEETINGS,
    PEOPLE,
    CalendarScore,
    Evaluation,
    Miss,
    PeopleScore,
    Rates,
)

# A huddle or call counts as the same meeting when the spans overlap, give or take this much.
SLACK_SLACK_MINUTES = 5
# A message's text in a miss is cut to this many characters.
TEXT_WIDTH = 120
# Reasons quoted per meeting or message in a miss.
REASONS_SHOWN = 4

Key = tuple[str, str]  # (channel_id, ts)
# Escape sequences (with their parameters) and control characters: message text must not steer a terminal.
_CONTROL = re.compile(
    r"\x1b(?:\[[0-?]*[ -/]*[@-~]?|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?"  # CSI, OSC, other escapes
    r"|[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"  # C0, DEL, C1, bidirectional overrides
)


@dataclass(frozen=True)
class _State:
    """What the pipeline wrote, read once: meetings, links, raw evidence, message texts, names."""

    meetings: dict[str, dict[str, Any]]  # meeting_id -> event, status, span, channels, title, kind, reasons
    links: dict[Key, str]  # message -> the meeting it was linked to
    link_info: dict[Key, tuple[str | None, str | None, list[str]]]  # message -> kind, role, reasons
    evidence: dict[Key, list[tuple[str | None, str | None, str | None]]]  # message -> kind, role, matched
    texts: dict[Key, str]
    channels: dict[str, str]  # channel id -> name


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
    state = _read_state(con)
    true_ev = {(e["channel_id"], e["ts"]): (e, m) for m in truth["meetings"] for e in m["slack_evidence"]}
    owner = {key: m for key, (_, m) in true_ev.items()}
    misses: list[Miss] = []
    generator = truth["generator"]
    detection = _rates(set(state.links), set(owner))
    misses += _detection_misses(state, true_ev, truth)
    correct, total, wrong = _correlation(state, true_ev)
    misses += wrong
    calendar, calendar_misses = _calendar(state, truth)
    slack, slack_misses = _slack_meetings(state, owner, truth)
    people, people_misses = _people(con, truth)
    return Evaluation(
        profile=str(generator.get("profile", "standard")),
        seed=int(generator["seed"]),
        people_count=int(generator["people"]),
        days=int(generator["days"]),
        detection=detection,
        detector=_rates(set(state.evidence), set(owner)),
        correlation_correct=correct,
        correlation_total=total,
        correlation_accuracy=_ratio(correct, total),
        calendar=calendar,
        slack_meetings=slack,
        people=people,
        misses=misses + calendar_misses + slack_misses + people_misses,
    )


def _check_truth(truth: Mapping[str, Any]) -> None:
    """Raise DataError when `truth` lacks a block the evaluation needs."""
    missing = [k for k in ("generator", "meetings", "not_meetings", "slack_user_emails") if k not in truth]
    if missing:
        raise DataError(
            f"truth.json lacks {', '.join(missing)}",
            "pass the truth.json the sandbox generator wrote next to the workspace",
        )


def _read_state(con: duckdb.DuckDBPyConnection) -> _State:
    """Give the pipeline's meetings, links and evidence, with the texts and channel names misses quote."""
    links, link_info = {}, {}
    for m, c, t, kind, role, reasons in con.execute(
        "SELECT meeting_id, channel_id, ts, kind, role, reasons FROM meeting_evidence ORDER BY ALL"
    ).fetchall():
        links[(c, t)] = m
        link_info[(c, t)] = (kind, role, list(reasons or []))
    evidence: dict[Key, list[tuple[str | None, str | None, str | None]]] = {}
    for c, t, kind, role, matched in con.execute(
        "SELECT channel_id, ts, kind, role, matched FROM evidence ORDER BY ALL"
    ).fetchall():
        evidence.setdefault((c, t), []).append((kind, role, matched))
    return _State(_meetings(con), links, link_info, evidence, _texts(con), _channel_names(con))


def _meetings(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, Any]]:
    """Give every reported meeting by id with its event id, status, span (epoch seconds) and channels."""
    rows = con.execute(
        """SELECT meeting_id, calendar_event_id, status, epoch(start), epoch("end"), channel_ids,
                  title, kind, reasons
           FROM meetings ORDER BY meeting_id"""
    ).fetchall()
    return {
        r[0]: {
            "event": r[1],
            "status": r[2],
            "start": r[3],
            "end": r[4],
            "channels": list(r[5] or []),
            "title": r[6],
            "kind": r[7],
            "reasons": list(r[8] or []),
        }
        for r in rows
    }


def _texts(con: duckdb.DuckDBPyConnection) -> dict[Key, str]:
    """Give each stored Slack message's text (none when the state holds no messages table)."""
    if not has_table(con, "slack_messages"):
        return {}
    rows = con.execute("SELECT channel_id, ts, text FROM slack_messages").fetchall()
    return {(c, t): text or "" for c, t, text in rows}


def _channel_names(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Give each stored channel's name by id (none when the state holds no channels table)."""
    if not has_table(con, "slack_channels"):
        return {}
    return {c: n for c, n in con.execute("SELECT channel_id, name FROM slack_channels").fetchall() if n}


def _ratio(num: int, den: int) -> float:
    """Give num / den rounded to four places, 1.0 when there is nothing to divide."""
    return round(num / den, 4) if den else 1.0


def _rates(predicted: set[Key], expected: set[Key]) -> Rates:
    """Give precision, recall and F1 of `predicted` against `expected`."""
    tp, fp, fn = len(predicted & expected), len(predicted - expected), len(expected - predicted)
    return _rates_of(tp, fp, fn)


def _rates_of(tp: int, fp: int, fn: int) -> Rates:
    """Give the Rates of these counts."""
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = round(2 * precision * recall / (precision + recall), 4) if precision + recall else 0.0
    return Rates(tp=tp, fp=fp, fn=fn, precision=precision, recall=recall, f1=f1)


# ---- how misses read ----


def shorten(text: str, width: int = TEXT_WIDTH) -> str:
    """Give `text` on one line, escape sequences and control characters removed, cut to `width` with '…'."""
    flat = " ".join(_CONTROL.sub(" ", text).split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def _message(state: _State, key: Key) -> str:
    """Give a message as a miss names it: channel, ts and its text shortened."""
    channel, ts = key
    name = state.channels.get(channel)
    where = f"#{name} ({channel})" if name else channel
    return f'{where} {ts} "{shorten(state.texts.get(key, ""))}"'


def _when(iso: str | None) -> str:
    """Give a truth timestamp (2026-09-08T13:30:00Z) as '2026-09-08 13:30'."""
    return (iso or "?").replace("T", " ")[:16]


def _at(epoch: float | None) -> str:
    """Give an epoch second as '2026-09-08 13:30' (UTC)."""
    return "?" if epoch is None else datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


def _true_meeting(m: Mapping[str, Any]) -> str:
    """Give a truth meeting as a miss names it: key, title, and its event or kind."""
    where = f"event {m['calendar_event_id']}" if m.get("calendar_event_id") else m.get("kind") or "no event"
    return f'{m["key"]} "{m.get("title") or ""}" ({where}, {_when(m.get("start"))})'


def _reported(state: _State, meeting_id: str) -> str:
    """Give a reported meeting as a miss names it: id, title, status."""
    m = state.meetings.get(meeting_id, {})
    return f'{meeting_id} "{m.get("title") or ""}" ({m.get("status") or "?"})'


def _kind_role(kind: object, role: object) -> str:
    """Give 'kind (role)', '?' for what is unknown."""
    return f"{kind or '?'} ({role or '?'})"


def _said(state: _State, key: Key) -> str:
    """Give what the pipeline made of a message: linked to a meeting, detected only, or nothing."""
    if key in state.links:
        kind, role, _ = state.link_info[key]
        return f"{_kind_role(kind, role)} linked to {_reported(state, state.links[key])}"
    if key in state.evidence:
        found = ", ".join(_kind_role(k, r) for k, r, _ in state.evidence[key])
        return f"evidence {found}, linked to no meeting"
    return "nothing"


def _why(state: _State, key: Key) -> str:
    """Give the reason the pipeline gave for a message: what matched, and the link's reasons."""
    parts = [f'matched "{shorten(m or "", 60)}"' for _, _, m in state.evidence.get(key, []) if m]
    reasons = state.link_info.get(key, (None, None, []))[2]
    if reasons:
        parts.append("reasons: " + "; ".join(reasons[:REASONS_SHOWN]))
    return ", ".join(parts) or "no rule matched"


def _meeting_why(state: _State, meeting_id: str) -> str:
    """Give the reasons a reported meeting carries."""
    reasons = state.meetings.get(meeting_id, {}).get("reasons") or []
    return "; ".join(reasons[:REASONS_SHOWN]) or "no reasons given"


def _message_miss(state: _State, key: Key, figure: str, what: str, truth: str) -> Miss:
    """Give the miss of one Slack message: the message, the truth, what the pipeline said and why."""
    return Miss(
        figure=figure,
        what=what,
        subject=_message(state, key),
        truth=truth,
        pipeline=_said(state, key),
        reason=_why(state, key),
    )


def _true_role(entry: Mapping[str, Any], meeting: Mapping[str, Any]) -> str:
    """Give what the truth says of an evidence message: its kind and role, and its meeting."""
    return f"{_kind_role(entry.get('kind'), entry.get('role'))} of {_true_meeting(meeting)}"


# ---- the figures and their misses ----


def _detection_misses(
    state: _State,
    true_ev: Mapping[Key, tuple[Mapping[str, Any], Mapping[str, Any]]],
    truth: Mapping[str, Any],
) -> list[Miss]:
    """Give a miss per true evidence message no meeting claimed, and per other message one did."""
    hard = {(h["channel_id"], h["ts"]): h.get("why") for h in truth.get("hard_negatives") or []}
    out = [
        _message_miss(state, key, "detection", "missed", _true_role(*true_ev[key]))
        for key in sorted(set(true_ev) - set(state.links))
    ]
    for key in sorted(set(state.links) - set(true_ev)):
        note = f" (hard negative: {hard[key]})" if hard.get(key) else ""
        out.append(_message_miss(state, key, "detection", "false positive", f"not meeting evidence{note}"))
    return out


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
    state: _State, true_ev: Mapping[Key, tuple[Mapping[str, Any], Mapping[str, Any]]]
) -> tuple[int, int, list[Miss]]:
    """Give how many linked true evidence messages went to the right meeting, of how many, and the rest."""
    wrong = []
    correct = total = 0
    for key in sorted(set(state.links) & set(true_ev)):
        total += 1
        if _right_meeting(key, true_ev[key][1], state.meetings[state.links[key]]):
            correct += 1
            continue
        wrong.append(_message_miss(state, key, "correlation", "wrong meeting", _true_role(*true_ev[key])))
    return correct, total, wrong


def _calendar(state: _State, truth: Mapping[str, Any]) -> tuple[CalendarScore, list[Miss]]:
    """Give the calendar-meeting figures: found once, nothing extra, right status, nothing held wrongly."""
    expected = {m["calendar_event_id"]: m for m in truth["meetings"] if m["calendar_event_id"]}
    not_meetings = {n["calendar_event_id"]: n["reason"] for n in truth["not_meetings"]}
    by_event: dict[str, list[str]] = {}
    for mid, m in state.meetings.items():
        if m["event"] is not None:
            by_event.setdefault(m["event"], []).append(mid)
    rows = [
        (state.meetings[mid]["event"], state.meetings[mid]["status"])
        for ids in by_event.values()
        for mid in ids
    ]
    found = {event for event in by_event if event in expected}
    held = {event for event, status in rows if status == "held"}
    status_errors = sorted(e for e, s in rows if e in expected and s != expected[e]["status"])
    score = CalendarScore(
        expected=len(expected),
        reported=len(rows),
        found=len(found),
        duplicates=sum(len(ids) - 1 for ids in by_event.values()),
        precision=_ratio(len(found), len(rows)),
        recall=_ratio(len(found), len(expected)),
        status_errors=len(status_errors),
        cancelled_as_held=sum(1 for e in held if e in expected and expected[e]["status"] == "cancelled"),
        not_meetings_as_held=sum(1 for e in held if e in not_meetings),
        focus_time_as_held=sum(1 for e in held if not_meetings.get(e) == "focus_time"),
    )
    return score, _calendar_misses(state, expected, not_meetings, by_event)


def _calendar_misses(
    state: _State,
    expected: Mapping[str, Mapping[str, Any]],
    not_meetings: Mapping[str, str],
    by_event: Mapping[str, list[str]],
) -> list[Miss]:
    """Give a miss per true event not reported, reported twice, reported though no meeting, or mis-stated."""
    out = [
        Miss(
            figure="calendar",
            what="missed",
            subject=f"event {event}",
            truth=f"{m['status']} meeting {_true_meeting(m)}",
            pipeline="nothing",
            reason="no meeting row carries the event id",
        )
        for event, m in sorted(expected.items())
        if event not in by_event
    ]
    for event, ids in sorted(by_event.items()):
        m = expected.get(event)
        subject = f"event {event}"
        if m is None:
            why = f"not a meeting ({not_meetings[event]})" if event in not_meetings else "no meeting"
            out += [_calendar_miss(state, "extra", subject, why, mid) for mid in ids]
            continue
        if len(ids) > 1:
            out.append(
                Miss(
                    figure="calendar",
                    what="duplicated",
                    subject=subject,
                    truth=f"one {m['status']} meeting {_true_meeting(m)}",
                    pipeline=f"{len(ids)} meetings: " + ", ".join(_reported(state, i) for i in ids),
                    reason=" | ".join(_meeting_why(state, i) for i in ids),
                )
            )
        for mid in ids:
            if state.meetings[mid]["status"] != m["status"]:
                truth_says = f"{m['status']} meeting {_true_meeting(m)}"
                out.append(_calendar_miss(state, "wrong status", subject, truth_says, mid))
    return out


def _calendar_miss(state: _State, what: str, subject: str, truth_says: str, meeting_id: str) -> Miss:
    """Give a calendar miss about one reported meeting."""
    return Miss(
        figure="calendar",
        what=what,
        subject=subject,
        truth=truth_says,
        pipeline=f"meeting {_reported(state, meeting_id)}",
        reason=_meeting_why(state, meeting_id),
    )


def _slack_meetings(
    state: _State, owner: Mapping[Key, Mapping[str, Any]], truth: Mapping[str, Any]
) -> tuple[Rates, list[Miss]]:
    """Give how well huddles and ad hoc calls were found: one reported meeting per true one."""
    votes: dict[str, Counter[str]] = {}
    for key, meeting_id in state.links.items():
        if state.meetings[meeting_id]["event"] is None:
            true = owner.get(key)
            votes.setdefault(meeting_id, Counter())[true["key"] if true else ""] += 1
    by_key = {m["key"]: m for m in truth["meetings"]}
    expected = {k for k, m in by_key.items() if not m["calendar_event_id"]}
    claimed: set[str] = set()
    misses = []
    for meeting_id in sorted(m for m, r in state.meetings.items() if r["event"] is None):
        ranked = sorted(votes.get(meeting_id, Counter()).items(), key=lambda kv: (-kv[1], kv[0]))
        best = ranked[0][0] if ranked else ""
        if best in expected and best not in claimed:
            claimed.add(best)
        else:
            misses.append(_extra_slack_meeting(state, meeting_id, best, by_key, claimed))
    extra = len(misses)
    misses += [_missed_slack_meeting(state, owner, by_key[k]) for k in sorted(expected - claimed)]
    return _rates_of(len(claimed), extra, len(expected - claimed)), misses


def _extra_slack_meeting(
    state: _State, meeting_id: str, best: str, by_key: Mapping[str, Mapping[str, Any]], claimed: set[str]
) -> Miss:
    """Give the miss of a reported huddle or call that claims no true one of its own."""
    m = state.meetings[meeting_id]
    if best in claimed:
        truth_says = f"a second report of {_true_meeting(by_key[best])}"
    elif best:
        truth_says = f"its messages belong to {_true_meeting(by_key[best])}"
    else:
        truth_says = "no meeting: none of its messages is meeting evidence"
    linked = sum(1 for mid in state.links.values() if mid == meeting_id)
    return Miss(
        figure="slack meetings",
        what="extra",
        subject=f'{meeting_id} "{m["title"] or ""}" ({m["kind"] or "?"}, {_at(m["start"])})',
        truth=truth_says,
        pipeline=f"{m['kind'] or 'meeting'} from {linked} linked messages",
        reason=_meeting_why(state, meeting_id),
    )


def _missed_slack_meeting(
    state: _State, owner: Mapping[Key, Mapping[str, Any]], m: Mapping[str, Any]
) -> Miss:
    """Give the miss of a true huddle or call no reported meeting claimed, saying where its messages went."""
    keys = sorted((e["channel_id"], e["ts"]) for e in m["slack_evidence"])
    went = Counter(state.links.get(k, "") for k in keys)
    said = [f"{n} linked to {_reported(state, mid)}" for mid, n in sorted(went.items()) if mid]
    said += [f"{went['']} linked to no meeting"] if went[""] else []
    first = keys[0] if keys else None
    return Miss(
        figure="slack meetings",
        what="missed",
        subject=_true_meeting(m),
        truth=f"{m.get('kind') or 'meeting'} with {len(keys)} evidence messages"
        + (f", the first {_message(state, first)}" if first else ""),
        pipeline="; ".join(said) or "nothing",
        reason=_why(state, first) if first else "no evidence messages",
    )


def _people(con: duckdb.DuckDBPyConnection, truth: Mapping[str, Any]) -> tuple[PeopleScore, list[Miss]]:
    """Give the share of Slack users whose person carries the primary email the truth gives."""
    rows = con.execute(
        """SELECT user_id, lower(email), person_id, match
           FROM (SELECT unnest(slack_user_ids) AS user_id, email, person_id, match FROM people)"""
    ).fetchall()
    mapped: dict[str, tuple[str | None, str, str | None]] = {u: (e, p, how) for u, e, p, how in rows}
    expected: dict[str, str] = truth["slack_user_emails"]
    listed = truth.get("people") or []
    by_user = {p["slack_user_id"]: p for p in listed if p.get("slack_user_id")}
    ambiguous = {u for u, p in by_user.items() if p.get("quirk") == "ambiguous_name"}
    primaries = {str(p["email"]).lower() for p in listed if p.get("internal")}
    wrong = sorted(
        u
        for u, e in expected.items()
        if (
            mapped.get(u, (None,))[0] in primaries
            if u in ambiguous
            else mapped.get(u, (None,))[0] != e.lower()
        )
    )
    score = PeopleScore(
        correct=len(expected) - len(wrong),
        total=len(expected),
        accuracy=_ratio(len(expected) - len(wrong), len(expected)),
    )
    shown, links = _slack_identities(con), _identity_links(con)
    misses = [
        _people_miss(u, expected[u], by_user.get(u, {}), mapped.get(u), shown.get(u), links.get(u, []))
        for u in wrong
    ]
    return score, misses


def _slack_identities(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Give each Slack user as the pipeline saw it: real name and profile email (or 'hidden')."""
    if not has_table(con, "slack_users"):
        return {}
    rows = con.execute("SELECT user_id, real_name, email FROM slack_users").fetchall()
    return {
        u: f'"{shorten(name or "", 60)}" <{shorten(email, 80) if email else "email hidden"}>'
        for u, name, email in rows
    }


def _identity_links(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Give, per Slack user id, how the identity links resolved it (matched_by and confidence)."""
    if not has_table(con, "identity_links"):
        return {}
    out: dict[str, list[str]] = {}
    for identity, how, conf in con.execute(
        "SELECT identity, matched_by, confidence FROM identity_links WHERE system = 'slack' ORDER BY ALL"
    ).fetchall():
        out.setdefault(identity, []).append(f"{how} ({conf:.2f})" if conf is not None else str(how))
    return out


def _people_miss(
    user: str,
    email: str,
    listed: Mapping[str, Any],
    mapped: tuple[str | None, str, str | None] | None,
    shown: str | None,
    links: list[str],
) -> Miss:
    """Give the miss of a Slack user mapped to the wrong person (or, for an ambiguous name, to anyone)."""
    quirk = listed.get("quirk")
    name = listed.get("name") or "?"
    if quirk == "ambiguous_name":
        truth_says = f"unmatched: {name} shares the full name with another directory person"
    else:
        truth_says = f"{email.lower()} ({name}" + (f", quirk {quirk})" if quirk else ")")
    if mapped is None:
        said = "no person"
    else:
        said = f"{mapped[1]} {mapped[0] or '(no email)'} (match {mapped[2] or '?'})"
    return Miss(
        figure="people",
        what="wrong person",
        subject=f"{user} {shown}" if shown else user,
        truth=truth_says,
        pipeline=said,
        reason="identity link: " + ", ".join(links) if links else "no identity link",
    )
