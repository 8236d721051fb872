"""Footage benchmarks: the retention sweep over 1,000,000 footage records (aim: at most 5 s) and
the nightly re-hash's throughput as a share of the disk's read speed measured in the same run (aim: 80%).

Sweep baseline: a bare `UPDATE footage SET status='deleted' WHERE retain_until < ?` with plain
sqlite3 on a copy of the same database: the least work that can mark the same rows, without the
class and hold conditions, deletion records, audit entries or file removal.

Hashing baseline: reading the same files cold (as root the whole page cache is dropped with
os.sync() + /proc/sys/vm/drop_caches before every measurement, else posix_fadvise(DONTNEED) per
file), with large plain reads on one and on two threads, with read-ahead hints on two threads and
with the re-hash's own reads (plain, dropping each chunk behind) on two threads, nothing hashed (the
fastest of the four counts as the disk's read speed), and, for reference, O_DIRECT. The nightly re-hash (BLAKE3 digests, taken at registration) is measured the
same way in the same rounds, and for reference a re-hash with SHA-256, the digest of record: one
SHA-256 stream is bound to one core (1.3-2 GB/s here with SHA-NI), and with reading a cold page the
SHA-256 re-hash costs about 0.95 CPU-s per GB, so two cores could not keep up with this disk.
"""
from __future__ import annotations

import gc
import mmap
import os
import random
import shutil
import sqlite3
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from pathlib import Path

from punchaudit.config import load_settings
from storage.db import make_engine
from storage.footage_store import LocalFolderStore
from storage.migrate import upgrade
from storage.retention import sweep
from storage.video_probe import HASHERS, MAX_FOLIO_BYTES, hash_files

TODAY = date(2026, 11, 25)
NOW = datetime(2026, 11, 25, 2, 30)


def _world(n: int, seed: int = 7) -> dict[str, list[tuple]]:
    """n footage rows over 50 sites, 10 classes a site, recordings 2021-2026, one file a camera-day;
    1,000 file holds and 20 class holds."""
    rnd = random.Random(seed)
    first = date(2021, 1, 1)
    span = (date(2026, 11, 1) - first).days
    classes = []
    for c in range(1, 501):
        start = first + timedelta(days=rnd.randrange(span))
        classes.append((c, f"C{c}", (c - 1) // 10 + 1, start.isoformat(), (start + timedelta(days=20)).isoformat()))
    rows = []
    for i in range(1, n + 1):
        day = first + timedelta(days=rnd.randrange(span))
        d = day.isoformat()
        rows.append((i, (i % 50) + 1, f"cam{i % 4}", f"{d} 00:00:00", f"{d} 09:00:00", d, d,
                     f"S{(i % 50) + 1}/cam{i % 4}/{i}.mp4", "0" * 64, 1_000_000, "ok", "2026-01-01 00:00:00",
                     (day + timedelta(days=730)).isoformat()))
    holds = [(h, None, rnd.randrange(1, n + 1), "bench", "inspector", "bench", "2026-01-01 00:00:00") for h in range(1, 1001)]
    holds += [(1000 + h, rnd.randrange(1, 501), None, "bench", "inspection", "bench", "2026-01-01 00:00:00")
              for h in range(1, 21)]
    return {"sites": [(s, f"S{s}", f"site {s}") for s in range(1, 51)], "classes": classes, "footage": rows,
            "holds": holds}


SQL = {
    "institution": "INSERT INTO institution (id, code, name, created_at) VALUES (1, 'I1', 'inst', '2021-01-01 00:00:00')",
    "sites": "INSERT INTO site (id, institution_id, code, name, timezone) VALUES (?, 1, ?, ?, 'Asia/Shanghai')",
    "classes": "INSERT INTO training_class (id, code, institution_id, site_id, name, kind, start_date, end_date, "
               "created_at) VALUES (?, ?, 1, ?, 'c', 'project', ?, ?, '2021-01-01 00:00:00')",
    "footage": "INSERT INTO footage (id, site_id, camera, start_utc, end_utc, first_day, last_day, key, sha256, size, "
               "status, registered_at, retain_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "holds": "INSERT INTO legal_hold (id, class_id, footage_id, reason, kind, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
}


def _populate(path: Path, n: int) -> dict[str, int]:
    world = _world(n)
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA synchronous=OFF")
    con.execute(SQL["institution"])
    for table in ("sites", "classes", "footage", "holds"):
        con.executemany(SQL[table], world[table])
    con.commit()
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("ANALYZE")
    con.close()
    return {"footage": n, "classes": len(world["classes"]), "holds": len(world["holds"])}


def bench_sweep_postgres(url: str, n: int) -> None:
    """The same sweep on PostgreSQL, in a scratch schema (rows loaded with COPY)."""
    from sqlalchemy import create_engine, text

    schema = "pa_bench_footage"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    engine = create_engine(make_engine(url).url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(engine)
        world = _world(n)
        t = time.perf_counter()
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(SQL["institution"])
            for table in ("sites", "classes"):
                cur.executemany(SQL[table].replace("?", "%s"), world[table])
            cols = SQL["footage"].split("(")[1].split(")")[0]
            with cur.copy(f"COPY footage ({cols}) FROM STDIN") as copy:
                for row in world["footage"]:
                    copy.write_row(row)
            cur.executemany(SQL["holds"].replace("?", "%s"), world["holds"])
            raw.commit()
            # the state of a table that grew over years: vacuumed (hint bits and visibility map set,
            # so autovacuum does not start on the fresh load in the middle of the sweep) and analyzed;
            # and as the SQLite setup does, the load's WAL checkpointed before the clock starts
            raw.driver_connection.autocommit = True
            cur.execute("VACUUM (ANALYZE)")
            cur.execute("CHECKPOINT")
            cur.execute("SELECT pg_relation_size('footage')")
            table_mb = cur.fetchone()[0] / 1e6
        finally:
            raw.close()
        setup = time.perf_counter() - t
        del world  # a million tuples the sweep's garbage collections would otherwise walk through
        gc.collect()
        with tempfile.TemporaryDirectory(prefix="pa-bench-") as tmp:
            store = LocalFolderStore(Path(tmp) / "footage")
            t = time.perf_counter()
            res = sweep(engine, store, now=NOW, today=TODAY, retention_days=730)
            elapsed = time.perf_counter() - t
            t = time.perf_counter()
            nxt = sweep(engine, store, now=NOW + timedelta(days=1), today=TODAY + timedelta(days=1), retention_days=730)
            steady = time.perf_counter() - t
        print(f"PostgreSQL: loaded {n:,} footage rows with COPY in {setup:.1f} s ({table_mb:.0f} MB of table pages); backlog sweep ({res.deleted:,} "
              f"deleted): {elapsed:.2f} s ({_steps(res)}); next night ({nxt.deleted:,} expired): {steady:.2f} s; "
              f"aim <= 5 s: {'met' if steady <= 5 else 'NOT met'} (steady), {'met' if elapsed <= 5 else 'NOT met'} (backlog)")
    finally:
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def bench_sweep(n: int) -> None:
    with tempfile.TemporaryDirectory(prefix="pa-bench-") as tmp:
        db = Path(tmp) / "sweep.db"
        engine = make_engine(f"sqlite:///{db}")
        upgrade(engine)
        engine.dispose()
        t = time.perf_counter()
        info = _populate(db, n)
        setup = time.perf_counter() - t
        shutil.copyfile(db, Path(tmp) / "baseline.db")
        store = LocalFolderStore(Path(tmp) / "footage")  # empty: every file counts as already gone
        engine = make_engine(f"sqlite:///{db}")
        t = time.perf_counter()
        res = sweep(engine, store, now=NOW, today=TODAY, retention_days=730)
        elapsed = time.perf_counter() - t
        with engine.connect() as conn:
            left = conn.exec_driver_sql("SELECT count(*) FROM footage WHERE deleted_at IS NULL").scalar()
            recs = conn.exec_driver_sql("SELECT count(*), sum(count) FROM retention_deletion").one()
        t = time.perf_counter()  # the next night: one day's worth expires among the same records
        nxt = sweep(engine, store, now=NOW + timedelta(days=1), today=TODAY + timedelta(days=1), retention_days=730)
        steady = time.perf_counter() - t
        engine.dispose()
        con = sqlite3.connect(Path(tmp) / "baseline.db")
        t = time.perf_counter()
        con.execute("UPDATE footage SET status = 'deleted', deleted_at = ? WHERE retain_until < ? AND deleted_at IS NULL",
                    (NOW.isoformat(" "), TODAY.isoformat()))
        con.commit()
        base = time.perf_counter() - t
        con.close()
    print(f"setup: {info['footage']:,} footage, {info['classes']} classes, {info['holds']} holds in {setup:.1f} s")
    print(f"retention sweep over {n:,} footage records, SQLite, backlog (first run: {res.deleted:,} expired at once): "
          f"{elapsed:.2f} s -> {n / elapsed:,.0f} records/s; aim <= 5 s: {'met' if elapsed <= 5 else 'NOT met'}")
    print(f"  {res.deleted:,} deleted ({recs[0]} deletion record for the sweep, counting {recs[1]:,}; ids in the "
          f"audit log) and {res.files_already_gone:,} file removals attempted, {res.held_expired:,} expired but held, "
          f"{left:,} kept")
    print(f"  steps: {_steps(res)}; the store is empty, so each removal finds no file")
    print(f"  baseline bare sqlite3 UPDATE of the expired rows: {base:.2f} s; sweep / baseline = {elapsed / base:.1f}x")
    per_file = _real_unlink_seconds()
    print(f"  not in the figure: removing real files costs {per_file * 1e6:.1f} us each here (20,000 files, "
          f"delete_many on 2 threads), i.e. about {per_file * res.deleted:.1f} s more for {res.deleted:,} files")
    print(f"retention sweep over the same records the next night ({nxt.deleted:,} expired): {steady:.2f} s; "
          f"aim <= 5 s: {'met' if steady <= 5 else 'NOT met'}")


def _steps(res) -> str:  # type: ignore[no-untyped-def]
    return ", ".join(f"{k} {v:.2f} s" for k, v in res.seconds.items())


def _real_unlink_seconds(n: int = 20_000) -> float:
    """Seconds per file for `delete_many` on files that exist (empty files, 100 to a folder)."""
    with tempfile.TemporaryDirectory(prefix="pa-bench-") as tmp:
        store = LocalFolderStore(Path(tmp))
        keys = [f"S{i % 200}/cam1/{i}.mp4" for i in range(n)]
        for k in keys:
            path = store.root / k
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        t = time.perf_counter()
        out = store.delete_many(keys)
        elapsed = time.perf_counter() - t
        assert all(o is True for o in out)
    return elapsed / n


def _drop_caches(paths: list[Path]) -> str:
    """Make the next read of `paths` cold. As root: os.sync() then 3 > /proc/sys/vm/drop_caches (the
    whole page cache); otherwise posix_fadvise(DONTNEED) on each file. Returns the method used."""
    os.sync()
    try:
        with open("/proc/sys/vm/drop_caches", "w") as f:
            f.write("3")
        return "drop_caches"
    except OSError:
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
        return "fadvise"


def _read_plain(path: Path, chunk: int = 8 << 20) -> int:
    """The disk's read speed: plain sequential buffered reads, nothing done with the bytes."""
    buf = bytearray(chunk)
    total = 0
    with open(path, "rb", buffering=0) as f:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while n := f.readinto(buf):
            total += n
    return total


def _read_dropping(path: Path, chunk: int = 4 << 20) -> int:
    """The disk read the way the re-hash reads (plain reads, each chunk dropped from the page cache
    once read, see storage.video_probe.hash_file), nothing hashed: so the disk's speed includes
    whatever dropping behind gains."""
    buf = bytearray(chunk)
    total = 0
    with open(path, "rb", buffering=0) as f:
        os.posix_fadvise(f.fileno(), 0, 0, os.POSIX_FADV_SEQUENTIAL)
        while n := f.readinto(buf):
            start = total - total % MAX_FOLIO_BYTES
            os.posix_fadvise(f.fileno(), start, total + n - start, os.POSIX_FADV_DONTNEED)
            total += n
    return total


def _read_ahead(path: Path, chunk: int = 8 << 20, ahead: int = 2) -> int:
    """Reads with read-ahead hints (WILLNEED `ahead` chunks further on), nothing hashed: how the
    re-hash read until 2026-11-26, steadier than plain reads on this host."""
    fd = os.open(path, os.O_RDONLY)
    buf = bytearray(chunk)
    total = 0
    try:
        size = os.fstat(fd).st_size
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_SEQUENTIAL)
        os.posix_fadvise(fd, 0, min(size, chunk * ahead), os.POSIX_FADV_WILLNEED)
        with os.fdopen(fd, "rb", buffering=0, closefd=False) as f:
            while True:
                if total + chunk * ahead < size:
                    os.posix_fadvise(fd, total + chunk * ahead, chunk, os.POSIX_FADV_WILLNEED)
                n = f.readinto(buf)
                if not n:
                    break
                total += n
    finally:
        os.close(fd)
    return total


def _read_direct(path: Path, chunk: int = 8 << 20) -> int:
    buf = mmap.mmap(-1, chunk)  # page-aligned, as O_DIRECT needs
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    total = 0
    try:
        while n := os.readv(fd, [buf]):
            total += n
    finally:
        os.close(fd)
    return total


def _on_threads(fn, paths: list[Path], workers: int) -> None:  # type: ignore[no-untyped-def]
    if workers <= 1:
        for p in paths:
            fn(p)
        return
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(fn, paths))


def bench_hash(size_mb: int, rounds: int, files: int = 8) -> None:
    """`files` files of size_mb/files MiB. Each round measures, each from a cold cache: the disk
    (plain sequential reads of the same files on one and on two threads, reads with read-ahead hints
    and the re-hash's own reads dropping behind, each on two threads; the fastest is the disk's read
    speed for that round),
    the nightly re-hash (`hash_files` re-checking each file's BLAKE3, with the chunk size and worker
    count from the settings: what `punchaudit footage verify` does by default), the same with
    SHA-256 (`--digest sha256`) and O_DIRECT reads for reference, and the two hashes from memory.
    Case order alternates between rounds; the share is taken per round (re-hash / disk of the same
    round) and its median and best reported, as the CPUs and the host are shared."""
    footage_settings = load_settings().footage
    chunk, workers = footage_settings.hash_chunk_bytes, footage_settings.verify_workers
    with tempfile.TemporaryDirectory(prefix="pa-bench-", dir=os.environ.get("PUNCHAUDIT_BENCH_DIR")) as tmp:
        paths = [Path(tmp) / f"footage{i}.bin" for i in range(files)]
        for path in paths:
            with open(path, "wb") as f:
                for _ in range(size_mb // files // 16):
                    f.write(os.urandom(16 << 20))
        size = sum(p.stat().st_size for p in paths)
        expected = {name: [HASHERS[name](p.read_bytes()).hexdigest() for p in paths] for name in ("blake3", "sha256")}
        in_memory = paths[0].read_bytes()
        hashed: dict[str, list[list[str]]] = {"blake3": [], "sha256": []}

        def rehash(name: str) -> None:
            hashed[name].append([h[0][name] for h in hash_files(paths, [(name,)] * len(paths), chunk, workers) if h])

        rehash_case = f"nightly re-hash (BLAKE3, hash_files, {workers} workers)"
        cases = {
            "disk: plain read, 1 thread": lambda: _on_threads(_read_plain, paths, 1),
            "disk: plain read, 2 threads": lambda: _on_threads(_read_plain, paths, 2),
            "disk: read-ahead hints, 2 threads": lambda: _on_threads(lambda p: _read_ahead(p, chunk), paths, 2),
            "disk: plain reads dropping behind, 2 threads": lambda: _on_threads(lambda p: _read_dropping(p, chunk), paths, 2),
            rehash_case: lambda: rehash("blake3"),
            f"reference: re-hash with SHA-256, {workers} workers": lambda: rehash("sha256"),
            "reference: O_DIRECT read, 1 thread": lambda: _on_threads(_read_direct, paths, 1),
            # the CPU ceilings of the round: as many bytes hashed from memory, no I/O at all
            f"reference: BLAKE3 in memory, {workers} threads":
                lambda: _on_threads(lambda _p: HASHERS["blake3"](in_memory).digest(), paths, workers),
            f"reference: SHA-256 in memory, {workers} threads":
                lambda: _on_threads(lambda _p: HASHERS["sha256"](in_memory).digest(), paths, workers),
        }
        disk_cases = [k for k in cases if k.startswith("disk:")]
        speed: dict[str, list[float]] = {k: [] for k in cases}
        cpu: dict[str, list[float]] = {k: [] for k in cases}
        methods = set()
        load = [os.getloadavg()[0]]
        for r in range(rounds):
            for name in (list(cases) if r % 2 == 0 else list(reversed(cases))):
                methods.add(_drop_caches(paths))
                c, t = time.process_time(), time.perf_counter()
                cases[name]()
                speed[name].append(size / (time.perf_counter() - t) / 1e6)
                cpu[name].append(time.process_time() - c)
        load.append(os.getloadavg()[0])
        assert all(h == expected[name] for name, runs in hashed.items() for h in runs), "a re-hash disagrees"
    disk = [max(values) for values in zip(*(speed[k] for k in disk_cases))]
    print(f"hashing {files} files of {size_mb // files} MiB ({size / 1e9:.2f} GB), cold before every measurement "
          f"({' / '.join(sorted(methods))}), {rounds} rounds, load average {load[0]:.1f} -> {load[1]:.1f}; MB/s:")
    for name, values in speed.items():
        print(f"  {name:50s} best {max(values):6.0f}  median {statistics.median(values):6.0f}  "
              f"({statistics.median(cpu[name]) / size * 1e9:.2f} CPU-s per GB)")
    print(f"  disk read speed per round (fastest of the {len(disk_cases)} disk reads): best {max(disk):.0f}, median {statistics.median(disk):.0f}")
    for name in (k for k in cases if k.startswith("reference:") and "O_DIRECT" not in k):  # hashing references
        shares = [h / d for h, d in zip(speed[name], disk)]
        print(f"  {name.removeprefix('reference: ')} / disk read speed of the same round: median "
              f"{statistics.median(shares):.0%}, best {max(shares):.0%}, worst {min(shares):.0%}")
    best, med = max(speed[rehash_case]) / max(disk), statistics.median(speed[rehash_case]) / statistics.median(disk)
    print(f"  nightly re-hash / disk read speed, best of each: {best:.0%}; median of each: {med:.0%}")
    shares = [h / d for h, d in zip(speed[rehash_case], disk)]
    share = statistics.median(shares)
    print(f"  nightly re-hash / disk read speed of the same round: median {share:.0%}, best {max(shares):.0%}, worst "
          f"{min(shares):.0%}; aim >= 80%: {'met' if share >= 0.8 else 'NOT met'} (median)")


def main(quick: bool = False) -> None:
    bench_sweep(100_000 if quick else 1_000_000)
    pg = os.environ.get("PUNCHAUDIT_BENCH_POSTGRES_URL") or os.environ.get("PUNCHAUDIT_TEST_POSTGRES_URL")
    if pg:
        bench_sweep_postgres(pg, 100_000 if quick else 1_000_000)
    bench_hash(512 if quick else 2048, 3 if quick else 7)


if __name__ == "__main__":
    import sys

    main(quick="--quick" in sys.argv)
