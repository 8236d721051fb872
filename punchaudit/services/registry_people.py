"""Trainees, classes and enrolments.

A trainee is a person, registered once city-wide: the resident ID is kept only masked (for display)
and as an HMAC under the service's secret key (for lookup and to find the same person again), never
in clear, and never logged. A trainee belongs to no institution; a site key sees the trainees enrolled
in its own institution's classes. Knowing the clear ID number is what lets a site enrol a person
registered before (by the bureau, or for an earlier class elsewhere).

The subsidy is paid per person per training day, so one person may not sit in two classes whose dates
overlap, and a PIN must name one person on a site's terminals at any time.
"""
from __future__ import annotations

import logging
from datetime import date
from typing import Any

from sqlalchemy import and_, exists, select
from sqlalchemy.orm import Session

from attendance import resident_id as rid
from punchaudit.services.registry import (
    Conflict,
    Invalid,
    NotFound,
    Page,
    any_row,
    apply_changes,
    check_text,
    get_institution,
    get_site,
    load,
    paginate,
    visible,
)
from storage.schema.core import Enrollment, Trainee, TrainingClass

log = logging.getLogger("punchaudit.registry")

KINDS = ("project", "enterprise", "certification")


def _normalize(resident_id: str) -> str:
    try:
        return rid.normalize(resident_id)
    except rid.InvalidResidentId as exc:  # the message never repeats the number
        raise Invalid(str(exc)) from None


def _enrolled_in(scope: int) -> Any:
    """SQL condition: the trainee has an enrolment in a class of institution `scope`."""
    return exists().where(Enrollment.trainee_id == Trainee.id, Enrollment.class_id == TrainingClass.id,
                          TrainingClass.institution_id == scope)


# trainees ---------------------------------------------------------------------------------------

def register_trainee(session: Session, scope: int | None, secret_key: bytes, name: str, resident_id: str, *,
                     phone: str | None = None, target_group: str | None = None) -> Trainee:
    """Register a person. Gender and birth date are read from the ID; the ID itself is not kept."""
    number = _normalize(resident_id)
    name = check_text(name, "name", 100)
    id_hash = rid.keyed_hash(number, secret_key)
    existing = session.scalar(select(Trainee).where(Trainee.id_hash == id_hash))
    if existing is not None:
        where = f" as trainee {existing.id}" if _trainee_visible(session, scope, existing) else ""
        raise Conflict(f"a trainee with this resident ID is already registered{where}; enrol them by resident ID")
    row = Trainee(name=name, id_masked=rid.mask(number), id_hash=id_hash, gender=rid.gender(number),
                  birth_date=rid.birth_date(number), phone=phone, target_group=target_group)
    session.add(row)
    session.flush()
    log.info("trainee registered", extra={"trainee_id": row.id, "id_masked": row.id_masked})
    return row


def _trainee_visible(session: Session, scope: int | None, trainee: Trainee) -> bool:
    if scope is None:
        return True
    return any_row(session, select(Enrollment.id).join(TrainingClass, TrainingClass.id == Enrollment.class_id)
                   .where(Enrollment.trainee_id == trainee.id, TrainingClass.institution_id == scope))


def get_trainee(session: Session, scope: int | None, trainee_id: int) -> Trainee:
    row = session.get(Trainee, trainee_id)
    if row is None or not _trainee_visible(session, scope, row):
        raise NotFound(f"trainee {trainee_id} not found")
    return row


def find_trainee(session: Session, scope: int | None, secret_key: bytes, resident_id: str) -> Trainee:
    """Look a person up by the clear ID number (through its keyed hash)."""
    id_hash = rid.keyed_hash(_normalize(resident_id), secret_key)
    row = session.scalar(select(Trainee).where(Trainee.id_hash == id_hash))
    if row is None or not _trainee_visible(session, scope, row):
        raise NotFound("no trainee with this resident ID")
    return row


def list_trainees(session: Session, scope: int | None, *, class_id: int | None = None, name: str | None = None,
                  limit: int = 100, offset: int = 0) -> Page:
    stmt = select(Trainee).order_by(Trainee.id)
    if scope is not None:
        stmt = stmt.where(_enrolled_in(scope))
    if class_id is not None:
        stmt = stmt.where(exists().where(Enrollment.trainee_id == Trainee.id, Enrollment.class_id == class_id))
    if name:
        stmt = stmt.where(Trainee.name.contains(name, autoescape=True))
    return paginate(session, stmt, limit, offset)


def update_trainee(session: Session, scope: int | None, trainee_id: int, **changes: Any) -> Trainee:
    """Correct name, phone or target group. The ID number cannot change: register the person again."""
    return apply_changes(session, get_trainee(session, scope, trainee_id), changes,
                  {"name": lambda v: check_text(v, "name", 100), "phone": None, "target_group": None})


# classes ----------------------------------------------------------------------------------------

def create_class(session: Session, scope: int | None, institution_id: int, site_id: int, code: str, name: str,
                 start_date: date, end_date: date, *, kind: str = "project", occupation: str | None = None,
                 level: str | None = None) -> TrainingClass:
    """Open a class (培训班) of an institution at one of its own sites."""
    institution = get_institution(session, scope, institution_id)
    site = get_site(session, scope, site_id)
    if site.institution_id != institution.id:
        raise Invalid(f"site {site.code} does not belong to institution {institution.code}")
    code = check_text(code, "class code", 64)
    if kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}")
    if end_date < start_date:
        raise Invalid("the class ends before it starts")
    if any_row(session, select(TrainingClass.id).where(TrainingClass.code == code)):
        raise Conflict(f"class {code} already exists")
    row = TrainingClass(code=code, institution_id=institution.id, site_id=site.id, name=check_text(name, "class name", 200),
                        kind=kind, occupation=occupation, level=level, start_date=start_date, end_date=end_date)
    session.add(row)
    session.flush()
    log.info("class opened", extra={"class_id": row.id, "code": code, "institution_id": institution.id, "site_id": site.id})
    return row


def get_class(session: Session, scope: int | None, class_id: int) -> TrainingClass:
    return load(session, scope, TrainingClass, "class", class_id)


def class_by_code(session: Session, scope: int | None, code: str) -> TrainingClass:
    return load(session, scope, TrainingClass, "class", code)


def list_classes(session: Session, scope: int | None, *, institution_id: int | None = None, site_id: int | None = None,
                 active_on: date | None = None, limit: int = 100, offset: int = 0) -> Page:
    stmt = select(TrainingClass).order_by(TrainingClass.id)
    if scope is not None:
        stmt = stmt.where(TrainingClass.institution_id == scope)
    if institution_id is not None:
        stmt = stmt.where(TrainingClass.institution_id == institution_id)
    if site_id is not None:
        stmt = stmt.where(TrainingClass.site_id == site_id)
    if active_on is not None:
        stmt = stmt.where(TrainingClass.start_date <= active_on, TrainingClass.end_date >= active_on)
    return paginate(session, stmt, limit, offset)


# enrolments -------------------------------------------------------------------------------------

def _overlaps(start: date, end: date) -> Any:
    return and_(TrainingClass.start_date <= end, TrainingClass.end_date >= start)


def _check_clashes(session: Session, scope: int | None, cls: TrainingClass, trainee_id: int, pin: str,
                   start: date, end: date) -> None:
    """Conflict if, with `cls` running from `start` to `end`, the trainee would sit in another class on
    the same day, or the PIN would name someone else on the site's terminals on the same day."""
    others = and_(TrainingClass.id != cls.id, _overlaps(start, end))
    clash = session.scalar(
        select(TrainingClass).join(Enrollment, Enrollment.class_id == TrainingClass.id)
        .where(Enrollment.trainee_id == trainee_id, others).limit(1)
    )
    if clash is not None:
        named = f"class {clash.code}" if visible(scope, clash.institution_id) else "a class of another institution"
        raise Conflict(f"trainee {trainee_id} is already enrolled in {named} "
                       f"({clash.start_date} to {clash.end_date}), which overlaps {cls.code}")
    same_pin = session.scalar(
        select(TrainingClass.code).join(Enrollment, Enrollment.class_id == TrainingClass.id)
        .where(TrainingClass.site_id == cls.site_id, Enrollment.pin == pin, others).limit(1)
    )
    if same_pin is not None:
        raise Conflict(f"PIN {pin} already names another trainee on this site's terminals (class {same_pin}, overlapping dates)")


def update_class(session: Session, scope: int | None, class_id: int, *, name: str | None = None,
                 occupation: str | None = None, level: str | None = None, start_date: date | None = None,
                 end_date: date | None = None) -> TrainingClass:
    """Correct a class or move its dates (a class extended or postponed). New dates are checked against
    every enrolled trainee's other classes and the site's PINs, as enrolment does."""
    cls = get_class(session, scope, class_id)
    start, end = start_date or cls.start_date, end_date or cls.end_date
    if end < start:
        raise Invalid("the class ends before it starts")
    if (start, end) != (cls.start_date, cls.end_date):
        for enrolment in session.scalars(select(Enrollment).where(Enrollment.class_id == cls.id)):
            session.execute(select(Trainee.id).where(Trainee.id == enrolment.trainee_id).with_for_update())
            _check_clashes(session, scope, cls, enrolment.trainee_id, enrolment.pin, start, end)
        log.info("class dates changed", extra={"class_id": cls.id, "start_date": str(start), "end_date": str(end)})
    return apply_changes(session, cls, {"name": name, "occupation": occupation, "level": level, "start_date": start,
                                 "end_date": end},
                  {"name": lambda v: check_text(v, "class name", 200), "occupation": None, "level": None,
                   "start_date": None, "end_date": None})


def enroll(session: Session, scope: int | None, secret_key: bytes, class_id: int, pin: str, *,
           trainee_id: int | None = None, resident_id: str | None = None, name: str | None = None) -> Enrollment:
    """Put a trainee in a class under the PIN the site's terminals know them by.

    The trainee is given by id (visible to the caller) or by clear resident ID; with a resident ID and a
    name an unknown person is registered on the way. Refused: a PIN already used in the class or, in an
    overlapping class, at the same site; the trainee already in the class; the trainee in another class
    whose dates overlap (one person cannot be paid twice for one day).
    """
    cls = get_class(session, scope, class_id)
    pin = check_text(pin, "PIN", 32)
    if not pin.isalnum():
        raise Invalid("a PIN holds only letters and digits")
    trainee = _resolve_trainee(session, scope, secret_key, trainee_id, resident_id, name)
    # One enrolment at a time per person: PostgreSQL locks the trainee row; SQLite has one writer anyway.
    session.execute(select(Trainee.id).where(Trainee.id == trainee.id).with_for_update())
    if any_row(session, select(Enrollment.id).where(Enrollment.class_id == cls.id, Enrollment.trainee_id == trainee.id)):
        raise Conflict(f"trainee {trainee.id} is already enrolled in class {cls.code}")
    if any_row(session, select(Enrollment.id).where(Enrollment.class_id == cls.id, Enrollment.pin == pin)):
        raise Conflict(f"PIN {pin} is already used in class {cls.code}")
    _check_clashes(session, scope, cls, trainee.id, pin, cls.start_date, cls.end_date)
    row = Enrollment(class_id=cls.id, trainee_id=trainee.id, pin=pin)
    session.add(row)
    session.flush()
    log.info("trainee enrolled", extra={"enrollment_id": row.id, "class_id": cls.id, "trainee_id": trainee.id, "pin": pin})
    return row


def _resolve_trainee(session: Session, scope: int | None, secret_key: bytes, trainee_id: int | None,
                     resident_id: str | None, name: str | None) -> Trainee:
    if (trainee_id is None) == (resident_id is None):
        raise Invalid("give either a trainee id or a resident ID")
    if trainee_id is not None:
        return get_trainee(session, scope, trainee_id)
    assert resident_id is not None
    id_hash = rid.keyed_hash(_normalize(resident_id), secret_key)
    row = session.scalar(select(Trainee).where(Trainee.id_hash == id_hash))
    if row is None:
        if not name:
            raise NotFound("no trainee with this resident ID; give the name to register them")
        return register_trainee(session, scope, secret_key, name, resident_id)
    if name and name.strip() != row.name:
        raise Invalid("the name does not match the name registered for this resident ID")
    return row


def get_enrollment(session: Session, scope: int | None, enrollment_id: int) -> Enrollment:
    row = session.get(Enrollment, enrollment_id)
    if row is None:
        raise NotFound(f"enrolment {enrollment_id} not found")
    cls = session.get(TrainingClass, row.class_id)
    if cls is None or not visible(scope, cls.institution_id):
        raise NotFound(f"enrolment {enrollment_id} not found")
    return row


def list_enrollments(session: Session, scope: int | None, *, class_id: int | None = None, trainee_id: int | None = None,
                     limit: int = 100, offset: int = 0) -> Page:
    """Enrolments with their trainee's name and masked ID: rows of (Enrollment, Trainee, class code)."""
    stmt = (select(Enrollment, Trainee, TrainingClass.code)
            .join(Trainee, Trainee.id == Enrollment.trainee_id)
            .join(TrainingClass, TrainingClass.id == Enrollment.class_id)
            .order_by(Enrollment.id))
    if scope is not None:
        stmt = stmt.where(TrainingClass.institution_id == scope)
    if class_id is not None:
        stmt = stmt.where(Enrollment.class_id == class_id)
    if trainee_id is not None:
        stmt = stmt.where(Enrollment.trainee_id == trainee_id)
    return paginate(session, stmt, limit, offset, scalars=False)


def withdraw(session: Session, scope: int | None, enrollment_id: int) -> None:
    """Remove an enrolment (a trainee who left before the class started, or a wrong PIN)."""
    row = get_enrollment(session, scope, enrollment_id)
    session.delete(row)
    session.flush()
    log.info("enrolment withdrawn", extra={"enrollment_id": enrollment_id, "class_id": row.class_id, "trainee_id": row.trainee_id})
