"""The face repository: enrolments, galleries as float32 matrices, verification jobs and results.

Galleries come out of the database as one contiguous float32 matrix (each encoding is 512 raw bytes),
so the matching code gets the array it computes on without a per-row conversion.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from attendance.faces import ENCODING_DIM, Enrolment, Gallery, Verdict
from storage.punches import at_device_near
from storage.schema.base import utcnow
from storage.schema.core import Device, Enrollment, Institution, Punch, PunchPhoto, Site, Trainee, TrainingClass
from storage.schema.faces import FaceEnrolment, FaceJob, FaceVerification


MAX_ATTEMPTS = 3


def to_bytes(encoding: np.ndarray) -> bytes:
    return np.ascontiguousarray(encoding, dtype=np.float32).reshape(ENCODING_DIM).tobytes()


def to_matrix(blobs: Sequence[bytes]) -> np.ndarray:
    if not blobs:
        return np.empty((0, ENCODING_DIM), np.float32)
    return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), ENCODING_DIM).copy()


# -------------------------------------------------------------------------------------------- enrolment

def save_enrolment(session: Session, trainee_id: int, enrolment: Enrolment, *, photo: bytes | None,
                   photo_sha256: str, model: str, source: str) -> FaceEnrolment:
    """Make `enrolment` the trainee's active reference face; the previous one is kept, inactive."""
    session.execute(
        update(FaceEnrolment)
        .where(FaceEnrolment.trainee_id == trainee_id, FaceEnrolment.active.is_(True))
        .values(active=False, replaced_at=utcnow())
    )
    top, right, bottom, left = enrolment.box
    row = FaceEnrolment(
        trainee_id=trainee_id, encoding=to_bytes(enrolment.encoding), box_top=top, box_right=right,
        box_bottom=bottom, box_left=left, box_px=enrolment.box_px, photo_sha256=photo_sha256, photo=photo,
        source=source, model=model, active=True,
    )
    session.add(row)
    session.flush()
    return row


def active_enrolment(session: Session, trainee_id: int) -> FaceEnrolment | None:
    return session.scalar(select(FaceEnrolment).where(FaceEnrolment.trainee_id == trainee_id, FaceEnrolment.active.is_(True)))


def _gallery(session: Session, trainee_filter) -> Gallery:  # type: ignore[no-untyped-def]
    rows = session.execute(
        select(FaceEnrolment.trainee_id, FaceEnrolment.encoding)
        .where(FaceEnrolment.active.is_(True), FaceEnrolment.trainee_id.in_(trainee_filter))
        .order_by(FaceEnrolment.trainee_id)
    ).all()
    return Gallery(np.array([r[0] for r in rows], dtype=np.int64), to_matrix([r[1] for r in rows]))


def institution_gallery(session: Session, institution_id: int) -> Gallery:
    """Active encodings of every trainee enrolled in any class of the institution."""
    trainees = (
        select(Enrollment.trainee_id).join(TrainingClass, TrainingClass.id == Enrollment.class_id)
        .where(TrainingClass.institution_id == institution_id)
    )
    return _gallery(session, trainees)


def class_gallery(session: Session, class_id: int) -> Gallery:
    return _gallery(session, select(Enrollment.trainee_id).where(Enrollment.class_id == class_id))


@dataclass(frozen=True)
class CityEncodings:
    trainee_ids: np.ndarray
    id_hashes: np.ndarray  # object array of resident-ID hashes
    encodings: np.ndarray


def city_encodings(session: Session) -> CityEncodings:
    """Every active enrolment in the database, with the trainee's resident-ID hash."""
    rows = session.execute(
        select(FaceEnrolment.trainee_id, Trainee.id_hash, FaceEnrolment.encoding)
        .join(Trainee, Trainee.id == FaceEnrolment.trainee_id)
        .where(FaceEnrolment.active.is_(True)).order_by(FaceEnrolment.trainee_id)
    ).all()
    return CityEncodings(
        np.array([r[0] for r in rows], dtype=np.int64), np.array([r[1] for r in rows], dtype=object),
        to_matrix([r[2] for r in rows]),
    )


@dataclass(frozen=True)
class TraineePlace:
    trainee_id: int
    name: str
    id_masked: str
    institutions: tuple[str, ...]
    institution_ids: tuple[int, ...]
    classes: tuple[str, ...]


def trainee_places(session: Session, trainee_ids: Sequence[int]) -> dict[int, TraineePlace]:
    """Name, masked ID, institutions and class codes of each trainee (for the duplicates report)."""
    ids = sorted({int(t) for t in trainee_ids})
    if not ids:
        return {}
    people = {r.id: r for r in session.scalars(select(Trainee).where(Trainee.id.in_(ids)))}
    rows = session.execute(
        select(Enrollment.trainee_id, TrainingClass.code, Institution.id, Institution.name)
        .join(TrainingClass, TrainingClass.id == Enrollment.class_id)
        .join(Institution, Institution.id == TrainingClass.institution_id)
        .where(Enrollment.trainee_id.in_(ids)).order_by(TrainingClass.code)
    ).all()
    classes: dict[int, list[str]] = {}
    insts: dict[int, dict[int, str]] = {}
    for tid, code, inst_id, inst_name in rows:
        classes.setdefault(tid, []).append(code)
        insts.setdefault(tid, {})[inst_id] = inst_name
    return {
        t: TraineePlace(t, people[t].name, people[t].id_masked, tuple(insts.get(t, {}).values()),
                        tuple(insts.get(t, {}).keys()), tuple(classes.get(t, [])))
        for t in ids if t in people
    }


# ------------------------------------------------------------------------------------------------ jobs

def enqueue(session: Session, photo_ids: Sequence[int]) -> None:
    """Mark photos pending again (e.g. after a trainee was enrolled); new photos need no row."""
    for pid in photo_ids:
        job = session.get(FaceJob, pid)
        if job is None:
            session.add(FaceJob(punch_photo_id=pid, status="pending", attempts=0))
        else:
            job.status, job.updated_at = "pending", utcnow()
    session.flush()


def requeue_skipped(session: Session, reason: str) -> int:
    """Put photos skipped for `reason` back in the queue; returns how many."""
    ids = session.scalars(select(FaceJob.punch_photo_id).where(FaceJob.status == "skipped", FaceJob.reason == reason)).all()
    enqueue(session, ids)
    return len(ids)


def trainee_by_pin(session: Session, class_id: int, pin: str) -> int | None:
    return session.scalar(select(Enrollment.trainee_id).where(Enrollment.class_id == class_id, Enrollment.pin == pin))


def device_institution(session: Session, serial: str) -> tuple[int, int] | None:
    """(device id, institution id) of a registered device."""
    row = session.execute(select(Device.id, Site.institution_id).join(Site, Site.id == Device.site_id)
                          .where(Device.serial == serial)).first()
    return (int(row[0]), int(row[1])) if row else None


def photo_by_hash(session: Session, device_id: int, sha256: str) -> int | None:
    return session.scalar(select(PunchPhoto.id).where(PunchPhoto.device_id == device_id, PunchPhoto.sha256 == sha256))


def count_pending(session: Session) -> int:
    no_job = select(func.count()).select_from(PunchPhoto).outerjoin(FaceJob, FaceJob.punch_photo_id == PunchPhoto.id)
    return int(session.scalar(no_job.where(or_(FaceJob.punch_photo_id.is_(None), FaceJob.status == "pending"))) or 0)


RESCAN_WINDOW = 10_000  # photo ids below the newest claimed one that are still looked at


def _scan_floor(session: Session, full: bool) -> int:
    """Photos are claimed in id order, so new ones sit above the newest claimed id. The background
    verifier looks only there (less a window: on PostgreSQL ids can commit out of order) instead of
    anti-joining every stored photo, blobs and all, every few seconds; explicit runs scan everything."""
    if full:
        return 0
    top = session.scalar(select(func.max(FaceJob.punch_photo_id)))
    return max(0, int(top or 0) - RESCAN_WINDOW)


def _unjobbed(floor: int):  # type: ignore[no-untyped-def]
    return (select(PunchPhoto.id).outerjoin(FaceJob, FaceJob.punch_photo_id == PunchPhoto.id)
            .where(FaceJob.punch_photo_id.is_(None), PunchPhoto.id > floor))


def _retryable(lease_minutes: int):  # type: ignore[no-untyped-def]
    stale = utcnow() - timedelta(minutes=lease_minutes)
    return or_(FaceJob.status == "pending", and_(FaceJob.status == "running", FaceJob.updated_at < stale))


def has_pending(session: Session, lease_minutes: int, *, full_scan: bool = False) -> bool:
    """Is there anything to claim? (cheap: two LIMIT 1 probes)"""
    if session.scalar(_unjobbed(_scan_floor(session, full_scan)).limit(1)) is not None:
        return True
    return session.scalar(select(FaceJob.punch_photo_id).where(_retryable(lease_minutes)).limit(1)) is not None


def claim_pending(session: Session, limit: int, lease_minutes: int, *, full_scan: bool = True) -> list[int]:
    """Claim up to `limit` photos to verify (no job row, pending, or running past its lease).

    Claiming writes `running`: a new row with a primary key on the photo (a second claimer fails its
    insert), or an update guarded by the status it read, so two verifiers never take the same photo."""
    stale = utcnow() - timedelta(minutes=lease_minutes)
    now = utcnow()
    new_ids = session.scalars(_unjobbed(_scan_floor(session, full_scan)).order_by(PunchPhoto.id).limit(limit)).all()
    claimed: list[int] = []
    for pid in new_ids:
        try:
            with session.begin_nested():
                session.execute(insert(FaceJob).values(punch_photo_id=pid, status="running", attempts=1, updated_at=now))
        except IntegrityError:  # another verifier claimed it first
            continue
        claimed.append(pid)
    if len(claimed) < limit:
        retry = session.scalars(
            select(FaceJob.punch_photo_id).where(_retryable(lease_minutes))
            .order_by(FaceJob.punch_photo_id).limit(limit - len(claimed))
        ).all()
        for pid in retry:
            session.execute(  # a photo that broke its worker again and again is given up, with the reason
                update(FaceJob).where(FaceJob.punch_photo_id == pid, FaceJob.status == "running",
                                      FaceJob.attempts >= MAX_ATTEMPTS)
                .values(status="error", reason=f"gave up after {MAX_ATTEMPTS} attempts (worker failed)", updated_at=now)
            )
            done = session.execute(
                update(FaceJob).where(FaceJob.punch_photo_id == pid,
                                      or_(FaceJob.status == "pending",
                                          and_(FaceJob.status == "running", FaceJob.updated_at < stale)))
                .values(status="running", attempts=FaceJob.attempts + 1, updated_at=now)
            )
            if done.rowcount:
                claimed.append(pid)
    session.flush()
    return claimed


def finish_job(session: Session, photo_id: int, status: str, reason: str | None = None) -> None:
    session.execute(update(FaceJob).where(FaceJob.punch_photo_id == photo_id)
                    .values(status=status, reason=reason, updated_at=utcnow()))


@dataclass(frozen=True)
class PhotoTask:
    """A punch photo with what is needed to know whom it claims to show."""

    photo_id: int
    device_id: int
    site_id: int
    punch_id: int | None
    pin: str | None
    local_time: datetime | None
    sha256: str
    image: bytes


def load_photos(session: Session, photo_ids: Sequence[int]) -> list[PhotoTask]:
    rows = session.execute(
        select(PunchPhoto, Device.site_id, Punch.pin, Punch.local_time)
        .join(Device, Device.id == PunchPhoto.device_id)
        .outerjoin(Punch, Punch.id == PunchPhoto.punch_id)
        .where(PunchPhoto.id.in_(list(photo_ids))).order_by(PunchPhoto.id)
    ).all()
    return [
        PhotoTask(p.id, p.device_id, site_id, p.punch_id, p.pin or ppin, p.local_time or ptime, p.sha256, p.image)
        for p, site_id, ppin, ptime in rows
    ]


def match_punch(session: Session, device_id: int, pin: str, local_time: datetime, within_seconds: int) -> int | None:
    """The punch of this device and PIN nearest in time to the photo, within the tolerance."""
    lo, hi = local_time - timedelta(seconds=within_seconds), local_time + timedelta(seconds=within_seconds)
    rows = session.execute(
        select(Punch.id, Punch.local_time)
        .where(at_device_near(device_id, pin, lo, hi))
    ).all()
    if not rows:
        return None
    return min(rows, key=lambda r: (abs((r[1] - local_time).total_seconds()), r[0]))[0]


def link_photo_punch(session: Session, photo_id: int, punch_id: int) -> None:
    session.execute(update(PunchPhoto).where(PunchPhoto.id == photo_id, PunchPhoto.punch_id.is_(None))
                    .values(punch_id=punch_id))
    session.execute(update(FaceVerification).where(FaceVerification.punch_photo_id == photo_id)
                    .values(punch_id=punch_id))


@dataclass(frozen=True)
class Claimant:
    trainee_id: int
    class_id: int
    institution_id: int


def resolve_claimant(session: Session, site_id: int, pin: str, local_time: datetime | None) -> Claimant | None:
    """The trainee a PIN stands for on this site's terminals: the enrolment of a class at the site that
    runs on the photo's date (PINs are unique per class, and may be reused by later classes)."""
    q = (
        select(Enrollment.trainee_id, Enrollment.class_id, TrainingClass.institution_id)
        .join(TrainingClass, TrainingClass.id == Enrollment.class_id)
        .where(TrainingClass.site_id == site_id, Enrollment.pin == pin)
    )
    if local_time is not None:
        day = local_time.date()
        q = q.where(TrainingClass.start_date <= day, TrainingClass.end_date >= day)
    rows = session.execute(q).all()
    trainees = {r[0] for r in rows}
    if len(trainees) != 1:
        return None
    r = rows[0]
    return Claimant(r[0], r[1], r[2])


def institution_of_site(session: Session, site_id: int) -> int | None:
    return session.scalar(select(Site.institution_id).where(Site.id == site_id))


@dataclass(frozen=True)
class History:
    """Encodings and photo hashes a new punch photo of this trainee must not be a copy of."""

    enrolment_id: int | None
    encodings: np.ndarray
    hashes: frozenset[str]


def trainee_history(session: Session, trainee_id: int, before_photo_id: int, limit: int = 1000) -> History:
    enrolments = session.execute(
        select(FaceEnrolment.id, FaceEnrolment.encoding, FaceEnrolment.photo_sha256, FaceEnrolment.active)
        .where(FaceEnrolment.trainee_id == trainee_id)
    ).all()
    earlier = session.execute(
        select(FaceVerification.encoding, PunchPhoto.sha256)
        .join(PunchPhoto, PunchPhoto.id == FaceVerification.punch_photo_id)
        .where(FaceVerification.trainee_id == trainee_id, FaceVerification.punch_photo_id < before_photo_id)
        .order_by(FaceVerification.punch_photo_id.desc()).limit(limit)
    ).all()
    active = next((e[0] for e in enrolments if e[3]), None)
    blobs = [e[1] for e in enrolments] + [r[0] for r in earlier if r[0]]
    hashes = frozenset([e[2] for e in enrolments] + [r[1] for r in earlier])
    return History(active, to_matrix(blobs), hashes)


def record_verification(session: Session, *, photo: PhotoTask, punch_id: int | None, claimant: Claimant,
                        enrolment_id: int | None, verdict: Verdict, encoding: np.ndarray | None, face_count: int,
                        face_px: int | None, model: str, tolerance: float, review_upper: float) -> None:
    """Store (or replace) the photo's verification result."""
    session.execute(delete(FaceVerification).where(FaceVerification.punch_photo_id == photo.photo_id))
    session.add(FaceVerification(
        punch_photo_id=photo.photo_id, punch_id=punch_id, trainee_id=claimant.trainee_id,
        enrolment_id=enrolment_id, institution_id=claimant.institution_id, outcome=verdict.outcome,
        distance=verdict.distance, nearest_other_trainee_id=verdict.nearest_other_trainee_id,
        nearest_other_distance=verdict.nearest_other_distance, face_count=face_count, face_px=face_px,
        encoding=to_bytes(encoding) if encoding is not None and encoding.size == ENCODING_DIM else None,
        reason=verdict.reason, model=model, tolerance=tolerance, review_upper=review_upper,
    ))
    session.flush()


def link_unmatched(session: Session, within_seconds: int, limit: int = 10_000) -> int:
    """Attach verified photos that arrived before their punch to the punch, once it is stored."""
    rows = session.execute(
        select(PunchPhoto.id, PunchPhoto.device_id, PunchPhoto.pin, PunchPhoto.local_time)
        .join(FaceVerification, FaceVerification.punch_photo_id == PunchPhoto.id)
        .where(FaceVerification.punch_id.is_(None), PunchPhoto.pin.is_not(None), PunchPhoto.local_time.is_not(None))
        .limit(limit)
    ).all()
    linked = 0
    for pid, device_id, pin, local_time in rows:
        punch_id = match_punch(session, device_id, pin, local_time, within_seconds)
        if punch_id is not None:
            link_photo_punch(session, pid, punch_id)
            linked += 1
    return linked


def verifications(session: Session, *, institution_id: int | None = None, trainee_id: int | None = None,
                  outcome: str | None = None, limit: int = 200, offset: int = 0) -> list[FaceVerification]:
    q = select(FaceVerification).order_by(FaceVerification.id.desc()).limit(limit).offset(offset)
    if institution_id is not None:
        q = q.where(FaceVerification.institution_id == institution_id)
    if trainee_id is not None:
        q = q.where(FaceVerification.trainee_id == trainee_id)
    if outcome is not None:
        q = q.where(FaceVerification.outcome == outcome)
    return list(session.scalars(q))


def outcome_counts(session: Session, institution_id: int | None = None) -> dict[str, int]:
    q = select(FaceVerification.outcome, func.count()).group_by(FaceVerification.outcome)
    if institution_id is not None:
        q = q.where(FaceVerification.institution_id == institution_id)
    return {o: int(n) for o, n in session.execute(q).all()}
