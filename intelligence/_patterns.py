"""RE2 patterns (DuckDB's regex engine) and the SQL expressions built from them.

Patterns are inlined as SQL literals rather than bound as parameters so DuckDB compiles each one once
per query instead of once per row.
"""

from __future__ import annotations

from core.sql import lit

# Characters that can appear inside a URL as Slack and JSON carry it (Slack wraps links as <url|label>).
_URL_CHARS = r"""[^\s<>|"'\\]"""

# Video-call join links. Recordings and shares (zoom.us/rec/..., zoom.us/s/...) do not match by design.
JOIN_LINK = (
    r"(?i)(?:https?://)?(?:[a-z0-9-]+\.)*(?:"
    r"meet\.google\.com/[a-z]{3}-[a-z]{4}-[a-z]{3}\b"
    r"|zoom\.us/(?:j|w|wc/join)/[0-9]{6,}"
    r"|zoom\.us/my/[a-z0-9._-]+"
    r"""|teams\.microsoft\.com/l/meetup-join/[^\s<>|"'\\?#]+"""
    r"|teams\.live\.com/meet/[a-z0-9]+"
    r"|webex\.com/meet/[a-z0-9._-]+"
    r"|webex\.com/(?:[a-z0-9-]+/)?j\.php\?MTID=[a-z0-9]+"
    r")"
)

# Google Drive / Docs links in all their forms; group 1 is the file id.
DRIVE_LINK = (
    r"(?:docs\.google\.com/(?:a/[a-z0-9.-]+/)?(?:document|spreadsheets|presentation|forms|drawings|file)/d/"
    r"|drive\.google\.com/(?:a/[a-z0-9.-]+/)?(?:file/d/|drive/(?:u/[0-9]+/)?folders/"
    rf"|(?:open|uc)\?(?:{_URL_CHARS}*?&(?:amp;)?)?id=))"
    r"([A-Za-z0-9_-]{10,})"
)

# A Google Calendar event link; group 1 is the eid (urlsafe base64 of "<event id> <calendar email>").
EVENT_LINK = rf"calendar/(?:u/[0-9]+/)?(?:r/)?event\?(?:{_URL_CHARS}*?&(?:amp;)?)?eid=([A-Za-z0-9_-]+)"

_DAYS = r"(?:tomorrow|next week|monday|tuesday|wednesday|thursday|friday|later|earlier)"
_SHIFT = (
    r"(?:back |up )?(?:by )?(?:an hour|half an hour|a day|(?:two|three) hours"
    r"|\d+\s*(?:min|mins|minutes|hours?|h)\b"
    rf"|to (?:{_DAYS}|\d|noon|the afternoon|the morning)|{_DAYS}|\d{{1,2}}(?::\d\d)?\s*(?:am|pm))"
)

# Coordination language, one pattern per evidence kind (case-insensitive unless marked).
LANGUAGE: dict[str, str] = {
    "agenda": (
        r"(?i)\bagenda\s+(?:for|of)\b|\bagenda\s*(?::|\n|$)|^\s*agenda\b|\bagenda items?\b"
        r"|\b(?:here'?s|here is|posting|draft|proposed|updated) (?:the |an |our |a )?agenda\b"
        r"|\blet'?s cover\b|\btopics for\b|\bprep for\b[^\n]{0,300}?\bbefore we start\b"
        r"|\bthings to cover\b|\btopics so far\b"
    ),
    "joining": (
        r"(?i)\b(?:joining|jumping on|hopping on|dialing in|dialling in)"
        r"(?:\s+(?:now|in (?:a |\d)|shortly|from|the (?:call|meeting|zoom|meet|huddle|sync))\b|\s*<?https?://|\s*$)"
        r"|\brunning (?:\d+\s*(?:m|min|mins|minutes)\s+"
        r"|a (?:few|bit|couple)(?: of)?(?: min| mins| minutes)?\s+)?"
        r"late\b|\b(?:be|i'?m|i am) (?:there|on) in (?:\d+|a few|five|ten|two)\b|\bon my way\b"
        r"|\bstarting (?:now|in \d+ ?(?:m|min|mins|minutes)\b)|\bstarting [^.?!\n]{1,60}? now\b"
        r"|\bwhere is every(?:one|body)\b|\bi'?m in the (?:room|call|meeting)\b|\badmit me\b|\bin the lobby\b"
        r"|\bomw\b|\b\d+ ?(?:m|min|mins|minutes) late\b"
    ),
    "during": (
        r"(?i)\b(?:see|share|sharing) my screen\b|\bsharing the (?:deck|slides|doc)\b|\baudio (?:dropped|cut)"
        r"|\byou'?re (?:on )?mute|\bcan you hear me\b|\bbrb\b|\brepeat the last\b|\bis the recording on\b"
        r"|\blagging\b|\bdropping the link we discussed\b|\bnotes are in\b|\+1 to what\b"
    ),
    "recap": (
        r"(?i)\brecap\b|\bnotes from (?:the |today'?s |yesterday'?s |our |this )"
        r"|\bminutes (?:from|of) (?:the |today'?s |yesterday'?s |our )|\bsummary of\b|\bnotes are up\b"
        r"|\btakeaways\b|\btl;?dr (?:of|from)\b|\bwrap-?up (?:from|of)\b"
    ),
    "action_items": (
        r"(?i:\baction items?\b|\bnext steps\s*:|\bfollow[- ]ups?\s*(?::|from\b)|\btodos? from\b"
        r"|\bowners (?:from|of)\b)"
        # "AI: <@U1> to send the deck": upper case only, so "ai:" chatter stays out
        r"|(?:^|\s)AIs?(?::|\s*\n)"
    ),
    "reschedule": (
        r"(?i)\breschedul|\bpostpon"
        r"|\b(?:push|pushing|move|moving|bump|bumping) (?:the |our |today'?s |tomorrow'?s |this week'?s )?"
        rf"[^.?!\n]{{1,60}}? {_SHIFT}"
        rf"|\b(?:moved|pushed|bumped) {_SHIFT}"
        rf"|\bis now (?:at |on )?{_SHIFT}"
    ),
    "cancellation": (
        r"(?i)\bcancel(?:l?ing|l?ed)? "
        r"(?:today'?s|tomorrow'?s|this week'?s|this morning'?s|this afternoon'?s)\s"
        r"|\bcancel(?:l?ing|l?ed)? (?:the|our) [^.?!\n]{0,50}?\b(?:sync|meeting|call|standup|stand-up|1:1"
        r"|review|session|check-?in|retro|demo|planning|catch-?up|interview|workshop|kick-?off)\b"
        r"|\bis cancel+ed\b|\bhas been cancel+ed\b"
        r"|\bcall(?:ing|ed)? off\b|\bwon'?t happen (?:today|this week)\b"
        r"|\bno [^.?!\n]{1,50}? (?:today|this week)\b"
        r"|\bskip(?:ping)? [^.?!\n]{1,50}? (?:today|this week|tomorrow)\b"
        r"|\bskip(?:ping)? (?:today'?s|this week'?s|tomorrow'?s)\s"
    ),
    "call_request": (
        r"(?i)\b(?:quick|short|brief) (?:call|chat|sync|zoom)\b"
        r"|\b(?:hop|jump) on a (?:quick |short )?(?:call|zoom|meet)\b|\bhuddle or zoom\b|\bzoom or huddle\b"
        r"|\b(?:can|could) we (?:talk|chat|call|hop on|jump on)\b"
        r"|\bgot (?:a )?(?:5|five|10|ten) (?:min|mins|minutes)\b"
        r"|\bcall\?|\bfree for a (?:quick )?call\b"
        r"|\b(?:5|five|10|ten) (?:min|mins|minutes) to (?:talk|chat)\b"
        r"|\bgrab you for\b"
    ),
}

# Language that looks like coordination but is not (checked before LANGUAGE; links and huddles still count).
HARD_NEGATIVE = (
    r"(?i)\bcould have been an? (?:email|e-mail|message|slack|doc)\b|\bprojector\b"
    r"|\bshould we (?:meet|sync)\b|\bhidden agenda\b"
    r"|\b(?:push(?:ing|ed|es)?|mov(?:e|es|ed|ing)|bump(?:ing|ed|s)?) (?:the |a |my |our |this )?"
    r"(?:fix|commit|branch|code|build|changes?"
    r"|pr|patch|release|deploy|hotfix|image|tag|config|migration|dashboard|report|doc|sheet|forecast|contract"
    r"|ticket|tests?|staging|ci)\b|\brunning late on\b|\brecap of q[1-4]\b"
    r"|\bset up a call\b"
    r"|\bskip(?:ping)? (?:the )?[^.?!\n]{0,30}?\b(?:checks?|tests?|ci|lint|builds?|hooks?)\b"
    r"|\b(?:i'?ll|i will|will|to|going to) recap\b|\bscreen ?recording\b"
    r"|\bstarting (?:the )?[^.?!\n]{0,30}?\b(?:rollout|deploy|migration|build|backfill|release)\b"
)


def inline_flags(pattern: str) -> str:
    """Give `pattern` with a leading (?i) turned into a scoped group, so patterns can be OR-ed."""
    return f"(?i:{pattern[4:]})" if pattern.startswith("(?i)") else f"(?:{pattern})"


# First pass over every message: one regex for every kind, so the detailed patterns only run on the
# few messages that can be evidence. Drive links are left out: alone they make no evidence.
PREFILTER = "|".join(inline_flags(p) for p in (*LANGUAGE.values(), JOIN_LINK, EVENT_LINK))

# Priority when a message matches several kinds: the most specific meaning wins.
LANGUAGE_PRIORITY = ("cancellation", "reschedule", "recap", "action_items", "agenda", "joining", "during")


def join_match_sql(expr: str) -> str:
    """SQL giving the first join link in `expr` as written, or '' when there is none."""
    return f"regexp_extract({expr}, {lit(JOIN_LINK)})"


def normalise_join_sql(m: str) -> str:
    """SQL normalising a join link `m` (from `join_match_sql`): https, lower-case host, path, no query.

    Meet codes are case-insensitive, so their path is lower-cased too; a Webex `j.php` link keeps its
    MTID because the path alone names no meeting.
    """
    path = f"regexp_extract({m}, '^(?:[A-Za-z]+://)?[^/]+(/[^?#]*)', 1)"
    return f"""CASE WHEN coalesce({m}, '') = '' THEN NULL ELSE
            'https://' || lower(regexp_extract({m}, '^(?:[A-Za-z]+://)?([^/?#]+)', 1))
            || CASE WHEN {m} ILIKE '%meet.google.com/%' THEN lower({path}) ELSE rtrim({path}, '/') END
            || CASE WHEN {m} ILIKE '%j.php?MTID=%'
                    THEN '?MTID=' || regexp_extract({m}, '(?i)MTID=([a-z0-9]+)', 1)
                    ELSE '' END
        END"""


def drive_ids_sql(expr: str) -> str:
    """SQL giving the sorted distinct Drive file ids linked from `expr`."""
    return f"list_sort(list_distinct(regexp_extract_all({expr}, {lit(DRIVE_LINK)}, 1)))"


def eid_event_sql(eid_expr: str) -> str:
    """SQL decoding an eid (urlsafe base64, padding optional) to its event id; NULL if it does not decode."""
    b64 = f"replace(replace({eid_expr}, '-', '+'), '_', '/')"
    padded = f"rpad({b64}, CAST(ceil(length({b64}) / 4.0) * 4 AS INTEGER), '=')"
    return f"nullif(split_part(try(decode(from_base64({padded}))), ' ', 1), '')"
