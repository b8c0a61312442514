"""File fingerprints: the CRC32 of a file's bytes, read through one reused buffer per thread.

The buffer is 1 MiB; files shorter than it, exactly its size, one byte longer and several times longer
must give `zlib.crc32` of their whole content, also when several threads stamp files at once.
"""

from __future__ import annotations

import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from collectors._io import content_fingerprint

MIB = 1 << 20


@pytest.mark.parametrize("size", [0, 1, 4096, MIB - 1, MIB, MIB + 1, 3 * MIB + 7])
def test_the_fingerprint_is_the_crc32_of_the_whole_file(tmp_path: Path, size: int) -> None:
    data = bytes((i * 7 + size) % 251 for i in range(size))
    path = tmp_path / "day.json"
    path.write_bytes(data)
    assert content_fingerprint(path) == f"{zlib.crc32(data):08x}"


def test_threads_stamping_at_once_each_get_their_own_files_crc(tmp_path: Path) -> None:
    paths = []
    for i in range(16):
        path = tmp_path / f"{i}.json"
        path.write_bytes(bytes([i]) * (MIB + 1000 * i))
        paths.append(path)
    with ThreadPoolExecutor(4) as pool:
        found = list(pool.map(content_fingerprint, paths * 4))
    assert found == [f"{zlib.crc32(p.read_bytes()):08x}" for p in paths] * 4
