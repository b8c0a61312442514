"""RE2 patterns (DuckDB's regex engine) and the SQL expressions built from them.

Patterns are inlined as SQL literals rather than bound as parameters so DuckDB compiles each one once
per query instead of once per row.
"""

from __future__ import annotations

from core.sql import lit

# Characters that can appear inside a URL as Slack and JSON carry it (Slack wraps links as <url|label>).
_URL_CHARS = r"""[^\s<>|"'\\]"""

_HOST = r"(?:[a-z0-9-]+\.)*"
_ZOOM = rf"{_HOST}zoom(?:gov)?\.(?:us|com)"
_WEBEX_SITE = r"((?:[a-z0-9-]+\.)*[a-z0-9-]+)\.webex\.com"

# Every host form of a video-call join link, as (form, canonical key). Group 1 of a form is the meeting id
# (Webex: 1 the site, 2 the meeting); the key is an https URL naming provider and meeting only, so
# `us02web.zoom.us/j/1?pwd=x`, `acme.zoom.us/j/1` and `zoommtg://zoom.us/join?confno=1` are one meeting.
# Recordings and shares (zoom.us/rec/..., zoom.us/s/...) have no form here by design.
JOIN_FORMS: tuple[tuple[str, str], ...] = (
    (r"meet\.google\.com/([a-z]{3}-[a-z]{4}-[a-z]{3})\b", "'https://meet.google.com/' || lower({1})"),
    (rf"{_ZOOM}/(?:j|w|wc/join|wc)/([0-9]{{6,}})", "'https://zoom.us/j/' || {1}"),
    (
        rf"zoommtg://{_ZOOM}/join\?{_URL_CHARS}*?confno=([0-9]{{6,}})",
        "'https://zoom.us/j/' || {1}",
    ),
    (rf"{_ZOOM}/my/([a-z0-9._-]+)", "'https://zoom.us/my/' || lower(rtrim({1}, '.'))"),
    (
        r"""teams\.microsoft\.com/l/meetup-join/([^\s<>|"'\\/?#]+)""",
        # the thread id, percent-decoded where it matters (`19%3ameeting_x%40thread.v2`)
        "'https://teams.microsoft.com/l/meetup-join/'"
        " || replace(replace(lower({1}), '%3a', ':'), '%40', '@')",
    ),
    (r"teams\.microsoft\.com/meet/([0-9]+)", "'https://teams.microsoft.com/meet/' || {1}"),
    (r"teams\.live\.com/meet/([a-z0-9]+)", "'https://teams.live.com/meet/' || lower({1})"),
    (
        rf"{_WEBEX_SITE}/(?:meet|join)/([a-z0-9._-]+)",
        "'https://' || lower({1}) || '.webex.com/meet/' || lower(rtrim({2}, '.'))",
    ),
    (
        rf"{_WEBEX_SITE}/(?:[a-z0-9-]+/)?j\.php\?(?:{_URL_CHARS}*?&(?:amp;)?)?MTID=([a-z0-9]+)",
        "'https://' || lower({1}) || '.webex.com/j.php?MTID=' || lower({2})",
    ),
)

# Video-call join links in any of their forms (Slack's <url|label> wrapping stops at `|` and `>`).
JOIN_LINK = r"(?i)(?:https?://)?(?:" + "|".join(form for form, _ in JOIN_FORMS) + ")"

# Google Drive / Docs links in all their forms; group 1 is the file id.
DRIVE_LINK = (
    r"(?:docs\.google\.com/(?:a/[a-z0-9.-]+/)?(?:document|spreadsheets|presentation|forms|drawings|file)/d/"
    r"|drive\.google\.com/(?:a/[a-z0-9.-]+/)?(?:file/d/|drive/(?:u/[0-9]+/)?folders/"
    rf"|(?:open|uc)\?(?:{_URL_CHARS}*?&(?:amp;)?)?id=))"
    r"([A-Za-z0-9_-]{10,})"
)

# A Google Calendar event link; group 1 is the eid (urlsafe base64 of "<event id> <calendar email>").
EVENT_LINK = rf"calendar/(?:u/[0-9]+/)?(?:r/)?event\?(?:{_URL_CHARS}*?&(?:amp;)?)?eid=([A-Za-z0-9_-]+)"

# An event page of an event site whose path names its organiser and the event, the way a join link names
# its provider and meeting: group 1 is the organiser (a meetup group), group 2 the event id. The host and the
# path's shape are structure; which organiser is the workspace's own comes from how often its pages recur.
EVENT_PAGE = r"(?i)meetup\.com/(?:[a-z]{2}-[a-z]{2}/)?([a-z0-9_-]+)/events/([0-9]{6,})"
# An organiser with at least this many distinct event pages posted in a channel holds that channel's meetings;
# one posted once is another organisation's gathering, shared.
OWN_ORGANISER_EVENTS = 2
# A person's posts this close to their own post of such an event page announce it with them (the exports of
# workspaces without threads carry an announcement as a burst of posts by its author).
ANNOUNCEMENT_SECONDS = 300

_DAYS = r"(?:tomorrow|next week|monday|tuesday|wednesday|thursday|friday|later|earlier)"
_SHIFT = (
    r"(?:back |up )?(?:by )?(?:an hour|half an hour|a day|(?:two|three) hours"
    r"|\d+\s*(?:min|mins|minutes|hours?|h)\b"
    rf"|to (?:{_DAYS}|\d|noon|the afternoon|the morning)|{_DAYS}|\d{{1,2}}(?::\d\d)?\s*(?:am|pm))"
)

# Coordination language, one pattern per evidence kind (case-insensitive unless marked). Tuned on half `a`
# of the generator's phrase banks only (half `b` is held out to measure them); a fragment no half-a phrase
# uses stays only when it is the kind's own word (its inflections, a heading) or hand-labelled real
# messages use it. Wording only adjusts: thread shape, links and timing carry most of the detection.
LANGUAGE: dict[str, str] = {
    "agenda": (
        # "agenda" as a heading or with "items" is the kind's own word
        r"(?i)\bagenda\s+(?:for|of)\b|\bagenda\s*(?::|\n|$)|^\s*agenda\b|\bagenda items?\b"
        r"|\blet'?s cover\b|\btopics for\b|\bprep for\b[^\n]{0,300}?\bbefore we start\b"
        r"|\bthings to cover\b"
    ),
    "joining": (
        r"(?i)\b(?:joining|jumping on|hopping on|dialing in|dialling in)"
        r"(?:\s+(?:now|in (?:a |\d)|shortly|from|the (?:call|meeting|zoom|meet|huddle|sync))\b|\s*<?https?://|\s*$)"
        r"|\brunning (?:\d+\s*(?:m|min|mins|minutes)\s+"
        r"|a (?:few|bit|couple)(?: of)?(?: min| mins| minutes)?\s+)?"
        r"late\b"
        # on the way to a meeting: hand-labelled real messages use both
        r"|\b(?:be|i'?m|i am) (?:there|on) in (?:\d+|a few|five|ten|two)\b|\bon my way\b"
        r"|\bstarting (?:now|in \d+ ?(?:m|min|mins|minutes)\b)|\bstarting [^.?!\n]{1,60}? now\b"
        r"|\bwhere is every(?:one|body)\b|\bi'?m in the (?:room|call|meeting)\b"
        r"|\bomw\b|\b\d+ ?(?:m|min|mins|minutes) late\b"
    ),
    "during": (
        r"(?i)\b(?:see|share|sharing) my screen\b|\bsharing the (?:deck|slides|doc)\b|\bbrb\b"
        r"|\bis the recording on\b|\+1 to what\b"
    ),
    "recap": (
        # a meeting's "minutes" are the common word for its written record
        r"(?i)\brecap\b|\bnotes from (?:the |today'?s |yesterday'?s |our |this )"
        r"|\bminutes (?:from|of) (?:the |today'?s |yesterday'?s |our )|\bsummary of\b"
        r"|\bwrap-?up (?:from|of)\b"
    ),
    "action_items": (
        r"(?i:\baction items?\b|\bnext steps\s*:|\bfollow[- ]ups?\s*(?::|from\b)|\btodos? from\b"
        r"|\bowners (?:from|of)\b)"
        # "AI: <@U1> to send the deck": upper case only, so "ai:" chatter stays out
        r"|(?:^|\s)AIs?(?::|\s*\n)"
    ),
    "reschedule": (
        # the kind's own words, every inflection of the moving verbs, and plain amounts of time
        r"(?i)\breschedul|\bpostpon"
        r"|\b(?:push|pushing|move|moving|bump|bumping) (?:the |our |today'?s |tomorrow'?s |this week'?s )?"
        rf"[^.?!\n]{{1,60}}? {_SHIFT}"
        rf"|\b(?:moved|pushed|bumped) {_SHIFT}"
    ),
    "cancellation": (
        # "cancel" in every inflection is the kind's own word
        r"(?i)\bcancel(?:l?ing|l?ed)? "
        r"(?:today'?s|tomorrow'?s|this week'?s|this morning'?s|this afternoon'?s)\s"
        r"|\bcancel(?:l?ing|l?ed)? (?:the|our) [^.?!\n]{0,50}?\b(?:sync|meeting|call|standup|stand-up|1:1"
        r"|review|session|check-?in|retro|demo|planning|catch-?up|interview|workshop|kick-?off)\b"
        r"|\bis cancel+ed\b|\bhas been cancel+ed\b"
        r"|\bcall(?:ing|ed)? off\b"
        r"|\bskip(?:ping)? [^.?!\n]{1,50}? (?:today|this week|tomorrow)\b"
        r"|\bskip(?:ping)? (?:today'?s|this week'?s|tomorrow'?s)\s"
    ),
    "call_request": (
        r"(?i)\b(?:quick|short|brief) (?:call|chat|sync|zoom)\b"
        r"|\b(?:hop|jump) on a (?:quick |short )?(?:call|zoom|meet)\b|\bhuddle or zoom\b"
        r"|\b(?:can|could) we (?:talk|chat|call|hop on|jump on)\b"
        r"|\bcall\?|\bfree for a (?:quick )?call\b"
        r"|\bgrab you for\b"
    ),
}

# A join link said to be for another day: it names no call happening now (lowers an ad hoc call's score).
# "tmrw" is the common short spelling of the word.
LATER = r"(?i)\b(?:tomorrow|tmrw|next week)\b"

# A Slack mention (`<@U123>` or `<@U123|name>`); group 1 is the user id.
MENTION = r"<@([A-Z0-9]+)(?:\|[^>]*)?>"

# Language that looks like coordination but is not (checked before LANGUAGE; links and huddles still count).
HARD_NEGATIVE = (
    r"(?i)\bcould have been an? (?:email|e-mail|message|slack|doc)\b|\bprojector\b"
    r"|\bshould we (?:meet|sync)\b"
    r"|\b(?:push(?:ing|ed|es)?|mov(?:e|es|ed|ing)|bump(?:ing|ed|s)?) (?:the |a |my |our |this )?"
    r"(?:fix|commit|branch|code|build|changes?"
    r"|pr|patch|release|deploy|hotfix|image|tag|config|migration|dashboard|report|doc|sheet|forecast|contract"
    r"|ticket|tests?|staging|ci)\b|\brecap of q[1-4]\b"
    r"|\bskip(?:ping)? (?:the )?[^.?!\n]{0,30}?\b(?:checks?|tests?|ci|lint|builds?|hooks?)\b"
    r"|\bscreen ?recording\b"
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
    """SQL giving the canonical key of a join link `m` (from `join_match_sql`), or NULL when `m` is ''.

    The key is `https://` + the provider's host + the meeting id: query strings (passcodes, `authuser`),
    company and data-centre subdomains and app schemes drop out. Meet codes and names are case-insensitive.
    """
    cases = []
    for form, key in JOIN_FORMS:
        pattern = lit(f"(?i){form}")
        groups = {n: f"regexp_extract({m}, {pattern}, {n})" for n in (1, 2)}
        cases.append(f"WHEN regexp_matches({m}, {pattern}) THEN {key.format(None, *groups.values())}")
    return f"CASE WHEN coalesce({m}, '') = '' THEN NULL {' '.join(cases)} END"


def drive_ids_sql(expr: str) -> str:
    """SQL giving the sorted distinct Drive file ids linked from `expr`."""
    return f"list_sort(list_distinct(regexp_extract_all({expr}, {lit(DRIVE_LINK)}, 1)))"


def eid_event_sql(eid_expr: str) -> str:
    """SQL decoding an eid (urlsafe base64, padding optional) to its event id; NULL if it does not decode."""
    b64 = f"replace(replace({eid_expr}, '-', '+'), '_', '/')"
    padded = f"rpad({b64}, CAST(ceil(length({b64}) / 4.0) * 4 AS INTEGER), '=')"
    return f"nullif(split_part(try(decode(from_base64({padded}))), ' ', 1), '')"
