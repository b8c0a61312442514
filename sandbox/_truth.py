"""truth.json: who is who, every meeting with its evidence, the non-meeting events, and the noise.

Entries are serialised as each day is finished, so the collector holds compact strings, not
message dicts; large runs leave the noise listing out (`"noise_messages": null`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TextIO

from ._common import dumps, utc_z
from ._events import Event
from ._org import Org
from ._slack import Meeting, SlackDay

NOISE_LISTING_LIMIT = 20_000  # people*days above which noise_messages is written as null


class Truth:
    """Accumulates truth entries day by day and writes truth.json at the end."""

    def __init__(self, list_noise: bool) -> None:
        self.list_noise = list_noise
        self.meetings: list[str] = []
        self.not_meetings: list[str] = []
        self.noise: list[str] = []
        self.hard: list[str] = []

    def add_day(self, events: list[Event], meetings: list[Meeting], day: SlackDay) -> None:
        """Record a finished day: its meetings (keys continue from earlier days), non-meetings and noise."""
        for m in meetings:
            self.meetings.append(dumps(_meeting_entry(m, f"m-{len(self.meetings) + 1:06d}")))
        self.not_meetings += [
            dumps({"calendar_event_id": e.id, "reason": e.kind}) for e in events if not e.is_meeting
        ]
        if self.list_noise:
            self.noise += [dumps({"channel_id": c, "ts": ts}) for c, ts in day.noise]
        self.hard += [dumps({"channel_id": c, "ts": ts, "why": why}) for c, ts, why in day.hard]

    def write(self, path: Path, header: dict[str, object], org: Org) -> None:
        """Write truth.json: one JSON object, one entry per line in the long lists."""
        people = [dumps(p) for p in people_entries(org)]
        emails = {p.slack_id: p.email for p in org.people if p.slack_id}
        emails.update({e.slack_id: e.email for e in org.externals if e.slack_id})
        with open(path, "w", encoding="utf-8") as f:
            f.write("{")
            for key, value in header.items():
                f.write(f'"{key}":{dumps(value)},\n')
            _list(f, "people", people)
            f.write(f'"slack_user_emails":{dumps(emails)},\n')
            _list(f, "meetings", self.meetings)
            _list(f, "not_meetings", self.not_meetings)
            if self.list_noise:
                _list(f, "noise_messages", self.noise)
            else:
                f.write('"noise_messages":null,\n')
            _list(f, "hard_negatives", self.hard, last=True)
            f.write("}\n")


def _list(f: TextIO, key: str, entries: list[str], last: bool = False) -> None:
    """Write `"key":[...]` with one entry per line."""
    body = ",\n".join(entries)
    f.write(f'"{key}":[\n{body}\n]' + ("\n" if last else ",\n"))


def _meeting_entry(m: Meeting, key: str) -> dict[str, object]:
    """Give the truth.json entry of a meeting."""
    origin = "slack" if m.calendar_event_id is None else ("calendar+slack" if m.evidence else "calendar")
    return {
        "key": key,
        "calendar_event_id": m.calendar_event_id,
        "origin": origin,
        "status": m.status,
        "kind": m.kind,
        "title": m.title,
        "start": utc_z(m.start),
        "end": utc_z(m.end),
        "participants": m.participants,
        "slack_evidence": [{"channel_id": c, "ts": ts, "kind": k, "role": r} for c, ts, k, r in m.evidence],
        "documents": m.documents,
    }


def people_entries(org: Org) -> list[dict[str, object]]:
    """Give the people list: employees (with their identity quirk) and external contacts."""
    out: list[dict[str, object]] = [
        {
            "email": p.email,
            "slack_user_id": p.slack_id,
            "name": p.full_name,
            "department": p.department,
            "internal": True,
            "aliases": list(p.aliases),
            "other_emails": list(p.other_emails),
            "non_editable_aliases": list(p.non_editable_aliases),
            "slack_email": p.slack_email,
            "quirk": p.quirk,
            "deactivated": p.suspended,
        }
        for p in org.people
    ]
    out += [
        {
            "email": e.email,
            "slack_user_id": e.slack_id,
            "name": e.name,
            "department": None,
            "internal": False,
            "aliases": [],
            "other_emails": [],
            "non_editable_aliases": [],
            "slack_email": e.email if e.slack_id else None,
            "quirk": None,
            "deactivated": False,
        }
        for e in org.externals
    ]
    return out
