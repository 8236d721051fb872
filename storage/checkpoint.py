"""WAL checkpoints for SQLite off the writer's path.

In WAL mode every commit appends pages to the -wal file, and some connection must copy them back
into the database file (a checkpoint) before the log can start over. By default SQLite does that
inside the COMMIT that crosses 1,000 pages, so one push in every few waited for a copy of megabytes
and two fsyncs before its terminal got "OK", while the second core sat idle. Here the write group
asks for a checkpoint after its commits, and one runs on a short-lived thread with a connection of
its own (PASSIVE: it never blocks a writer or a reader), at most one at a time, spaced by how fast
the log grew since the previous one. The writers keep SQLite's own automatic checkpoint at a higher mark
(`storage.db.WAL_AUTOCHECKPOINT_PAGES`) as the bound on the log: the log can start over only when
a writer begins after a checkpoint has copied every page, and a busy writer that passes the mark
copies the last few itself, right after its commit.

Measured against the code before it (git worktree, interleaved runs, one terminal pushing 10,000-line
ATTLOG batches back to back, the clock stopped once the log is checkpointed): 10 batches 165,000-168,000
-> 175,000-179,000 punches/s; 60 batches 110,500 -> 119,500-128,800 (fixed 0.25 s spacing). At a fixed
1 s the 60 batches fell to 99,600 (the writers' own mark was reached first). A fixed 0.25 s gave 200
terminals pushing single punches 8 checkpoints a second from two server processes, each copying a few
dozen pages; hence the adaptive spacing.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from urllib.parse import quote

log = logging.getLogger("punchaudit.storage")


class Checkpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` on the database file at `path` when asked, in the background.

    The spacing adapts so that a checkpoint copies about `target_frames` pages (SQLite's own cadence):
    a bulk load appending thousands of pages a second gets one every `min_interval`, a trickle of
    single-punch pushes one every few seconds instead of four a second, each with its two fsyncs.
    """

    def __init__(self, path: str, *, min_interval: float = 0.25, max_interval: float = 4.0,
                 target_frames: int = 1000, busy_timeout_ms: int = 5_000) -> None:
        self.path = path
        self.min_interval, self.max_interval, self.target_frames = min_interval, max_interval, target_frames
        self.interval = min_interval  # the current spacing between starts
        self.busy_timeout_ms = busy_timeout_ms
        self.runs = 0  # checkpoints completed, for tests and figures
        self._running = threading.Lock()  # held by the thread doing a checkpoint
        self._last = float("-inf")
        self._thread: threading.Thread | None = None

    def request(self) -> None:
        """Start a checkpoint unless one is running or the last started under `interval` ago. Cheap
        enough to call after every commit."""
        now = time.monotonic()
        if now - self._last < self.interval or not self._running.acquire(blocking=False):
            return
        since, self._last = now - self._last, now
        try:
            thread = threading.Thread(target=self._run, args=(since,), name="sqlite-checkpoint", daemon=True)
            thread.start()
        except BaseException:
            self._running.release()
            raise
        self._thread = thread

    def wait(self, timeout: float | None = None) -> None:
        """Wait for the checkpoint in progress, if any (tests, benchmarks, shutdown)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _run(self, since: float) -> None:
        """Checkpoint, then space the next one by the rate the log grew at since the previous start
        (`since` seconds ago; infinite for the first)."""
        try:
            # read-write, never create: a database removed meanwhile must not come back as an empty file
            con = sqlite3.connect(f"file:{quote(self.path)}?mode=rw", uri=True, isolation_level=None,
                                  timeout=self.busy_timeout_ms / 1000, check_same_thread=False)
            try:
                _busy, frames, _copied = con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            finally:
                con.close()
            self.runs += 1
            # `frames` is the log's length since it last started over, which under a light load it
            # does after every checkpoint: what accumulated since the previous one. Under a load too
            # heavy for it to start over it only grows, and the spacing falls to the minimum.
            if since != float("inf"):
                wanted = since * self.target_frames / max(frames, 1)
                self.interval = min(self.max_interval, max(self.min_interval, wanted))
        except sqlite3.Error:  # the next request retries; the writers' own checkpoint bounds the log
            log.warning("background WAL checkpoint failed", exc_info=True, extra={"database": self.path})
        finally:
            self._running.release()
