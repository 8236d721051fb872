"""The store's bulk delete, as the retention sweep uses it: keys that would climb out of the root are
never joined raw, and the threaded path reports each file's outcome in order."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.footage_store import LocalFolderStore


def _touch(root: Path, key: str) -> None:
    path = root / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


def test_delete_many_outcomes_in_order_on_the_threaded_path(tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path / "store")
    keys = [f"S{i % 3}/cam1/{i}.mp4" for i in range(3_000)]
    for key in keys[::2]:  # every other file exists
        _touch(store.root, key)
    out = store.delete_many(keys, workers=2)
    assert out == [i % 2 == 0 for i in range(3_000)]
    assert not any(store.exists(k) for k in keys)


def test_delete_many_never_leaves_the_root(tmp_path: Path) -> None:
    store = LocalFolderStore(tmp_path / "store")
    outside = tmp_path / "victim.mp4"
    outside.write_bytes(b"evidence")
    _touch(store.root, "S1/cam1/a.mp4")
    _touch(store.root, "S1/cam1/b.mp4")
    out = store.delete_many(["S1/cam1/a.mp4", "../victim.mp4", "S1/../../victim.mp4", "S1\\cam1\\b.mp4", "x\x00y"])
    assert out[0] is True and out[3] is True
    assert all(isinstance(o, OSError) for o in (out[1], out[2], out[4]))
    assert outside.read_bytes() == b"evidence"


def test_digests_of_files_read_ahead_in_chunks(tmp_path: Path) -> None:
    """SHA-256 and BLAKE3 digests and sizes agree with hashlib and the blake3 reference for files
    smaller than, equal to and many times the read size, both from one read, one file at a time and side by side with a list of digests per file;
    a missing file is None, not an error for the whole run."""
    import hashlib
    import os

    import blake3

    from storage.video_probe import hash_file, hash_files, sha256_file

    chunk = 64 * 1024
    paths = []
    for name, size in (("empty", 0), ("small", 1000), ("one", chunk), ("many", 37 * chunk + 123)):
        path = tmp_path / name
        path.write_bytes(os.urandom(size))
        paths.append(path)
    expected = [(hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_size) for p in paths]
    assert [sha256_file(p, chunk) for p in paths] == expected
    both = [({"sha256": h, "blake3": blake3.blake3(p.read_bytes()).hexdigest()}, n) for p, (h, n) in zip(paths, expected)]
    assert [hash_file(p, ("sha256", "blake3"), chunk) for p in paths] == both
    # one list of digests per file, several files side by side
    wanted = [("blake3",), ("sha256", "blake3"), ("sha256",), ("blake3",), ("sha256",), ("blake3",)]
    got = hash_files([*paths, tmp_path / "gone", None], wanted, chunk, workers=3)
    assert got[4:] == [None, None]
    assert got[:4] == [({k: d[k] for k in names}, n) for (d, n), names in zip(both, wanted)]
    with pytest.raises(ValueError):  # lengths must agree
        hash_files(paths, wanted[:2])


def test_delete_many_reports_absent_files_from_folder_listings(tmp_path: Path) -> None:
    """Files the folder listing does not show, files in missing folders and at the root are reported
    gone; present ones are removed; a key whose folder is a file gets its error, not a silent False."""
    store = LocalFolderStore(tmp_path / "store")
    _touch(store.root, "S1/cam1/here.mp4")
    _touch(store.root, "top.mp4")
    _touch(store.root, "S2/file-not-folder")
    keys = ["S1/cam1/here.mp4", "S1/cam1/gone.mp4", "S9/cam1/never.mp4", "top.mp4", "absent.mp4",
            "S2/file-not-folder/x.mp4"]
    out = store.delete_many(keys, workers=1)
    assert out[:5] == [True, False, False, True, False]
    assert isinstance(out[5], NotADirectoryError)
    assert not store.exists("S1/cam1/here.mp4") and not store.exists("top.mp4")


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.text(alphabet="a./\\\x00", max_size=6), min_size=1, max_size=4))
def test_the_quick_key_vetting_agrees_with_the_expression(keys: list[str]) -> None:
    from storage.footage_store import _UNSAFE_KEYS, _plain_keys

    joined = "\n".join(keys)
    assert _plain_keys(joined) == (not _UNSAFE_KEYS.search(joined))



def _resident_pages(path: Path) -> int:
    """Pages of `path` in the page cache: mincore(2) over a read-only mapping made with libc."""
    import ctypes
    import mmap
    import os

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    size = path.stat().st_size
    pages = (size + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    vec = (ctypes.c_ubyte * pages)()
    fd = os.open(path, os.O_RDONLY)
    try:
        addr = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert addr not in (None, ctypes.c_void_p(-1).value), "mmap failed"
        try:
            assert libc.mincore(ctypes.c_void_p(addr), ctypes.c_size_t(size), vec) == 0, ctypes.get_errno()
        finally:
            libc.munmap(ctypes.c_void_p(addr), ctypes.c_size_t(size))
    finally:
        os.close(fd)
    return sum(b & 1 for b in vec)


def test_hashing_leaves_the_file_out_of_the_page_cache(tmp_path: Path) -> None:
    """A re-hash of terabytes must not evict everything else: each chunk is dropped once hashed.
    A written, synced and read (so fully cached) file is not cached after it is hashed."""
    import hashlib
    import os

    from storage.video_probe import hash_file

    path = tmp_path / "cached.bin"
    data = os.urandom(16 << 20)
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    assert path.read_bytes() == data
    pages = len(data) // 4096
    assert _resident_pages(path) > pages * 0.9
    # reads smaller than the page cache's folios (written files are cached in folios of up to 2 MiB)
    for chunk in (1 << 20, (3 << 20) + 5, 4 << 20):
        path.read_bytes()
        assert _resident_pages(path) > pages * 0.9
        assert hash_file(path, ("sha256",), chunk) == ({"sha256": hashlib.sha256(data).hexdigest()}, len(data))
        assert _resident_pages(path) < pages * 0.05, chunk
