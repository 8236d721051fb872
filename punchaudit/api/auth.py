"""API keys with roles. A site key sees and writes only its own institution's data.

Keys are random tokens shown once at creation; only their SHA-256 is stored, so a database leak does
not leak working keys.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader
from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.schema.core import ApiKey

ROLES = ("site", "inspector", "admin")
_header = APIKeyHeader(name="X-API-Key", auto_error=False, description="API key issued by `punchaudit keys create`")


@dataclass(frozen=True)
class Principal:
    key_id: int
    name: str
    role: str
    institution_id: int | None

    def can_see(self, institution_id: int | None) -> bool:
        """Inspectors and admins see every institution; a site key only its own."""
        return self.role in ("inspector", "admin") or (institution_id is not None and institution_id == self.institution_id)

    def scope(self) -> int | None:
        """The institution a query must be limited to, or None for unrestricted roles."""
        return self.institution_id if self.role == "site" else None


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    return "pa_" + secrets.token_urlsafe(32)


def create_key(session: Session, name: str, role: str, institution_id: int | None = None) -> str:
    """Store a new key and return it in clear (the only time it is available)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    if role == "site" and institution_id is None:
        raise ValueError("a site key needs an institution")
    key = new_key()
    session.add(ApiKey(name=name, key_hash=hash_key(key), role=role, institution_id=institution_id))
    session.flush()
    return key


def get_db(request: Request):  # type: ignore[no-untyped-def]
    """One session per request, committed by the handler's service call."""
    with request.app.state.sessions() as session:
        yield session


DbSession = Annotated[Session, Depends(get_db)]


def authenticate(request: Request, key: Annotated[str | None, Depends(_header)]) -> Principal:
    if not key:
        auth = request.headers.get("authorization", "")
        key = auth[7:] if auth.lower().startswith("bearer ") else None
    if not key:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing API key (X-API-Key header)")
    with request.app.state.sessions() as session:
        row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None)))
    if row is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "unknown or revoked API key")
    return Principal(row.id, row.name, row.role, row.institution_id)


def require(*roles: str):  # type: ignore[no-untyped-def]
    """Dependency: the caller's principal, refused with 403 unless its role is one of `roles`."""

    def dependency(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        if principal.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this call needs the role {' or '.join(roles)}")
        return principal

    return dependency


AnyRole = Annotated[Principal, Depends(require(*ROLES))]
SiteOrAdmin = Annotated[Principal, Depends(require("site", "admin"))]
InspectorOrAdmin = Annotated[Principal, Depends(require("inspector", "admin"))]
AdminOnly = Annotated[Principal, Depends(require("admin"))]


def ensure_visible(principal: Principal, institution_id: int | None) -> None:
    """404 (not 403) for another institution's objects, so ids cannot be probed."""
    if not principal.can_see(institution_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
