"""Footage API under /api/v1/footage: sites declare their footage, inspectors hold and release it,
everyone sees retention state within their scope, admins see job runs and the audit chain.

Deletion through the API exists only to be refused unless the footage is expired and unheld: the
409 answer names the retain-until date or the hold.
"""
from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Request, status
from pydantic import BaseModel, Field

from punchaudit.api.auth import AdminOnly, AnyRole, InspectorOrAdmin, Principal, SiteOrAdmin, ensure_visible
from punchaudit.services import footage as svc
from storage import audit, jobs, retention
from storage import footage as repo

router = APIRouter(prefix="/api/v1/footage", tags=["footage"])


def _ctx(request: Request) -> tuple[Any, Any]:
    return request.app.state.engine, request.app.state.settings


def _actor(p: Principal) -> str:
    return f"{p.role}:{p.name}"[:100]


class DeclareIn(BaseModel):
    site: str = Field(..., description="Site code (or id) the footage was recorded at")
    key: str = Field(..., description="Path of the file relative to the footage store root")
    camera: str | None = None
    start: datetime | None = Field(None, description="Recording start; naive = site-local time")
    end: datetime | None = None


class RegisteredOut(BaseModel):
    id: int
    key: str
    status: str
    created: bool
    reason: str | None
    retain_until: date | None


@router.post("", status_code=201, response_model=RegisteredOut)
def declare(body: DeclareIn, request: Request, principal: SiteOrAdmin) -> RegisteredOut:
    """Declare (register) a file already placed in the footage store, for the caller's own site."""
    engine, settings = _ctx(request)
    with engine.connect() as conn:
        site = repo.site_by_code_or_id(conn, body.site)
    if site is None or not principal.can_see(site.institution_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "site not found")
    store = svc.store_for(settings)
    try:
        path = store.path(body.key)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    if not path.is_file():
        raise HTTPException(422, f"no file {body.key!r} in the footage store")
    try:
        reg = svc.register_file(engine, settings, store, Path(path), site=site.id, camera=body.camera, start=body.start,
                                end=body.end, actor=_actor(principal), now=svc.utc_naive())
    except svc.FootageError as exc:
        raise HTTPException(422, str(exc)) from None
    return RegisteredOut(**reg.__dict__)


@router.get("")
def list_footage(request: Request, principal: AnyRole, limit: int = Query(100, ge=1, le=1000),
                 offset: int = Query(0, ge=0)) -> list[dict[str, Any]]:
    """Footage with retain-until dates, days left and holds (a site key sees its own institution's)."""
    engine, settings = _ctx(request)
    return svc.retention_state(engine, settings, now=svc.utc_naive(), institution_id=principal.scope(),
                               limit=limit, offset=offset)


@router.get("/status")
def footage_status(request: Request, principal: AnyRole) -> dict[str, Any]:
    """Counts by status, active holds, free space and the low-disk alarm."""
    engine, settings = _ctx(request)
    return svc.status(engine, settings, svc.store_for(settings), institution_id=principal.scope())


@router.get("/coverage/{class_ref}")
def coverage(class_ref: str, request: Request, principal: AnyRole) -> list[dict[str, Any]]:
    """Which sessions of which training days of the class have footage."""
    engine, settings = _ctx(request)
    try:
        rows = svc.class_coverage(engine, settings, class_ref, institution_id=principal.scope())
    except svc.FootageError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from None
    return [{"day": r.day.isoformat(), "session": r.session, "covered": r.covered, "share": round(r.share, 4),
             "covered_seconds": round(r.covered_seconds, 1)} for r in rows]


@router.get("/jobs")
def job_runs(request: Request, _admin: AdminOnly, job: str | None = None,
             limit: int = Query(50, ge=1, le=1000)) -> list[dict[str, Any]]:
    """Scheduled job runs and their outcomes."""
    engine, _ = _ctx(request)
    with engine.connect() as conn:
        return [r.as_dict() for r in jobs.list_runs(conn, job=job, limit=limit)]


@router.get("/audit/verify")
def audit_verify(request: Request, _admin: AdminOnly) -> dict[str, Any]:
    """Walk the audit chain (against the exported head file, if there is one)."""
    engine, settings = _ctx(request)
    head_file = Path(settings.footage.audit_head_file)
    anchor = audit.read_head(head_file) if head_file.exists() else None
    with engine.connect() as conn:
        v = audit.verify(conn, anchor)
    return {"ok": v.ok, "entries": v.entries, "head": v.head.as_dict() if v.head else None,
            "anchor": anchor.as_dict() if anchor else None, "problems": v.problems}


class HoldIn(BaseModel):
    class_id: int | None = None
    footage_id: int | None = None
    reason: str = Field(..., min_length=1)
    reference: str | None = None


def _hold_out(h: retention.Hold) -> dict[str, Any]:
    return {"id": h.id, "class_id": h.class_id, "footage_id": h.footage_id, "reason": h.reason, "kind": h.kind,
            "reference": h.reference, "set_by": h.set_by, "set_at": h.set_at.isoformat()}


@router.get("/holds")
def list_holds(request: Request, _p: InspectorOrAdmin) -> list[dict[str, Any]]:
    """Active legal holds."""
    engine, _ = _ctx(request)
    with engine.connect() as conn:
        return [_hold_out(h) for h in retention.active_holds(conn)]


@router.post("/holds", status_code=201)
def place_hold(body: HoldIn, request: Request, principal: InspectorOrAdmin) -> dict[str, Any]:
    """Hold a class's footage, or one file, until released."""
    engine, _ = _ctx(request)
    try:
        h = svc.set_hold(engine, reason=body.reason, set_by=_actor(principal), now=svc.utc_naive(),
                         class_id=body.class_id, footage_id=body.footage_id, kind="inspector", reference=body.reference)
    except retention.RetentionError as exc:
        raise HTTPException(422, str(exc)) from None
    return _hold_out(h)


class ReleaseIn(BaseModel):
    reason: str = ""


@router.post("/holds/{hold_id}/release")
def release(hold_id: int, body: ReleaseIn, request: Request, principal: InspectorOrAdmin) -> dict[str, Any]:
    """Release a hold; the footage is again subject to its retain-until date."""
    engine, _ = _ctx(request)
    try:
        h = svc.release_hold(engine, hold_id, released_by=_actor(principal), now=svc.utc_naive(), reason=body.reason)
    except retention.RetentionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return {**_hold_out(h), "released": True}


@router.get("/{footage_id}")
def get_footage(footage_id: int, request: Request, principal: AnyRole) -> dict[str, Any]:
    """One footage file with its retention state and holds."""
    engine, settings = _ctx(request)
    with engine.connect() as conn:
        row = repo.get(conn, footage_id)
        if row is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
        ensure_visible(principal, repo.institution_of(conn, footage_id))
        holds = retention.holds_on(conn, footage_id)
        blake3 = repo.blake3_of(conn, footage_id)
    return {"id": row.id, "site_id": row.site_id, "camera": row.camera, "key": row.key,
            "start_utc": row.start_utc.isoformat(), "end_utc": row.end_utc.isoformat(), "sha256": row.sha256,
            "blake3": blake3,
            "size": row.size, "container": row.container, "codec": row.codec, "fps": row.fps,
            "duration_s": row.duration_s, "frame_count": row.frame_count, "width": row.width, "height": row.height,
            "status": row.status, "defect_reason": row.defect_reason, "retain_until": row.retain_until.isoformat(),
            "last_verified_at": row.last_verified_at.isoformat() if row.last_verified_at else None,
            "first_missing_at": row.first_missing_at.isoformat() if row.first_missing_at else None,
            "deleted_at": row.deleted_at.isoformat() if row.deleted_at else None,
            "holds": [_hold_out(h) for h in holds]}


@router.delete("/{footage_id}")
def delete_footage(footage_id: int, request: Request, principal: AdminOnly) -> dict[str, Any]:
    """Refused (409, naming the retain-until date or the hold) unless expired and unheld."""
    engine, settings = _ctx(request)
    try:
        svc.delete_footage(engine, settings, svc.store_for(settings), footage_id, actor=_actor(principal),
                           now=svc.utc_naive())
    except retention.RetentionError as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    return {"id": footage_id, "deleted": True}
