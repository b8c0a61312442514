"""An S3-compatible server on loopback for tests: moto's standalone server in a thread, one bucket."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pyarrow.fs as pafs

# Test keys for the local server only; pyarrow and boto read them from the environment.
TEST_KEYS = {
    "AWS_ACCESS_KEY_ID": "meetintel-test",
    "AWS_SECRET_ACCESS_KEY": "meetintel-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class LocalS3:
    """Where the server listens and how to reach its bucket."""

    endpoint: str  # host:port on loopback
    bucket: str

    def uri(self, prefix: str) -> str:
        """Give an s3:// storage URI under `prefix` of the bucket, naming this endpoint."""
        return f"s3://{self.bucket}/{prefix}?endpoint_override={self.endpoint}&scheme=http&region=us-east-1"

    def filesystem(self) -> pafs.S3FileSystem:
        return pafs.S3FileSystem(endpoint_override=self.endpoint, scheme="http", region="us-east-1")

    def keys(self, prefix: str) -> list[str]:
        """Give every object key under `prefix` of the bucket."""
        found = self.filesystem().get_file_info(pafs.FileSelector(f"{self.bucket}/{prefix}", recursive=True))
        return sorted(f.path.removeprefix(self.bucket + "/") for f in found if f.type == pafs.FileType.File)


@contextmanager
def local_s3(bucket: str = "meetintel") -> Iterator[LocalS3]:
    """Run moto's S3 server on 127.0.0.1 (a free port) with `bucket` created, test keys in the environment."""
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in TEST_KEYS}
    os.environ.update(TEST_KEYS)
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        s3 = LocalS3(f"{host}:{port}", bucket)
        pafs.S3FileSystem(
            endpoint_override=s3.endpoint, scheme="http", region="us-east-1", allow_bucket_creation=True
        ).create_dir(bucket)
        yield s3
    finally:
        server.stop()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
