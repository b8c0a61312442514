"""Pseudonymised reports: people as salted hashes (e-mail domains kept), names dropped, text redacted.

`pseudonymise(con, salt, redact_text)` copies the tables the writers read into an in-memory catalog that
becomes the default inside the block (as `aggregation.search.scoped_reports` does), rewriting every column
that identifies a person on the way; every writer then runs unchanged and writes pseudonymised files.

- e-mail addresses become `p<12 hex>@<domain>`: the hash of the salt and the lower-cased address, so the
  same person has the same pseudonym in every table, and the domain keeps internal and external apart;
- person ids and Slack user ids become `person-<hash>` and `slack-<hash>` by the same rule;
- names are dropped (NULL); known name words, e-mail addresses and Slack mentions are scrubbed from free
  text (meeting titles, document names, matched message text);
- with `redact_text`, matched message text is replaced by `[redacted]` altogether;
- calendar links (their `eid` encodes the calendar owner's address) and channel members are not copied.

The salt is a secret: without it nobody can test a guessed address against a pseudonym. Keep it outside the
reports (an environment variable) and keep it stable when pseudonyms must match across exports.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb

from core.errors import ConfigurationError
from core.sql import current_catalog, ident, lit, swapped_catalog
from core.tables import (
    MEETING_RECORDS,
    PEOPLE_RECORDS,
    RECORD_TABLES,
    REPORT_DOCUMENTS,
    REPORT_EVIDENCE,
    REPORT_MEETINGS,
    REPORT_PARTICIPANTS,
    REPORT_PEOPLE,
    REPORT_PREFIX,
    ROLLUP_PREFIX,
)

MIN_SALT = 16  # characters; a short salt could be guessed, and with it every pseudonym checked
REDACTED = "[redacted]"
PERSON = "[person]"


# Tables whose `name` column is a person's name (elsewhere `name` is a file or channel name).
_PEOPLE_TABLES = (REPORT_PEOPLE, REPORT_PARTICIPANTS, ROLLUP_PREFIX + "person", PEOPLE_RECORDS)
_EMAIL_COLUMNS = ("email", "organizer_email", "manager_email")
_SLACK_ID_COLUMNS = ("slack_user_id", "user_id")
# Free text that may carry a person's name: meeting titles, document names, the matched message text.
_TEXT_COLUMNS = {
    REPORT_MEETINGS: ("title",),
    MEETING_RECORDS: ("title",),
    REPORT_DOCUMENTS: ("name",),
    REPORT_EVIDENCE: ("matched",),
}
_EMAIL_RE = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9.-]+"
_MENTION_RE = r"<@[A-Z0-9]+(\|[^>]*)?>"


class _Rules:
    """SQL expressions that pseudonymise one value, bound to a salt and the names to scrub."""

    def __init__(self, salt: str, names: list[str], redact_text: bool) -> None:
        self.salt = lit(salt + ":")
        self.redact_text = redact_text
        words = sorted({w for n in names for w in re.split(r"[^\w'-]+", n) if len(w) >= 2}, key=str.lower)
        # Whole words only: a letter or digit on either side means the word is part of another word.
        self.names_re = (
            lit(r"(^|[^\pL\pN])(" + "|".join(re.escape(w) for w in words) + r")([^\pL\pN]|$)")
            if words
            else None
        )

    def digest(self, expr: str) -> str:
        return f"left(sha256({self.salt} || lower(trim({expr}))), 12)"

    def email(self, expr: str) -> str:
        domain = f"regexp_extract({expr}, '@([^@]*)$', 1)"
        return (
            f"CASE WHEN {expr} IS NULL OR trim({expr}) = '' THEN {expr} "
            f"ELSE 'p' || {self.digest(expr)} || CASE WHEN {domain} <> '' THEN '@' || lower({domain}) "
            "ELSE '' END END"
        )

    def ident(self, expr: str, prefix: str) -> str:
        return f"CASE WHEN {expr} IS NULL THEN NULL ELSE {lit(prefix)} || {self.digest(expr)} END"

    def text(self, expr: str, *, message: bool = False) -> str:
        """Give SQL scrubbing names, addresses and mentions from `expr` (or redacting it, for messages)."""
        if message and self.redact_text:
            return f"CASE WHEN {expr} IS NULL THEN NULL ELSE {lit(REDACTED)} END"
        out = f"regexp_replace({expr}, {lit(_MENTION_RE)}, '<@{PERSON}>', 'g')"
        out = f"regexp_replace({out}, {lit(_EMAIL_RE)}, '[email]', 'g')"
        if self.names_re:
            # Twice: adjacent names share the separator the first pass consumed ("Ana Ana").
            for _ in range(2):
                out = f"regexp_replace({out}, {self.names_re}, '\\1{PERSON}\\3', 'gi')"
        return out


def _column_sql(rules: _Rules, table: str, name: str, dtype: str) -> str:
    """Give the SELECT expression that copies one column of `table` pseudonymised."""
    col = ident(name)
    if name in _TEXT_COLUMNS.get(table, ()):
        return rules.text(col, message=name == "matched")
    if name in _EMAIL_COLUMNS:
        return rules.email(col)
    if name == "person_id":
        return rules.ident(col, "person-")
    if name in _SLACK_ID_COLUMNS:
        return rules.ident(col, "slack-")
    if name == "name" and table in _PEOPLE_TABLES:
        return "NULL::VARCHAR"
    if name == "aliases":
        if dtype.endswith("[]"):
            return f"list_transform({col}, lambda a: {rules.email('a')})"
        each = f"list_transform(string_split({col}, '; '), lambda a: {rules.email('a')})"
        return f"CASE WHEN {col} IS NULL OR {col} = '' THEN {col} ELSE array_to_string({each}, '; ') END"
    if name == "participants" and dtype.startswith("STRUCT"):
        person = (
            f"struct_pack(email := {rules.email('p.email')}, slack_user_id := "
            f"{rules.ident('p.slack_user_id', 'slack-')}, name := NULL::VARCHAR, internal := p.internal, "
            "response_status := p.response_status)"
        )
        return f"list_transform({col}, lambda p: {person})"
    if name == "documents" and dtype.startswith("STRUCT"):
        document = f"struct_pack(file_id := d.file_id, name := {rules.text('d.name')}, url := d.url)"
        return f"list_transform({col}, lambda d: {document})"
    return col


def _tables(con: duckdb.DuckDBPyConnection, src_db: str, src_schema: str) -> list[str]:
    """Give the names of the tables of the source catalog."""
    rows = con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? "
        "AND NOT temporary ORDER BY table_name",
        [src_db, src_schema],
    ).fetchall()
    return [r[0] for r in rows]


def _is_report(table: str) -> bool:
    """Give whether the writers read `table` as a report (report_*, the JSON record tables)."""
    return table.startswith(REPORT_PREFIX) or table in RECORD_TABLES


def _names(con: duckdb.DuckDBPyConnection, src: str, tables: list[str]) -> list[str]:
    """Give every person name the report tables hold (to scrub from free text)."""
    parts = [f"SELECT name FROM {src}.{t}" for t in tables if t in _PEOPLE_TABLES]
    if not parts:
        return []
    rows = con.execute(
        f"SELECT DISTINCT name FROM ({' UNION ALL '.join(parts)}) WHERE name IS NOT NULL"
    ).fetchall()
    return [r[0] for r in rows]


def _copies(con: duckdb.DuckDBPyConnection, src: str, tables: list[str], rules: _Rules) -> dict[str, str]:
    """Give, per table to create in the pseudonymised catalog, the SELECT over `src` that fills it."""
    copies = {}
    for table in filter(_is_report, tables):
        described = con.execute(f"DESCRIBE {src}.{table}").fetchall()
        cols = ", ".join(f'{_column_sql(rules, table, r[0], r[1])} AS "{r[0]}"' for r in described)
        copies[table] = f"SELECT {cols} FROM {src}.{table}"
    if "calendar_events" in tables:  # links only by id: an html_link's eid encodes the owner's address
        copies["calendar_events"] = (
            f"SELECT DISTINCT event_id, NULL::VARCHAR AS html_link FROM {src}.calendar_events"
        )
    if "slack_channels" in tables:  # names and kinds; members are people
        copies["slack_channels"] = (
            f"SELECT channel_id, name, is_private, is_im, is_mpim FROM {src}.slack_channels"
        )
    if "state_meta" in tables:
        copies["state_meta"] = f"SELECT * FROM {src}.state_meta"
    return copies


@contextmanager
def pseudonymise(con: duckdb.DuckDBPyConnection, salt: str, redact_text: bool = False) -> Iterator[str]:
    """Make `con` see pseudonymised report tables inside the block; give the catalog's name.

    On exit the original catalog is the default again and the copy is dropped. Nothing in the source
    catalog is changed.
    """
    if len(salt) < MIN_SALT:
        raise ConfigurationError(
            f"the pseudonymisation salt has {len(salt)} characters; at least {MIN_SALT} are needed",
            "set a long random value (e.g. `openssl rand -hex 16`) in an environment variable, kept secret",
        )
    db, schema = con.execute("SELECT current_database(), current_schema()").fetchall()[0]
    src = current_catalog(con)
    tables = _tables(con, db, schema)
    if REPORT_MEETINGS not in tables:
        raise ConfigurationError(
            "there are no report tables to pseudonymise",
            "run `meetintel run` first: its aggregate stage writes them",
        )
    rules = _Rules(salt, _names(con, src, [t for t in tables if _is_report(t)]), redact_text)
    with swapped_catalog(con, "meetintel_private", lambda s: _copies(con, s, tables, rules)) as name:
        yield name
