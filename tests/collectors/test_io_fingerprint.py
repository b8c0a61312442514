"""File fingerprints: the CRC32 of a file's bytes, read through one reused buffer per thread, and kept from
one run to the next while the file's status (inode, size, mtime, ctime) is unchanged.

The buffer is 1 MiB; files shorter than it, exactly its size, one byte longer and several times longer
must give `zlib.crc32` of their whole content, also when several threads stamp files at once.
"""

from __future__ import annotations

import os
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from collectors._io import FingerprintCache, content_fingerprint, reuse_fingerprints

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


def _aged(path: Path) -> None:
    """Date the file's mtime a minute back (its ctime stays now)."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns - 60 * 10**9, st.st_mtime_ns - 60 * 10**9))


class _NotRacy(FingerprintCache):
    RACY_NS = 0  # keep every file, however recently it changed


def test_a_file_whose_status_is_unchanged_keeps_the_crc_the_last_run_read(tmp_path: Path) -> None:
    path = tmp_path / "day.json"
    path.write_bytes(b"[1, 2, 3]")
    first = _NotRacy()
    with reuse_fingerprints(first):
        crc = content_fingerprint(path)
    assert crc == f"{zlib.crc32(b'[1, 2, 3]'):08x}" and first.reused == 0
    [(signature, kept)] = first.kept.values()
    # The next run trusts the signature: a stored CRC for an unchanged file is given without reading it.
    second = _NotRacy({str(path): (signature, "0badc0de")})
    with reuse_fingerprints(second):
        assert content_fingerprint(path) == "0badc0de"
    assert second.reused == 1
    assert second.kept == {str(path): (signature, "0badc0de")} and not second.changed
    assert content_fingerprint(path) == kept  # outside the block no cache is used


def test_an_edit_that_keeps_the_size_and_sets_the_mtime_back_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "day.json"
    path.write_bytes(b"[1, 2, 3]")
    _aged(path)
    first = _NotRacy()
    with reuse_fingerprints(first):
        content_fingerprint(path)
    before = path.stat()
    path.write_bytes(b"[1, 2, 4]")  # same size
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # mtime as it was: only the ctime moved
    second = _NotRacy(first.kept)
    with reuse_fingerprints(second):
        assert content_fingerprint(path) == f"{zlib.crc32(b'[1, 2, 4]'):08x}"
    assert second.reused == 0 and second.changed


def test_a_file_changed_just_before_it_is_stamped_is_not_kept(tmp_path: Path) -> None:
    path = tmp_path / "day.json"
    path.write_bytes(b"[]")  # its ctime is now, whatever its mtime says
    _aged(path)
    cache = FingerprintCache()
    with reuse_fingerprints(cache):
        assert content_fingerprint(path) == f"{zlib.crc32(b'[]'):08x}"
    assert cache.kept == {} and not cache.changed
