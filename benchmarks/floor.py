"""The floor for the collect stage: DuckDB's `read_json` of the same Slack day files into one table.

`make bench` runs this child beside the collect stage on the same workspace, so the ratio collect ÷ floor
comes from one run on one machine. Two floors, each into a fresh DuckDB file on disk (collect writes one
too): *auto* is what a person types (`read_json` guessing the schema, nested types and all); *columns*
reads the columns collect extracts, as collect's own parse does. Prints the figures as one JSON line.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

from collectors import MESSAGE_COLUMNS  # the columns collect extracts from each message


def load(files: list[str], db: Path, columns: dict[str, str] | None) -> tuple[float, int]:
    """Load `files` into one table of a fresh DuckDB file; give the seconds and the rows."""
    db.unlink(missing_ok=True)
    started = time.perf_counter()
    con = duckdb.connect(str(db))
    if columns is None:
        con.execute("CREATE TABLE messages AS SELECT * FROM read_json($f, format = 'array')", {"f": files})
    else:
        con.execute(
            "CREATE TABLE messages AS SELECT * FROM read_json($f, format = 'array', columns = $c)",
            {"f": files, "c": columns},
        )
    rows = con.execute("SELECT count(*) FROM messages").fetchall()[0][0]
    con.close()
    seconds = time.perf_counter() - started
    db.unlink(missing_ok=True)
    return seconds, rows


def main(workspace: str, scratch: str) -> None:
    files = sorted(str(p) for p in Path(workspace, "slack").glob("*/*.json"))
    auto_s, rows = load(files, Path(scratch), None)
    columns_s, _ = load(files, Path(scratch), MESSAGE_COLUMNS)
    figures = {"files": len(files), "rows": rows, "auto_seconds": auto_s, "columns_seconds": columns_s}
    print(json.dumps(figures))


if __name__ == "__main__":
    main(*sys.argv[1:3])
