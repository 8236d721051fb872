"""The registry: institutions, sites and API keys, plus what every registry use case shares.

Every function takes `scope`: the institution id a site key is limited to, or None for inspectors and
admins. Objects of another institution are reported as NotFound, never as "forbidden", so a site key
cannot learn which ids exist elsewhere. Functions flush but do not commit: the caller (one HTTP request,
one CLI command) owns the transaction.

Devices live in `registry_devices`, trainees/classes/enrolments in `registry_people`, punch listing in
`registry_punches`.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from punchaudit.api.auth import ROLES, create_key, hash_key
from storage.schema.base import utcnow
from storage.schema.core import ApiKey, Institution, Site

log = logging.getLogger("punchaudit.registry")

MAX_LIMIT = 1000
T = TypeVar("T")


class RegistryError(Exception):
    """A use case refused its input; the message is meant for the operator and never holds an ID number."""


class NotFound(RegistryError):
    pass


class Conflict(RegistryError):
    pass


class Invalid(RegistryError):
    pass


@dataclass(frozen=True)
class Page:
    """One page of a listing. `next_offset` is None on the last page (no COUNT over big tables)."""

    items: list[Any]
    limit: int
    offset: int
    next_offset: int | None


def paginate(session: Session, stmt: Select[Any], limit: int, offset: int, *, scalars: bool = True) -> Page:
    """Run `stmt` for one page; fetch one row more than asked to know whether another page follows."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    if offset < 0:
        raise Invalid("offset must not be negative")
    result = session.execute(stmt.limit(limit + 1).offset(offset))
    rows = list(result.scalars() if scalars else result.all())
    more = len(rows) > limit
    return Page(rows[:limit], limit, offset, offset + limit if more else None)


def visible(scope: int | None, institution_id: int | None) -> bool:
    return scope is None or institution_id == scope


def check_timezone(name: str) -> str:
    """An IANA zone name (Asia/Shanghai); terminals' local times are read in it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(f"unknown time zone {name!r} (use an IANA name such as Asia/Shanghai)") from None
    return name


def check_text(value: str, what: str, max_len: int) -> str:
    value = (value or "").strip()
    if not value:
        raise Invalid(f"{what} must not be empty")
    if len(value) > max_len:
        raise Invalid(f"{what} is longer than {max_len} characters")
    return value


def load(session: Session, scope: int | None, model: type[T], what: str, key: int | str, *,
         owner: Callable[[Any], int | None] = lambda row: row.institution_id, code_attr: str = "code") -> T:
    """The row with id `key` (an int) or code/serial `key` (a str), if the caller's scope may see it.
    Rows of another institution are NotFound, so ids and codes cannot be probed."""
    if isinstance(key, int):
        row = session.get(model, key)
    else:
        row = session.scalar(select(model).where(getattr(model, code_attr) == key))
    if row is None or not visible(scope, owner(row)):
        raise NotFound(f"{what} {key} not found")
    return row


def any_row(session: Session, stmt: Select[Any]) -> bool:
    return session.scalar(select(func.count()).select_from(stmt.subquery())) > 0


# institutions -----------------------------------------------------------------------------------

def create_institution(session: Session, scope: int | None, code: str, name: str, *,
                       district: str | None = None, credit_code: str | None = None) -> Institution:
    """Register a training institution (admins only: a site key cannot create institutions)."""
    if scope is not None:
        raise NotFound("institution not found")
    code = check_text(code, "institution code", 64)
    if any_row(session, select(Institution.id).where(Institution.code == code)):
        raise Conflict(f"institution {code} already exists")
    row = Institution(code=code, name=check_text(name, "institution name", 200), district=district, credit_code=credit_code)
    session.add(row)
    session.flush()
    log.info("institution registered", extra={"institution_id": row.id, "code": code})
    return row


def get_institution(session: Session, scope: int | None, institution_id: int) -> Institution:
    return load(session, scope, Institution, "institution", institution_id, owner=lambda row: row.id)


def institution_by_code(session: Session, scope: int | None, code: str) -> Institution:
    return load(session, scope, Institution, "institution", code, owner=lambda row: row.id)


def list_institutions(session: Session, scope: int | None, limit: int = 100, offset: int = 0) -> Page:
    stmt = select(Institution).order_by(Institution.id)
    if scope is not None:
        stmt = stmt.where(Institution.id == scope)
    return paginate(session, stmt, limit, offset)


def update_institution(session: Session, scope: int | None, institution_id: int, **changes: Any) -> Institution:
    """Change name, district or credit code (the code is the stable reference and stays)."""
    return apply_changes(session, get_institution(session, scope, institution_id), changes,
                  {"name": lambda v: check_text(v, "institution name", 200), "district": None, "credit_code": None})


# sites ------------------------------------------------------------------------------------------

def create_site(session: Session, scope: int | None, institution_id: int, code: str, name: str, *,
                address: str | None = None, timezone: str = "Asia/Shanghai") -> Site:
    """A training venue of an institution. A site key may add venues to its own institution only."""
    institution = get_institution(session, scope, institution_id)
    code = check_text(code, "site code", 64)
    if any_row(session, select(Site.id).where(Site.code == code)):
        raise Conflict(f"site {code} already exists")
    row = Site(institution_id=institution.id, code=code, name=check_text(name, "site name", 200),
               address=address, timezone=check_timezone(timezone))
    session.add(row)
    session.flush()
    log.info("site registered", extra={"site_id": row.id, "code": code, "institution_id": institution.id})
    return row


def get_site(session: Session, scope: int | None, site_id: int) -> Site:
    return load(session, scope, Site, "site", site_id)


def site_by_code(session: Session, scope: int | None, code: str) -> Site:
    return load(session, scope, Site, "site", code)


def list_sites(session: Session, scope: int | None, *, institution_id: int | None = None,
               limit: int = 100, offset: int = 0) -> Page:
    stmt = select(Site).order_by(Site.id)
    if scope is not None:
        stmt = stmt.where(Site.institution_id == scope)
    if institution_id is not None:
        stmt = stmt.where(Site.institution_id == institution_id)
    return paginate(session, stmt, limit, offset)


def update_site(session: Session, scope: int | None, site_id: int, **changes: Any) -> Site:
    return apply_changes(session, get_site(session, scope, site_id), changes,
                  {"name": lambda v: check_text(v, "site name", 200), "address": None, "timezone": check_timezone})


def apply_changes(session: Session, row: T, changes: dict[str, Any], allowed: dict[str, Any]) -> T:
    """Set the given fields (None values are skipped), each through its validator, and flush."""
    for key, value in changes.items():
        if key not in allowed:
            raise Invalid(f"{key} cannot be changed")
        if value is None:
            continue
        check = allowed[key]
        setattr(row, key, check(value) if check else value)
    session.flush()
    return row


# API keys ---------------------------------------------------------------------------------------

def issue_key(session: Session, name: str, role: str, institution_id: int | None = None) -> tuple[ApiKey, str]:
    """Create an API key; returns the stored row and the key in clear (shown once, never stored)."""
    name = check_text(name, "key name", 100)
    if role not in ROLES:
        raise Invalid(f"role must be one of {', '.join(ROLES)}")
    if role == "site" and institution_id is None:
        raise Invalid("a site key needs an institution")
    if role != "site" and institution_id is not None:
        raise Invalid(f"an {role} key is not limited to an institution; give no institution")
    if institution_id is not None:
        get_institution(session, None, institution_id)
    clear = create_key(session, name, role, institution_id)
    row = session.scalars(select(ApiKey).where(ApiKey.key_hash == hash_key(clear))).one()
    log.info("api key issued", extra={"key_id": row.id, "key_name": name, "role": role, "institution_id": institution_id})
    return row, clear


def list_keys(session: Session, *, include_revoked: bool = False) -> Sequence[ApiKey]:
    stmt = select(ApiKey).order_by(ApiKey.id)
    if not include_revoked:
        stmt = stmt.where(ApiKey.revoked_at.is_(None))
    return session.scalars(stmt).all()


def revoke_key(session: Session, key_id: int) -> ApiKey:
    """Revoke a key; it stops working on the next request. Revoking twice is harmless."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise NotFound(f"API key {key_id} not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.flush()
        log.info("api key revoked", extra={"key_id": row.id, "key_name": row.name})
    return row
