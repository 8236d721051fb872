"""Faces under /api/v1/faces: enrolment photo upload, verification results, duplicate identities.

A site key enrols and sees only its own institution's trainees and results; duplicate identities span
institutions, so that report is for inspectors and admins. Encodings and photos are never returned.
"""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Query, Request, UploadFile, status
from pydantic import BaseModel

from attendance import faces as fc
from punchaudit.api.auth import AnyRole, DbSession, InspectorOrAdmin, SiteOrAdmin
from punchaudit.services import faces as svc
from punchaudit.services import registry_people as people
from punchaudit.services.registry import NotFound
from storage import faces as repo

router = APIRouter(prefix="/api/v1/faces", tags=["faces"])

MAX_PHOTO_BYTES = 10 * 1024 * 1024


class EnrolmentOut(BaseModel):
    trainee_id: int
    enrolment_id: int
    box_px: int
    model: str
    created_at: datetime | None = None
    requeued_photos: int = 0
    possible_duplicates: int = 0  # enrolled faces under another resident ID this close (inspectors see who)


class VerificationOut(BaseModel):
    id: int
    punch_photo_id: int
    punch_id: int | None
    trainee_id: int
    institution_id: int | None
    outcome: str
    distance: float | None
    nearest_other_trainee_id: int | None
    nearest_other_distance: float | None
    face_count: int
    reason: str | None
    model: str
    tolerance: float
    created_at: datetime


class TraineePlaceOut(BaseModel):
    trainee_id: int
    name: str
    id_masked: str
    institutions: list[str]
    classes: list[str]


class DuplicateOut(BaseModel):
    distance: float
    a: TraineePlaceOut
    b: TraineePlaceOut


def _not_found(exc: NotFound) -> HTTPException:
    return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))


@router.post("/enrolments/{trainee_id}", response_model=EnrolmentOut, status_code=status.HTTP_201_CREATED)
def upload_enrolment(trainee_id: int, request: Request, principal: SiteOrAdmin, session: DbSession,
                     photo: UploadFile = File(..., description="JPEG or PNG registration photo, one face")) -> EnrolmentOut:
    """Enrol (or replace) the trainee's reference face. 422 with a reason for an unusable photo."""
    data = photo.file.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "photo larger than 10 MB")
    settings = request.app.state.settings
    try:
        res = svc.enrol_photo(session, settings, trainee_id, data, scope=principal.scope(), source="upload")
    except NotFound as exc:
        raise _not_found(exc) from None
    except fc.FaceError as exc:
        raise HTTPException(422, {"code": exc.code, "message": str(exc)}) from None
    session.commit()
    return EnrolmentOut(trainee_id=trainee_id, enrolment_id=res.enrolment_id, box_px=res.box_px,
                        model=settings.faces.model, requeued_photos=res.requeued, possible_duplicates=res.look_alikes)


@router.get("/enrolments/{trainee_id}", response_model=EnrolmentOut)
def get_enrolment(trainee_id: int, principal: AnyRole, session: DbSession) -> EnrolmentOut:
    """The trainee's active enrolment (404 if none)."""
    try:
        people.get_trainee(session, principal.scope(), trainee_id)
    except NotFound as exc:
        raise _not_found(exc) from None
    row = repo.active_enrolment(session, trainee_id)
    if row is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "the trainee has no face enrolment")
    return EnrolmentOut(trainee_id=trainee_id, enrolment_id=row.id, box_px=row.box_px, model=row.model,
                        created_at=row.created_at)


class PhotoUploadOut(BaseModel):
    photo_id: int
    punch_id: int | None
    duplicate: bool
    status: str = "pending verification"


@router.post("/punch-photos", response_model=PhotoUploadOut, status_code=status.HTTP_202_ACCEPTED)
def upload_punch_photo(request: Request, principal: SiteOrAdmin, session: DbSession,
                       device: Annotated[str, Form(max_length=64, description="serial of the device or app")],
                       pin: Annotated[str, Form(max_length=32)],
                       local_time: Annotated[datetime, Form(description="punch time, device-local, no zone")],
                       photo: UploadFile = File(..., description="JPEG or PNG taken at the punch")) -> PhotoUploadOut:
    """Store a punch photo for background verification (answers at once; the result appears later
    under /verifications)."""
    data = photo.file.read(MAX_PHOTO_BYTES + 1)
    if len(data) > MAX_PHOTO_BYTES:
        raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "photo larger than 10 MB")
    try:
        res = svc.store_uploaded_photo(session, request.app.state.settings, scope=principal.scope(),
                                       device_serial=device, pin=pin, local_time=local_time.replace(tzinfo=None),
                                       image=data)
    except NotFound as exc:
        raise _not_found(exc) from None
    except fc.FaceError as exc:
        raise HTTPException(422, {"code": exc.code, "message": str(exc)}) from None
    session.commit()
    return PhotoUploadOut(photo_id=res.photo_id, punch_id=res.punch_id, duplicate=res.duplicate)


@router.get("/verifications", response_model=list[VerificationOut])
def list_verifications(
    principal: AnyRole, session: DbSession,
    outcome: Annotated[str | None, Query(pattern="^(" + "|".join(fc.OUTCOMES) + ")$")] = None,
    trainee_id: Annotated[int | None, Query(ge=1)] = None,
    institution_id: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[VerificationOut]:
    """Verification results, newest first. A site key sees only its own institution's."""
    scope = principal.scope()
    if scope is not None:
        if institution_id is not None and institution_id != scope:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
        institution_id = scope
    rows = repo.verifications(session, institution_id=institution_id, trainee_id=trainee_id, outcome=outcome,
                              limit=limit, offset=offset)
    return [VerificationOut.model_validate(r, from_attributes=True) for r in rows]


@router.get("/verifications/summary", response_model=dict[str, int])
def verification_summary(principal: AnyRole, session: DbSession,
                         institution_id: Annotated[int | None, Query(ge=1)] = None) -> dict[str, int]:
    """Counts per outcome, plus photos still waiting (`pending`, all institutions, inspectors/admins only)."""
    scope = principal.scope()
    if scope is not None:
        if institution_id is not None and institution_id != scope:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
        institution_id = scope
    counts = repo.outcome_counts(session, institution_id)
    if scope is None:
        counts["pending"] = repo.count_pending(session)
    return counts


@router.get("/duplicates", response_model=list[DuplicateOut])
def duplicates(request: Request, principal: InspectorOrAdmin, session: DbSession,
               tolerance: Annotated[float | None, Query(gt=0, lt=1)] = None) -> list[DuplicateOut]:
    """Suspected duplicate identities: enrolled faces closer than the tolerance under different resident IDs."""
    rows = svc.find_duplicates(session, request.app.state.settings, tolerance=tolerance)
    return [
        DuplicateOut(distance=r.distance, a=_place(r.a), b=_place(r.b)) for r in rows
    ]


def _place(p: repo.TraineePlace) -> TraineePlaceOut:
    return TraineePlaceOut(trainee_id=p.trainee_id, name=p.name, id_masked=p.id_masked,
                           institutions=list(p.institutions), classes=list(p.classes))
