"""What a footage file is: its digests and size (streamed), and what OpenCV reads from it.

A file gets two digests from one read when it is registered: SHA-256, the digest of record (shown,
exported and written to the audit log), and BLAKE3, the digest the nightly verification re-checks.
Both are 256-bit cryptographic hashes, so either detects any alteration; BLAKE3 costs a fifth of the
CPU (0.10 against 0.49 CPU-s per GB on this machine, AVX-512 against SHA-NI), so the nightly
re-hash at disk speed takes half a core instead of most of two.

Hashing reads large chunks into one reused buffer, lets the kernel read ahead, and drops each chunk
from the page cache once hashed; several files are hashed side by side (`readinto`, `hashlib` and
`blake3` release the GIL).

OpenCV reports container metadata, which can be wrong or missing for broken files; a file OpenCV
cannot open or decode is described with the reason instead of raising, so the caller can register it
as defective rather than refusing it.
"""
from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import blake3
import cv2

DEFAULT_CHUNK = 4 * 1024 * 1024
# The page cache holds a file in naturally aligned folios of up to 2 MiB on x86-64, and DONTNEED
# keeps a folio the range only partly covers: each drop reaches back to such a boundary.
MAX_FOLIO_BYTES = 2 * 1024 * 1024
# digest name -> hasher factory; a BLAKE3 hasher on one thread (max_threads=1): files are hashed side by side
HASHERS: dict[str, Callable[[], Any]] = {"sha256": hashlib.sha256, "blake3": blake3.blake3}


def _fourcc_text(value: float) -> str | None:
    code = int(value)
    if code <= 0:
        return None
    text = "".join(chr((code >> (8 * i)) & 0xFF) for i in range(4))
    return text if text.isprintable() else None


@dataclass(frozen=True)
class Probe:
    """What OpenCV read. `error` is None for a readable file, else why it is defective."""

    container: str | None
    codec: str | None
    fps: float | None
    frame_count: int | None
    duration_s: float | None
    width: int | None
    height: int | None
    error: str | None = None

    @property
    def readable(self) -> bool:
        return self.error is None


def open_capture(path: Path) -> cv2.VideoCapture:
    """FFmpeg backend, no hardware acceleration, raw (unrotated) frames (faces.md section 5)."""
    cap = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG,
                           [cv2.CAP_PROP_HW_ACCELERATION, cv2.VIDEO_ACCELERATION_NONE])
    if cap.isOpened():
        cap.set(cv2.CAP_PROP_ORIENTATION_AUTO, 0)
    return cap


def probe_video(path: Path) -> Probe:
    """Read container, fourcc, fps, frame count, duration and size. The first frame is decoded so a
    file with a valid header but undecodable data is caught."""
    container = path.suffix.lower().lstrip(".") or None
    if not path.is_file():
        return Probe(container, None, None, None, None, None, None, "file not found")
    cap = open_capture(path)
    try:
        if not cap.isOpened():
            return Probe(container, None, None, None, None, None, None, "OpenCV cannot open the file")
        fps = float(cap.get(cv2.CAP_PROP_FPS) or 0.0)
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        width = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH) or 0)
        height = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT) or 0)
        codec = _fourcc_text(cap.get(cv2.CAP_PROP_FOURCC))
        ok, frame = cap.read()
        duration = count / fps if fps > 0 and count > 0 else None
        base = Probe(container, codec, fps or None, count if count > 0 else None, duration,
                     width or None, height or None)
        if not ok or frame is None:
            return _with_error(base, "OpenCV cannot decode the first frame")
        if fps <= 0 or count <= 0:
            return _with_error(base, "no frame rate or frame count in the container")
        return base
    finally:
        cap.release()


def _with_error(p: Probe, error: str) -> Probe:
    return Probe(p.container, p.codec, p.fps, p.frame_count, p.duration_s, p.width, p.height, error)


def hash_file(path: Path, algorithms: Sequence[str] = ("sha256",),
              chunk_bytes: int = DEFAULT_CHUNK) -> tuple[dict[str, str], int]:
    """Hex digests (one per name in `algorithms`, see HASHERS) and size of a file, all from one read
    in `chunk_bytes` pieces.

    Plain sequential reads (the kernel's own read-ahead, widened by POSIX_FADV_SEQUENTIAL), and each
    chunk dropped from the page cache once hashed (POSIX_FADV_DONTNEED): a re-hash of terabytes
    must not push the database and everything else out of memory, and the pages it frees are the
    ones its next reads fill. On this host the second matters as much: a cold 2-worker re-hash went
    from 2,580-2,840 MB/s with read-ahead hints (WILLNEED, which it used before) to 3,150-3,250
    dropping behind, steady from round to round, with SHA-256 as with BLAKE3 (interleaved experiments
    with 4 MiB reads; 2,920-3,110 MB/s, 90-93 % of the disk, in bench.footage runs).
    Dirty pages are not dropped (the kernel starts writing them back instead).
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        advise = getattr(os, "posix_fadvise", None)
        if advise is not None:
            advise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        hashers = [HASHERS[name]() for name in algorithms]
        buf = bytearray(chunk_bytes)
        view = memoryview(buf)
        total = 0
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as f:
            while n := f.readinto(buf):
                for h in hashers:
                    h.update(view[:n])
                if advise is not None:  # from the start of the folio the last drop may have cut through
                    start = total - total % MAX_FOLIO_BYTES
                    advise(fd, start, total + n - start, os.POSIX_FADV_DONTNEED)
                total += n
        return {name: h.hexdigest() for name, h in zip(algorithms, hashers)}, total
    finally:
        os.close(fd)


def hash_files(paths: Sequence[Path | None], algorithms: Sequence[Sequence[str]], chunk_bytes: int = DEFAULT_CHUNK,
               workers: int = 2) -> list[tuple[dict[str, str], int] | None]:
    """`hash_file` of each path with its own list of algorithms, on `workers` threads (reads and both
    hashers release the GIL), one file per thread: one hash stream is bound to one core, so the other
    cores are used by hashing files side by side. None for a None path or a file that cannot be read."""

    def one(job: tuple[Path | None, Sequence[str]]) -> tuple[dict[str, str], int] | None:
        path, names = job
        if path is None:
            return None
        try:
            return hash_file(path, names, chunk_bytes)
        except OSError:
            return None

    jobs = list(zip(paths, algorithms, strict=True))
    if workers <= 1 or len(jobs) <= 1:
        return [one(j) for j in jobs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="hash") as pool:
        return list(pool.map(one, jobs))


def sha256_file(path: Path, chunk_bytes: int = DEFAULT_CHUNK) -> tuple[str, int]:
    """SHA-256 hex digest and size of a file (see `hash_file`)."""
    digests, size = hash_file(path, ("sha256",), chunk_bytes)
    return digests["sha256"], size
