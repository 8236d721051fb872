"""The registry REST API under /api/v1: institutions, sites, devices, trainees, classes, enrolments,
punches and API keys.

Thin on purpose: each endpoint checks the role, calls one registry service with the caller's scope and
maps the result to an explicit response model (`rest_models`; never a raw row). Service errors become
HTTP errors in one place, `_RegistryRoute`. Validation errors are answered without echoing the
submitted values, so a resident ID typed into the wrong field is not sent back.
"""
from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError, OperationalError

from punchaudit.api.auth import AdminOnly, AnyRole, DbSession, Principal, SiteOrAdmin
from punchaudit.api.ratelimit import rate_limited
from punchaudit.api.rest_models import (
    ClassIn,
    ClassOut,
    ClassPatch,
    DeviceIn,
    DeviceOut,
    DevicePatch,
    EnrollmentIn,
    EnrollmentOut,
    InstitutionIn,
    InstitutionOut,
    InstitutionPatch,
    KeyCreated,
    KeyIn,
    KeyOut,
    PageOut,
    PunchOut,
    ResidentIdIn,
    SiteIn,
    SiteOut,
    SitePatch,
    TraineeIn,
    TraineeOut,
    TraineePatch,
    device_out,
    enrollment_out,
    punch_out,
)
from punchaudit.services import ingest
from punchaudit.services import registry as reg
from punchaudit.services import registry_devices as devices
from punchaudit.services import registry_people as people
from punchaudit.services.registry_punches import list_punches
from storage.schema.core import Trainee


class _RegistryRoute(APIRoute):
    """Turns registry exceptions into HTTP answers, and strips submitted values from 422 details."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except reg.NotFound as exc:
                raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
            except reg.Conflict as exc:
                raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
            except reg.Invalid as exc:
                raise HTTPException(422, str(exc)) from None
            except IntegrityError:
                raise HTTPException(status.HTTP_409_CONFLICT, "conflicts with data stored meanwhile; retry") from None
            except OperationalError:  # SQLite: another writer committed first ("database is locked")
                raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "database busy; retry",
                                    headers={"Retry-After": "1"}) from None
            except RequestValidationError as exc:
                clean = [{k: v for k, v in e.items() if k in ("type", "loc", "msg")} for e in exc.errors()]
                raise RequestValidationError(clean) from None

        return route


router = APIRouter(prefix="/api/v1", route_class=_RegistryRoute, dependencies=[Depends(rate_limited)])

Limit = Annotated[int, Query(ge=1, le=reg.MAX_LIMIT, description=f"page size, at most {reg.MAX_LIMIT}")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]
OptId = Annotated[int | None, Query(ge=1)]


def secret_key(request: Request) -> bytes:
    return request.app.state.settings.secret_key.encode()


SecretKey = Annotated[bytes, Depends(secret_key)]


def _page(page: reg.Page, convert: Callable[[Any], Any]) -> dict[str, Any]:
    return {"items": [convert(i) for i in page.items], "limit": page.limit, "offset": page.offset,
            "next_offset": page.next_offset}


def _institution_for(principal: Principal, given: int | None) -> int:
    """A site key works in its own institution; an admin must say which."""
    if given is not None:
        return given
    if principal.institution_id is not None:
        return principal.institution_id
    raise reg.Invalid("institution_id is required")


# institutions -----------------------------------------------------------------------------------


@router.post("/institutions", status_code=201, response_model=InstitutionOut, tags=["institutions"])
def create_institution(body: InstitutionIn, principal: AdminOnly, session: DbSession) -> Any:
    """Register a training institution (admin)."""
    row = reg.create_institution(session, principal.scope(), body.code, body.name, district=body.district,
                                 credit_code=body.credit_code)
    session.commit()
    return row


@router.get("/institutions", response_model=PageOut[InstitutionOut], tags=["institutions"])
def list_institutions(principal: AnyRole, session: DbSession, limit: Limit = 100, offset: Offset = 0) -> Any:
    """Institutions (a site key sees its own)."""
    return _page(reg.list_institutions(session, principal.scope(), limit, offset), lambda r: r)


@router.get("/institutions/{institution_id}", response_model=InstitutionOut, tags=["institutions"])
def get_institution(institution_id: int, principal: AnyRole, session: DbSession) -> Any:
    return reg.get_institution(session, principal.scope(), institution_id)


@router.patch("/institutions/{institution_id}", response_model=InstitutionOut, tags=["institutions"])
def update_institution(institution_id: int, body: InstitutionPatch, principal: AdminOnly, session: DbSession) -> Any:
    """Change an institution's name, district or credit code (admin)."""
    row = reg.update_institution(session, principal.scope(), institution_id, **body.model_dump(exclude_unset=True))
    session.commit()
    return row


# sites ------------------------------------------------------------------------------------------


@router.post("/sites", status_code=201, response_model=SiteOut, tags=["sites"])
def create_site(body: SiteIn, principal: SiteOrAdmin, session: DbSession) -> Any:
    """Add a training venue to an institution."""
    row = reg.create_site(session, principal.scope(), _institution_for(principal, body.institution_id), body.code,
                          body.name, address=body.address, timezone=body.timezone)
    session.commit()
    return row


@router.get("/sites", response_model=PageOut[SiteOut], tags=["sites"])
def list_sites(principal: AnyRole, session: DbSession, institution_id: OptId = None,
               limit: Limit = 100, offset: Offset = 0) -> Any:
    page = reg.list_sites(session, principal.scope(), institution_id=institution_id, limit=limit, offset=offset)
    return _page(page, lambda r: r)


@router.get("/sites/{site_id}", response_model=SiteOut, tags=["sites"])
def get_site(site_id: int, principal: AnyRole, session: DbSession) -> Any:
    return reg.get_site(session, principal.scope(), site_id)


@router.patch("/sites/{site_id}", response_model=SiteOut, tags=["sites"])
def update_site(site_id: int, body: SitePatch, principal: SiteOrAdmin, session: DbSession) -> Any:
    row = reg.update_site(session, principal.scope(), site_id, **body.model_dump(exclude_unset=True))
    session.commit()
    return row


# devices ----------------------------------------------------------------------------------------


@router.post("/devices", status_code=201, response_model=DeviceOut, tags=["devices"])
def create_device(body: DeviceIn, principal: SiteOrAdmin, session: DbSession) -> Any:
    """Register a punch terminal by serial number at a site."""
    row = devices.create_device(session, principal.scope(), body.serial, body.vendor, body.site_id,
                                timezone=body.timezone, enabled=body.enabled, token=body.token,
                                ip_allowlist=body.ip_allowlist)
    session.commit()
    ingest.forget_devices()  # the terminal endpoints cache device rows for a moment
    return device_out(row)


@router.get("/devices", response_model=PageOut[DeviceOut], tags=["devices"])
def list_devices(principal: AnyRole, session: DbSession, site_id: OptId = None, enabled: bool | None = None,
                 limit: Limit = 100, offset: Offset = 0) -> Any:
    page = devices.list_devices(session, principal.scope(), site_id=site_id, enabled=enabled, limit=limit, offset=offset)
    return _page(page, device_out)


@router.get("/devices/{device_id}", response_model=DeviceOut, tags=["devices"])
def get_device(device_id: int, principal: AnyRole, session: DbSession) -> Any:
    return device_out(devices.get_device(session, principal.scope(), device_id))


@router.patch("/devices/{device_id}", response_model=DeviceOut, tags=["devices"])
def update_device(device_id: int, body: DevicePatch, principal: SiteOrAdmin, session: DbSession) -> Any:
    """Enable or disable a terminal, move it, change its zone, rotate/clear its token or allowlist."""
    row = devices.update_device(session, principal.scope(), device_id, **body.model_dump(exclude_unset=True))
    session.commit()
    ingest.forget_devices()  # a disabled terminal or a new token takes effect on its next push
    return device_out(row)


# trainees ---------------------------------------------------------------------------------------


@router.post("/trainees", status_code=201, response_model=TraineeOut, tags=["trainees"])
def register_trainee(body: TraineeIn, principal: AdminOnly, session: DbSession, key: SecretKey) -> Any:
    """Register a person by name and resident ID, validated by its GB 11643 check digit (admin).

    Site keys register people by enrolling them (POST /enrollments with resident_id and name): a trainee
    belongs to no institution, and a site key sees only the trainees enrolled in its own classes."""
    row = people.register_trainee(session, principal.scope(), key, body.name, body.resident_id, phone=body.phone,
                                  target_group=body.target_group)
    session.commit()
    return row


@router.post("/trainees/lookup", response_model=TraineeOut, tags=["trainees"])
def lookup_trainee(body: ResidentIdIn, principal: AnyRole, session: DbSession, key: SecretKey) -> Any:
    """Find a trainee by clear resident ID (in the body, so it never lands in URLs or access logs)."""
    return people.find_trainee(session, principal.scope(), key, body.resident_id)


@router.get("/trainees", response_model=PageOut[TraineeOut], tags=["trainees"])
def list_trainees(principal: AnyRole, session: DbSession, class_id: OptId = None,
                  name: Annotated[str | None, Query(max_length=100)] = None,
                  limit: Limit = 100, offset: Offset = 0) -> Any:
    """Trainees (a site key sees those enrolled in its institution's classes)."""
    page = people.list_trainees(session, principal.scope(), class_id=class_id, name=name, limit=limit, offset=offset)
    return _page(page, lambda r: r)


@router.get("/trainees/{trainee_id}", response_model=TraineeOut, tags=["trainees"])
def get_trainee(trainee_id: int, principal: AnyRole, session: DbSession) -> Any:
    return people.get_trainee(session, principal.scope(), trainee_id)


@router.patch("/trainees/{trainee_id}", response_model=TraineeOut, tags=["trainees"])
def update_trainee(trainee_id: int, body: TraineePatch, principal: SiteOrAdmin, session: DbSession) -> Any:
    row = people.update_trainee(session, principal.scope(), trainee_id, **body.model_dump(exclude_unset=True))
    session.commit()
    return row


# classes ----------------------------------------------------------------------------------------


@router.post("/classes", status_code=201, response_model=ClassOut, tags=["classes"])
def create_class(body: ClassIn, principal: SiteOrAdmin, session: DbSession) -> Any:
    """Open a class at one of the institution's sites."""
    row = people.create_class(session, principal.scope(), _institution_for(principal, body.institution_id), body.site_id,
                              body.code, body.name, body.start_date, body.end_date, kind=body.kind,
                              occupation=body.occupation, level=body.level)
    session.commit()
    return row


@router.get("/classes", response_model=PageOut[ClassOut], tags=["classes"])
def list_classes(principal: AnyRole, session: DbSession, institution_id: OptId = None, site_id: OptId = None,
                 active_on: date | None = None, limit: Limit = 100, offset: Offset = 0) -> Any:
    page = people.list_classes(session, principal.scope(), institution_id=institution_id, site_id=site_id,
                               active_on=active_on, limit=limit, offset=offset)
    return _page(page, lambda r: r)


@router.get("/classes/{class_id}", response_model=ClassOut, tags=["classes"])
def get_class(class_id: int, principal: AnyRole, session: DbSession) -> Any:
    return people.get_class(session, principal.scope(), class_id)


@router.patch("/classes/{class_id}", response_model=ClassOut, tags=["classes"])
def update_class(class_id: int, body: ClassPatch, principal: SiteOrAdmin, session: DbSession) -> Any:
    """Correct a class or move its dates; refused if an enrolled trainee would then sit in two classes."""
    row = people.update_class(session, principal.scope(), class_id, **body.model_dump(exclude_unset=True))
    session.commit()
    return row


# enrolments -------------------------------------------------------------------------------------


@router.post("/enrollments", status_code=201, response_model=EnrollmentOut, tags=["enrollments"])
def enroll(body: EnrollmentIn, principal: SiteOrAdmin, session: DbSession, key: SecretKey) -> Any:
    """Enrol a trainee (by id, or by resident ID plus name to register on the way) under a terminal PIN."""
    row = people.enroll(session, principal.scope(), key, body.class_id, body.pin, trainee_id=body.trainee_id,
                        resident_id=body.resident_id, name=body.name)
    session.commit()
    return enrollment_out(row, session.get_one(Trainee, row.trainee_id), people.get_class(session, None, row.class_id).code)


@router.get("/enrollments", response_model=PageOut[EnrollmentOut], tags=["enrollments"])
def list_enrollments(principal: AnyRole, session: DbSession, class_id: OptId = None, trainee_id: OptId = None,
                     limit: Limit = 100, offset: Offset = 0) -> Any:
    page = people.list_enrollments(session, principal.scope(), class_id=class_id, trainee_id=trainee_id,
                                   limit=limit, offset=offset)
    return _page(page, lambda r: enrollment_out(*r))


@router.get("/enrollments/{enrollment_id}", response_model=EnrollmentOut, tags=["enrollments"])
def get_enrollment(enrollment_id: int, principal: AnyRole, session: DbSession) -> Any:
    row = people.get_enrollment(session, principal.scope(), enrollment_id)
    return enrollment_out(row, session.get_one(Trainee, row.trainee_id), people.get_class(session, None, row.class_id).code)


@router.delete("/enrollments/{enrollment_id}", status_code=204, tags=["enrollments"])
def withdraw(enrollment_id: int, principal: SiteOrAdmin, session: DbSession) -> Response:
    """Remove an enrolment."""
    people.withdraw(session, principal.scope(), enrollment_id)
    session.commit()
    return Response(status_code=204)


# punches ----------------------------------------------------------------------------------------


@router.get("/punches", response_model=PageOut[PunchOut], tags=["punches"])
def punches(principal: AnyRole, session: DbSession, class_id: OptId = None, device_id: OptId = None,
            pin: Annotated[str | None, Query(max_length=32)] = None, date_from: date | None = None,
            date_to: date | None = None, limit: Limit = 100, offset: Offset = 0) -> Any:
    """Stored punches by device-local day, with the trainee each PIN names (site keys: own institution)."""
    page = list_punches(session, principal.scope(), class_id=class_id, device_id=device_id, pin=pin,
                        date_from=date_from, date_to=date_to, limit=limit, offset=offset)
    return _page(page, punch_out)


# API keys ---------------------------------------------------------------------------------------


@router.post("/keys", status_code=201, response_model=KeyCreated, tags=["keys"])
def issue_key(body: KeyIn, principal: AdminOnly, session: DbSession) -> Any:
    """Issue an API key (admin). The key is in this answer only."""
    row, clear = reg.issue_key(session, body.name, body.role, body.institution_id)
    session.commit()
    return KeyCreated(**KeyOut.model_validate(row).model_dump(), key=clear)


@router.get("/keys", response_model=list[KeyOut], tags=["keys"])
def list_keys(principal: AdminOnly, session: DbSession, include_revoked: bool = False) -> Any:
    return reg.list_keys(session, include_revoked=include_revoked)


@router.post("/keys/{key_id}/revoke", response_model=KeyOut, tags=["keys"])
def revoke_key(key_id: int, principal: AdminOnly, session: DbSession) -> Any:
    """Revoke a key (admin); it is refused from the next request on."""
    row = reg.revoke_key(session, key_id)
    session.commit()
    return row
