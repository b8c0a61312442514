"""People mapping: one identity graph over directory users, Slack users and calendar attendees."""

from __future__ import annotations

import duckdb

from collectors.models import CALENDAR_EVENTS, DIRECTORY_USERS, SLACK_USERS
from core.sql import ScratchSpace, fetch, require_columns, scratch
from intelligence.models import IDENTITY_LINKS, PEOPLE, PeopleResult

# Slack's own system user posts huddle notices; it is never a person.
SLACKBOT = "USLACKBOT"


def map_people(con: duckdb.DuckDBPyConnection) -> PeopleResult:
    """Give every person once, with the Slack accounts and emails that resolve to them and how."""
    require_columns(con, "directory_users", DIRECTORY_USERS)
    require_columns(con, "slack_users", SLACK_USERS)
    require_columns(con, "calendar_events", CALENDAR_EVENTS)
    with scratch(con) as s:
        keys = _directory_keys(s)
        slack = _slack_matches(s, keys)
        attendees = _attendee_emails(s)
        outside = _outside_people(s, keys, slack, attendees)
        people = fetch(con, _people_sql(keys, slack, outside), PEOPLE)
        links = fetch(con, _links_sql(keys, slack, outside, attendees), IDENTITY_LINKS)
    return PeopleResult(people=people, links=links)


def _directory_keys(s: ScratchSpace) -> str:
    """Materialise every lower-cased directory address -> person (primary, then alias, then other email).

    `company` marks the addresses whose domain is the company's: primary emails and aliases. An address
    only in emails[] (`other_emails`) may be a personal one, so it identifies its person but does not make
    its domain a company domain.
    """
    return s.make(
        "dir_keys",
        """
        WITH k AS (
            SELECT person_id, lower(trim(primary_email)) AS email, 'primary_email' AS how, 0 AS pri
            FROM directory_users
            UNION ALL
            SELECT person_id, lower(trim(alias)), 'alias', 1
            FROM (SELECT person_id, unnest(aliases) AS alias FROM directory_users)
            UNION ALL
            SELECT person_id, lower(trim(other)), 'other_email', 2
            FROM (SELECT person_id, unnest(other_emails) AS other FROM directory_users)
        )
        SELECT email, person_id, how, split_part(email, '@', 2) AS domain, how <> 'other_email' AS company
        FROM k
        WHERE email IS NOT NULL AND email LIKE '%_@_%'
        QUALIFY row_number() OVER (PARTITION BY email ORDER BY pri, person_id) = 1
        """,
    )


def _norm_name_sql(expr: str) -> str:
    """SQL giving a name as people compare it: accents folded, lower case, single spaces, trimmed.

    "Family, Given" (one comma) is turned round to "Given Family". Apostrophes go and hyphens become spaces:
    a Slack profile typed on a keyboard without them ("Dsouza", "Anne Marie") is still the same name.
    """
    folded = f"replace(lower(strip_accents(coalesce({expr}, ''))), 'ł', 'l')"  # strip_accents keeps Ł
    folded = f"replace(regexp_replace({folded}, '[''’ʼ`]', '', 'g'), '-', ' ')"
    turned = f"regexp_replace({folded}, '^\\s*([^,]*[^,\\s])\\s*,\\s*([^,]*[^,\\s])\\s*$', '\\2 \\1')"
    return f"nullif(trim(regexp_replace({turned}, '\\s+', ' ', 'g')), '')"


def stand_ins_sql(people: str) -> str:
    """SQL giving (person_id, user_id): a Slack account people mapping tied to no one (its address unknown,
    its name shared by several) and a person of the same name with no Slack account of their own, for whom
    it stands in. `people` is a table as `map_people` writes it."""
    return f"""
    SELECT d.person_id, unnest(u.slack_user_ids) AS user_id
    FROM {people} d JOIN {people} u
      ON {_norm_name_sql("u.name")} = {_norm_name_sql("d.name")} AND u.person_id <> d.person_id
    WHERE len(d.slack_user_ids) = 0 AND u.match = 'unmatched'
    """


def _company_domains_sql(keys: str) -> str:
    """SQL giving the company's email domains: those of the directory's primary emails and aliases."""
    return f"SELECT DISTINCT domain FROM {keys} WHERE company"


def _slack_matches(s: ScratchSpace, keys: str) -> str:
    """Materialise each human Slack user with the directory person it maps to, if any, and how.

    Email first: any address the directory holds (primary, alias, other email), any case. A Slack user
    whose email is hidden, or is at a company domain yet matches no directory address, falls back to the
    name: the directory person whose full name ("Given Family" or "Family Given") equals the Slack real
    or display name once case, accents, commas and spaces are folded, among the people no active Slack
    account claimed by email (so a namesake with a visible email does not make the name ambiguous, while
    someone whose old, deactivated account shows their email can still own a new account that hides it);
    a name still shared by two people identifies neither. An address at any other domain is never
    matched by name: it belongs to someone outside the company.
    """
    by_email = s.make(
        "slack_active_by_email",
        f"""
        SELECT u.user_id, k.person_id, k.how
        FROM slack_users u JOIN {keys} k ON k.email = lower(trim(u.email))
        WHERE NOT coalesce(u.is_bot, false) AND NOT coalesce(u.deleted, false) AND u.user_id <> '{SLACKBOT}'
        """,
    )
    names = s.make(
        "dir_names",
        f"""
        WITH n AS (
            SELECT person_id, unnest([{_norm_name_sql("full_name")},
                                      {_norm_name_sql("concat_ws(' ', family_name, given_name)")}]) AS name
            FROM directory_users
            WHERE person_id NOT IN (SELECT person_id FROM {by_email})
        )
        SELECT name, min(person_id) AS person_id
        FROM n
        WHERE name IS NOT NULL
        GROUP BY 1
        HAVING count(DISTINCT person_id) = 1  -- a name shared by two unclaimed people identifies neither
        """,
    )
    by_name = s.make(
        "slack_by_name",
        f"""
        SELECT u.user_id, min(n.person_id) AS person_id
        FROM slack_users u
        JOIN {names} n ON n.name IN ({_norm_name_sql("u.real_name")}, {_norm_name_sql("u.display_name")})
        WHERE coalesce(trim(u.email), '') = ''
           OR (lower(trim(u.email)) NOT IN (SELECT email FROM {keys})
               AND split_part(lower(trim(u.email)), '@', 2) IN ({_company_domains_sql(keys)}))
        GROUP BY u.user_id
        HAVING count(DISTINCT n.person_id) = 1
        """,
    )
    return s.make(
        "slack_map",
        f"""
        SELECT u.user_id, coalesce(u.deleted, false) AS deleted, coalesce(u.is_restricted, false) AS guest,
               u.tz, nullif(lower(trim(u.email)), '') AS email,
               coalesce(nullif(trim(u.real_name), ''), nullif(trim(u.display_name), ''), u.name) AS name,
               coalesce(k.person_id, n.person_id) AS person_id,
               CASE WHEN k.how IN ('alias', 'other_email') THEN k.how
                    WHEN k.person_id IS NOT NULL AND trim(u.email) = trim(d.primary_email)
                        THEN 'primary_email'
                    WHEN k.person_id IS NOT NULL THEN 'email_case'
                    WHEN n.person_id IS NOT NULL THEN 'name'
               END AS matched_by
        FROM slack_users u
        LEFT JOIN {keys} k ON k.email = lower(trim(u.email))
        LEFT JOIN directory_users d ON d.person_id = k.person_id
        LEFT JOIN {by_name} n ON n.user_id = u.user_id
        WHERE NOT coalesce(u.is_bot, false) AND u.user_id <> '{SLACKBOT}'
        """,
    )


def _attendee_emails(s: ScratchSpace) -> str:
    """Materialise each distinct lower-cased attendee email (rooms left out) with a display name."""
    return s.make(
        "attendee_emails",
        """
        SELECT lower(trim(a.email)) AS email, max(nullif(trim(a.display_name), '')) AS name
        FROM (SELECT unnest(attendees) AS a FROM calendar_events)
        WHERE NOT coalesce(a.resource, false) AND a.email LIKE '%_@_%'
        GROUP BY 1
        """,
    )


def _outside_people(s: ScratchSpace, keys: str, slack: str, attendees: str) -> str:
    """Materialise people outside the directory: unknown attendee emails and unmatched Slack humans.

    An address a Slack account matched by name belongs to that account's directory person, not outside.
    """
    return s.make(
        "outside",
        f"""
        WITH domains AS ({_company_domains_sql(keys)}),
        emails AS (
            SELECT email, name, NULL AS user_id FROM {attendees}
            UNION ALL
            SELECT email, name, user_id FROM {slack} WHERE person_id IS NULL AND email IS NOT NULL
        )
        SELECT e.email, max(e.name) AS name, dm.domain IS NOT NULL AS internal,
               CASE WHEN dm.domain IS NOT NULL THEN 'email:' ELSE 'ext:' END || e.email AS person_id,
               bool_or(e.user_id IS NULL) AS from_calendar
        FROM emails e
        LEFT JOIN domains dm ON dm.domain = split_part(e.email, '@', 2)
        WHERE e.email NOT IN (SELECT email FROM {keys})
          AND e.email NOT IN (SELECT email FROM {slack} WHERE person_id IS NOT NULL AND email IS NOT NULL)
        GROUP BY e.email, dm.domain
        """,
    )


def _people_sql(keys: str, slack: str, outside: str) -> str:
    """SQL giving the PEOPLE rows: directory people, outside people, then Slack-only people."""
    return f"""
    WITH slack_resolved AS (
        SELECT sm.*, coalesce(sm.person_id, o.person_id, 'slack:' || sm.user_id) AS pid
        FROM {slack} sm LEFT JOIN {outside} o ON o.email = sm.email
    ),
    slack_agg AS (
        SELECT pid,
               list(user_id ORDER BY deleted, guest, user_id)[1] AS slack_user_id,
               list(user_id ORDER BY user_id) AS slack_user_ids,
               list(tz ORDER BY deleted, guest, user_id)[1] AS tz,
               list(name ORDER BY deleted, guest, user_id)[1] AS name,
               list(matched_by ORDER BY deleted, guest, user_id)[1] AS matched_by,
               list(DISTINCT email) FILTER (WHERE email IS NOT NULL) AS emails,
               bool_and(guest) AS guest
        FROM slack_resolved GROUP BY pid
    ),
    dir_emails AS (SELECT person_id, list(email) AS emails FROM {keys} GROUP BY person_id),
    directory AS (
        SELECT d.person_id, lower(trim(d.primary_email)) AS email, sa.slack_user_id, sa.slack_user_ids,
               coalesce(nullif(trim(d.full_name), ''), trim(concat_ws(' ', d.given_name, d.family_name)))
                   AS name,
               d.department, d.title, lower(trim(d.manager_email)) AS manager_email, true AS internal,
               list_sort(list_distinct(list_transform(coalesce(d.aliases, []), lambda a: lower(trim(a)))))
                   AS aliases,
               list_concat(coalesce(de.emails, []), coalesce(sa.emails, [])) AS emails, sa.tz,
               CASE WHEN sa.matched_by = 'name' THEN 'name'
                    WHEN sa.matched_by IN ('alias', 'other_email') THEN 'alias'
                    ELSE 'primary'  -- the primary email in any case, or no Slack account to match
               END AS match
        FROM directory_users d
        LEFT JOIN slack_agg sa ON sa.pid = d.person_id
        LEFT JOIN dir_emails de ON de.person_id = d.person_id
    ),
    outside AS (
        SELECT o.person_id, o.email, sa.slack_user_id, sa.slack_user_ids,
               coalesce(sa.name, o.name, split_part(o.email, '@', 1)) AS name,
               NULL AS department, NULL AS title, NULL AS manager_email, o.internal,
               []::VARCHAR[] AS aliases, [o.email] AS emails, sa.tz, 'unmatched' AS match
        FROM {outside} o LEFT JOIN slack_agg sa ON sa.pid = o.person_id
    ),
    slack_only AS (
        SELECT pid AS person_id, NULL AS email, slack_user_id, slack_user_ids, name,
               NULL AS department, NULL AS title, NULL AS manager_email, NOT guest AS internal,
               []::VARCHAR[] AS aliases, []::VARCHAR[] AS emails, tz, 'unmatched' AS match
        FROM slack_agg WHERE pid LIKE 'slack:%'
    )
    SELECT person_id, email, slack_user_id, coalesce(slack_user_ids, []) AS slack_user_ids, name,
           department, title, manager_email, internal, aliases,
           list_sort(list_distinct(emails)) AS emails, tz, match
    FROM (SELECT * FROM directory UNION ALL SELECT * FROM outside UNION ALL SELECT * FROM slack_only)
    ORDER BY person_id
    """


def _links_sql(keys: str, slack: str, outside: str, attendees: str) -> str:
    """SQL giving the IDENTITY_LINKS rows: directory emails, Slack accounts and calendar emails."""
    return f"""
    WITH cal AS (SELECT email FROM {attendees})
    SELECT person_id, 'directory' AS system, email AS identity, how AS matched_by, 1.0::DOUBLE AS confidence
    FROM {keys}
    UNION ALL
    SELECT coalesce(sm.person_id, o.person_id, 'slack:' || sm.user_id), 'slack', sm.user_id,
           coalesce(sm.matched_by,
                    CASE WHEN o.person_id IS NOT NULL AND NOT o.internal THEN 'external_email'
                         ELSE 'unmatched' END),
           CASE WHEN sm.matched_by = 'name' THEN 0.8::DOUBLE
                WHEN sm.matched_by IN ('alias', 'other_email') THEN 0.95::DOUBLE
                ELSE 1.0::DOUBLE END
    FROM {slack} sm LEFT JOIN {outside} o ON o.email = sm.email
    UNION ALL
    SELECT coalesce(k.person_id, sn.person_id, o.person_id), 'calendar', c.email,
           coalesce(k.how, sn.matched_by, CASE WHEN o.internal THEN 'unmatched' ELSE 'external_email' END),
           CASE WHEN sn.person_id IS NOT NULL THEN 0.8::DOUBLE ELSE 1.0::DOUBLE END
    FROM cal c LEFT JOIN {keys} k ON k.email = c.email LEFT JOIN {outside} o ON o.email = c.email
    LEFT JOIN (SELECT email, min(person_id) AS person_id, min(matched_by) AS matched_by FROM {slack}
               WHERE matched_by = 'name' AND email IS NOT NULL GROUP BY email) sn ON sn.email = c.email
    ORDER BY 2, 3
    """
