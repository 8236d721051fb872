"""Face use cases: enrol trainees, verify punch photos in the background, find duplicate identities,
identify trainees in footage.

Verification never runs on a terminal's request path: the ingest stores the photo and answers; a
verifier (the API process's background thread, or `punchaudit faces verify`) claims pending photos
from the database, has a pool of worker processes detect and encode the faces (dlib is single-threaded,
so throughput comes from processes; a worker is replaced after `max_tasks_per_child` photos because
dlib's memory grows), and classifies and records the results in the parent, where the database is.
"""
from __future__ import annotations

import hashlib
import logging
import multiprocessing
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from attendance import faces as fc
from attendance import resident_id as rid
from attendance.face_index import FaceIndex, duplicate_pairs
from attendance.video import VideoParams, VideoScan, scan_video
from punchaudit.config import Settings
from punchaudit.services import registry_people as people
from punchaudit.services.registry import Invalid, NotFound
from storage import faces as repo
from storage.db import session_scope
from storage.schema.base import utcnow

log = logging.getLogger("punchaudit.faces")

PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
_DLIB_LOCK = threading.Lock()


def face_params(settings: Settings) -> fc.FaceParams:
    f = settings.faces
    return fc.FaceParams(
        tolerance=f.tolerance, review_upper=f.review_upper, replay_distance=f.replay_distance,
        min_face_px=f.min_face_px, detect_max_width=f.detect_max_width, fast_detect_width=f.fast_detect_width,
        model=f.model,
    )


# ------------------------------------------------------------------------------------------- enrolment

@dataclass(frozen=True)
class EnrolResult:
    trainee_id: int
    enrolment_id: int
    box_px: int
    requeued: int  # punch photos of this trainee that were waiting for an enrolment
    look_alikes: int = 0  # people enrolled under another resident ID within the tolerance (see look_alikes)


def enrol_photo(session: Session, settings: Settings, trainee_id: int, photo: bytes, *, scope: int | None = None,
                source: str = "upload", keep_photo: bool = True, check_duplicates: bool = True) -> EnrolResult:
    """Enrol (or re-enrol) a trainee's reference face. Raises attendance.faces.FaceError subclasses
    for unusable photos and NotFound for a trainee the caller cannot see."""
    people.get_trainee(session, scope, trainee_id)
    with _DLIB_LOCK:  # API requests run in threads; dlib's models are shared objects, not documented thread-safe
        enrolment = fc.enrol(photo, face_params(settings))
    row = repo.save_enrolment(
        session, trainee_id, enrolment, photo=photo if keep_photo else None,
        photo_sha256=hashlib.sha256(photo).hexdigest(), model=settings.faces.model, source=source,
    )
    requeued = _requeue_skipped(session, trainee_id)
    alikes = _warn_look_alikes(look_alikes(session, settings, [trainee_id])) if check_duplicates else []
    log.info("face enrolled", extra={"trainee_id": trainee_id, "box_px": enrolment.box_px, "source": source})
    return EnrolResult(trainee_id, row.id, enrolment.box_px, requeued, len(alikes))


def _warn_look_alikes(rows: list[DuplicateRow]) -> list[DuplicateRow]:
    for r in rows:
        log.warning("enrolled face matches another identity", extra={
            "trainee_id": r.a.trainee_id, "other_trainee_id": r.b.trainee_id, "distance": r.distance})
    return rows


def _requeue_skipped(session: Session, trainee_id: int) -> int:
    """Photos skipped because the trainee had no enrolment yet are verified again."""
    return repo.requeue_skipped(session, f"not_enrolled:{trainee_id}")


@dataclass
class RosterReport:
    enrolled: list[tuple[str, int, int]] = field(default_factory=list)  # (file, trainee id, face px)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    look_alikes: list[DuplicateRow] = field(default_factory=list)  # enrolled faces matching another identity


def roster_photos(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES)


def enrol_roster(engine: Engine, settings: Settings, directory: Path, *, class_code: str | None = None,
                 on_photo: Callable[[Path], None] | None = None) -> RosterReport:
    """Enrol every photo in a folder. A file is named by the trainee's resident ID (18 characters), or
    by the terminal PIN when `class_code` says which class's PINs are meant. Each photo is committed on
    its own, so one bad photo does not block the rest; refusals are reported with their reason."""
    report = RosterReport()
    key = settings.secret_key.encode()
    for path in roster_photos(directory):
        stem = path.stem.strip()
        try:
            with session_scope(engine, immediate=True) as session:
                trainee_id = _trainee_for_name(session, key, stem, class_code)
                res = enrol_photo(session, settings, trainee_id, path.read_bytes(), source="roster",
                                  check_duplicates=False)
            report.enrolled.append((path.name, res.trainee_id, res.box_px))
        except (fc.FaceError, NotFound, Invalid) as exc:
            report.refused.append((path.name, str(exc)))
        if on_photo:
            on_photo(path)
    if report.enrolled:  # one check for the whole folder: a single product against the city's faces
        with session_scope(engine) as session:
            report.look_alikes = _warn_look_alikes(look_alikes(session, settings, [t for _, t, _ in report.enrolled]))
    return report


def _trainee_for_name(session: Session, key: bytes, stem: str, class_code: str | None) -> int:
    if len(stem) == 18 and rid.is_valid(stem):
        return people.find_trainee(session, None, key, stem).id
    if class_code is None:
        raise Invalid("the file is not named by a valid resident ID; give --class to read names as PINs")
    klass = people.class_by_code(session, None, class_code)
    trainee_id = repo.trainee_by_pin(session, klass.id, stem)
    if trainee_id is None:
        raise NotFound(f"no trainee with PIN {stem} in class {class_code}")
    return int(trainee_id)


# ------------------------------------------------------------------------------------- photo uploads

@dataclass(frozen=True)
class UploadedPhoto:
    photo_id: int
    punch_id: int | None
    duplicate: bool  # the same bytes from this device were stored before


def store_uploaded_photo(session: Session, settings: Settings, *, scope: int | None, device_serial: str, pin: str,
                         local_time: datetime, image: bytes) -> UploadedPhoto:
    """Keep a punch photo uploaded outside the terminal protocols (an app punch-in, a site's export) for
    background verification. Only checked for being a readable image here; the face work runs later."""
    from punchaudit.services.terminals import store_photo

    found = repo.device_institution(session, device_serial)
    if found is None or (scope is not None and found[1] != scope):
        raise NotFound(f"device {device_serial} not found")
    device_id = found[0]
    fc.load_image(image)  # refuse what can never be verified now, not later in the background
    existing = repo.photo_by_hash(session, device_id, hashlib.sha256(image).hexdigest())
    punch_id = repo.match_punch(session, device_id, pin, local_time, settings.faces.punch_match_seconds)
    photo_id = store_photo(session.connection(), device_id, None, image, pin=pin, local_time=local_time,
                           file_name="upload", punch_id=punch_id, received_at=utcnow())
    return UploadedPhoto(int(photo_id), punch_id, existing is not None)


# -------------------------------------------------------------------------------------- verification

def _analyse_task(args: tuple[int, bytes, fc.FaceParams]) -> tuple[int, fc.PhotoFaces | None, str | None]:
    """Worker-process entry: detect and encode the largest face of one photo (no database here)."""
    photo_id, image, params = args
    try:
        return photo_id, fc.analyse(image, params, thorough=False, max_faces=1), None
    except fc.FaceError as exc:
        return photo_id, None, str(exc)
    except Exception as exc:  # noqa: BLE001  (one odd photo must not fail its whole batch)
        return photo_id, None, f"face analysis failed: {type(exc).__name__}: {str(exc)[:200]}"


def _init_worker() -> None:
    import face_recognition  # noqa: F401  (load the models once per worker, not in the first task)


def make_pool(workers: int, max_tasks_per_child: int) -> ProcessPoolExecutor:
    """Worker processes started with spawn (no inherited database connections or threads)."""
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, max_tasks_per_child=max_tasks_per_child)


class _Inline(Executor):
    """workers=0: analyse in this process (tests, tiny batches)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[no-untyped-def, override]
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # noqa: BLE001  (delivered through the future, as a pool would)
            fut.set_exception(exc)
        return fut


@dataclass
class VerifyStats:
    processed: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    errors: int = 0
    linked: int = 0

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    def skip(self, reason: str) -> None:
        key = reason.split(":", 1)[0]
        self.skipped[key] = self.skipped.get(key, 0) + 1


def verify_pending(engine: Engine, settings: Settings, limit: int | None = None, workers: int | None = None, *,
                   executor: Executor | None = None, on_batch: Callable[[int, int], None] | None = None,
                   full_scan: bool = True) -> VerifyStats:
    """Verify punch photos not yet verified, in batches, until none is left (or `limit` is reached).

    `workers` processes (default `faces.workers`; 0 runs in this process). `on_batch(done, pending)`
    reports progress. Results are recorded with the model and thresholds used. `full_scan=False` (the
    background verifier) looks for new photos only above the newest claimed one (see storage.faces)."""
    f = settings.faces
    stats = VerifyStats()
    n_workers = f.workers if workers is None else workers
    own_pool = executor is None
    pool: Executor = executor or (_Inline() if n_workers == 0 else make_pool(n_workers, f.max_tasks_per_child))
    params = face_params(settings)
    def claim_and_submit(size: int) -> tuple[list[repo.PhotoTask], list[Future], int] | None:
        with session_scope(engine, immediate=True) as session:
            claimed = repo.claim_pending(session, size, f.job_lease_minutes, full_scan=full_scan)
        if not claimed:
            return None
        with session_scope(engine) as session:
            tasks = repo.load_photos(session, claimed)
        return tasks, [pool.submit(_analyse_task, (t.photo_id, t.image, params)) for t in tasks], len(claimed)

    def next_size() -> int:
        return f.batch_size if limit is None else min(f.batch_size, limit - stats.processed)

    try:
        with session_scope(engine) as session:
            stats.linked = repo.link_unmatched(session, f.punch_match_seconds)
        # two batches in flight at most: the workers analyse the next one while this process records
        # the current one (recording needs the database, so it stays here, one writer)
        in_flight = claim_and_submit(next_size()) if next_size() > 0 else None
        while in_flight is not None:
            tasks, futures, n = in_flight
            stats.processed += n
            in_flight = claim_and_submit(next_size()) if next_size() > 0 else None
            analysed = [fut.result() for fut in futures]
            with session_scope(engine, immediate=True) as session:
                _record_batch(session, settings, params, tasks, analysed, stats)
            if on_batch:
                with session_scope(engine) as session:
                    on_batch(stats.processed, repo.count_pending(session))
    finally:
        if own_pool:
            pool.shutdown(wait=True)
    log.info("face verification round", extra={"processed": stats.processed, "outcomes": stats.outcomes,
                                               "skipped": stats.skipped, "errors": stats.errors})
    return stats


def _record_batch(session: Session, settings: Settings, params: fc.FaceParams, tasks: Sequence[repo.PhotoTask],
                  analysed: Iterable[tuple[int, fc.PhotoFaces | None, str | None]], stats: VerifyStats) -> None:
    """Resolve each photo's claimed trainee, classify per institution with one distance matrix, record."""
    f = settings.faces
    results = {pid: (faces, err) for pid, faces, err in analysed}
    groups: dict[int, list[tuple[repo.PhotoTask, repo.Claimant, fc.PhotoFaces, int | None]]] = {}
    for task in tasks:
        faces, err = results[task.photo_id]
        if faces is None:  # unreadable image: nothing to compare, keep the reason
            repo.finish_job(session, task.photo_id, "error", err)
            stats.errors += 1
            continue
        punch_id = task.punch_id
        if punch_id is None and task.pin and task.local_time:
            punch_id = repo.match_punch(session, task.device_id, task.pin, task.local_time, f.punch_match_seconds)
            if punch_id is not None:
                repo.link_photo_punch(session, task.photo_id, punch_id)
        claimant = repo.resolve_claimant(session, task.site_id, task.pin, task.local_time) if task.pin else None
        if claimant is None:
            reason = "unknown_pin: the photo's PIN names no single trainee of a class at the device's site"
            repo.finish_job(session, task.photo_id, "skipped", reason)
            stats.skip(reason)
            continue
        groups.setdefault(claimant.institution_id, []).append((task, claimant, faces, punch_id))

    for institution_id, items in groups.items():
        gallery = repo.institution_gallery(session, institution_id)
        probes: list[fc.Probe] = []
        enrolment_ids: list[int | None] = []
        seen: dict[int, list[tuple[np.ndarray, str]]] = {}  # earlier photos of this batch, per trainee
        for task, claimant, faces, _ in items:
            hist = repo.trainee_history(session, claimant.trainee_id, task.photo_id)
            batch_prev = seen.setdefault(claimant.trainee_id, [])
            enc = faces.largest.encoding if faces.largest is not None else None
            prev_enc = np.vstack([hist.encodings] + [e[None, :] for e, _ in batch_prev]) if batch_prev else hist.encodings
            probes.append(fc.Probe(claimant.trainee_id, enc, task.sha256, prev_enc,
                                   hist.hashes | {h for _, h in batch_prev}))
            enrolment_ids.append(hist.enrolment_id)
            if enc is not None:
                batch_prev.append((enc, task.sha256))
        verdicts = fc.verify_batch(probes, gallery, params)
        for (task, claimant, faces, punch_id), probe, enrolment_id, verdict in zip(items, probes, enrolment_ids, verdicts, strict=True):
            if verdict.outcome == fc.NOT_ENROLLED:
                reason = f"not_enrolled:{claimant.trainee_id}"
                repo.finish_job(session, task.photo_id, "skipped", reason)
                stats.skip(reason)
                continue
            largest = faces.largest
            repo.record_verification(
                session, photo=task, punch_id=punch_id, claimant=claimant, enrolment_id=enrolment_id, verdict=verdict,
                encoding=probe.encoding, face_count=len(faces.faces), face_px=largest.size_px if largest else None,
                model=f.model, tolerance=f.tolerance, review_upper=f.review_upper,
            )
            repo.finish_job(session, task.photo_id, "done")
            stats.add(verdict.outcome)
            if verdict.outcome in ("proxy_suspected", "replay_suspected", "mismatch"):
                log.warning("punch photo flagged", extra={"photo_id": task.photo_id, "outcome": verdict.outcome,
                                                          "trainee_id": claimant.trainee_id})


class BackgroundVerifier:
    """A daemon thread that verifies pending photos every `poll_seconds`, with a pool of worker
    processes created on first need and kept while there is work."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine, self.settings = engine, settings
        self._stop = threading.Event()
        self._pool: ProcessPoolExecutor | None = None
        self._thread = threading.Thread(target=self._run, name="face-verifier", daemon=True)
        self.rounds = 0

    def start(self) -> BackgroundVerifier:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def _run(self) -> None:
        f = self.settings.faces
        while not self._stop.wait(f.poll_seconds):
            try:
                with session_scope(self.engine) as session:
                    if not repo.has_pending(session, f.job_lease_minutes):
                        continue
                if self._pool is None:
                    self._pool = make_pool(f.workers, f.max_tasks_per_child)
                verify_pending(self.engine, self.settings, limit=f.batch_size * 4, executor=self._pool, full_scan=False)
                self.rounds += 1
            except BrokenProcessPool:  # a worker died (e.g. out of memory): new pool next round; the
                log.warning("face worker pool broke; restarting it")  # claimed photos are retried after their lease
                if self._pool is not None:
                    self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None
            except OperationalError as exc:  # database busy or gone: try again next round
                log.warning("face verifier round failed", extra={"error": str(exc)[:200]})
            except Exception:  # noqa: BLE001  (the thread must survive a bad round)
                log.exception("face verifier round failed")


def start_background_verifier(app: Any) -> BackgroundVerifier | None:
    """Start the verifier in the API process if `faces.background` is on; stopped at app shutdown."""
    settings: Settings = app.state.settings
    if not settings.faces.background:
        return None
    verifier = BackgroundVerifier(app.state.engine, settings).start()
    app.state.face_verifier = verifier
    shutdown = getattr(app.router, "on_shutdown", None)
    if shutdown is not None:  # the thread is a daemon anyway; this lets its worker processes exit cleanly
        shutdown.append(verifier.stop)
    return verifier


# -------------------------------------------------------------------------------------------- duplicates

@dataclass(frozen=True)
class DuplicateRow:
    distance: float
    a: repo.TraineePlace
    b: repo.TraineePlace


def find_duplicates(session: Session, settings: Settings, *, tolerance: float | None = None,
                    scope: int | None = None) -> list[DuplicateRow]:
    """Pairs of enrolled faces, city-wide, closer than the tolerance under different resident IDs.
    A site key (scope) sees only pairs with one of its own trainees."""
    city = repo.city_encodings(session)
    pairs = duplicate_pairs(city.encodings, city.id_hashes, settings.faces.tolerance if tolerance is None else tolerance)
    return _duplicate_rows(session, city.trainee_ids[pairs.i], city.trainee_ids[pairs.j], pairs.distance, scope)


def look_alikes(session: Session, settings: Settings, trainee_ids: Sequence[int]) -> list[DuplicateRow]:
    """The duplicate check at enrolment: people enrolled anywhere in the city under another resident ID
    whose face is within the tolerance of these trainees' active enrolments (one matrix product)."""
    city = repo.city_encodings(session)
    new = np.flatnonzero(np.isin(city.trainee_ids, np.asarray(trainee_ids, dtype=np.int64)))
    if not len(new):
        return []
    d = FaceIndex(city.encodings).distances(city.encodings[new])
    qi, cols = np.nonzero(d <= settings.faces.tolerance)
    rows = new[qi]
    # another identity; a pair of two new trainees once (rows < cols when both are new)
    keep = (city.id_hashes[rows] != city.id_hashes[cols]) & ~(np.isin(cols, new) & (cols < rows))
    rows, cols, dist = rows[keep], cols[keep], d[qi[keep], cols[keep]]
    order = np.argsort(dist, kind="stable")
    return _duplicate_rows(session, city.trainee_ids[rows[order]], city.trainee_ids[cols[order]], dist[order], None)


def _duplicate_rows(session: Session, ta: np.ndarray, tb: np.ndarray, dist: np.ndarray,
                    scope: int | None) -> list[DuplicateRow]:
    places = repo.trainee_places(session, np.concatenate([ta, tb]).tolist())
    rows = []
    for a, b, d in zip(ta.tolist(), tb.tolist(), dist.tolist(), strict=True):
        pa, pb = places.get(a), places.get(b)
        if pa is None or pb is None:
            continue
        if scope is not None and scope not in pa.institution_ids + pb.institution_ids:
            continue
        rows.append(DuplicateRow(round(float(d), 4), pa, pb))
    return rows


# -------------------------------------------------------------------------------------------------- video

def scan_class_footage(session: Session, settings: Settings, class_code: str, path: Path, *, start_s: float = 0.0,
                       end_s: float | None = None, step_s: float | None = None, scope: int | None = None) -> VideoScan:
    """Which of the class's enrolled trainees appear in a footage window (a pre-screen for review)."""
    klass = people.class_by_code(session, scope, class_code)
    gallery = repo.class_gallery(session, klass.id)
    f = settings.faces
    params = VideoParams(step_seconds=step_s or f.video_step_seconds, detect_max_width=f.video_detect_max_width,
                         min_face_px=f.video_min_face_px, tolerance=f.video_tolerance)
    return scan_video(path, gallery, params, start_s, end_s)
