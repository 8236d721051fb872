"""The registry REST API under /api/v1: institutions, sites, devices, trainees, classes, enrolments,
punches and API keys.

Thin on purpose: each endpoint checks the role, calls one registry service with the caller's scope and
maps the result to an explicit response model (never a raw row; trainees show the masked ID, never the
hash). Service errors become HTTP errors in one place, `_RegistryRoute`. Validation errors are answered
without echoing the submitted values, so a resident ID typed into the wrong field is not sent back.
"""
from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import date, datetime
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.exc import IntegrityError, OperationalError

from punchaudit.api.auth import ROLES, AdminOnly, AnyRole, DbSession, Principal, SiteOrAdmin
from punchaudit.services import ingest
from punchaudit.services import registry as reg
from punchaudit.services import registry_devices as devices
from punchaudit.services import registry_people as people
from punchaudit.services.registry_punches import PunchRow, list_punches
from storage.schema.core import Device, Enrollment, Trainee

T = TypeVar("T")
CODE = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


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


router = APIRouter(prefix="/api/v1", route_class=_RegistryRoute)

Limit = Annotated[int, Query(ge=1, le=reg.MAX_LIMIT, description=f"page size, at most {reg.MAX_LIMIT}")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000)]
OptId = Annotated[int | None, Query(ge=1)]


def secret_key(request: Request) -> bytes:
    return request.app.state.settings.secret_key.encode()


SecretKey = Annotated[bytes, Depends(secret_key)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")


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

class InstitutionIn(_In):
    code: str = Field(min_length=1, max_length=64, pattern=CODE)
    name: str = Field(min_length=1, max_length=200)
    district: str | None = Field(None, max_length=64)
    credit_code: str | None = Field(None, max_length=32)


class InstitutionPatch(_In):
    name: str | None = Field(None, min_length=1, max_length=200)
    district: str | None = Field(None, max_length=64)
    credit_code: str | None = Field(None, max_length=32)


class InstitutionOut(_Out):
    id: int
    code: str
    name: str
    district: str | None
    credit_code: str | None
    created_at: datetime


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

class SiteIn(_In):
    institution_id: int | None = Field(None, ge=1, description="defaults to the site key's institution")
    code: str = Field(min_length=1, max_length=64, pattern=CODE)
    name: str = Field(min_length=1, max_length=200)
    address: str | None = Field(None, max_length=400)
    timezone: str = Field("Asia/Shanghai", max_length=64)


class SitePatch(_In):
    name: str | None = Field(None, min_length=1, max_length=200)
    address: str | None = Field(None, max_length=400)
    timezone: str | None = Field(None, max_length=64)


class SiteOut(_Out):
    id: int
    institution_id: int
    code: str
    name: str
    address: str | None
    timezone: str


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

IpList = Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=64)]


class DeviceIn(_In):
    serial: str = Field(min_length=1, max_length=64, pattern=CODE)
    vendor: Literal["zkteco", "hikvision", "sheet"]
    site_id: int = Field(ge=1)
    timezone: str = Field("Asia/Shanghai", max_length=64)
    enabled: bool = True
    token: str | None = Field(None, min_length=devices.MIN_TOKEN, max_length=128,
                              description="sent by the terminal as ?token=; only its SHA-256 is stored")
    ip_allowlist: IpList | None = None


class DevicePatch(_In):
    enabled: bool | None = None
    timezone: str | None = Field(None, max_length=64)
    site_id: int | None = Field(None, ge=1)
    token: str | None = Field(None, min_length=devices.MIN_TOKEN, max_length=128, description="null clears the token")
    ip_allowlist: IpList | None = Field(None, description="null or [] clears the allowlist")


class DeviceOut(BaseModel):
    id: int
    serial: str
    vendor: str
    site_id: int
    timezone: str
    enabled: bool
    has_token: bool
    ip_allowlist: list[str]
    last_seen_at: datetime | None
    push_version: str | None
    created_at: datetime


def _device(row: Device) -> DeviceOut:
    return DeviceOut(id=row.id, serial=row.serial, vendor=row.vendor, site_id=row.site_id, timezone=row.timezone,
                     enabled=row.enabled, has_token=row.token_hash is not None, ip_allowlist=devices.allowlist(row),
                     last_seen_at=row.last_seen_at, push_version=row.push_version, created_at=row.created_at)


@router.post("/devices", status_code=201, response_model=DeviceOut, tags=["devices"])
def create_device(body: DeviceIn, principal: SiteOrAdmin, session: DbSession) -> Any:
    """Register a punch terminal by serial number at a site."""
    row = devices.create_device(session, principal.scope(), body.serial, body.vendor, body.site_id,
                                timezone=body.timezone, enabled=body.enabled, token=body.token,
                                ip_allowlist=body.ip_allowlist)
    session.commit()
    ingest.forget_devices()  # the terminal endpoints cache device rows for a moment
    return _device(row)


@router.get("/devices", response_model=PageOut[DeviceOut], tags=["devices"])
def list_devices(principal: AnyRole, session: DbSession, site_id: OptId = None, enabled: bool | None = None,
                 limit: Limit = 100, offset: Offset = 0) -> Any:
    page = devices.list_devices(session, principal.scope(), site_id=site_id, enabled=enabled, limit=limit, offset=offset)
    return _page(page, _device)


@router.get("/devices/{device_id}", response_model=DeviceOut, tags=["devices"])
def get_device(device_id: int, principal: AnyRole, session: DbSession) -> Any:
    return _device(devices.get_device(session, principal.scope(), device_id))


@router.patch("/devices/{device_id}", response_model=DeviceOut, tags=["devices"])
def update_device(device_id: int, body: DevicePatch, principal: SiteOrAdmin, session: DbSession) -> Any:
    """Enable or disable a terminal, move it, change its zone, rotate/clear its token or allowlist."""
    row = devices.update_device(session, principal.scope(), device_id, **body.model_dump(exclude_unset=True))
    session.commit()
    ingest.forget_devices()  # a disabled terminal or a new token takes effect on its next push
    return _device(row)


# trainees ---------------------------------------------------------------------------------------

class TraineeIn(_In):
    name: str = Field(min_length=1, max_length=100)
    resident_id: str = Field(min_length=1, max_length=32, description="18-character resident ID; stored masked and hashed")
    phone: str | None = Field(None, max_length=32)
    target_group: str | None = Field(None, max_length=32)


class TraineePatch(_In):
    name: str | None = Field(None, min_length=1, max_length=100)
    phone: str | None = Field(None, max_length=32)
    target_group: str | None = Field(None, max_length=32)


class ResidentIdIn(_In):
    resident_id: str = Field(min_length=1, max_length=32)


class TraineeOut(_Out):
    id: int
    name: str
    id_masked: str
    gender: str | None
    birth_date: date | None
    phone: str | None
    target_group: str | None
    created_at: datetime


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

class ClassIn(_In):
    institution_id: int | None = Field(None, ge=1, description="defaults to the site key's institution")
    site_id: int = Field(ge=1)
    code: str = Field(min_length=1, max_length=64, pattern=CODE)
    name: str = Field(min_length=1, max_length=200)
    kind: Literal["project", "enterprise", "certification"] = "project"
    occupation: str | None = Field(None, max_length=100)
    level: str | None = Field(None, max_length=32)
    start_date: date
    end_date: date


class ClassOut(_Out):
    id: int
    code: str
    institution_id: int
    site_id: int
    name: str
    kind: str
    occupation: str | None
    level: str | None
    start_date: date
    end_date: date


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


# enrolments -------------------------------------------------------------------------------------

class EnrollmentIn(_In):
    class_id: int = Field(ge=1)
    pin: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9]+$")
    trainee_id: int | None = Field(None, ge=1)
    resident_id: str | None = Field(None, min_length=1, max_length=32, description="instead of trainee_id")
    name: str | None = Field(None, min_length=1, max_length=100, description="with resident_id: registers a new person")


class EnrollmentOut(BaseModel):
    id: int
    class_id: int
    class_code: str
    trainee_id: int
    trainee_name: str
    id_masked: str
    pin: str
    created_at: datetime


def _enrollment(row: Enrollment, trainee: Trainee, class_code: str) -> EnrollmentOut:
    return EnrollmentOut(id=row.id, class_id=row.class_id, class_code=class_code, trainee_id=trainee.id,
                         trainee_name=trainee.name, id_masked=trainee.id_masked, pin=row.pin, created_at=row.created_at)


@router.post("/enrollments", status_code=201, response_model=EnrollmentOut, tags=["enrollments"])
def enroll(body: EnrollmentIn, principal: SiteOrAdmin, session: DbSession, key: SecretKey) -> Any:
    """Enrol a trainee (by id, or by resident ID plus name to register on the way) under a terminal PIN."""
    row = people.enroll(session, principal.scope(), key, body.class_id, body.pin, trainee_id=body.trainee_id,
                        resident_id=body.resident_id, name=body.name)
    session.commit()
    return _enrollment(row, session.get_one(Trainee, row.trainee_id), people.get_class(session, None, row.class_id).code)


@router.get("/enrollments", response_model=PageOut[EnrollmentOut], tags=["enrollments"])
def list_enrollments(principal: AnyRole, session: DbSession, class_id: OptId = None, trainee_id: OptId = None,
                     limit: Limit = 100, offset: Offset = 0) -> Any:
    page = people.list_enrollments(session, principal.scope(), class_id=class_id, trainee_id=trainee_id,
                                   limit=limit, offset=offset)
    return _page(page, lambda r: _enrollment(*r))


@router.get("/enrollments/{enrollment_id}", response_model=EnrollmentOut, tags=["enrollments"])
def get_enrollment(enrollment_id: int, principal: AnyRole, session: DbSession) -> Any:
    row = people.get_enrollment(session, principal.scope(), enrollment_id)
    return _enrollment(row, session.get_one(Trainee, row.trainee_id), people.get_class(session, None, row.class_id).code)


@router.delete("/enrollments/{enrollment_id}", status_code=204, tags=["enrollments"])
def withdraw(enrollment_id: int, principal: SiteOrAdmin, session: DbSession) -> Response:
    """Remove an enrolment."""
    people.withdraw(session, principal.scope(), enrollment_id)
    session.commit()
    return Response(status_code=204)


# punches ----------------------------------------------------------------------------------------

class PunchOut(BaseModel):
    id: int
    device_id: int
    device_serial: str
    source: str
    pin: str
    local_time: datetime
    tz_name: str
    utc_time: datetime
    method: int
    verify_code: int
    status_code: int
    success: bool
    clock_fault: int
    serial_no: int | None
    class_id: int | None
    class_code: str | None
    trainee_id: int | None
    trainee_name: str | None
    received_at: datetime


def _punch(row: PunchRow) -> PunchOut:
    p = row.punch
    return PunchOut(id=p.id, device_id=p.device_id, device_serial=row.device_serial, source=p.source, pin=p.pin,
                    local_time=p.local_time, tz_name=p.tz_name, utc_time=p.utc_time, method=p.method,
                    verify_code=p.verify_code, status_code=p.status_code, success=p.success, clock_fault=p.clock_fault,
                    serial_no=p.serial_no, class_id=row.class_id, class_code=row.class_code, trainee_id=row.trainee_id,
                    trainee_name=row.trainee_name, received_at=p.received_at)


@router.get("/punches", response_model=PageOut[PunchOut], tags=["punches"])
def punches(principal: AnyRole, session: DbSession, class_id: OptId = None, device_id: OptId = None,
            pin: Annotated[str | None, Query(max_length=32)] = None, date_from: date | None = None,
            date_to: date | None = None, limit: Limit = 100, offset: Offset = 0) -> Any:
    """Stored punches by device-local day, with the trainee each PIN names (site keys: own institution)."""
    page = list_punches(session, principal.scope(), class_id=class_id, device_id=device_id, pin=pin,
                        date_from=date_from, date_to=date_to, limit=limit, offset=offset)
    return _page(page, _punch)


# API keys ---------------------------------------------------------------------------------------

class KeyIn(_In):
    name: str = Field(min_length=1, max_length=100)
    role: Literal[ROLES]  # type: ignore[valid-type]
    institution_id: int | None = Field(None, ge=1, description="required for site keys")


class KeyOut(_Out):
    id: int
    name: str
    role: str
    institution_id: int | None
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyOut):
    key: str = Field(description="shown once; only its SHA-256 is stored")


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
