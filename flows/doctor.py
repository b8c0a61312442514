"""`meetintel doctor`: the health of a state file and its published reports, and repairs that lose nothing.

The state checks live in `checkpoints.doctor`, the report checks in `exports.health`; this module runs
both, repairs through both, and formats the result. The state is DuckDB only; reports are JSON, CSV, XLSX
and HTML files whose checksums sit in each run folder's manifest.json.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from checkpoints.doctor import repair_state, state_findings
from core.health import ERROR, INFO, WARNING, Finding
from exports.health import output_findings, repair_output

EXIT_HEALTHY, EXIT_PROBLEMS, EXIT_FIXED = 0, 1, 2

__all__ = [
    "EXIT_FIXED",
    "EXIT_HEALTHY",
    "EXIT_PROBLEMS",
    "Finding",
    "Health",
    "diagnose",
    "format_health",
    "repair",
]


@dataclass
class Health:
    """What doctor found (and, after `repair`, what it did and what it had found before)."""

    state: Path
    out: Path | None
    findings: list[Finding] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    found_before: list[Finding] = field(default_factory=list)

    @property
    def problems(self) -> list[Finding]:
        """Give the findings that need attention (errors and warnings; info is only information)."""
        return [f for f in self.findings if f.severity in (ERROR, WARNING)]

    @property
    def healthy(self) -> bool:
        return not self.problems

    @property
    def exit_code(self) -> int:
        """Give 0 when healthy and nothing was repaired, 2 when repairs made it healthy, 1 otherwise."""
        if self.problems:
            return EXIT_PROBLEMS
        return EXIT_FIXED if self.repairs else EXIT_HEALTHY

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]


def diagnose(state: Path, out: Path | None = None) -> Health:
    """Give the health of the state file `state` and, when given, of the reports under `out`."""
    state, out = Path(state), Path(out) if out is not None else None
    health = Health(state, out)
    health.findings += state_findings(state)
    if out is not None:
        health.findings += output_findings(out)
    return health


def repair(state: Path, out: Path | None = None) -> Health:
    """Fix what `diagnose` finds, losing nothing; give the health afterwards with the repairs made."""
    state, out = Path(state), Path(out) if out is not None else None
    before = diagnose(state, out)
    done = repair_state(state, before.findings)
    if out is not None:
        done += repair_output(out, before.findings)
    after = diagnose(state, out)
    after.repairs, after.found_before = done, before.findings
    return after


def format_health(health: Health) -> str:
    """Give the doctor report as plain text: one block per finding, the repairs made, and the verdict."""
    lines = [f"state: {health.state}" + (f"   reports: {health.out}" if health.out else "")]
    if health.repairs:
        lines += ["", f"found {len(health.found_before)} findings; repairs made:"]
        lines += [f"  - {r}" for r in health.repairs]
        lines += ["", "after repair:" if health.findings else "after repair: nothing left to report"]
    for f in health.findings:
        lines += [f"  {f.severity.upper():<8}{f.what}", f"  {'':<8}what to do: {f.todo}"]
    verdict = {EXIT_HEALTHY: "healthy", EXIT_PROBLEMS: "problems found", EXIT_FIXED: "repaired, now healthy"}
    lines += [
        "",
        f"{verdict[health.exit_code]} ({len(health.problems)} problems, "
        f"{sum(f.severity == INFO for f in health.findings)} notes)",
    ]
    return "\n".join(lines)
