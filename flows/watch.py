"""`meetintel watch WORKSPACE`: emit `meetintel.workspace.changed` when export files appear, change or go.

Changes are debounced (a burst of writes, such as an export being unpacked, is one event), and the
incremental deployment's trigger in `prefect.yaml` turns a burst of events into one run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from watchfiles import Change, watch

from core.errors import ConfigurationError
from flows import events

# What a workspace snapshot is made of (see README, "Workspace layout"); anything else is not an export.
EXPORT_SUFFIXES = frozenset({".json", ".ics", ".zip", ".csv"})
EXPORT_ROOTS = frozenset({"slack", "google"})
PATHS_IN_EVENT = 20  # the event names this many changed paths at most; the counts cover all of them


@dataclass
class WorkspaceChange:
    """One debounced batch of changes to a workspace's export files."""

    added: list[str] = field(default_factory=list)
    modified: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.added or self.modified or self.deleted)

    def payload(self, workspace: Path) -> dict[str, object]:
        """Give the event payload: counts of each kind and the first changed paths (relative)."""
        paths = sorted({*self.added, *self.modified, *self.deleted})
        return {
            "workspace": str(workspace),
            "added": len(self.added),
            "modified": len(self.modified),
            "deleted": len(self.deleted),
            "paths": paths[:PATHS_IN_EVENT],
            "more_paths": max(0, len(paths) - PATHS_IN_EVENT),
        }


def is_export_file(workspace: Path, path: str) -> bool:
    """Give True for a file that belongs to the workspace snapshot (not a temp file, not outside it)."""
    try:
        rel = PurePosixPath(Path(path).relative_to(workspace).as_posix())
    except ValueError:
        return False
    name = rel.name
    if not rel.parts or rel.parts[0] not in EXPORT_ROOTS or name.startswith("."):
        return False
    return rel.suffix.lower() in EXPORT_SUFFIXES


def classify(workspace: Path, changes: Iterable[tuple[Change, str]]) -> WorkspaceChange:
    """Sort raw file changes into added, modified and deleted export files (paths relative, sorted)."""
    batch = WorkspaceChange()
    kinds = {Change.added: batch.added, Change.modified: batch.modified, Change.deleted: batch.deleted}
    for change, path in sorted(changes, key=lambda c: c[1]):
        if is_export_file(workspace, path):
            kinds[change].append(Path(path).relative_to(workspace).as_posix())
    return batch


def changes(
    workspace: Path, quiet_ms: int = 1000, stop: threading.Event | None = None, longest_ms: int = 30_000
) -> Iterator[WorkspaceChange]:
    """Yield each debounced batch of changes to the workspace's export files until `stop` is set.

    A batch ends once no file changed for `quiet_ms`, or `longest_ms` after it began (a copy that never
    pauses still gets reported).
    """
    if not workspace.is_dir():
        raise ConfigurationError(
            f"workspace {workspace} is not a folder",
            "pass the folder holding slack/ and google/ (the same one `meetintel run --workspace` reads)",
        )
    root = workspace.resolve()
    for raw in watch(root, debounce=longest_ms, step=quiet_ms, stop_event=stop, raise_interrupt=False):
        batch = classify(root, raw)
        if batch:
            yield batch


def run_watch(
    workspace: Path,
    org: str,
    quiet_ms: int = 1000,
    stop: threading.Event | None = None,
    told: Callable[[WorkspaceChange], None] | None = None,
) -> int:
    """Emit `meetintel.workspace.changed` for each batch of changes until `stop`; give how many were sent."""
    sent = 0
    for batch in changes(workspace, quiet_ms, stop):
        events.emit(events.WORKSPACE_CHANGED, events.org_slug(org), batch.payload(workspace.resolve()))
        sent += 1
        if told is not None:
            told(batch)
    return sent
