"""Footage use cases: register and scan files, verify integrity, sweep retention, holds, coverage,
review clips. The CLI, the API, the scheduler and the demo all call these.

Every function takes `now` (naive or aware UTC) instead of reading the clock, so retention can be
tested at the two-year boundary with a controlled clock.
"""
from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import Engine

from attendance.schedule import Schedule
from punchaudit.config import Settings
from storage import audit, coverage, retention
from storage import footage as repo
from storage.clips import ClipError, cut_webm
from storage.db import transaction
from storage.footage_store import FootageStore, LocalFolderStore
from storage.video_probe import hash_file, hash_files, probe_video, sha256_file

log = logging.getLogger("punchaudit.footage")
DEFAULT_SESSIONS = ("08:30-11:30", "14:00-17:00")  # coverage of a class without a stored schedule (as the demo teaches)


class FootageError(ValueError):
    """A footage request that cannot be done; the message is for the operator."""


def utc_naive(now: datetime | None = None) -> datetime:
    now = now or datetime.now(timezone.utc)
    return now.astimezone(timezone.utc).replace(tzinfo=None) if now.tzinfo else now


def local_today(now: datetime, tz: str) -> date:
    return utc_naive(now).replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).date()


def store_for(settings: Settings) -> LocalFolderStore:
    return LocalFolderStore(settings.footage.root)


def _to_utc(local: datetime, tz: str) -> datetime:
    if local.tzinfo is not None:
        return utc_naive(local)
    return local.replace(tzinfo=ZoneInfo(tz)).astimezone(timezone.utc).replace(tzinfo=None)


def _local_day(utc: datetime, tz: str) -> date:
    return utc.replace(tzinfo=timezone.utc).astimezone(ZoneInfo(tz)).date()


def parse_file_name(name: str, pattern: str) -> tuple[str | None, datetime, datetime] | None:
    """(camera, start, end) in the site's local time from a recorder's file name, or None."""
    m = re.search(pattern, name)
    if not m:
        return None
    parts = m.groupdict()
    try:
        start = datetime.strptime(parts["start"], "%Y%m%dT%H%M%S")
        end = datetime.strptime(parts["end"], "%Y%m%dT%H%M%S")
    except (KeyError, ValueError):
        return None
    return parts.get("camera"), start, end


@dataclass
class Registered:
    id: int
    key: str
    status: str
    created: bool
    reason: str | None = None
    retain_until: date | None = None


def register_file(engine: Engine, settings: Settings, store: FootageStore, path: Path, *, site: str | int,
                  camera: str | None = None, start: datetime | None = None, end: datetime | None = None,
                  actor: str, now: datetime) -> Registered:
    """Register one file: hash, probe, place in the store (copied if it is outside the store's root),
    and record it. Idempotent by store key. Naive `start`/`end` are site-local times."""
    now = utc_naive(now)
    path = Path(path)
    if not path.is_file():
        raise FootageError(f"{path} is not a file")
    with engine.connect() as conn:
        info = repo.site_by_code_or_id(conn, site)
    if info is None:
        raise FootageError(f"unknown site {site!r}")
    parsed = parse_file_name(path.name, settings.footage.filename_pattern)
    if start is None or end is None:
        if parsed is None:
            raise FootageError(f"{path.name}: no --start/--end given and the name does not match the pattern "
                               f"footage.filename_pattern ({settings.footage.filename_pattern})")
        start, end = start or parsed[1], end or parsed[2]
    camera = camera or (parsed[0] if parsed and parsed[0] else None) or path.parent.name or "camera"
    start_utc, end_utc = _to_utc(start, info.timezone), _to_utc(end, info.timezone)
    if end_utc <= start_utc:
        raise FootageError(f"{path.name}: end {end} is not after start {start}")
    key = store.key_for(path) if isinstance(store, LocalFolderStore) else None
    if key is None:
        key = f"{info.code}/{camera}/{path.name}"
    with engine.connect() as conn:
        existing = repo.by_key(conn, key)
    if existing is not None:
        return Registered(existing.id, key, existing.status, False, existing.defect_reason, existing.retain_until)
    if store.stat(key) is None:
        store.put(key, path)
    local = store.local_path(key) or path
    digests, size = hash_file(local, ("sha256", "blake3"), settings.footage.hash_chunk_bytes)
    sha = digests["sha256"]
    probe = probe_video(local)
    reason = probe.error
    declared = (end_utc - start_utc).total_seconds()
    if reason is None and probe.duration_s is not None and \
            abs(probe.duration_s - declared) > settings.footage.duration_tolerance_seconds:
        reason = (f"duration {probe.duration_s:.1f} s read from the file disagrees with the declared times "
                  f"({declared:.1f} s, tolerance {settings.footage.duration_tolerance_seconds:g} s)")
    status = "ok" if reason is None else "defective"
    first_day, last_day = _local_day(start_utc, info.timezone), _local_day(end_utc, info.timezone)
    with transaction(engine, immediate=True) as conn:
        existing = repo.by_key(conn, key)
        if existing is not None:  # registered concurrently
            return Registered(existing.id, key, existing.status, False, existing.defect_reason, existing.retain_until)
        keep = retention.retain_until_for(conn, info.id, first_day, last_day, settings.footage.retention_days)
        fid = repo.insert_footage(conn, dict(
            site_id=info.id, camera=camera[:64], start_utc=start_utc, end_utc=end_utc, first_day=first_day,
            last_day=last_day, key=key, sha256=sha, size=size, container=probe.container, codec=probe.codec,
            fps=probe.fps, duration_s=probe.duration_s, frame_count=probe.frame_count, width=probe.width,
            height=probe.height, status=status, defect_reason=reason, registered_at=now, registered_by=actor,
            last_verified_at=now, retain_until=keep))
        repo.insert_digest(conn, fid, digests["blake3"])
        audit.append(conn, actor=actor, action="footage.registered" if status == "ok" else "footage.defective",
                     subject=f"footage:{fid}", at=now,
                     payload={"key": key, "sha256": sha, "blake3": digests["blake3"], "size": size, "site": info.code,
                              "camera": camera,
                              "start_utc": start_utc.isoformat(), "end_utc": end_utc.isoformat(), "reason": reason})
    if reason:
        log.warning("footage registered as defective", extra={"footage_id": fid, "key": key, "reason": reason})
    return Registered(fid, key, status, True, reason, keep)


@dataclass
class ScanResult:
    new: int = 0
    existing: int = 0
    defective: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def candidate_files(directory: Path, extensions: Iterable[str]) -> list[Path]:
    exts = {e.lower() for e in extensions}
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in exts)


def scan(engine: Engine, settings: Settings, store: FootageStore, directory: Path, *, site: str | None,
         actor: str, now: datetime, on_file: Callable[[Path], None] | None = None) -> ScanResult:
    """Register every footage file under `directory` not registered yet. Without `site`, the first
    folder under the footage root names the site (layout <site code>/<camera>/<file>)."""
    result = ScanResult()
    files = candidate_files(Path(directory), settings.footage.extensions)
    for path in files:
        try:
            site_ref = site
            if site_ref is None:
                key = store.key_for(path) if isinstance(store, LocalFolderStore) else None
                if key is None or "/" not in key:
                    raise FootageError("outside the footage root; give --site")
                site_ref = key.split("/", 1)[0]
            reg = register_file(engine, settings, store, path, site=site_ref, actor=actor, now=now)
            if not reg.created:
                result.existing += 1
            else:
                result.new += 1
                result.defective += reg.status == "defective"
        except FootageError as exc:
            result.skipped.append((str(path), str(exc)))
        if on_file:
            on_file(path)
    return result


@dataclass
class VerifyResult:
    checked: int = 0
    ok: int = 0
    missing: list[dict[str, Any]] = field(default_factory=list)
    altered: list[dict[str, Any]] = field(default_factory=list)
    restored: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify(engine: Engine, settings: Settings, store: FootageStore, *, now: datetime, everything: bool = False,
           digest: str | None = None, actor: str = "integrity-check",
           on_file: Callable[[int], None] | None = None) -> VerifyResult:
    """Re-hash tonight's share (or everything). A missing or altered file is recorded with the time
    it was first seen missing, written to the audit log and put under an integrity hold, so the
    sweep can never quietly finish it off.

    `digest` (default footage.verify_digest) is what is re-checked: "blake3", the verification
    digest taken at registration, a fifth of SHA-256's CPU; or "sha256", the digest of record. A
    file without a BLAKE3 yet (registered before it existed) is checked by its SHA-256 and gets its
    BLAKE3 from the same read when that matches."""
    digest = digest or settings.footage.verify_digest
    if digest not in ("blake3", "sha256"):
        raise FootageError(f"unknown digest {digest!r}: blake3 or sha256")
    now = utc_naive(now)
    result = VerifyResult()
    with engine.connect() as conn:
        batch = repo.verify_batch(conn, period_days=settings.footage.verify_period_days, everything=everything)
    for start in range(0, len(batch), 64):
        _verify_rows(engine, settings, store, batch[start:start + 64], digest, result, now, actor, on_file)
    if result.missing or result.altered:
        log.error("footage integrity failures", extra={"missing": len(result.missing), "altered": len(result.altered)})
    return result


def _digests_to_check(row: Any, digest: str) -> tuple[str, ...]:
    return (digest,) if row.blake3 else ("sha256", "blake3")


def _verify_rows(engine: Engine, settings: Settings, store: FootageStore, rows: list[Any], digest: str,
                 result: VerifyResult, now: datetime, actor: str, on_file: Callable[[int], None] | None) -> None:
    present = [store.stat(r.key) is not None for r in rows]
    paths = [store.local_path(r.key) if here else None for r, here in zip(rows, present)]
    hashed = hash_files(paths, [_digests_to_check(r, digest) for r in rows], settings.footage.hash_chunk_bytes,
                        settings.footage.verify_workers)
    for row, here, got in zip(rows, present, hashed):
        result.checked += 1
        found = got[0] if got else {}
        algorithm = "sha256" if digest == "sha256" or not row.blake3 else "blake3"
        expected = row.sha256 if algorithm == "sha256" else row.blake3
        with transaction(engine, immediate=True) as conn:
            if not here:
                first = row.first_missing_at or now
                repo.mark(conn, row.id, status="missing", first_missing_at=first, last_verified_at=now)
                item = {"footage_id": row.id, "key": row.key, "first_missing_at": first.isoformat()}
                result.missing.append(item)
                if row.status != "missing":
                    _integrity_incident(conn, row.id, "integrity.missing", item, now)
            elif found.get(algorithm) != expected:
                repo.mark(conn, row.id, status="altered", last_verified_at=now)
                item = {"footage_id": row.id, "key": row.key, "digest": algorithm, "expected": expected,
                        "found": found.get(algorithm)}
                result.altered.append(item)
                if row.status != "altered":
                    _integrity_incident(conn, row.id, "integrity.altered", item, now)
            else:
                result.ok += 1
                if not row.blake3:
                    repo.insert_digest(conn, row.id, found["blake3"])
                if row.status in ("missing", "altered"):
                    repo.mark(conn, row.id, status="defective" if row.defect_reason else "ok", last_verified_at=now)
                    audit.append(conn, actor=actor, action="integrity.restored", subject=f"footage:{row.id}",
                                 payload={"key": row.key, algorithm: expected}, at=now)
                    result.restored.append(row.id)
                else:
                    repo.mark(conn, row.id, last_verified_at=now)
        if on_file:
            on_file(row.id)


def _integrity_incident(conn: Any, footage_id: int, action: str, payload: dict[str, Any], now: datetime) -> None:
    audit.append(conn, actor="integrity-check", action=action, subject=f"footage:{footage_id}", payload=payload, at=now)
    retention.set_hold(conn, footage_id=footage_id, reason=f"{action}: kept as evidence of an integrity incident",
                       set_by="integrity-check", kind="integrity", now=now)


@dataclass
class DiskState:
    free_bytes: int | None
    threshold: int
    alarm: bool


def check_disk(engine: Engine, settings: Settings, store: FootageStore, *, now: datetime) -> DiskState:
    """Low free space raises an alarm (log + audit). Nothing is evicted: unexpired footage stays."""
    free = store.free_bytes()
    state = DiskState(free, settings.footage.low_disk_free_bytes, free is not None and free < settings.footage.low_disk_free_bytes)
    if state.alarm:
        log.error("footage disk low on space", extra={"free_bytes": free, "threshold": state.threshold})
        with transaction(engine, immediate=True) as conn:
            audit.append(conn, actor="disk-check", action="alarm.low_disk", subject="footage-store",
                         payload={"free_bytes": free, "threshold": state.threshold}, at=utc_naive(now))
    return state


def refresh_retention(engine: Engine, settings: Settings, *, now: datetime) -> int:
    """Extend stored retain-until dates to classes created or lengthened since registration."""
    with transaction(engine, immediate=True) as conn:
        return retention.refresh_retain_until(conn, settings.footage.retention_days,
                                              local_today(now, settings.scheduler.timezone))


def run_sweep(engine: Engine, settings: Settings, store: FootageStore, *, now: datetime,
              job_run_id: int | None = None) -> retention.SweepResult:
    return retention.sweep(engine, store, now=utc_naive(now), today=local_today(now, settings.scheduler.timezone),
                           retention_days=settings.footage.retention_days, job_run_id=job_run_id)


def delete_footage(engine: Engine, settings: Settings, store: FootageStore, footage_id: int, *, actor: str,
                   now: datetime) -> retention.SweepResult:
    """An operator's delete: refused (DeletionRefused naming the date or hold) unless the footage is
    expired and unheld, and then done by the sweep's own code path for this one file."""
    today = local_today(now, settings.scheduler.timezone)
    with engine.connect() as conn:
        retention.check_deletable(conn, footage_id, today=today, retention_days=settings.footage.retention_days)
    result = retention.sweep(engine, store, now=utc_naive(now), today=today, actor=actor,
                             retention_days=settings.footage.retention_days, only_ids=[footage_id])
    if result.deleted != 1:
        raise retention.DeletionRefused(f"footage {footage_id} could not be deleted: {result.errors or 'no longer eligible'}")
    return result


def set_hold(engine: Engine, *, reason: str, set_by: str, now: datetime, class_id: int | None = None,
             footage_id: int | None = None, kind: str = "inspector", reference: str | None = None) -> retention.Hold:
    """Hold a class's footage (every file overlapping it at its site) or one file. The sampling
    review calls this with kind="inspection", reference=<inspection id> when an inspection opens."""
    with transaction(engine, immediate=True) as conn:
        return retention.set_hold(conn, reason=reason, set_by=set_by, now=utc_naive(now), class_id=class_id,
                                  footage_id=footage_id, kind=kind, reference=reference)


def release_hold(engine: Engine, hold_id: int, *, released_by: str, now: datetime, reason: str = "") -> retention.Hold:
    with transaction(engine, immediate=True) as conn:
        return retention.release_hold(conn, hold_id, released_by=released_by, now=utc_naive(now), reason=reason)


def release_holds_for(engine: Engine, reference: str, *, released_by: str, now: datetime,
                      reason: str = "") -> list[retention.Hold]:
    """Release every hold placed with `reference` (the sampling review calls this when it closes)."""
    with transaction(engine, immediate=True) as conn:
        return retention.release_holds_for_reference(conn, reference, released_by=released_by,
                                                     now=utc_naive(now), reason=reason)


def retention_state(engine: Engine, settings: Settings, *, now: datetime, institution_id: int | None = None,
                    limit: int = 100, offset: int = 0) -> list[dict[str, Any]]:
    """Footage with its retain-until date, days left, holds and status."""
    today = local_today(now, settings.scheduler.timezone)
    with engine.connect() as conn:
        rows = repo.list_footage(conn, institution_id=institution_id, limit=limit, offset=offset)
        out = []
        for r in rows:
            holds = retention.holds_on(conn, r.id) if r.deleted_at is None else []
            out.append({"id": r.id, "site": r.site_code, "camera": r.camera, "start_utc": r.start_utc.isoformat(),
                        "end_utc": r.end_utc.isoformat(), "status": r.status, "retain_until": r.retain_until.isoformat(),
                        "days_left": (r.retain_until - today).days, "held": bool(holds),
                        "holds": [h.describe() for h in holds], "size": r.size, "sha256": r.sha256,
                        "defect_reason": r.defect_reason,
                        "first_missing_at": r.first_missing_at.isoformat() if r.first_missing_at else None,
                        "deleted_at": r.deleted_at.isoformat() if r.deleted_at else None})
    return out


def status(engine: Engine, settings: Settings, store: FootageStore, *, institution_id: int | None = None) -> dict[str, Any]:
    free = store.free_bytes()
    with engine.connect() as conn:
        counts = repo.status_counts(conn, institution_id)
        holds = retention.active_holds(conn)
        alarm = audit.last_entry(conn, "alarm.low_disk")
    return {"counts": {k: {"files": v[0], "bytes": v[1]} for k, v in sorted(counts.items())},
            "active_holds": len(holds), "free_bytes": free, "low_disk_threshold": settings.footage.low_disk_free_bytes,
            "low_disk": free is not None and free < settings.footage.low_disk_free_bytes,
            "last_low_disk_alarm": alarm.at.isoformat() if alarm else None}


# --- coverage -------------------------------------------------------------------------------

def schedule_for(conn: Any, cls: Any, tz: str) -> Schedule:
    """The class's stored schedule (presence area), else every weekday of the class with
    DEFAULT_SESSIONS."""
    try:
        from storage import presence as presence_repo  # type: ignore[attr-defined]

        loader = getattr(presence_repo, "load_schedule", None)
        if loader is not None:
            found = loader(conn, cls.id)
            if found is not None:
                return found
    except ImportError:
        pass
    return Schedule.from_range(cls.start_date, cls.end_date, list(DEFAULT_SESSIONS), rest_weekdays=(6, 7), timezone=tz)


@dataclass(frozen=True)
class SessionCoverage:
    day: date
    session: str
    covered_seconds: float
    share: float
    covered: bool


def class_coverage(engine: Engine, settings: Settings, class_ref: str | int,
                   institution_id: int | None = None) -> list[SessionCoverage]:
    """For each session of each training day of the class: how much of it the site's footage covers."""
    with engine.connect() as conn:
        cls = repo.class_row(conn, class_ref)
        if cls is None or (institution_id is not None and cls.institution_id != institution_id):
            raise FootageError(f"class {class_ref!r} not found")
        info = repo.site_by_code_or_id(conn, cls.site_id)
        assert info is not None
        schedule = schedule_for(conn, cls, info.timezone)
        starts_utc, ends_utc = repo.intervals(conn, cls.site_id, schedule.days[0] if schedule.days else cls.start_date,
                                              schedule.days[-1] if schedule.days else cls.end_date)
    if not schedule.days:
        return []
    s_min, e_min = schedule.session_minutes()  # local minutes, (days, sessions)
    from attendance.schedule import local_minutes
    # footage to local seconds: offset looked up per UTC minute, vectorised
    fs = local_minutes((starts_utc // 60).astype(np.int64), info.timezone).astype(np.float64) * 60 + starts_utc % 60
    fe = local_minutes((ends_utc // 60).astype(np.int64), info.timezone).astype(np.float64) * 60 + ends_utc % 60
    secs = coverage.covered_seconds(s_min * 60.0, e_min * 60.0, fs, fe)
    share = coverage.coverage_share(s_min * 60.0, e_min * 60.0, fs, fe)
    out = []
    for i, day in enumerate(schedule.days):
        for j, sess in enumerate(schedule.sessions):
            out.append(SessionCoverage(day, sess.label(), float(secs[i, j]), float(share[i, j]),
                                       bool(share[i, j] >= settings.footage.coverage_min_share)))
    return out


# --- clips ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class ClipInfo:
    id: int
    footage_id: int
    path: Path
    window_start_utc: datetime  # original time of the first frame in the clip
    window_end_utc: datetime  # original time of the last frame in the clip
    first_frame: int
    last_frame: int
    frame_step: int
    frame_count: int
    fps: float
    sha256: str


def make_clip(engine: Engine, settings: Settings, footage_id: int, start_utc: datetime, end_utc: datetime, *,
              actor: str = "review", store: FootageStore | None = None, out_dir: Path | None = None) -> ClipInfo:
    """Cut [start_utc, end_utc] of footage `footage_id` into a WebM under footage.clips_dir, record it
    (DB row + JSON sidecar with the original timestamps and frame range) and return it."""
    store = store or store_for(settings)
    start_utc, end_utc = utc_naive(start_utc), utc_naive(end_utc)
    with engine.connect() as conn:
        row = repo.get(conn, footage_id)
    if row is None or row.deleted_at is not None:
        raise FootageError(f"footage {footage_id} not found or deleted")
    src = store.local_path(row.key)
    if src is None or not src.is_file():
        raise FootageError(f"footage {footage_id}: file {row.key} is missing")
    cfg = settings.footage
    out_dir = Path(out_dir or cfg.clips_dir)
    name = f"footage{footage_id}_{start_utc:%Y%m%dT%H%M%S}_{end_utc:%Y%m%dT%H%M%S}.webm"
    dst = out_dir / name
    try:
        cut = cut_webm(src, dst, (start_utc - row.start_utc).total_seconds(), (end_utc - row.start_utc).total_seconds(),
                       fourcc=cfg.clip_fourcc, max_fps=cfg.clip_max_fps, max_width=cfg.clip_max_width)
    except ClipError as exc:
        dst.unlink(missing_ok=True)
        raise FootageError(f"footage {footage_id}: {exc}") from None
    sha, size = sha256_file(dst)
    first_at = row.start_utc + timedelta(seconds=cut.first_pts_s)
    last_at = row.start_utc + timedelta(seconds=cut.last_pts_s)
    values = dict(footage_id=footage_id, path=str(dst), window_start_utc=first_at, window_end_utc=last_at,
                  first_frame=cut.first_frame, last_frame=cut.last_frame, frame_step=cut.step,
                  frame_count=cut.frame_count, fps=cut.fps, codec=cfg.clip_fourcc, width=cut.width, height=cut.height,
                  sha256=sha, size=size, created_by=actor, created_at=utc_naive())
    with transaction(engine, immediate=True) as conn:
        clip_id = repo.insert_clip(conn, values)
    sidecar = {**{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in values.items()},
               "id": clip_id, "source_key": row.key, "source_sha256": row.sha256,
               "requested_start_utc": start_utc.isoformat(), "requested_end_utc": end_utc.isoformat()}
    dst.with_suffix(".json").write_text(json.dumps(sidecar, indent=2), encoding="utf-8")
    return ClipInfo(clip_id, footage_id, dst, first_at, last_at, cut.first_frame, cut.last_frame, cut.step,
                    cut.frame_count, cut.fps, sha)


def footage_at(engine: Engine, site_id: int, at_utc: datetime) -> list[int]:
    """Ids of usable footage at a site covering a moment (for the review: which file to cut)."""
    with engine.connect() as conn:
        return repo.covering(conn, site_id, utc_naive(at_utc))
