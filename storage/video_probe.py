"""What a footage file is: SHA-256 and size (streamed), and what OpenCV reads from it.

Hashing reads large chunks into reused buffers; for big files a reader thread fills the next buffer
while the main thread hashes the current one (both `readinto` and `hashlib.update` release the GIL),
so hashing runs near the disk's read speed instead of at read time plus hash time.

OpenCV reports container metadata, which can be wrong or missing for broken files; a file OpenCV
cannot open or decode is described with the reason instead of raising, so the caller can register it
as defective rather than refusing it.
"""
from __future__ import annotations

import hashlib
import os
import queue
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2

DEFAULT_CHUNK = 8 * 1024 * 1024


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


def sha256_file(path: Path, chunk_bytes: int = DEFAULT_CHUNK, *, overlapped: bool = True) -> tuple[str, int]:
    """SHA-256 hex digest and size of a file, read in `chunk_bytes` pieces."""
    fd = os.open(path, os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        if hasattr(os, "posix_fadvise"):  # a larger kernel read-ahead window for this file
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as f:
            if size <= 4 * chunk_bytes or not overlapped:
                return _hash_sequential(f, chunk_bytes)
            return _hash_overlapped(f, chunk_bytes)
    finally:
        os.close(fd)


def sha256_files(paths: Sequence[Path | None], chunk_bytes: int = DEFAULT_CHUNK,
                 workers: int = 2) -> list[tuple[str, int] | None]:
    """Hash several files on `workers` threads (hashlib and reads release the GIL), one file per
    thread: a single SHA-256 stream is bound to one core, so the nightly re-hash uses the others by
    hashing files side by side. None for a None path or a file that cannot be read."""

    def one(path: Path | None) -> tuple[str, int] | None:
        if path is None:
            return None
        try:
            return sha256_file(path, chunk_bytes, overlapped=workers <= 1)
        except OSError:
            return None

    if workers <= 1 or len(paths) <= 1:
        return [one(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="sha256") as pool:
        return list(pool.map(one, paths))


def _hash_sequential(f, chunk_bytes: int) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    h = hashlib.sha256()
    buf = bytearray(chunk_bytes)
    view = memoryview(buf)
    total = 0
    while n := f.readinto(buf):
        h.update(view[:n])
        total += n
    return h.hexdigest(), total


def _hash_overlapped(f, chunk_bytes: int, buffers: int = 3) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    free: queue.Queue[bytearray] = queue.Queue()
    full: queue.Queue[tuple[bytearray, int] | BaseException | None] = queue.Queue()
    for _ in range(buffers):
        free.put(bytearray(chunk_bytes))

    def reader() -> None:
        try:
            while True:
                buf = free.get()
                n = f.readinto(buf)
                if not n:
                    full.put(None)
                    return
                full.put((buf, n))
        except BaseException as exc:  # handed to the hashing thread
            full.put(exc)

    thread = threading.Thread(target=reader, name="sha256-reader", daemon=True)
    thread.start()
    h = hashlib.sha256()
    total = 0
    while True:
        item = full.get()
        if item is None:
            break
        if isinstance(item, BaseException):
            thread.join()
            raise item
        buf, n = item
        h.update(memoryview(buf)[:n])
        total += n
        free.put(buf)
    thread.join()
    return h.hexdigest(), total
