"""Pseudonymised exports: salted hashes keeping the domain, names dropped, message text redacted."""

from __future__ import annotations

import hashlib
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest

from checkpoints import StateStore
from core.errors import ConfigurationError
from exports.privacy import REDACTED, pseudonymise
from flows import stages
from sandbox import generate_workspace

SALT = "a-test-salt-of-32-characters-xx"
OTHER_SALT = "another-salt-of-32-characters-yy"


@pytest.fixture(scope="module")
def state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Give a state file with report tables built from a generated org (10 people, 2 days)."""
    root = tmp_path_factory.mktemp("privacy")
    generate_workspace(root / "ws", people=10, days=2, seed=3)
    with StateStore(root / "state.duckdb") as store:
        stages.collect(store, root / "ws", "r1")
        stages.detect(store)
        stages.correlate_stage(store)
        stages.aggregate(store)
    return root / "state.duckdb"


def expected_pseudonym(email: str, salt: str = SALT) -> str:
    """Give the pseudonym the module promises: p + 12 hex of sha256(salt:lower(email)) @ lower(domain)."""
    digest = hashlib.sha256(f"{salt}:{email.strip().lower()}".encode()).hexdigest()[:12]
    return f"p{digest}@{email.rsplit('@', 1)[1].lower()}"


def _rows(store: StateStore, sql: str) -> list[tuple[Any, ...]]:
    return store.con.execute(sql).fetchall()


def _export(store: StateStore, out: Path) -> list[Path]:
    _stat, paths = stages.export(store, out, "private")
    return paths


def _texts(paths: list[Path]) -> dict[str, str]:
    """Give the text of every export file; an .xlsx is unzipped and its XML parts read."""
    texts = {}
    for path in paths:
        if path.suffix == ".xlsx":
            with zipfile.ZipFile(path) as book:
                texts[path.name] = "\n".join(book.read(n).decode() for n in book.namelist())
        else:
            texts[path.name] = path.read_text(encoding="utf-8")
    return texts


def test_every_table_gives_the_same_person_the_same_domain_keeping_pseudonym(state: Path) -> None:
    """People, participants, meeting records and rollups all carry exactly the expected pseudonyms."""
    with StateStore(state) as store:
        originals = {
            table: _rows(store, f"SELECT email FROM {table} ORDER BY ALL")
            for table in ("report_people", "report_participants", "report_rollup_person")
        }
        organizers = _rows(store, "SELECT organizer_email FROM meeting_records ORDER BY meeting_id")
        attendees = _rows(
            store, "SELECT p.email FROM meeting_records, unnest(participants) AS u(p) ORDER BY ALL"
        )
        with pseudonymise(store.con, SALT):
            for table, rows in originals.items():
                got = _rows(store, f"SELECT email FROM {table}")
                want = [expected_pseudonym(e) if e else e for (e,) in rows]
                assert sorted(got, key=str) == sorted([(w,) for w in want], key=str), table
            got_org = _rows(store, "SELECT organizer_email FROM meeting_records ORDER BY meeting_id")
            assert got_org == [(expected_pseudonym(e) if e else e,) for (e,) in organizers]
            got_att = _rows(store, "SELECT p.email FROM meeting_records, unnest(participants) AS u(p)")
            assert sorted(got_att, key=str) == sorted(
                [(expected_pseudonym(e),) for (e,) in attendees], key=str
            )
            names = _rows(store, "SELECT count(name) FROM report_people")
            domains = _rows(
                store, "SELECT DISTINCT split_part(email, '@', 2) FROM report_participants ORDER BY 1"
            )
    assert names == [(0,)]
    assert domains == [("acme.example",), ("client.example",), ("partner.example",)]


def test_names_and_addresses_are_absent_from_every_output_file(state: Path, tmp_path: Path) -> None:
    """No full name, name word or real address appears in the JSON, CSV, Excel or HTML of a private export."""
    with StateStore(state) as store:
        names = [r[0] for r in _rows(store, "SELECT DISTINCT name FROM report_people WHERE name IS NOT NULL")]
        emails = [r[0] for r in _rows(store, "SELECT DISTINCT lower(email) FROM report_participants")]
        with pseudonymise(store.con, SALT):
            texts = _texts(_export(store, tmp_path / "out"))
    words = sorted({w for n in names for w in re.split(r"[^\w'-]+", n) if len(w) >= 3})
    pattern = re.compile(r"(?<![\w])(" + "|".join(map(re.escape, words)) + r")(?![\w])", re.IGNORECASE)
    hits = {name: sorted(set(pattern.findall(text))) for name, text in texts.items()}
    assert {name: found for name, found in hits.items() if found} == {}
    leaked = {name: [e for e in emails if e in text.lower()] for name, text in texts.items()}
    assert {name: found for name, found in leaked.items() if found} == {}
    assert len(texts) == 13


def test_redact_text_replaces_every_matched_message(state: Path, tmp_path: Path) -> None:
    """With redact_text the evidence text is `[redacted]` in the tables and no message text is exported."""
    with StateStore(state) as store:
        messages = [
            r[0]
            for r in _rows(
                store,
                "SELECT DISTINCT matched FROM report_evidence "
                "WHERE length(matched) > 12 AND NOT starts_with(matched, 'https://')",
            )
        ]
        total = _rows(store, "SELECT count(matched) FROM report_evidence")[0][0]
        with pseudonymise(store.con, SALT, redact_text=True):
            redacted = _rows(
                store, "SELECT matched, count(*) FROM report_evidence WHERE matched IS NOT NULL GROUP BY 1"
            )
            texts = _texts(_export(store, tmp_path / "out"))
    assert redacted == [(REDACTED, total)]
    leaked = [m for m in messages if any(json.dumps(m)[1:-1] in t or m in t for t in texts.values())]
    assert leaked == []


def test_another_salt_gives_other_pseudonyms(state: Path) -> None:
    """The mapping depends on the salt: no pseudonym is shared between two salts."""
    with StateStore(state) as store:
        with pseudonymise(store.con, SALT):
            first = {r[0] for r in _rows(store, "SELECT email FROM report_people")}
        with pseudonymise(store.con, OTHER_SALT):
            second = {r[0] for r in _rows(store, "SELECT email FROM report_people")}
        count = _rows(store, "SELECT count(DISTINCT email) FROM report_people")[0][0]
    assert (len(first), len(second), first & second) == (count, count, set())


def test_the_stored_tables_are_untouched_and_the_catalog_restored(state: Path) -> None:
    """After the block the state's own tables still hold real addresses and names, and are the default."""
    with StateStore(state) as store:
        before = _rows(store, "SELECT * FROM report_people ORDER BY person_id")
        with pseudonymise(store.con, SALT, redact_text=True):
            inside = _rows(store, "SELECT count(*) FROM report_people WHERE name IS NOT NULL")
        after = _rows(store, "SELECT * FROM report_people ORDER BY person_id")
        catalogs = _rows(store, "SELECT database_name FROM duckdb_databases() WHERE NOT internal ORDER BY 1")
    assert after == before
    assert inside == [(0,)]
    assert catalogs == [("state",)]


def test_a_short_salt_is_refused_with_what_to_do(state: Path) -> None:
    """A salt under 16 characters is a ConfigurationError that says how to make one."""
    with (
        StateStore(state) as store,
        pytest.raises(ConfigurationError, match="at least 16") as raised,
        pseudonymise(store.con, "short"),
    ):
        raise AssertionError("a short salt was accepted")
    assert "openssl rand -hex 16" in raised.value.hint
