"""Sampling inspections over HTTP: /api/v1/sampling (JSON) and the inspector's pages (/inspector).

Inspectors and admins plan, open, review, evaluate and close; a site key may only read its own
institution's inspections and decisions. Thin: every endpoint calls `punchaudit.services.sampling`.
"""
from __future__ import annotations

import json
from datetime import date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from punchaudit.api.auth import AnyRole, DbSession, InspectorOrAdmin, Principal
from punchaudit.services import sampling as svc
from punchaudit.web import inspector as web
from punchaudit.web import report
from punchaudit.web.templating import render
from storage import sampling as repo
from storage.sampling import PopulationSession
from storage.schema.core import TrainingClass

api = APIRouter(prefix="/api/v1/sampling", tags=["sampling"])


class SessionIn(BaseModel):
    day: date
    index: int = Field(ge=0)
    start_utc: datetime
    end_utc: datetime


class PlanIn(BaseModel):
    class_code: str
    method: Literal["hypergeometric", "binomial", "poisson", "iso2859"] | None = None
    confidence: str | None = Field(None, description="e.g. 0.95 (read as an exact decimal)")
    tolerable_rate: str | None = None
    acceptance: int | None = Field(None, ge=0)
    sessions: list[SessionIn] | None = Field(None, description="the population; default: sessions without punch records")


class OpenIn(PlanIn):
    seed: str | None = Field(None, max_length=200, description="given seed (public ceremony); default: generated")


class VerdictIn(BaseModel):
    held_as_declared: bool
    head_count: int | None = Field(None, ge=0, le=10000)
    footage_problem: Literal["missing", "unreadable", "altered"] | None = None
    notes: str | None = Field(None, max_length=2000)


def _errors(exc: svc.SamplingError) -> HTTPException:
    if isinstance(exc, svc.NotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    return HTTPException(422, str(exc))


def _class_id(session: DbSession, code: str, principal: Principal) -> int:
    try:
        cls = svc.class_by_code(session, code)
    except svc.NotFound as exc:
        raise _errors(exc) from None
    if not principal.can_see(cls.institution_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return cls.id


def _population(body: PlanIn) -> list[PopulationSession] | None:
    if body.sessions is None:
        return None
    return [PopulationSession(s.day, s.index, s.start_utc.replace(tzinfo=None), s.end_utc.replace(tzinfo=None))
            for s in body.sessions]


def _summary(session: DbSession, row: Any) -> dict[str, Any]:
    code = session.get(TrainingClass, row.class_id).code  # type: ignore[union-attr]
    return {
        "id": row.id, "class_code": code, "kind": row.kind, "status": row.status, "severity": row.severity,
        "population_size": row.population_size, "sample_size": row.sample_size, "acceptance": row.acceptance,
        "seed": row.seed, "seed_source": row.seed_source, "algorithm": row.algorithm,
        "population_hash": row.population_hash, "plan": json.loads(row.plan_json), "draw": json.loads(row.draw_json),
        "opened_by": row.opened_by, "opened_at": row.opened_at, "closed_at": row.closed_at, "decision": row.decision,
        "upper_bound": row.upper_bound, "hold_reference": row.hold_reference, "hold_error": row.hold_error,
    }


@api.post("/plan")
def plan(body: PlanIn, session: DbSession, who: InspectorOrAdmin, request: Request) -> dict[str, Any]:
    """The plan a class would get now (its institution's switching severity applied), not stored."""
    class_id = _class_id(session, body.class_code, who)
    try:
        p, pop, severity = svc.preview(session, request.app.state.settings, class_id, population=_population(body),
                                       method=body.method, confidence=body.confidence,
                                       tolerable_rate=body.tolerable_rate, acceptance=body.acceptance)
    except svc.SamplingError as exc:
        raise _errors(exc) from None
    return {"severity": severity, "plan": p.to_json()}


@api.post("/inspections", status_code=201)
def open_inspection(body: OpenIn, session: DbSession, who: InspectorOrAdmin, request: Request) -> dict[str, Any]:
    """Plan, draw and open an inspection; the class's footage is put on legal hold until it closes."""
    class_id = _class_id(session, body.class_code, who)
    try:
        row = svc.open_inspection(session, request.app.state.settings, class_id, actor=who.name, seed=body.seed,
                                  population=_population(body), method=body.method, confidence=body.confidence,
                                  tolerable_rate=body.tolerable_rate, acceptance=body.acceptance)
        session.commit()
    except svc.SamplingError as exc:
        session.rollback()
        raise _errors(exc) from None
    return _summary(session, row)


@api.get("/inspections")
def list_inspections(session: DbSession, who: AnyRole, status_: Annotated[str | None, Query(alias="status")] = None,
                     class_code: str | None = None) -> list[dict[str, Any]]:
    """Inspections (newest first); a site key sees only its own institution's."""
    class_id = _class_id(session, class_code, who) if class_code else None
    rows = repo.list_inspections(session, institution_id=who.scope(), class_id=class_id, status=status_)
    return [_summary(session, r) for r in rows]


def _visible(session: DbSession, who: Principal, inspection_id: int) -> Any:
    row = repo.get(session, inspection_id)
    if row is None or not who.can_see(row.institution_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found")
    return row


@api.get("/inspections/{inspection_id}")
def get_inspection(inspection_id: int, session: DbSession, who: AnyRole) -> dict[str, Any]:
    """One inspection with its current evaluation (site keys: their own classes' decisions)."""
    row = _visible(session, who, inspection_id)
    return {**_summary(session, row), "evaluation": svc.evaluation(session, row.id).to_json()}


@api.get("/inspections/{inspection_id}/queue")
def get_queue(inspection_id: int, session: DbSession, who: InspectorOrAdmin) -> dict[str, Any]:
    """Sampled sessions with windows, clips, pre-screen and verdicts so far; the roster (masked IDs)."""
    q = svc.queue(session, _visible(session, who, inspection_id).id)
    return {
        "inspection_id": inspection_id, "class_code": q.class_code, "roster": q.roster,
        "evaluation": q.evaluation.to_json(),
        "items": [{
            "id": qi.item.id, "session_key": qi.item.session_key, "day": qi.item.day, "session_index": qi.item.session_index,
            "stratum": qi.item.stratum, "window_start_utc": qi.item.window_start_utc,
            "window_end_utc": qi.item.window_end_utc, "clip_url": f"/inspector/clips/{qi.item.id}" if qi.item.clip_path else None,
            "clip_problem": qi.item.clip_problem, "prescreen": qi.prescreen, "presence": qi.presence,
            "verdicts": [{"id": v.id, "inspector": v.inspector, "at": v.at, "held_as_declared": v.held_as_declared,
                          "head_count": v.head_count, "footage_problem": v.footage_problem, "notes": v.notes}
                         for v in qi.verdicts],
        } for qi in q.items],
    }


@api.post("/inspections/{inspection_id}/items/{item_id}/verdicts", status_code=201)
def add_verdict(inspection_id: int, item_id: int, body: VerdictIn, session: DbSession, who: InspectorOrAdmin) -> dict[str, Any]:
    """Append a verdict; earlier verdicts (a second inspector's too) are kept beside it."""
    _visible(session, who, inspection_id)
    try:
        v = svc.record_verdict(session, inspection_id, item_id, inspector=who.name, key_id=who.key_id,
                               held_as_declared=body.held_as_declared, head_count=body.head_count,
                               footage_problem=body.footage_problem, notes=body.notes)
        session.commit()
    except svc.SamplingError as exc:
        session.rollback()
        raise _errors(exc) from None
    return {"id": v.id, "held_as_declared": v.held_as_declared, "at": v.at}


@api.post("/inspections/{inspection_id}/evaluate")
def evaluate(inspection_id: int, session: DbSession, who: InspectorOrAdmin) -> dict[str, Any]:
    """Record (append) the decision and the exact upper bound on bad sessions."""
    _visible(session, who, inspection_id)
    ev = svc.evaluate_inspection(session, inspection_id, actor=who.name)
    session.commit()
    return ev.to_json()


@api.post("/inspections/{inspection_id}/close")
def close(inspection_id: int, session: DbSession, who: InspectorOrAdmin) -> dict[str, Any]:
    """Close with a final decision; releases the legal hold and updates the switching state."""
    _visible(session, who, inspection_id)
    try:
        ev = svc.close_inspection(session, inspection_id, actor=who.name)
        session.commit()
    except svc.SamplingError as exc:
        session.rollback()
        raise _errors(exc) from None
    return ev.to_json()


@api.get("/inspections/{inspection_id}/verify-draw")
def verify_draw(inspection_id: int, session: DbSession, who: AnyRole) -> dict[str, Any]:
    """Redo the stored draw from population, plan and seed; `reproduced` must be true."""
    row = _visible(session, who, inspection_id)
    return {"inspection_id": row.id, "reproduced": svc.redraw_matches(session, row.id)}


@api.get("/inspections/{inspection_id}/report", response_model=None)
def get_report(inspection_id: int, session: DbSession, who: InspectorOrAdmin,
               format: Literal["html", "xlsx"] = "html", lang: Literal["zh", "en"] = "zh") -> Response:
    """The inspection report (Simplified Chinese by default)."""
    _visible(session, who, inspection_id)
    data = report.report_data(session, inspection_id, lang)
    if format == "html":
        return HTMLResponse(render("report.html", **data))
    return Response(report.xlsx_bytes(data), media_type=report.XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="inspection-{inspection_id}.xlsx"'})

router = APIRouter()
router.include_router(api)
router.include_router(web.router)
