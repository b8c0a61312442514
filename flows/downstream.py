"""The `report_pack` flow, run by a deployment triggered on `meetintel.reports.published`: it packs the
published reports of a run into one ZIP an analyst can download or forward, and links it as an artifact."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact

from core.errors import ConfigurationError
from flows.events import org_slug


@task(
    name="pack",
    task_run_name="pack {org} run {run_id}",
    timeout_seconds=600,
    retries=2,
    retry_delay_seconds=2,
)
def pack_task(latest: str, run_id: str, org: str) -> str:
    """Zip the reports under `latest` into `<out>/packs/<org>-<run_id>.zip` (written aside, then renamed)."""
    folder = Path(latest)
    if not folder.is_dir():
        raise ConfigurationError(
            f"the published reports folder {folder} does not exist",
            "the event names `latest/` of a report folder: check that the run's `out` is reachable here",
        )
    packs = folder.parent / "packs"
    packs.mkdir(exist_ok=True)
    target = packs / f"{org}-{run_id}.zip"
    tmp = packs / f".{target.name}.{os.getpid()}.tmp"
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as pack:
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            pack.write(path, arcname=f"{org}-{run_id}/{path.name}")
    os.replace(tmp, target)
    return str(target)


@flow(name="report_pack", log_prints=False)
def report_pack(latest: str, run_id: str, org: str = "default") -> str:
    """Pack the reports a run published into one ZIP and link it in the `meetintel-<org>-report-pack`
    artifact; give the pack's path. Parameters come from the `meetintel.reports.published` event."""
    name = org_slug(org)
    pack = pack_task(latest, run_id, name)
    link = f"[{Path(pack).name}]({Path(pack).as_uri()})"
    create_markdown_artifact(
        markdown=f"# meetintel report pack\n\nRun `{run_id}` of **{name}**: {link}",
        key=f"meetintel-{name}-report-pack",
        description=f"Reports of run {run_id} in one ZIP ({name})",
    )
    get_run_logger().info("packed the reports of run %s into %s", run_id, pack)
    return pack
