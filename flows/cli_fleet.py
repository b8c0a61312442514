"""`meetintel fleet`: run many orgs, each its own state, storage and reports, as subflows of one flow run.

Prefect and the pipeline load only when the command runs, so `meetintel --help` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from core.errors import MeetintelError
from flows._terminal import plain, quiet_tracebacks, safe

console = Console()
err = Console(stderr=True, soft_wrap=True)

EXIT_OK, EXIT_FAILED, EXIT_PARTIAL = 0, 1, 3

fleet_app = typer.Typer(
    help="Many orgs on one schedule: each its own state, storage and reports (see docs/scale-out.md).",
    no_args_is_help=True,
)


@fleet_app.command("run")
def fleet_run(
    orgs: Annotated[
        Path, typer.Argument(help="The orgs file (TOML): `concurrency`, and an `org` table per org.")
    ],
    concurrency: Annotated[
        int | None, typer.Option(min=1, help="Orgs running at once (overrides the file's `concurrency`).")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print each org's outcome as one JSON object.")
    ] = False,
) -> None:
    """Run every org of ORGS as a subflow of one `meetintel_fleet` flow run, CONCURRENCY at once.

    An org that fails is listed with its reason and the others go on. Exit codes: 0 every org completed,
    3 some failed or were partial, 1 every org failed (or the orgs file is wrong).
    """
    from flows.fleet import load_fleet, run_fleet

    try:
        load_fleet(orgs)  # a wrong file fails here, before Prefect starts
        quiet_tracebacks()
        outcomes = run_fleet(orgs, concurrency)
    except MeetintelError as exc:
        err.print(
            f"[red]error:[/] {safe(exc.message)}"
            + (f"\n[bold]what to do:[/] {safe(exc.hint)}" if exc.hint else "")
        )
        raise typer.Exit(EXIT_FAILED) from None
    if as_json:
        print(json.dumps({"orgs": [o.model_dump(mode="json") for o in outcomes]}), flush=True)
    else:
        table = Table(title=f"fleet {safe(orgs)}")
        for col in ("org", "status", "run", "meetings", "people", "seconds", "error"):
            table.add_column(col, justify="right" if col in ("meetings", "people", "seconds") else "left")
        for o in outcomes:
            table.add_row(
                safe(o.org), o.status, safe(o.run_id or ""), str(o.meetings), str(o.people),
                f"{o.seconds:.1f}", safe(plain(o.error or "")),
            )  # fmt: skip
        console.print(table)
    failed = sum(o.status == "failed" for o in outcomes)
    if failed == len(outcomes):
        raise typer.Exit(EXIT_FAILED)
    raise typer.Exit(EXIT_OK if all(o.status == "completed" for o in outcomes) else EXIT_PARTIAL)
