"""Health of the reports under an output folder: the published run, run folders, archives, and repairs.

`output_findings` checks, `repair_output` fixes what it found without deleting anything: damaged or
incomplete runs are moved aside and the newest intact run is published.
"""

from __future__ import annotations

import os
from pathlib import Path

from core.errors import DataError
from core.health import ERROR, INFO, WARNING, Finding
from exports.archive import (
    ARCHIVE_SUFFIX,
    LATEST,
    LATEST_FILE,
    MANIFEST,
    RUNS,
    archive_members,
    check_manifest,
    latest_run,
    link_current,
    list_runs,
    publish,
)

CURRENT_MARKER = ".meetintel-version"  # the export stage's "reports are current" marker
RUN_LOG = "run.log"  # the log a run keeps in its folder; a folder holding only it exported nothing
REPUBLISH = (
    "run `meetintel doctor --repair`: it publishes the newest intact run and the next run exports afresh"
)


def published_target(out: Path) -> tuple[str | None, list[str]]:
    """Give the run `latest` (or LATEST) names, and what is wrong with how it is named."""
    link, file = out / LATEST, out / LATEST_FILE
    linked = Path(os.readlink(link)).name if link.is_symlink() else None
    named = file.read_text(encoding="utf-8").strip() if file.is_file() else None
    problems = []
    if linked and named and linked != named:
        problems.append(f"{link} points at run {linked} but {file} names run {named}")
    return linked or named, problems


def output_findings(out: Path) -> list[Finding]:
    """Give findings about the reports under `out`: what is published, and every run kept."""
    if not out.exists():
        return [
            Finding(
                INFO, "no-reports", f"{out} does not exist yet: no run has exported", "run `meetintel run`"
            )
        ]
    findings = _published_findings(out)
    published = latest_run(out)
    for run in list_runs(out):
        if run.run_id == published:
            continue
        if run.compressed:
            findings += _archive_findings(run.path)
        else:
            findings += _folder_findings(run.path)
    return findings


def _published_findings(out: Path) -> list[Finding]:
    target, problems = published_target(out)
    findings = [Finding(WARNING, "latest-disagrees", p, REPUBLISH) for p in problems]
    if target is None:
        if list_runs(out):
            findings.append(
                Finding(ERROR, "not-published", f"{out} holds runs but none is published", REPUBLISH)
            )
        else:
            todo = "run `meetintel run`: it exports and publishes the reports"
            findings.append(Finding(INFO, "no-reports", f"{out} holds no published reports", todo))
        return findings
    run = out / RUNS / target
    if not run.is_dir():
        what = f"`latest` names run {target}, but {run} does not exist"
        return [*findings, Finding(ERROR, "latest-missing-run", what, REPUBLISH, (target,))]
    damage = check_manifest(run)
    if damage:
        what = f"the published run {target} is not intact: " + "; ".join(damage)
        findings.append(Finding(ERROR, "report-damaged", what, REPUBLISH, (target,)))
    return findings


def _folder_findings(run: Path) -> list[Finding]:
    if {p.name for p in run.iterdir()} == {RUN_LOG}:
        return []  # a run whose reports were current: it kept its log and exported nothing
    if not (run / MANIFEST).is_file():
        what = f"run folder {run} has no {MANIFEST}: its export was interrupted (it was never published)"
        todo = "run `meetintel doctor --repair`: it moves the folder aside (to runs/.incomplete-<id>)"
        return [Finding(WARNING, "run-incomplete", what, todo, (run.name,))]
    damage = check_manifest(run)
    if damage:
        todo = "run `meetintel doctor --repair`: it moves the folder aside (to runs/.damaged-<id>)"
        return [
            Finding(
                WARNING,
                "run-damaged",
                f"run {run.name} is not intact: " + "; ".join(damage),
                todo,
                (run.name,),
            )
        ]
    return []


def _archive_findings(archive: Path) -> list[Finding]:
    try:
        archive_members(archive)
    except DataError as exc:
        todo = "run `meetintel doctor --repair`: it moves the archive aside (to runs/.damaged-<name>)"
        return [Finding(WARNING, "archive-damaged", exc.message, todo, (archive.name,))]
    return []


def complete_runs(out: Path) -> list[str]:
    """Give the ids of run folders whose manifest checks out, oldest first."""
    return [r.run_id for r in list_runs(out) if not r.compressed and not check_manifest(r.path)]


def set_aside(path: Path, label: str) -> Path:
    """Rename `path` to a hidden `.<label>-<name>` beside it (never delete); give the new path."""
    target = path.with_name(f".{label}-{path.name}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f".{label}{n}-{path.name}")
    path.rename(target)
    return target


def archive_name(run_id: str) -> str:
    return run_id + ARCHIVE_SUFFIX


def repair_output(out: Path, findings: list[Finding]) -> list[str]:
    """Move damaged and incomplete runs aside; publish the newest intact run when `latest` is not one."""
    done = []
    for f in findings:
        if f.code in ("run-incomplete", "run-damaged", "archive-damaged"):
            label = "incomplete" if f.code == "run-incomplete" else "damaged"
            moved = set_aside(out / RUNS / f.keys[0], label)
            done.append(f"moved {f.keys[0]} aside to {moved}")
    bad_latest = {"not-published", "latest-missing-run", "report-damaged", "latest-disagrees"}
    if not bad_latest & {f.code for f in findings}:
        return done
    for f in findings:
        if f.code == "report-damaged" and f.keys:
            done.append(
                f"moved the damaged published run aside to {set_aside(out / RUNS / f.keys[0], 'damaged')}"
            )
    (out / CURRENT_MARKER).unlink(missing_ok=True)  # the next run must export afresh, whatever the state says
    intact = complete_runs(out)
    if intact:
        run = publish(out, intact[-1])
        link_current(out, sorted(p.name for p in run.iterdir() if p.name != MANIFEST))
        done.append(f"published the newest intact run {intact[-1]}; the next run exports afresh")
    else:
        for name in ("latest", "LATEST"):
            (out / name).unlink(missing_ok=True)
        done.append(
            "no intact run is left to publish; removed the `latest` pointer, the next run exports afresh"
        )
    return done
