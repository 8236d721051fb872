"""Listing stored punches with the trainee each PIN names.

A terminal knows people only by PIN. The PIN names a trainee through the enrolment in the class held
at the terminal's site on the punch's local day (enrolment refuses a PIN that would name two people at
one site on one day; should imported data break that rule, the earliest enrolment is shown).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Date, and_, func, select
from sqlalchemy.orm import Session

from punchaudit.services.registry import Invalid, Page, paginate
from punchaudit.services.registry_devices import get_device
from punchaudit.services.registry_people import get_class
from storage.schema.core import Device, Enrollment, Punch, Site, Trainee, TrainingClass


@dataclass(frozen=True)
class PunchRow:
    punch: Punch
    device_serial: str
    class_id: int | None
    class_code: str | None
    trainee_id: int | None
    trainee_name: str | None


def list_punches(session: Session, scope: int | None, *, class_id: int | None = None, device_id: int | None = None,
                 pin: str | None = None, date_from: date | None = None, date_to: date | None = None,
                 limit: int = 100, offset: int = 0) -> Page:
    """Punches by device-local day (both ends included), oldest first; items are PunchRow."""
    if date_from and date_to and date_to < date_from:
        raise Invalid("date_to is before date_from")
    local_day = func.date(Punch.local_time, type_=Date)
    # the enrolment this PIN names at the terminal's site that day; min() keeps one row per punch even if
    # data imported around the registry's checks let a PIN name two people
    named_by = (select(func.min(Enrollment.id)).join(TrainingClass, TrainingClass.id == Enrollment.class_id)
                .where(TrainingClass.site_id == Device.site_id, Enrollment.pin == Punch.pin,
                       TrainingClass.start_date <= local_day, TrainingClass.end_date >= local_day)
                .correlate(Punch, Device).scalar_subquery())
    stmt = (
        select(Punch, Device.serial, TrainingClass.id, TrainingClass.code, Trainee.id, Trainee.name)
        .join(Device, Device.id == Punch.device_id)
        .outerjoin(Enrollment, Enrollment.id == named_by)
        .outerjoin(TrainingClass, TrainingClass.id == Enrollment.class_id)
        .outerjoin(Trainee, Trainee.id == Enrollment.trainee_id)
        .order_by(Punch.local_time, Punch.id)
    )
    if scope is not None:
        stmt = stmt.join(Site, Site.id == Device.site_id).where(Site.institution_id == scope)
    if class_id is not None:
        stmt = stmt.where(TrainingClass.id == get_class(session, scope, class_id).id)
    if device_id is not None:
        stmt = stmt.where(Punch.device_id == get_device(session, scope, device_id).id)
    if pin is not None:
        stmt = stmt.where(Punch.pin == pin)
    if date_from is not None:
        stmt = stmt.where(Punch.local_time >= datetime.combine(date_from, time.min))
    if date_to is not None:
        stmt = stmt.where(Punch.local_time < datetime.combine(date_to + timedelta(days=1), time.min))
    page = paginate(session, stmt, limit, offset, scalars=False)
    items = [PunchRow(p, serial, cid, code, tid, name) for p, serial, cid, code, tid, name in page.items]
    return Page(items, page.limit, page.offset, page.next_offset)
