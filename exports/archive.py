"""Run folders, the published `latest` pointer, compression of older runs, and retention.

Layout under the output folder:
    runs/<run-id>/          what one run wrote (reports, workbook, HTML) and, last, manifest.json
    runs/<run-id>.tar.gz    an older run, compressed; its entries all sit under <run-id>/
    latest -> runs/<run-id> the published run (a symlink swapped by rename, so readers never see a gap)
    LATEST                  the published run id as text, for readers or file systems without symlinks
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tarfile
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath

from core.errors import ConfigurationError, DataError

RUNS = "runs"
LATEST = "latest"
LATEST_FILE = "LATEST"
MANIFEST = "manifest.json"
ARCHIVE_SUFFIX = ".tar.gz"
# A run id is one plain path component; the store's ids look like 20260908T133000Z-1a2b3c.
_RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_STAMP = re.compile(r"(\d{8}T\d{6}Z)")


@dataclass(frozen=True)
class RunInfo:
    """One run kept under `runs/`: folder or archive, when it started, its size, whether it is published."""

    run_id: str
    path: Path
    compressed: bool
    started_at: datetime
    size_bytes: int
    published: bool


def _check_id(run_id: str) -> str:
    if not _RUN_ID.fullmatch(run_id) or run_id.endswith(ARCHIVE_SUFFIX):
        raise ConfigurationError(
            f"invalid run id {run_id!r}",
            "use letters, digits, '.', '_' or '-', like the ids meetintel makes (20260908T133000Z-1a2b3c)",
        )
    return run_id


def start_run_dir(out: Path, run_id: str) -> Path:
    """Give `out/runs/<run-id>/`, created if needed: where one run writes its reports."""
    run = out / RUNS / _check_id(run_id)
    try:
        run.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot create the run folder {run}: {exc}", "pass a writable --out"
        ) from exc
    return run


def publish(out: Path, run_id: str) -> Path:
    """Point `out/latest` (and `out/LATEST`) at run `run_id` atomically; give the run folder."""
    run = out / RUNS / _check_id(run_id)
    if not run.is_dir():
        raise ConfigurationError(
            f"run folder {run} does not exist", "publish a run that wrote its reports with start_run_dir"
        )
    link = out / LATEST
    if link.exists() and not link.is_symlink():
        raise ConfigurationError(
            f"{link} exists and is not a symlink", "move it away: meetintel points `latest` at the newest run"
        )
    tmp = out / f".{LATEST}.{os.getpid()}.tmp"
    tmp.unlink(missing_ok=True)
    try:
        tmp.symlink_to(Path(RUNS) / run_id, target_is_directory=True)
        os.replace(tmp, link)  # rename swaps the link itself, so `latest` always resolves to a whole run
    except OSError:
        tmp.unlink(missing_ok=True)  # no symlinks here: the LATEST file alone names the run
    _write_atomic(out / LATEST_FILE, run_id + "\n")
    return run


def file_sha256(path: Path) -> str:
    """Give the SHA-256 (hex) of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(
    run: Path, files: list[Path], data_version: str, inputs: dict[str, str] | None = None
) -> Path:
    """Write `run/manifest.json` (size and SHA-256 of each report, the data they show); give its path.

    It is written last and atomically, so a run folder with a manifest is a complete export. `inputs`
    (file name: digest of the rows it was written from) lets the next run link the files that stay the same.
    """
    entries = {f.name: {"bytes": f.stat().st_size, "sha256": file_sha256(f)} for f in sorted(files)}
    body: dict[str, object] = {"run_id": run.name, "data_version": data_version, "files": entries}
    if inputs:
        body["inputs"] = dict(sorted(inputs.items()))
    _write_atomic(run / MANIFEST, json.dumps(body, indent=1, sort_keys=True) + "\n")
    return run / MANIFEST


def manifest_inputs(run: Path) -> dict[str, str]:
    """Give the `inputs` of a run's manifest (empty when it has none or cannot be read)."""
    try:
        inputs = json.loads((run / MANIFEST).read_text(encoding="utf-8")).get("inputs", {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {str(k): str(v) for k, v in inputs.items()} if isinstance(inputs, dict) else {}


def check_manifest(run: Path) -> list[str]:
    """Give what is wrong with a run folder against its manifest (empty when every report is intact)."""
    path = run / MANIFEST
    if not path.is_file():
        return [f"{run} has no {MANIFEST}: its export did not finish"]
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
        expected = {str(name): (int(e["bytes"]), str(e["sha256"])) for name, e in files.items()}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return [f"{path} is not a readable manifest ({type(exc).__name__}: {exc})"]
    problems = []
    for name, (size, sha) in sorted(expected.items()):
        file = run / name
        if not file.is_file():
            problems.append(f"{file} is missing")
        elif file.stat().st_size != size or file_sha256(file) != sha:
            problems.append(f"{file} does not match its checksum in {MANIFEST}")
    return problems


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def latest_run(out: Path) -> str | None:
    """Give the id of the published run: where `latest` points, else what `LATEST` says; None if none."""
    link = out / LATEST
    if link.is_symlink():
        name = Path(os.readlink(link)).name
        if _RUN_ID.fullmatch(name) and (out / RUNS / name).is_dir():
            return name
    file = out / LATEST_FILE
    if file.is_file():
        name = file.read_text(encoding="utf-8").strip()
        if _RUN_ID.fullmatch(name):
            return name
    return None


def _started(run_id: str, path: Path) -> datetime:
    """Give when a run started: from its id's UTC stamp, else from the folder's or archive's mtime."""
    match = _STAMP.match(run_id)
    if match:
        return datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    return datetime.fromtimestamp(path.lstat().st_mtime, UTC)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.lstat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def list_runs(out: Path) -> list[RunInfo]:
    """Give every run under `out/runs`, oldest first (a folder wins over a leftover archive of its id)."""
    root = out / RUNS
    if not root.is_dir():
        return []
    published = latest_run(out)
    found: dict[str, tuple[Path, bool]] = {}
    for entry in sorted(root.iterdir()):
        if entry.is_symlink():
            continue
        if entry.is_dir() and _RUN_ID.fullmatch(entry.name) and not entry.name.endswith(ARCHIVE_SUFFIX):
            found[entry.name] = (entry, False)
        elif entry.is_file() and entry.name.endswith(ARCHIVE_SUFFIX):
            run_id = entry.name.removesuffix(ARCHIVE_SUFFIX)
            if _RUN_ID.fullmatch(run_id) and run_id not in found:
                found[run_id] = (entry, True)
    runs = [
        RunInfo(run_id, path, packed, _started(run_id, path), _size(path), run_id == published)
        for run_id, (path, packed) in found.items()
    ]
    return sorted(runs, key=lambda r: (r.started_at, r.run_id))


# gzip level of run archives: level 9 took 1.9 s for an L run (105 MB, half of it Excel and HTML that
# barely compress further), level 1 0.7 s for an archive 12 % larger; a run is archived on every run
# that publishes new reports, so the fast level wins.
ARCHIVE_LEVEL = 1


def compress_runs(out: Path, keep_uncompressed: int = 1) -> list[Path]:
    """Compress run folders except the published one and the newest `keep_uncompressed`; give the archives."""
    if keep_uncompressed < 0:
        raise ConfigurationError(
            "keep_uncompressed must be 0 or more", "pass how many recent runs stay as folders"
        )
    folders = [r for r in list_runs(out) if not r.compressed]
    newest = {r.run_id for r in folders[len(folders) - keep_uncompressed :]} if keep_uncompressed else set()
    return [_compress(r.path) for r in folders if r.run_id not in newest and not r.published]


def _compress(run: Path) -> Path:
    """Write `run` as runs/<id>.tar.gz (regular files and folders only, all under <id>/), then remove it."""
    tmp = run.with_name(f".{run.name}{ARCHIVE_SUFFIX}.tmp")
    try:
        _write_tar(run, tmp)
        return _swap_in(run, tmp)
    finally:
        tmp.unlink(missing_ok=True)


def _write_tar(run: Path, tmp: Path) -> None:
    """Write the archive of `run` to `tmp` (the run folder stays)."""
    with tarfile.open(tmp, "w:gz", compresslevel=ARCHIVE_LEVEL) as tar:
        tar.add(run, arcname=run.name, recursive=False)
        for path in sorted(run.rglob("*")):
            # Links are left out: an archive entry must never point outside its run.
            if path.is_symlink() or not (path.is_file() or path.is_dir()):
                continue
            tar.add(path, arcname=f"{run.name}/{path.relative_to(run).as_posix()}", recursive=False)


def _swap_in(run: Path, tmp: Path) -> Path:
    """Put the finished archive `tmp` of `run` in place and remove the folder; give the archive."""
    target = run.with_name(run.name + ARCHIVE_SUFFIX)
    os.replace(tmp, target)
    shutil.rmtree(run)
    return target


class EarlyArchive:
    """The archive of a run folder written in a thread while the next run exports (gzip releases the GIL,
    so it overlaps DuckDB's and the writers' work); the folder is swapped for it only by `finish`.

    Meant for the published run, which `compress_runs` packs as soon as a newer run is published: readers
    keep the folder until then. `cancel` (a failed export) drops the half-written archive.
    """

    def __init__(self, run: Path) -> None:
        self.run = run
        self.tmp = run.with_name(f".{run.name}{ARCHIVE_SUFFIX}.early.tmp")
        for stale in run.parent.glob(f".*{ARCHIVE_SUFFIX}.early.tmp"):  # left by a killed export
            stale.unlink(missing_ok=True)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name=f"archive {run.name}", daemon=True)
        self._thread.start()

    def _write(self) -> None:
        try:
            _write_tar(self.run, self.tmp)
        except BaseException as exc:  # kept for `finish`, which falls back to `compress_runs`
            self.error = exc

    def finish(self) -> Path | None:
        """Wait for the archive; swap it in for the folder and give it. None when writing it failed or the
        run is still the published one: the folder stays, and `compress_runs` decides as usual."""
        self._thread.join()
        published = latest_run(self.run.parent.parent) == self.run.name
        if self.error is not None or published or not self.run.is_dir():
            self.tmp.unlink(missing_ok=True)
            return None
        return _swap_in(self.run, self.tmp)

    def cancel(self) -> None:
        """Wait for the thread and drop what it wrote; the folder stays as it was."""
        self._thread.join()
        self.tmp.unlink(missing_ok=True)


def _checked_members(tar: tarfile.TarFile, archive: Path) -> list[tarfile.TarInfo]:
    """Give the archive's entries after checking each stays inside <run-id>/ and is a file or folder."""
    run_id = archive.name.removesuffix(ARCHIVE_SUFFIX)
    members = tar.getmembers()
    for m in members:
        parts = PurePosixPath(m.name.replace("\\", "/")).parts
        bad = (
            not parts
            or m.name.startswith(("/", "\\"))
            or re.match(r"[A-Za-z]:", m.name) is not None
            or ".." in parts
            or parts[0] != run_id
        )
        if bad or not (m.isfile() or m.isdir()):
            what = "a link or special file" if not bad else "a path outside the run"
            raise DataError(
                f"archive {archive} holds {what}: {m.name!r}",
                "meetintel did not write this archive or it was altered; delete it or restore it from backup",
            )
    return members


def archive_members(archive: Path) -> list[str]:
    """Give the entry names of a compressed run, after checking none can escape its run folder."""
    with _open_archive(archive) as tar:
        return [m.name for m in _checked_members(tar, archive)]


def read_member(archive: Path, name: str) -> bytes:
    """Give the bytes of file `name` (e.g. '<run-id>/meetings.json') from a compressed run."""
    with _open_archive(archive) as tar:
        members = {m.name: m for m in _checked_members(tar, archive)}
        member = members.get(name)
        handle = tar.extractfile(member) if member is not None and member.isfile() else None
        if handle is None:
            raise DataError(f"archive {archive} has no file {name!r}", "list its files with archive_members")
        return handle.read()


def extract_run(archive: Path, dest: Path) -> Path:
    """Unpack a compressed run into `dest` after checking every entry; give `dest/<run-id>`."""
    with _open_archive(archive) as tar:
        members = _checked_members(tar, archive)
        tar.extractall(dest, members=members, filter="data")
    return dest / archive.name.removesuffix(ARCHIVE_SUFFIX)


def _open_archive(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, "r:gz")
    except (OSError, tarfile.TarError) as exc:
        raise DataError(
            f"cannot read run archive {archive}: {exc}", "delete the file or restore it from backup"
        ) from exc


def apply_retention(out: Path, keep_runs: int | None, keep_days: int | None, now: datetime) -> list[str]:
    """Delete runs beyond the newest `keep_runs` or older than `keep_days`; give their ids, oldest first.

    Either limit alone applies when the other is None; with both, a run must pass both to stay.
    The published run always stays, and None for both keeps everything.
    """
    for name, value in (("keep_runs", keep_runs), ("keep_days", keep_days)):
        if value is not None and value < 1:
            raise ConfigurationError(
                f"{name} must be 1 or more, got {value}", f"pass a positive {name} or leave it out"
            )
    now = now if now.tzinfo else now.replace(tzinfo=UTC)
    runs = list_runs(out)
    newest_first = list(reversed(runs))
    doomed = []
    for rank, run in enumerate(newest_first):
        too_many = keep_runs is not None and rank >= keep_runs
        too_old = keep_days is not None and run.started_at < now - timedelta(days=keep_days)
        if (too_many or too_old) and not run.published:
            doomed.append(run)
    for run in doomed:
        if run.compressed:
            run.path.unlink()
        else:
            shutil.rmtree(run.path)
    return [r.run_id for r in reversed(doomed)]


def link_current(out: Path, names: list[str]) -> None:
    """Make `out/<name>` a symlink into `latest/` for each report, so the contract paths always resolve."""
    for name in names:
        link, target = out / name, Path(LATEST) / name
        if link.is_symlink() and Path(os.readlink(link)) == target:
            continue
        if link.exists() and not link.is_symlink():
            link.unlink()  # a plain file from an older layout; the run folder holds the current copy
        tmp = out / f".{name}.link.tmp"
        tmp.unlink(missing_ok=True)
        try:
            tmp.symlink_to(target)
            os.replace(tmp, link)
        except OSError:
            tmp.unlink(missing_ok=True)  # no symlinks here: readers use LATEST and runs/<id>/
