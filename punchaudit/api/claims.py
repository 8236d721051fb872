"""Claims API under /api/v1/claims. A site key builds, lists, reads and submits its own institution's
claims; inspectors and admins see all claims and approve or reject submitted ones.

Thin: every endpoint calls one function of `punchaudit.services.claims` with the caller's scope.
"""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, HTTPException, Query, Request, Response, UploadFile, status
from pydantic import BaseModel, Field

from punchaudit.api.auth import AnyRole, DbSession, InspectorOrAdmin, Principal, SiteOrAdmin
from punchaudit.services import claims as svc
from subsidy import forms, targets

router = APIRouter(prefix="/api/v1/claims", tags=["claims"])
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class BuildRequest(BaseModel):
    class_code: str = Field(min_length=1, max_length=64)


class StateChange(BaseModel):
    note: str | None = Field(None, max_length=2000)


def _actor(p: Principal) -> str:
    return f"{p.role}:{p.name}"


def _errors(exc: Exception) -> HTTPException:
    if isinstance(exc, svc.NotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    if isinstance(exc, svc.ClaimStateError):
        return HTTPException(status.HTTP_409_CONFLICT, str(exc))
    if isinstance(exc, svc.ImportRejected):
        return HTTPException(422, {"message": "nothing imported", "errors": exc.errors})
    raise exc


@router.post("", status_code=status.HTTP_201_CREATED)
def build(body: BuildRequest, request: Request, principal: SiteOrAdmin, session: DbSession) -> dict[str, Any]:
    """Build a new claim version for a class from its latest evidence."""
    try:
        claim = svc.build_claim(session, request.app.state.settings, body.class_code, _actor(principal),
                                scope=principal.scope())
        out = svc.detail(session, claim.id)
    except svc.NotFound as exc:
        raise _errors(exc) from None
    session.commit()
    return out


@router.get("")
def list_claims(principal: AnyRole, session: DbSession,
                class_code: Annotated[str | None, Query(max_length=64)] = None,
                state: Literal["draft", "submitted", "approved", "rejected"] | None = None) -> list[dict[str, Any]]:
    try:
        return svc.list_claims(session, scope=principal.scope(), class_code=class_code, state=state)
    except svc.NotFound as exc:
        raise _errors(exc) from None


@router.get("/targets")
def targets_report(request: Request, principal: InspectorOrAdmin, session: DbSession,
                   year: Annotated[list[int] | None, Query()] = None) -> dict[str, Any]:
    """Annex 1 targets per district, year and measure with verified counts and the share done."""
    try:
        rows, unknown = svc.targets_report(session, request.app.state.settings, year)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    return {"rows": [{"district": r.district, "year": r.year, "measure": r.measure,
                      "three_year_target": r.three_year_target, "year_target": r.year_target, "verified": r.verified,
                      "share_done": f"{r.share_done.numerator}/{r.share_done.denominator}",
                      "share_done_percent": targets.percent(r.share_done), "met": r.met} for r in rows],
            "unlisted_districts": unknown}


@router.get("/{claim_id}")
def get_claim(claim_id: int, principal: AnyRole, session: DbSession) -> dict[str, Any]:
    try:
        return svc.detail(session, claim_id, scope=principal.scope())
    except svc.NotFound as exc:
        raise _errors(exc) from None


@router.get("/{claim_id}/package")
def package(claim_id: int, request: Request, principal: AnyRole, session: DbSession,
            language: Literal["zh", "en"] | None = None,
            account_name: Annotated[str, Query(max_length=200)] = "",
            account_no: Annotated[str, Query(max_length=64)] = "",
            bank: Annotated[str, Query(max_length=200)] = "",
            bank_code: Annotated[str, Query(max_length=64)] = "",
            textbook: Annotated[str, Query(max_length=400)] = "") -> Response:
    """The XLSX claim package (附件2 申请表, 附件3 人员名册, evidence summary); bank details and
    textbooks, which the service does not hold, fill annex 2 when given."""
    applicant = forms.Applicant(textbook, account_name, account_no, bank, bank_code)
    try:
        name, data = svc.package_bytes(session, request.app.state.settings, claim_id, scope=principal.scope(),
                                       language=language, applicant=applicant)
    except svc.NotFound as exc:
        raise _errors(exc) from None
    return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _move(session: DbSession, claim_id: int, action: str, principal: Principal, note: str | None) -> dict[str, Any]:
    try:
        svc.transition(session, claim_id, action, _actor(principal), scope=principal.scope(), note=note)
        out = svc.detail(session, claim_id)
    except (svc.NotFound, svc.ClaimStateError) as exc:
        raise _errors(exc) from None
    session.commit()
    return out


@router.post("/{claim_id}/submit")
def submit(claim_id: int, principal: SiteOrAdmin, session: DbSession, body: StateChange | None = None) -> dict[str, Any]:
    """Submit the latest draft; its amounts are frozen from now on."""
    return _move(session, claim_id, "submit", principal, body.note if body else None)


@router.post("/{claim_id}/approve")
def approve(claim_id: int, principal: InspectorOrAdmin, session: DbSession,
            body: StateChange | None = None) -> dict[str, Any]:
    return _move(session, claim_id, "approve", principal, body.note if body else None)


@router.post("/{claim_id}/reject")
def reject(claim_id: int, principal: InspectorOrAdmin, session: DbSession,
           body: StateChange | None = None) -> dict[str, Any]:
    return _move(session, claim_id, "reject", principal, body.note if body else None)


@router.post("/records/{kind}")
async def import_records(kind: Literal["employment", "certificates", "assessment"], request: Request,
                         principal: SiteOrAdmin, session: DbSession, file: UploadFile = File(...)) -> dict[str, Any]:
    """Upload employment contracts, certificates or final assessment results (XLSX or CSV); all rows
    or none. A site key may only name its own classes."""
    data = await file.read()
    try:
        n = svc.import_records(session, request.app.state.settings, kind, file.filename or "upload.csv", data,
                               scope=principal.scope())
    except svc.ImportRejected as exc:
        raise _errors(exc) from None
    session.commit()
    return {"kind": kind, "imported": n}
