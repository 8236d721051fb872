"""Registering real video files: probe, hash, defective files, scan idempotency, integrity checks."""
from __future__ import annotations

import hashlib
import json
import os
from datetime import datetime
from pathlib import Path

import blake3
import pytest
from sqlalchemy import Engine, delete, select, update

from footage_testkit import make_world, settings_for, write_video
from punchaudit.services import footage as svc
from storage import audit
from storage import footage as footage_repo
from storage.schema.footage import Footage, FootageDigest, LegalHold

NOW = datetime(2024, 3, 10, 12, 0, 0)
pytestmark = pytest.mark.postgres


def _setup(engine: Engine, tmp_path: Path):  # type: ignore[no-untyped-def]
    ids = make_world(engine)
    settings = settings_for(tmp_path)
    return ids, settings, svc.store_for(settings)


def test_register_reads_video_and_hash(engine: Engine, tmp_path: Path) -> None:
    ids, settings, store = _setup(engine, tmp_path)
    src = write_video(tmp_path / "in" / "cam1_20240304T083000_20240304T083003.mp4", seconds=3, fps=10)
    reg = svc.register_file(engine, settings, store, src, site="S1", actor="t", now=NOW)
    assert reg.created and reg.status == "ok" and reg.reason is None
    assert reg.key == "S1/cam1/cam1_20240304T083000_20240304T083003.mp4"
    with engine.connect() as conn:
        row = conn.execute(select(Footage).where(Footage.id == reg.id)).one()
    assert row.sha256 == hashlib.sha256(src.read_bytes()).hexdigest()
    with engine.connect() as conn:  # the verification digest, from the same read, in the audit log with the SHA-256
        assert conn.execute(select(FootageDigest.blake3).where(FootageDigest.footage_id == reg.id)).scalar_one() == \
            blake3.blake3(src.read_bytes()).hexdigest()
        entry = conn.execute(select(audit.T.c.payload).where(audit.T.c.action == "footage.registered")).scalar_one()
    assert (json.loads(entry)["sha256"], json.loads(entry)["blake3"]) == (row.sha256, blake3.blake3(src.read_bytes()).hexdigest())
    assert row.size == src.stat().st_size
    assert (row.fps, row.frame_count, row.width, row.height) == (10.0, 30, 96, 64)
    assert row.container == "mp4" and row.codec == "FMP4"
    assert row.start_utc == datetime(2024, 3, 4, 0, 30)  # 08:30 Asia/Shanghai
    assert row.camera == "cam1" and row.site_id == ids["site"]
    # the class ends 2024-03-08: kept 730 days after that
    assert row.retain_until.isoformat() == "2026-03-08"
    again = svc.register_file(engine, settings, store, src, site="S1", actor="t", now=NOW)
    assert not again.created and again.id == reg.id


def test_corrupt_and_wrong_duration_are_defective_not_refused(engine: Engine, tmp_path: Path) -> None:
    _ids, settings, store = _setup(engine, tmp_path)
    bad = tmp_path / "in" / "cam1_20240304T083000_20240304T090000.mp4"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(os.urandom(5000))
    reg = svc.register_file(engine, settings, store, bad, site="S1", actor="t", now=NOW)
    assert reg.status == "defective" and "cannot open" in (reg.reason or "")
    # 3 s of video declared as 60 s
    long = write_video(tmp_path / "in" / "cam2_20240304T083000_20240304T083100.avi", seconds=3, fps=10, fourcc="MJPG")
    reg2 = svc.register_file(engine, settings, store, long, site="S1", actor="t", now=NOW)
    assert reg2.status == "defective" and "disagrees" in (reg2.reason or "") and "3.0 s" in (reg2.reason or "")
    # within tolerance: declared 5 s, file 3 s, tolerance 5 s
    ok = write_video(tmp_path / "in" / "cam3_20240304T083000_20240304T083005.avi", seconds=3, fps=10, fourcc="MJPG")
    assert svc.register_file(engine, settings, store, ok, site="S1", actor="t", now=NOW).status == "ok"
    with engine.connect() as conn:
        actions = [r.action for r in conn.execute(select(audit.T).order_by(audit.T.c.seq))]
    assert actions == ["footage.defective", "footage.defective", "footage.registered"]


def test_register_without_times_is_refused_clearly(engine: Engine, tmp_path: Path) -> None:
    _ids, settings, store = _setup(engine, tmp_path)
    src = write_video(tmp_path / "in" / "no_times.mp4", seconds=1)
    with pytest.raises(svc.FootageError, match="filename_pattern"):
        svc.register_file(engine, settings, store, src, site="S1", actor="t", now=NOW)
    with pytest.raises(svc.FootageError, match="unknown site"):
        svc.register_file(engine, settings, store, src, site="NOPE", actor="t", now=NOW)
    reg = svc.register_file(engine, settings, store, src, site="S1", camera="door", actor="t", now=NOW,
                            start=datetime(2024, 3, 4, 8, 0), end=datetime(2024, 3, 4, 8, 0, 1))
    assert reg.status == "ok" and reg.key == "S1/door/no_times.mp4"


def test_scan_is_idempotent_and_reads_site_from_layout(engine: Engine, tmp_path: Path) -> None:
    _ids, settings, store = _setup(engine, tmp_path)
    root = Path(settings.footage.root)
    for i in range(3):
        write_video(root / "S1" / "cam1" / f"cam1_20240304T08{i}000_20240304T08{i}002.mp4", seconds=2)
    (root / "S1" / "cam1" / "notes.txt").write_text("not a video")
    seen: list[Path] = []
    first = svc.scan(engine, settings, store, root, site=None, actor="t", now=NOW, on_file=seen.append)
    assert (first.new, first.existing, first.skipped) == (3, 0, [])
    assert len(seen) == 3
    write_video(root / "S1" / "cam2" / "cam2_20240305T080000_20240305T080002.mp4", seconds=2)
    second = svc.scan(engine, settings, store, root, site=None, actor="t", now=NOW)
    assert (second.new, second.existing) == (1, 3)
    with engine.connect() as conn:
        assert conn.execute(select(Footage.key)).scalars().all().__len__() == 4


def test_verify_detects_missing_and_altered_and_holds_them(engine: Engine, tmp_path: Path) -> None:
    _ids, settings, store = _setup(engine, tmp_path)
    root = Path(settings.footage.root)
    paths = [write_video(root / "S1" / "cam1" / f"cam1_20240304T08{i}000_20240304T08{i}002.mp4", seconds=2)
             for i in range(3)]
    svc.scan(engine, settings, store, root, site=None, actor="t", now=NOW)
    paths[0].unlink()
    _flip_byte(paths[1], 100)
    t1 = datetime(2024, 3, 11, 3, 30)
    res = svc.verify(engine, settings, store, now=t1, everything=True)
    assert res.checked == 3 and res.ok == 1
    assert [m["footage_id"] for m in res.missing] == [1] and [a["footage_id"] for a in res.altered] == [2]
    t2 = datetime(2024, 3, 12, 3, 30)
    res2 = svc.verify(engine, settings, store, now=t2, everything=True)
    assert res2.missing[0]["first_missing_at"] == t1.isoformat()  # first time seen, not the latest
    with engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(select(Footage))}
        holds = conn.execute(select(LegalHold.footage_id, LegalHold.kind)).all()
        actions = [r.action for r in conn.execute(select(audit.T).order_by(audit.T.c.seq))]
        assert audit.verify(conn).ok
    assert rows[1].status == "missing" and rows[1].first_missing_at == t1
    assert rows[2].status == "altered" and rows[3].status == "ok"
    assert sorted(holds) == [(1, "integrity"), (2, "integrity")]  # one hold each, not one per night
    assert actions.count("integrity.missing") == 1 and actions.count("integrity.altered") == 1


def test_verify_rechecks_the_chosen_digest(engine: Engine, tmp_path: Path) -> None:
    """By default the nightly check re-hashes with BLAKE3 only; `digest="sha256"` re-checks the digest
    of record. Shown by a registry row whose SHA-256 no longer matches an intact file: BLAKE3 passes
    it, SHA-256 reports it, naming the digest and both values."""
    _ids, settings, store = _setup(engine, tmp_path)
    root = Path(settings.footage.root)
    path = write_video(root / "S1" / "cam1" / "cam1_20240304T080000_20240304T080002.mp4", seconds=2)
    svc.scan(engine, settings, store, root, site=None, actor="t", now=NOW)
    with engine.begin() as conn:
        conn.execute(update(Footage).values(sha256="0" * 64))
    assert settings.footage.verify_digest == "blake3"
    res = svc.verify(engine, settings, store, now=datetime(2024, 3, 11, 3, 30), everything=True)
    assert (res.ok, res.altered) == (1, [])
    res = svc.verify(engine, settings, store, now=datetime(2024, 3, 12, 3, 30), everything=True, digest="sha256")
    assert res.ok == 0 and res.altered == [{"footage_id": 1, "key": "S1/cam1/" + path.name, "digest": "sha256",
                                            "expected": "0" * 64,
                                            "found": hashlib.sha256(path.read_bytes()).hexdigest()}]
    with pytest.raises(svc.FootageError, match="blake3 or sha256"):
        svc.verify(engine, settings, store, now=NOW, digest="md5")


def test_verify_backfills_blake3_only_from_a_matching_sha256(engine: Engine, tmp_path: Path) -> None:
    """Footage registered before BLAKE3 digests existed has none: its verification checks the
    SHA-256 and records the BLAKE3 read with it, but never from an altered file; BLAKE3 checks then
    catch a later alteration."""
    _ids, settings, store = _setup(engine, tmp_path)
    root = Path(settings.footage.root)
    paths = [write_video(root / "S1" / "cam1" / f"cam1_20240304T08{i}000_20240304T08{i}002.mp4", seconds=2)
             for i in range(2)]
    svc.scan(engine, settings, store, root, site=None, actor="t", now=NOW)
    with engine.begin() as conn:
        conn.execute(delete(FootageDigest))
    _flip_byte(paths[1], 100)
    res = svc.verify(engine, settings, store, now=datetime(2024, 3, 11, 3, 30), everything=True)
    assert res.ok == 1 and [(a["footage_id"], a["digest"]) for a in res.altered] == [(2, "sha256")]
    with engine.connect() as conn:
        digests = dict(conn.execute(select(FootageDigest.footage_id, FootageDigest.blake3)).all())
    assert digests == {1: blake3.blake3(paths[0].read_bytes()).hexdigest()}
    with engine.begin() as conn:  # a second verifier recording the same file's digest meanwhile: no error, first kept
        footage_repo.insert_digest(conn, 1, "f" * 64)
        assert footage_repo.blake3_of(conn, 1) == digests[1]
    _flip_byte(paths[0], 200)
    res = svc.verify(engine, settings, store, now=datetime(2024, 3, 12, 3, 30), everything=True)
    assert res.ok == 0 and sorted((a["footage_id"], a["digest"]) for a in res.altered) == [(1, "blake3"), (2, "sha256")]


def _flip_byte(path: Path, offset: int) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))


def test_rolling_verification_covers_everything_within_the_period(engine: Engine, tmp_path: Path) -> None:
    _ids, settings, store = _setup(engine, tmp_path)
    settings = settings.model_copy(update={"footage": settings.footage.model_copy(update={"verify_period_days": 4})})
    root = Path(settings.footage.root)
    for i in range(10):
        write_video(root / "S1" / "cam1" / f"cam1_20240304T0{i}0000_20240304T0{i}0001.mp4", seconds=1)
    svc.scan(engine, settings, store, root, site=None, actor="t", now=NOW)
    checked: set[int] = set()
    for night in range(4):
        res = svc.verify(engine, settings, store, now=datetime(2024, 3, 11 + night, 3, 30))
        assert res.checked == 3  # ceil(10 / 4)
        with engine.connect() as conn:
            checked |= {r.id for r in conn.execute(select(Footage.id).where(
                Footage.last_verified_at == datetime(2024, 3, 11 + night, 3, 30)))}
    assert checked == set(range(1, 11))


def test_low_disk_raises_an_alarm_and_evicts_nothing(engine: Engine, tmp_path: Path) -> None:
    _ids, settings, store = _setup(engine, tmp_path)
    src = write_video(tmp_path / "in" / "cam1_20240304T083000_20240304T083002.mp4", seconds=2)
    svc.register_file(engine, settings, store, src, site="S1", actor="t", now=NOW)
    assert not svc.check_disk(engine, settings, store, now=NOW).alarm
    tight = settings.model_copy(update={"footage": settings.footage.model_copy(update={"low_disk_free_bytes": 1 << 60})})
    state = svc.check_disk(engine, tight, store, now=NOW)
    assert state.alarm and state.free_bytes is not None and state.free_bytes < state.threshold
    st = svc.status(engine, tight, store)
    assert st["low_disk"] and st["last_low_disk_alarm"] == NOW.isoformat() and st["counts"]["ok"]["files"] == 1
    res = svc.run_sweep(engine, tight, store, now=NOW)
    assert res.deleted == 0  # unexpired footage is never evicted to make room
    with engine.connect() as conn:
        assert [r.action for r in conn.execute(select(audit.T).order_by(audit.T.c.seq))][-1] == "alarm.low_disk"
