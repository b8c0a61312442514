"""Context evidence: meeting talk found by where and when it was posted, and by the org's own vocabulary.

A person's top-level message, in a channel most of a meeting's invitees share (or where its calendar
link or join link was posted), before that meeting of theirs, as it starts, while it runs or in the two
hours after it ends, is meeting talk when its words are words these people use in exactly those places
and times far more than at other times. The vocabulary is learnt from the org's own messages on every
run, never from a word list, so it follows the org's phrasing, whatever it is: no phrase pattern gates
these messages, and a word no rule knows counts as much as one it does.

Words are single words and pairs of neighbouring words; links, mentions and code are left out. A word's
lift, per phase, is the log of how much more often it appears in that phase's windows than in the same
people's posts in the same channels overall, leaving out the message being scored and shrunk toward the
base rate, so a word seen three times tells less than one seen thirty. A message's score is the mean of
its two strongest lifts; above the phase's threshold it becomes evidence of kind `agenda` (before the
meeting), `joining` (as it starts), `during` (while it runs) or `recap` (after it). Thresholds were tuned
on half `a` of the generator's phrasing only.

The org's calendar also gives words: a post by an invitee, in any channel, naming every word of a
meeting's title is about that meeting from hours before it (an agenda, or the announcement of its
cancellation or move) to two hours after it ends (a recap), whatever else it says. A post made as the
calendar cancelled or moved a meeting, naming half its title, announces that change. A person's reply
soon after an agenda or recap found here, in its thread, is part of it.

Invitees are the people the calendar invited (not those who declined), through their Slack accounts; a
Slack account people mapping could not tie to anyone stands in for an invitee of the same name who has
none of their own.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa

from collectors.models import CALENDAR_EVENTS, SLACK_CHANNELS, SLACK_MESSAGES, SLACK_USERS
from core.sql import ScratchSpace, fetch, ident, lit, require_columns, scratch
from intelligence import _calendar
from intelligence._people import SLACKBOT, stand_ins_sql
from intelligence.models import EVIDENCE, EVIDENCE_ROLES, PEOPLE

# Phases of a meeting in which a top-level message can be talk about it: (kind, from, to, which
# meetings), bounds as offsets in minutes from the meeting's start (`s`) or end (`e`); `which` is held or
# any. A post in windows of several phases (the first minutes of a meeting, which joining and during
# share; one meeting's end and the next one's start) is scored in each and takes the phase it passes by
# the widest margin.
PHASES: tuple[tuple[str, str, str, str], ...] = (
    ("during", "s+1", "e+0", "held"),
    ("joining", "s-5", "s+5", "held"),
    ("recap", "e+0", "e+120", "held"),
    ("agenda", "s-60", "s-5", "any"),
)
_WHICH = {"held": "status = 'held'", "any": "true"}
# Members of channels (direct messages left out): where meetings are discussed.
_PUBLIC_MEMBERS = """SELECT channel_id, unnest(members) AS user_id FROM slack_channels
                     WHERE NOT coalesce(is_im, false) AND NOT coalesce(is_mpim, false)"""
# A post by an invitee in the meeting's channel at most CHANGE_MINUTES after the calendar cancelled or
# moved the meeting, naming at least half of its title's words, announces that change (no vocabulary
# needed: the calendar gives the time and the title).
CHANGE_MINUTES = 10
# A post by an invitee in the meeting's channel naming every word of its title is talk about it from
# NAMED_BEFORE minutes before it starts (an agenda, or the announcement of its cancellation or move) to
# REACH_AFTER minutes after it ends (a recap): the org's own calendar gives the words, no word list.
NAMED_BEFORE = 480
# ... and, for a meeting the calendar cancelled or moved, from that change on, up to CHANGED_BEFORE minutes
# before it was due (a day: what a team announces further ahead is not about today's instance).
CHANGED_BEFORE = 1440
# A person's reply in the thread of an agenda or recap found here, at most REPLY_MINUTES after it, is
# part of it (replies under talk found during a meeting are not: they drift to anything).
THREAD_KINDS = ("agenda", "recap")
REPLY_MINUTES = 60
# Title words are runs of letters this long or longer ("1:1", "Q4" and "&" name nothing).
TITLE_WORD_LETTERS = 3
# Every phase ends at most this many minutes after the meeting's end (and starts less than NAMED_BEFORE
# minutes before its start): the posts near a meeting are those in that span.
REACH_AFTER = 120
# A message's score is the mean of its TOP_WORDS strongest word lifts (fewer words count as zero lift).
TOP_WORDS = 2
# A word's share of messages in a phase's windows is shrunk toward the org's share, as if it had been
# seen PRIOR_MESSAGES more times at that share: a word seen three times tells less than one seen thirty.
PRIOR_MESSAGES = 2
# A word needs this many other messages in the org before its lift counts (one-off words tell nothing).
MIN_WORD_MESSAGES = 2
SCORE_SQL = f"list_sum(lifts[1:{TOP_WORDS}]) / {TOP_WORDS}"
# Score thresholds per phase, in lift units (the natural log of how many times more often than at other
# times: 1.4 is about four times), tuned on half `a` of the generator's phrasing only.
THRESHOLDS: dict[str, float] = {
    "during": 1.4,
    "joining": 2.0,
    "recap": 1.4,
    "agenda": 1.4,
}
# Below these sizes the vocabulary is too thin to learn from: no context evidence.
MIN_WINDOW_MESSAGES = 20
MIN_ORG_MESSAGES = 100
# Words: runs of letters (any script), with inner apostrophes ("can't"); pairs of neighbours count too.
_WORD = r"\p{L}+(?:'\p{L}+)*"
# Links, mentions and code are not words: Slack's <...> markup, bare URLs, `code` and ```blocks```.
_NOT_WORDS = r"<[^>]*>|\b(?:https?|ftp)://\S+|\bwww\.\S+|```.*?```|`[^`]*`"


def context_evidence(
    con: duckdb.DuckDBPyConnection,
    evidence: str = "evidence",
    people: str = "people",
    as_of: datetime | None = None,
    calendar_cache: str | None = None,
) -> pa.Table:
    """Give EVIDENCE rows for messages that are meeting talk by context (see the module's docstring).

    Messages already in `evidence` are left out: this only adds what the wording rules did not find;
    where `evidence` holds a meeting's calendar link or join link, that channel is one of its homes.
    Reads `calendar_events`, `slack_messages`, `slack_channels`, `slack_users`, `evidence` and `people`
    (as `map_people` writes it). Events after `as_of` are not held yet and open no window.
    `calendar_cache` is the stored calendar side `correlate` shares (see there).
    """
    for table, schema in (
        ("calendar_events", CALENDAR_EVENTS),
        ("slack_messages", SLACK_MESSAGES),
        ("slack_channels", SLACK_CHANNELS),
        ("slack_users", SLACK_USERS),
        (evidence, EVIDENCE),
        (people, PEOPLE),
    ):
        require_columns(con, table, schema)
    with scratch(con) as s:
        sql = _context_sql(con, s, ident(evidence), ident(people), as_of, calendar_cache)
        return fetch(con, sql, EVIDENCE)


def _context_sql(
    con: duckdb.DuckDBPyConnection,
    s: ScratchSpace,
    evidence: str,
    people: str,
    as_of: datetime | None,
    calendar_cache: str | None,
) -> str:
    """Build the scratch tables and give the SQL selecting the context evidence rows."""
    person_email = s.make(
        "ctx_person_email",
        "SELECT email, min(person_id) AS person_id"
        f" FROM (SELECT unnest(emails) AS email, person_id FROM {people}) GROUP BY email",
    )
    _, cal, att = _calendar.calendar_side(con, s, person_email, as_of, calendar_cache)
    invitees = s.make("ctx_invitees", _invitees_sql(cal, att, people))
    home = s.make("ctx_home", _home_sql(invitees, cal, evidence))
    windows = s.make("ctx_windows", f"SELECT * FROM {invitees} JOIN {home} USING (meeting_id)")
    keys = s.make("ctx_post_keys", _post_keys_sql(invitees, windows))
    posts = s.make("ctx_posts", _posts_sql(keys))
    near = s.make("ctx_near", _near_sql(keys, invitees, home))
    changes = s.make("ctx_changes", _changes_sql(keys, windows))
    s.drop(invitees, home, windows)  # scratch tables go as soon as nothing reads them: joins need the memory
    placed = s.make("ctx_placed", _placed_sql(near))
    words = s.make(
        "ctx_placed_words",
        f"""SELECT pl.channel_id, pl.ts, pl.phase, unnest(p.words) AS word
            FROM {placed} pl JOIN {posts} p USING (channel_id, ts)""",
    )
    org = s.make(
        "ctx_org_words",
        f"""SELECT word, count(*) AS u FROM (SELECT unnest(words) AS word FROM {posts} WHERE learnt)
            SEMI JOIN (SELECT DISTINCT word FROM {words}) USING (word)
            GROUP BY word HAVING count(*) > {MIN_WORD_MESSAGES}""",
    )
    totals = s.make(
        "ctx_totals",
        f"""SELECT (SELECT count(*) FROM {keys} WHERE learnt) AS n_org, phase, count(*) AS n_window
            FROM {placed} GROUP BY ALL""",
    )
    lifts = s.make("ctx_lifts", _lifts_sql(words, org, totals))
    # Only posts near a meeting can name one: their words, the rest of the posts dropped.
    near_posts = s.make(
        "ctx_near_posts", f"SELECT channel_id, ts, words FROM {posts} SEMI JOIN {near} USING (channel_id, ts)"
    )
    s.drop(posts, keys)
    named = s.make("ctx_named", _named_sql(near_posts, near))
    return _select_sql(evidence, words, lifts, changes, named)


def _invitees_sql(cal: str, att: str, people: str) -> str:
    """SQL giving (meeting_id, user_id, stand_in, title, title_words, status, start, end, moved,
    changed_at): each calendar meeting's invitees (those who did not decline) with a Slack account.

    A Slack account mapped to no directory person (its address unknown, its name shared by several) may
    be that of an invitee with no Slack account of their own and the same name: it stands in for them
    (`stand_in`), though it picks no home channel."""
    return f"""
    WITH stand_ins AS ({stand_ins_sql(people)}),
    slack AS (
        SELECT unnest(slack_user_ids) AS user_id, person_id, false AS stand_in FROM {people}
        UNION ALL SELECT user_id, person_id, true FROM stand_ins
    ),
    invitees AS (
        SELECT a.meeting_id, sl.user_id, bool_and(sl.stand_in) AS stand_in
        FROM {att} a JOIN slack sl USING (person_id)
        WHERE coalesce(a.response_status, '') <> 'declined'
        GROUP BY ALL
    )
    SELECT c.meeting_id, i.user_id, i.stand_in, c.title,
           list_distinct(list_filter(regexp_extract_all(lower(c.title), {lit(_WORD)}),
                                     lambda x: length(x) >= {TITLE_WORD_LETTERS})) AS title_words,
           c.status, c.start, c."end", coalesce(c.original_start <> c.start, false) AS moved, u.changed_at
    FROM {cal} c JOIN invitees i USING (meeting_id)
    LEFT JOIN (SELECT event_id, max(updated) AS changed_at FROM calendar_events GROUP BY event_id) u
           ON u.event_id = c.calendar_event_id
    WHERE c.start IS NOT NULL AND c."end" > c.start
    """


def _home_sql(invitees: str, cal: str, evidence: str) -> str:
    """SQL giving (meeting_id, channel_id): a meeting's home channels, where its windows open. They are
    the channels whose members include most of its invitees (the best share, more than half, at least
    two people), and those where the detector found its calendar link or its join link posted."""
    return f"""
    WITH sizes AS (
        SELECT meeting_id, count(*) AS n FROM {invitees} WHERE NOT stand_in
        GROUP BY meeting_id HAVING count(*) >= 2
    ),
    shared AS (
        SELECT i.meeting_id, m.channel_id, count(*) AS n
        FROM {invitees} i JOIN ({_PUBLIC_MEMBERS}) m USING (user_id) WHERE NOT i.stand_in GROUP BY ALL
    ),
    keys AS (  -- what ties a posted link to a meeting: its event, its series, its join links
        SELECT meeting_id, calendar_event_id AS link FROM {cal}
        UNION ALL SELECT meeting_id, recurring_event_id FROM {cal} WHERE recurring_event_id IS NOT NULL
        UNION ALL SELECT meeting_id, unnest(conference_urls) FROM {cal}
    ),
    linked AS (
        SELECT k.meeting_id, e.channel_id
        FROM (SELECT channel_id, event_id AS link FROM {evidence} WHERE event_id IS NOT NULL
              UNION ALL SELECT channel_id, conference_url FROM {evidence} WHERE conference_url IS NOT NULL) e
        JOIN keys k USING (link)
    )
    SELECT sh.meeting_id, sh.channel_id FROM shared sh JOIN sizes z USING (meeting_id)
    WHERE sh.n * 2 > z.n AND sh.n >= 2
    QUALIFY sh.n = max(sh.n) OVER (PARTITION BY sh.meeting_id)
    UNION
    SELECT meeting_id, channel_id FROM linked
    """


def _post_keys_sql(invitees: str, windows: str) -> str:
    """SQL giving (channel_id, ts, user_id, posted_at, learnt) for every top-level message an invitee of
    some meeting wrote in a channel (not a direct message); `learnt` marks those in a channel where their
    author has a window (a word's lift compares the same people in the same channels at other times).

    Keys only: were the words computed here, a join could build its hash table on the posts with their
    word lists (at L it did, and ran out of the store's memory); `_posts_sql` adds them to these rows."""
    return f"""
    SELECT msg.channel_id, msg.ts, msg.user_id, msg.posted_at, w.user_id IS NOT NULL AS learnt
    FROM (SELECT channel_id, ts, user_id, posted_at FROM slack_messages
          WHERE coalesce(thread_ts, ts) = ts AND {_by_person_sql("slack_messages")}
            AND user_id IN (SELECT user_id FROM {invitees})) msg
    SEMI JOIN ({_PUBLIC_MEMBERS}) m ON m.channel_id = msg.channel_id AND m.user_id = msg.user_id
    LEFT JOIN (SELECT DISTINCT channel_id, user_id FROM {windows}) w
         ON w.channel_id = msg.channel_id AND w.user_id = msg.user_id
    """


def _posts_sql(keys: str) -> str:
    """SQL giving the posts `keys` names (see `_post_keys_sql`) with their distinct lower-case words:
    single words and neighbouring pairs, links and code left out."""
    return f"""
    SELECT p.* EXCLUDE (t),
           list_distinct(list_concat(t, list_transform(range(1, len(t)), lambda i: t[i] || ' ' || t[i + 1])))
               AS words
    FROM (SELECT k.*,
                 regexp_extract_all(regexp_replace(lower(coalesce(m.text, '')), {lit(_NOT_WORDS)}, ' ', 'g'),
                                    {lit(_WORD)}) AS t
          FROM {keys} k JOIN slack_messages m USING (channel_id, ts)) p
    """


def _by_person_sql(m: str) -> str:
    """SQL true when message `m` (an alias of slack_messages) is a person's own words: no bot, no system
    notice."""
    return f"""{m}.bot_id IS NULL AND coalesce({m}.subtype, '') = ''
               AND coalesce({m}.user_id, '') NOT IN ('', '{SLACKBOT}')
               AND {m}.user_id NOT IN (SELECT user_id FROM slack_users WHERE is_bot)"""


def _offset_sql(spec: str) -> str:
    """SQL for a phase bound like `s+1` or `e+120` (minutes after the window's start or end)."""
    column = {"s": "start", "e": '"end"'}[spec[0]]
    return f"{column} + INTERVAL ({int(spec[1:])}) MINUTE"


def _near_sql(keys: str, invitees: str, home: str) -> str:
    """SQL giving each post with the meetings of its author it falls near, from NAMED_BEFORE minutes
    before one starts (or the calendar's change of it, see CHANGED_BEFORE) to REACH_AFTER minutes after
    it ends; `home` marks a post in the meeting's own
    channel. One join serves the phases and the posts naming a meeting; it pairs posts and meetings of
    the same UTC day (a meeting's reach spans a day or two), which keeps it small."""
    first = "epoch(i.since) // 86400"
    last = f'epoch(i."end" + INTERVAL {REACH_AFTER} MINUTE) // 86400'
    return f"""
    WITH reach AS (  -- a cancelled or moved meeting is talked of from the calendar's change on
        SELECT *, CASE WHEN (status = 'cancelled' OR moved) AND changed_at IS NOT NULL
                       THEN least(start - INTERVAL {NAMED_BEFORE} MINUTE,
                                  greatest(changed_at, start - INTERVAL {CHANGED_BEFORE} MINUTE))
                       ELSE start - INTERVAL {NAMED_BEFORE} MINUTE END AS since
        FROM {invitees}
    ),
    spans AS (
        SELECT i.*, unnest(range(({first})::BIGINT, ({last})::BIGINT + 1)) AS day FROM reach i
    )
    SELECT p.channel_id, p.ts, p.posted_at, sp.* EXCLUDE (user_id, day, since),
           h.channel_id IS NOT NULL AS home
    FROM {keys} p JOIN spans sp ON sp.user_id = p.user_id AND sp.day = (epoch(p.posted_at) // 86400)::BIGINT
    LEFT JOIN {home} h ON h.meeting_id = sp.meeting_id AND h.channel_id = p.channel_id
    WHERE p.posted_at > sp.since AND p.posted_at <= sp."end" + INTERVAL {REACH_AFTER} MINUTE
    """


def _placed_sql(near: str) -> str:
    """SQL giving (channel_id, ts, phase) for posts in a window of their author, once per phase (phases
    of one meeting may overlap: a post in both is scored in each)."""
    phases = ", ".join(
        f"CASE WHEN posted_at > {_offset_sql(lo)} AND posted_at <= {_offset_sql(hi)} AND {_WHICH[which]}"
        f" THEN {lit(kind)} END"
        for kind, lo, hi, which in PHASES
    )
    return f"""
    SELECT DISTINCT channel_id, ts, phase
    FROM (SELECT channel_id, ts, unnest([{phases}]) AS phase FROM {near} WHERE home)
    WHERE phase IS NOT NULL
    """


def _lifts_sql(words: str, org: str, totals: str) -> str:
    """SQL giving (phase, word, lift): the log of how much more often `word` is in the phase's windows
    than in its authors' posts overall, counting without one message (the one being scored) and shrunk
    toward the base rate by PRIOR_MESSAGES."""
    return f"""
    WITH win AS (SELECT phase, word, count(*) AS d FROM {words} GROUP BY ALL)
    SELECT win.phase, win.word,
           ln((win.d - 1 + {PRIOR_MESSAGES} * t.n_window / t.n_org) / (org.u - 1 + {PRIOR_MESSAGES})
              / (t.n_window / t.n_org)) AS lift
    FROM win JOIN {org} org USING (word) JOIN {totals} t USING (phase)
    WHERE t.n_window >= {MIN_WINDOW_MESSAGES} AND t.n_org >= {MIN_ORG_MESSAGES} AND t.n_org > t.n_window
    """


def _changes_sql(keys: str, windows: str) -> str:
    """SQL giving (channel_id, ts, kind, matched) for posts announcing that the calendar cancelled or
    moved a meeting (see CHANGE_MINUTES)."""
    return f"""
    WITH changed AS (
        SELECT * FROM {windows} WHERE changed_at IS NOT NULL AND (status = 'cancelled' OR moved)
    ),
    hits AS (
        SELECT p.channel_id, p.ts, w.title,
               CASE WHEN w.status = 'cancelled' THEN 'cancellation' ELSE 'reschedule' END AS kind,
               len(list_filter(w.title_words, lambda x: contains(lower(m.text), x)))
                   / greatest(len(w.title_words), 1) AS named
        FROM {keys} p JOIN changed w ON w.user_id = p.user_id AND w.channel_id = p.channel_id
        JOIN slack_messages m ON m.channel_id = p.channel_id AND m.ts = p.ts
        WHERE p.posted_at BETWEEN w.changed_at AND w.changed_at + INTERVAL {CHANGE_MINUTES} MINUTE
          AND len(w.title_words) > 0
    )
    SELECT channel_id, ts, kind,
           'posted as the calendar ' || CASE kind WHEN 'cancellation' THEN 'cancelled' ELSE 'moved' END
             || ' "' || title || '", naming it' AS matched
    FROM hits WHERE named >= 0.5
    QUALIFY row_number() OVER (PARTITION BY channel_id, ts ORDER BY named DESC, title, kind) = 1
    """


def _named_sql(posts: str, near: str) -> str:
    """SQL giving (channel_id, ts, kind, matched) for posts naming every title word of a meeting of their
    author, in any channel, from NAMED_BEFORE minutes before it starts to REACH_AFTER minutes after it
    ends (a cancelled meeting only until its start). A post naming several such meetings (one title
    twice a day) speaks of the nearest: before it, an agenda or the announcement of its cancellation or
    move (when posted after the calendar moved it); while it runs, during; after it, a recap."""
    kind = """CASE WHEN n.posted_at <= n.start THEN
                       CASE WHEN n.status = 'cancelled' THEN 'cancellation'
                            WHEN n.moved AND n.posted_at >= n.changed_at THEN 'reschedule'
                            ELSE 'agenda' END
                   WHEN n.posted_at <= n."end" THEN 'during' ELSE 'recap' END"""
    distance = """CASE WHEN n.posted_at < n.start THEN epoch(n.start) - epoch(n.posted_at)
                       WHEN n.posted_at > n."end" THEN epoch(n.posted_at) - epoch(n."end") ELSE 0 END"""
    return f"""
    WITH named AS (  -- the join carries only what it tests: the rest of `near` would fill its hash table
        SELECT n.channel_id, n.ts, n.meeting_id
        FROM (SELECT channel_id, ts, meeting_id, title_words FROM {near}
              WHERE (status = 'held' OR posted_at <= start) AND len(title_words) > 0) n
        JOIN {posts} p USING (channel_id, ts)
        -- every title word among the post's words (list_has_all is slower here by far)
        WHERE list_bool_and(list_transform(n.title_words, lambda x: list_contains(p.words, x)))
    ),
    hits AS (
        SELECT n.channel_id, n.ts, n.title, n.home, {kind} AS kind, {distance} AS distance, n.meeting_id
        FROM named JOIN {near} n USING (channel_id, ts, meeting_id)
    )
    SELECT channel_id, ts, kind,
           'names "' || title || '", a meeting of its author, ' || CASE kind
               WHEN 'cancellation' THEN 'which the calendar cancelled, before it was due'
               WHEN 'reschedule' THEN 'after the calendar moved it'
               WHEN 'agenda' THEN 'before it started'
               WHEN 'during' THEN 'while it ran' ELSE 'after it ended' END
             || CASE WHEN home THEN ', in a channel its invitees share' ELSE '' END AS matched
    FROM hits
    QUALIFY row_number() OVER (PARTITION BY channel_id, ts ORDER BY distance, meeting_id) = 1
    """


def _select_sql(evidence: str, words: str, lifts: str, changes: str, named: str) -> str:
    """SQL giving the EVIDENCE rows: announced calendar changes, then posts naming a meeting, then placed
    messages whose score passes their phase's threshold."""
    thresholds = " ".join(f"WHEN {lit(k)} THEN {v}" for k, v in THRESHOLDS.items())
    kinds = [k for k, _, _, _ in PHASES] + ["cancellation", "reschedule"]
    roles = " ".join(f"WHEN {lit(k)} THEN {lit(EVIDENCE_ROLES[k])}" for k in kinds)
    return f"""
    WITH scored AS (
        SELECT w.channel_id, w.ts, w.phase, max(l.lift, {TOP_WORDS}) AS lifts
        FROM {words} w JOIN {lifts} l USING (phase, word)
        GROUP BY ALL
    ),
    passed AS (
        SELECT channel_id, ts, phase FROM scored WHERE {SCORE_SQL} >= CASE phase {thresholds} END
        QUALIFY row_number() OVER (PARTITION BY channel_id, ts
                                   ORDER BY {SCORE_SQL} - CASE phase {thresholds} END DESC, phase) = 1
    ),
    chosen AS (  -- the words that carried each chosen message, strongest first
        SELECT p.channel_id, p.ts, p.phase,
               list(l.word ORDER BY l.lift DESC, length(l.word) DESC, l.word)[1:{TOP_WORDS}] AS top_words
        FROM passed p JOIN {words} w USING (channel_id, ts, phase) JOIN {lifts} l USING (phase, word)
        GROUP BY ALL
    ),
    talk AS (
        SELECT channel_id, ts, phase AS kind,
               'posted ' || CASE phase WHEN 'agenda' THEN 'before' WHEN 'joining' THEN 'as it started'
                                  WHEN 'during' THEN 'during' ELSE 'after' END
                 || ' a meeting of its author in a channel its invitees share; words this org uses there: '
                 || array_to_string(top_words, ', ') AS matched
        FROM chosen ANTI JOIN {changes} USING (channel_id, ts) ANTI JOIN {named} USING (channel_id, ts)
        UNION ALL
        SELECT channel_id, ts, kind, matched FROM {named} ANTI JOIN {changes} USING (channel_id, ts)
        UNION ALL
        SELECT channel_id, ts, kind, matched FROM {changes}
    ),
    replies AS (  -- a person's reply soon after an agenda or recap found here, in its thread, is part of it
        SELECT r.channel_id, r.ts, t.kind,
               'a reply in the thread of a post found as its meeting''s ' || t.kind AS matched
        FROM talk t JOIN slack_messages parent USING (channel_id, ts)
        JOIN slack_messages r ON r.channel_id = t.channel_id AND r.thread_ts = t.ts AND r.ts <> t.ts
        WHERE t.kind IN ({", ".join(lit(k) for k in THREAD_KINDS)}) AND {_by_person_sql("r")}
          AND r.posted_at <= parent.posted_at + INTERVAL {REPLY_MINUTES} MINUTE
    )
    SELECT m.channel_id, m.ts, m.thread_ts, m.user_id, m.posted_at, c.kind,
           CASE c.kind {roles} END AS role, c.matched,
           NULL AS conference_url, NULL AS event_id, []::VARCHAR[] AS drive_file_ids,
           NULL AS room_id, NULL AS room_start, NULL AS room_end, []::VARCHAR[] AS room_participants
    FROM (SELECT * FROM talk UNION ALL SELECT * FROM replies) c JOIN slack_messages m USING (channel_id, ts)
    ANTI JOIN {evidence} e ON e.channel_id = c.channel_id AND e.ts = c.ts
    ORDER BY m.channel_id, m.ts
    """
