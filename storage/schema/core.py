"""Institutions, sites, terminals, trainees, classes, enrolments and everything a terminal sent.

Raw payloads are stored before parsing, punches carry a natural unique key per source so that resends
are no-ops, and lines that could not be parsed wait in quarantine with their reason.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from storage.schema.base import Base, BigId, utcnow


class Institution(Base):
    """培训机构: a training institution that claims subsidies."""

    __tablename__ = "institution"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    district: Mapped[str | None] = mapped_column(String(64))
    credit_code: Mapped[str | None] = mapped_column(String(32))  # 统一社会信用代码
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Site(Base):
    """A training venue of an institution; terminals and cameras belong to a site."""

    __tablename__ = "site"
    id: Mapped[int] = mapped_column(primary_key=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(400))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")


class Device(Base):
    """A punch terminal, known by its serial number."""

    __tablename__ = "device"
    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    vendor: Mapped[str] = mapped_column(String(16))  # zkteco | hikvision | sheet
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    token_hash: Mapped[str | None] = mapped_column(String(64))
    ip_allowlist: Mapped[str | None] = mapped_column(Text)  # comma-separated addresses or networks
    last_seen_at: Mapped[datetime | None] = mapped_column(DateTime)
    last_poll_at: Mapped[datetime | None] = mapped_column(DateTime)  # ZKTeco getrequest
    last_serial_no: Mapped[int | None] = mapped_column(Integer)  # Hikvision event counter
    push_version: Mapped[str | None] = mapped_column(String(32))
    info: Mapped[str | None] = mapped_column(Text)  # last INFO / options reported
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Trainee(Base):
    """A person on a subsidy roster. The resident ID is kept only masked and as a keyed hash."""

    __tablename__ = "trainee"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    id_masked: Mapped[str] = mapped_column(String(18))
    id_hash: Mapped[str] = mapped_column(String(64), unique=True)
    gender: Mapped[str | None] = mapped_column(String(1))
    birth_date: Mapped[date | None] = mapped_column(Date)
    phone: Mapped[str | None] = mapped_column(String(32))
    target_group: Mapped[str | None] = mapped_column(String(32))  # 人员类别
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class TrainingClass(Base):
    """A class (培训班) run by an institution at one site."""

    __tablename__ = "training_class"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institution.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("site.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    occupation: Mapped[str | None] = mapped_column(String(100))  # 培训工种
    level: Mapped[str | None] = mapped_column(String(32))  # 培训等级
    kind: Mapped[str] = mapped_column(String(32), default="project")  # project | enterprise | certification
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Enrollment(Base):
    """A trainee in a class, with the PIN the site's terminals know the trainee by."""

    __tablename__ = "enrollment"
    __table_args__ = (
        UniqueConstraint("class_id", "trainee_id"),
        UniqueConstraint("class_id", "pin"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_class.id"), index=True)
    trainee_id: Mapped[int] = mapped_column(ForeignKey("trainee.id"), index=True)
    pin: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class RawPayload(Base):
    """Every body a terminal or uploader sent, stored before it is parsed."""

    __tablename__ = "raw_payload"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # zkteco | hikvision | sheet
    device_serial: Mapped[str] = mapped_column(String(64), index=True)
    device_id: Mapped[int | None] = mapped_column(ForeignKey("device.id"))
    table_name: Mapped[str | None] = mapped_column(String(32))
    query: Mapped[str | None] = mapped_column(Text)
    content_type: Mapped[str | None] = mapped_column(String(200))
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    status: Mapped[str] = mapped_column(String(16), default="accepted")  # accepted | partial | refused


class Punch(Base):
    """A normalized punch. Unique per source key, so a resent batch inserts nothing new."""

    __tablename__ = "punch"
    __table_args__ = (
        # ZKTeco and spreadsheets: (device, PIN, local time, verify, status), led by time: a batch's
        # punches then land on the last pages of the index instead of all over it (migration 0007)
        Index(
            "uq_punch_device_key",
            "device_id", "local_time", "pin", "verify_code", "status_code",
            unique=True,
            sqlite_where=text("serial_no IS NULL"),
            postgresql_where=text("serial_no IS NULL"),
        ),
        # Hikvision: (device, serialNo, dateTime)
        Index(
            "uq_punch_device_serial",
            "device_id", "serial_no", "utc_time",
            unique=True,
            sqlite_where=text("serial_no IS NOT NULL"),
            postgresql_where=text("serial_no IS NOT NULL"),
        ),
        Index("ix_punch_pin_time", "pin", "utc_time"),  # presence joins enrolments to punches by PIN
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"))
    raw_payload_id: Mapped[int | None] = mapped_column(ForeignKey("raw_payload.id"))
    source: Mapped[str] = mapped_column(String(16))
    pin: Mapped[str] = mapped_column(String(32))
    local_time: Mapped[datetime] = mapped_column(DateTime)
    tz_name: Mapped[str] = mapped_column(String(64))
    utc_time: Mapped[datetime] = mapped_column(DateTime)
    method: Mapped[int] = mapped_column(SmallInteger)  # devices.Method
    verify_code: Mapped[int] = mapped_column(Integer)  # raw vendor code, -1 if none was sent
    status_code: Mapped[int] = mapped_column(Integer)  # raw state, -1 if none was sent
    success: Mapped[bool] = mapped_column(Boolean, default=True)
    clock_fault: Mapped[int] = mapped_column(SmallInteger, default=0)  # 0 ok, see storage.punches
    serial_no: Mapped[int | None] = mapped_column(Integer)
    work_code: Mapped[str | None] = mapped_column(String(32))
    line_no: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime)


class Quarantine(Base):
    """A payload or line that was not accepted, kept with its reason until an operator replays it."""

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    raw_payload_id: Mapped[int | None] = mapped_column(ForeignKey("raw_payload.id"), index=True)
    device_serial: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # line | payload
    line_no: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime)
    resolution: Mapped[str | None] = mapped_column(Text)


class DeviceLog(Base):
    """OPERLOG and rtlog lines a terminal reported; tamper and clock events are flagged."""

    __tablename__ = "device_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    raw_payload_id: Mapped[int | None] = mapped_column(ForeignKey("raw_payload.id"))
    kind: Mapped[str] = mapped_column(String(16))  # OPLOG | USER | FP | FACE | rtlog | ...
    op_code: Mapped[int | None] = mapped_column(Integer)
    event_time: Mapped[datetime | None] = mapped_column(DateTime)
    flag: Mapped[str | None] = mapped_column(String(16))  # tamper | clock
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class PunchPhoto(Base):
    """A photo a terminal took at a punch (ZKTeco ATTPHOTO, Hikvision Picture, upload)."""

    __tablename__ = "punch_photo"
    __table_args__ = (UniqueConstraint("device_id", "sha256"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    raw_payload_id: Mapped[int | None] = mapped_column(ForeignKey("raw_payload.id"))
    punch_id: Mapped[int | None] = mapped_column(ForeignKey("punch.id"), index=True)
    pin: Mapped[str | None] = mapped_column(String(32))
    local_time: Mapped[datetime | None] = mapped_column(DateTime)
    file_name: Mapped[str | None] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64), default="image/jpeg")
    image: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class DeviceCommand(Base):
    """A command queued for a ZKTeco terminal (`C:<id>:<cmd>`) and what the terminal answered."""

    __tablename__ = "device_command"
    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("device.id"), index=True)
    command: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime)
    return_code: Mapped[int | None] = mapped_column(Integer)
    result: Mapped[str | None] = mapped_column(Text)
    returned_at: Mapped[datetime | None] = mapped_column(DateTime)


class ApiKey(Base):
    """An API key: only its SHA-256 is stored. Site keys are scoped to one institution."""

    __tablename__ = "api_key"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # site | inspector | admin
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institution.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
