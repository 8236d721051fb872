"""WAL checkpoints for SQLite off the writer's path.

In WAL mode every commit appends pages to the -wal file, and some connection must copy them back
into the database file (a checkpoint) before the log can start over. By default SQLite does that
inside the COMMIT that crosses 1,000 pages, so one push in every few waited for a copy of megabytes
and two fsyncs before its terminal got "OK", while the second core sat idle. Here the write group
asks for a checkpoint after its commits, and one runs on a short-lived thread with a connection of
its own (PASSIVE: it never blocks a writer or a reader), at most one at a time and at most every
`interval` seconds. The writers keep SQLite's own automatic checkpoint at a higher mark
(`storage.db.WAL_AUTOCHECKPOINT_PAGES`) as the bound on the log: the log can start over only when
a writer begins after a checkpoint has copied every page, and a busy writer that passes the mark
copies the last few itself, right after its commit.

Measured against the code before it (git worktree, interleaved runs, one terminal pushing 10,000-line
ATTLOG batches back to back, the clock stopped once the log is checkpointed): 10 batches 165,000-168,000
-> 175,000-179,000 punches/s; 60 batches 110,500 -> 119,500-128,800. With `interval` at 1 s the 60
batches fell to 99,600 (the writers' own mark was reached first); 0.25 and 0.5 s did equally well.
"""
from __future__ import annotations

import logging
import sqlite3
import threading
import time
from urllib.parse import quote

log = logging.getLogger("punchaudit.storage")


class Checkpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` on the database file at `path` when asked, in the background."""

    def __init__(self, path: str, *, interval: float = 0.25, busy_timeout_ms: int = 5_000) -> None:
        self.path = path
        self.interval = interval
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
        self._last = now
        try:
            thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
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

    def _run(self) -> None:
        try:
            # read-write, never create: a database removed meanwhile must not come back as an empty file
            con = sqlite3.connect(f"file:{quote(self.path)}?mode=rw", uri=True, isolation_level=None,
                                  timeout=self.busy_timeout_ms / 1000, check_same_thread=False)
            try:
                con.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            finally:
                con.close()
            self.runs += 1
        except sqlite3.Error:  # the next request retries; the writers' own checkpoint bounds the log
            log.warning("background WAL checkpoint failed", exc_info=True, extra={"database": self.path})
        finally:
            self._running.release()
