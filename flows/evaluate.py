"""Evaluation run: the pipeline's stages on a generated workspace into a fresh state, scored against truth."""

from __future__ import annotations

import json
from pathlib import Path

from rich.table import Table

from checkpoints import StateStore
from core.errors import ConfigurationError, DataError
from flows import stages
from intelligence.evaluate import evaluate
from intelligence.models import MISS_FIGURES, Evaluation

# Misses listed per figure unless the caller asks for another number.
MISSES_SHOWN = 20


def run_evaluation(workspace: Path, truth: Path, state: Path) -> Evaluation:
    """Give the evaluation of a full pipeline run (collect, detect, correlate, aggregate) on `workspace`.

    `state` must not exist yet: the run starts from nothing, so figures never mix with an earlier state.
    """
    if state.exists():
        raise ConfigurationError(
            f"state file {state} already exists", "pass a new path; an evaluation always starts from scratch"
        )
    parsed = _read_truth(truth)
    with StateStore(state) as store:
        run_id = store.start_run("evaluate")
        stages.collect(store, workspace, run_id)
        stages.detect(store)
        stages.correlate_stage(store)
        stages.aggregate(store)
        return evaluate(store.con, parsed)


def _read_truth(path: Path) -> dict[str, object]:
    """Give the parsed truth.json at `path`, or raise a classified error saying what is wrong."""
    try:
        parsed = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigurationError(
            f"truth file {path} does not exist", "pass the truth.json the generator wrote (meetintel sandbox)"
        ) from exc
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"truth file {path} is not readable JSON: {exc}", "regenerate the workspace") from exc
    if not isinstance(parsed, dict):
        raise DataError(f"truth file {path} is not a JSON object", "regenerate the workspace")
    return parsed


def format_evaluation(e: Evaluation) -> Table:
    """Give a rich table of every figure of `e`, with each target's threshold and whether it is met."""
    table = Table(
        title=f"meetintel evaluation: {e.profile} profile, seed {e.seed}, "
        f"{e.people_count} people, {e.days} days"
    )
    for column in ("figure", "value", "counts", "target"):
        table.add_column(column, justify="right" if column in ("value",) else "left")
    met = e.targets()
    d, r, c, s, p = e.detection, e.detector, e.calendar, e.slack_meetings, e.people

    def mark(name: str) -> str:
        return f"{name} {'ok' if met[name] else 'MISSED'}"

    table.add_row("detection precision", f"{d.precision:.4f}", f"tp {d.tp} fp {d.fp}", "")
    table.add_row("detection recall", f"{d.recall:.4f}", f"fn {d.fn}", "")
    table.add_row("detection F1", f"{d.f1:.4f}", "", mark("detection F1 >= 0.95"))
    table.add_row(
        "detector (raw) P / R", f"{r.precision:.4f} / {r.recall:.4f}", f"tp {r.tp} fp {r.fp} fn {r.fn}", ""
    )
    table.add_row(
        "correlation accuracy",
        f"{e.correlation_accuracy:.4f}",
        f"{e.correlation_correct} of {e.correlation_total}",
        mark("correlation accuracy >= 0.98"),
    )
    table.add_row(
        "calendar precision",
        f"{c.precision:.4f}",
        f"{c.found} of {c.reported} rows",
        mark("calendar precision >= 0.99"),
    )
    table.add_row(
        "calendar recall",
        f"{c.recall:.4f}",
        f"{c.found} of {c.expected} events",
        mark("calendar recall >= 0.99"),
    )
    table.add_row(
        "calendar duplicates",
        str(c.duplicates),
        f"status errors {c.status_errors}",
        mark("no duplicate meetings"),
    )
    table.add_row(
        "held but cancelled / not a meeting",
        f"{c.cancelled_as_held} / {c.not_meetings_as_held}",
        f"focus time {c.focus_time_as_held}",
        mark("no cancelled or non-meeting event held"),
    )
    table.add_row(
        "huddles + ad hoc calls P / R",
        f"{s.precision:.4f} / {s.recall:.4f}",
        f"tp {s.tp} fp {s.fp} fn {s.fn}",
        "",
    )
    table.add_row(
        "people mapping", f"{p.accuracy:.4f}", f"{p.correct} of {p.total}", mark("people mapping >= 0.99")
    )
    return table


def format_misses(e: Evaluation, limit: int = MISSES_SHOWN) -> list[str]:
    """Give the lines listing up to `limit` misses per figure (none when `limit` is 0), each under a heading.

    A heading says how many misses the figure has and how many are shown; a figure without misses is left
    out, and an evaluation without any says so in one line.
    """
    if limit <= 0:
        return []
    if not e.misses:
        return ["no misses"]
    lines: list[str] = []
    for figure in MISS_FIGURES:
        misses = e.misses_of(figure)
        if not misses:
            continue
        shown = f" (first {limit})" if len(misses) > limit else ""
        lines.append(f"{figure}: {len(misses)} {'miss' if len(misses) == 1 else 'misses'}{shown}")
        lines += [line for miss in misses[:limit] for line in miss.lines()]
    return lines
