"""Request and response models of the registry REST API (`punchaudit.api.rest`).

Inputs forbid unknown fields and cap every string and list; outputs are explicit, so no stored column
reaches a client by accident: trainees show the masked resident ID and never its hash, terminals show
whether they have a token and never the token's hash, API keys are shown in clear only when issued.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from punchaudit.api.auth import ROLES
from punchaudit.services import registry_devices as devices
from punchaudit.services.registry_punches import PunchRow
from storage.schema.core import Device, Enrollment, Trainee

T = TypeVar("T")


CODE = r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(BaseModel, Generic[T]):
    items: list[T]
    limit: int
    offset: int
    next_offset: int | None = Field(description="offset of the next page, null on the last page")


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


def device_out(row: Device) -> DeviceOut:
    return DeviceOut(id=row.id, serial=row.serial, vendor=row.vendor, site_id=row.site_id, timezone=row.timezone,
                     enabled=row.enabled, has_token=row.token_hash is not None, ip_allowlist=devices.allowlist(row),
                     last_seen_at=row.last_seen_at, push_version=row.push_version, created_at=row.created_at)


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


class ClassPatch(_In):
    name: str | None = Field(None, min_length=1, max_length=200)
    occupation: str | None = Field(None, max_length=100)
    level: str | None = Field(None, max_length=32)
    start_date: date | None = None
    end_date: date | None = None


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


def enrollment_out(row: Enrollment, trainee: Trainee, class_code: str) -> EnrollmentOut:
    return EnrollmentOut(id=row.id, class_id=row.class_id, class_code=class_code, trainee_id=trainee.id,
                         trainee_name=trainee.name, id_masked=trainee.id_masked, pin=row.pin, created_at=row.created_at)


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


def punch_out(row: PunchRow) -> PunchOut:
    p = row.punch
    return PunchOut(id=p.id, device_id=p.device_id, device_serial=row.device_serial, source=p.source, pin=p.pin,
                    local_time=p.local_time, tz_name=p.tz_name, utc_time=p.utc_time, method=p.method,
                    verify_code=p.verify_code, status_code=p.status_code, success=p.success, clock_fault=p.clock_fault,
                    serial_no=p.serial_no, class_id=row.class_id, class_code=row.class_code, trainee_id=row.trainee_id,
                    trainee_name=row.trainee_name, received_at=p.received_at)


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
