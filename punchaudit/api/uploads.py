"""Spreadsheet uploads and the quarantine, for sites and operators."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from punchaudit.api.auth import AdminOnly, SiteOrAdmin
from punchaudit.services import quarantine, terminals
from punchaudit.services.ingest import DeviceRefused, PayloadRejected

router = APIRouter(prefix="/api/v1", tags=["ingest"])


class UploadResult(BaseModel):
    raw_payload_id: int
    received: int
    accepted: int
    duplicates: int
    quarantined: int
    clock_faults: int


class QuarantineOut(BaseModel):
    id: int
    device_serial: str
    kind: str
    line_no: int | None
    reason: str
    created_at: datetime
    resolved_at: datetime | None
    resolution: str | None


class ReplayOut(BaseModel):
    id: int
    replayed: bool
    message: str


@router.post("/ingest/sheets", response_model=UploadResult, status_code=status.HTTP_201_CREATED,
             summary="Upload an XLSX or CSV export of a terminal's attendance log")
async def upload_sheet(request: Request, principal: SiteOrAdmin, device: str = Form(..., max_length=64),
                       file: UploadFile = File(...)) -> UploadResult:
    data = await file.read()
    app = request.app
    try:
        r = await run_in_threadpool(terminals.ingest_sheet, app.state.engine, app.state.settings, device,
                                    file.filename or "upload.csv", data, institution_id=principal.scope())
    except DeviceRefused as exc:
        raise HTTPException(exc.status_code, exc.reason) from None
    except PayloadRejected as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_ENTITY, exc.reason) from None
    return UploadResult(raw_payload_id=r.raw_payload_id, received=r.received, accepted=r.accepted,
                        duplicates=r.duplicates, quarantined=r.quarantined, clock_faults=r.clock_faults)


@router.get("/quarantine", response_model=list[QuarantineOut], summary="Open quarantine entries (operators)")
def list_quarantine(request: Request, principal: AdminOnly, device: str | None = None,
                    include_resolved: bool = False, limit: int = 200) -> list[QuarantineOut]:
    entries = quarantine.list_entries(request.app.state.engine, include_resolved=include_resolved, serial=device,
                                      limit=min(max(limit, 1), 1000))
    return [QuarantineOut(id=e.id, device_serial=e.device_serial, kind=e.kind, line_no=e.line_no, reason=e.reason,
                          created_at=e.created_at, resolved_at=e.resolved_at, resolution=e.resolution) for e in entries]


@router.post("/quarantine/{entry_id}/replay", response_model=ReplayOut, summary="Replay a quarantined payload")
def replay_quarantine(entry_id: int, request: Request, principal: AdminOnly) -> ReplayOut:
    try:
        out = quarantine.replay(request.app.state.engine, request.app.state.settings, entry_id)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from None
    return ReplayOut(id=entry_id, replayed=out.ok, message=out.message)
