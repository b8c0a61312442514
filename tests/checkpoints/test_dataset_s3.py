"""Raw tables as Parquet on S3-compatible storage: moto's standalone server on loopback, reached through
pyarrow's S3 filesystem with an endpoint override, gives the reports of the single-file state."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from checkpoints import StateStore
from checkpoints.dataset import storage_uri
from sandbox import generate_workspace
from tests.checkpoints.moto_s3 import LocalS3, local_s3
from tests.checkpoints.test_dataset import run_stages

pytestmark = pytest.mark.slow  # starts a server

PEOPLE, DAYS, SEED = 20, 4, 3


@pytest.fixture(scope="module")
def s3() -> Iterator[LocalS3]:
    with local_s3() as server:
        yield server


def test_the_dataset_on_s3_gives_the_single_file_reports(s3: LocalS3, tmp_path: Path) -> None:
    generate_workspace(tmp_path / "short", people=PEOPLE, days=DAYS, seed=SEED)
    generate_workspace(tmp_path / "long", people=PEOPLE, days=DAYS + 2, seed=SEED)
    ws = tmp_path / "ws"
    shutil.copytree(tmp_path / "short", ws)
    uri = storage_uri("s3://meetintel/orgs/acme", f"http://{s3.endpoint}")
    assert uri == s3.uri("orgs/acme").removesuffix("&region=us-east-1")
    for step in ("short", "long"):
        if step == "long":
            shutil.rmtree(ws)
            shutil.copytree(tmp_path / "long", ws)
        plain = run_stages(tmp_path / "plain.duckdb", ws, tmp_path / "out-plain")
        remote = run_stages(tmp_path / "s3.duckdb", ws, tmp_path / "out-s3", uri)
        assert remote == plain, step
    assert len(json.loads(plain["meetings.json"])) == 62
    with StateStore(tmp_path / "s3.duckdb") as store, StateStore(tmp_path / "plain.duckdb") as one:
        assert store.dataset is not None
        state_id = store.get_meta("state_id")
        stats = store.dataset.stats()
        assert stats["slack_messages"]["rows"] == one.count("slack_messages") == 1493
        assert stats["calendar_events"]["rows"] == one.count("calendar_events") == 189
        assert store.dataset.verify() == []
        named = {f.path for parts in store.dataset.committed.tables.values() for f in parts.values()}
    keys = s3.keys(f"orgs/acme/{state_id}")
    data = {k.removeprefix(f"orgs/acme/{state_id}/") for k in keys if k.endswith(".parquet")}
    assert data == named  # replaced partitions were deleted from the bucket
    manifests = [k.rsplit("/", 1)[1] for k in keys if "/_manifests/" in k]
    assert len(manifests) == 3 and manifests == sorted(manifests)
    # Nothing but the dataset in the bucket: the state file and the reports stay local.
    assert {k.split("/")[2] for k in keys} == {state_id}
