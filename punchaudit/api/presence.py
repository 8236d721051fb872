"""Presence API under /api/v1/presence: rosters, schedules, runs, classification and sign-in sheets.

A site key works on its own institution's classes only (another institution's class is 404);
inspectors read everything and may run presence; admins do everything. Thin: each endpoint calls
one function of `punchaudit.services.presence` with the caller's scope.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, HTTPException, Query, Request, Response, UploadFile, status
from pydantic import BaseModel, Field

from attendance.presence import Reason
from punchaudit.api.auth import AnyRole, DbSession, SiteOrAdmin
from punchaudit.services import presence as svc
from storage import presence as repo

router = APIRouter(prefix="/api/v1/presence", tags=["presence"])


class ScheduleBody(BaseModel):
    sessions: list[str] = Field(min_length=1, max_length=12, examples=[["08:30-11:30", "13:30-17:00"]])
    first: date | None = Field(None, alias="from")
    last: date | None = Field(None, alias="to")
    days: list[date] | None = None
    rest_weekdays: list[int] = []
    rest_days: list[date] = []
    holidays: list[date] = []
    rule: dict[str, Any] | None = None


class RunBody(BaseModel):
    class_codes: list[str] = []
    all: bool = False
    on_date: date | None = Field(None, alias="date")


def _http(exc: svc.PresenceError) -> HTTPException:
    if isinstance(exc, svc.NotFound):
        return HTTPException(status.HTTP_404_NOT_FOUND, str(exc))
    return HTTPException(422, str(exc))


@router.post("/roster")
def import_roster(request: Request, principal: SiteOrAdmin, session: DbSession,
                  file: Annotated[UploadFile, File(description="Roster .xlsx or .csv")]) -> dict[str, Any]:
    """Import a subsidy roster; all or nothing. 422 lists every bad row (never a clear resident ID)."""
    data = file.file.read()
    out = svc.import_roster(session, request.app.state.settings, data, file.filename or "", scope=principal.scope())
    if not out.ok:
        session.rollback()
        raise HTTPException(422, {"message": "nothing imported",
                                  "errors": [{"row": e.row_no, "field": e.field, "reason": e.reason} for e in out.errors]})
    session.commit()
    return {"rows": out.rows, "trainees_created": out.trainees_created, "enrollments_created": out.enrollments_created}


@router.put("/classes/{code}/schedule")
def set_schedule(code: str, body: ScheduleBody, request: Request, principal: SiteOrAdmin, session: DbSession) -> dict[str, Any]:
    """Set the class's training days, sessions (site time zone) and presence-rule overrides."""
    try:
        sch = svc.set_schedule(session, request.app.state.settings, code, sessions=body.sessions, first=body.first,
                               last=body.last, days=body.days, rest_weekdays=body.rest_weekdays, rest_days=body.rest_days,
                               holidays=body.holidays, rule=body.rule, scope=principal.scope())
    except svc.PresenceError as exc:
        raise _http(exc) from None
    session.commit()
    return sch.to_json()


@router.get("/classes/{code}/schedule")
def get_schedule(code: str, principal: AnyRole, session: DbSession) -> dict[str, Any]:
    try:
        cls = svc.class_by_code(session, code, principal.scope())
    except svc.PresenceError as exc:
        raise _http(exc) from None
    found = repo.load_schedules(session, [cls.id]).get(cls.id)
    if found is None:
        raise HTTPException(404, f"class {code} has no schedule")
    return {**found[0].to_json(), "rule": found[1]}


@router.post("/runs")
def run(body: RunBody, request: Request, principal: AnyRole, session: DbSession) -> dict[str, Any]:
    """Compute presence for the given classes, or all visible classes (`all: true`), optionally only
    those with a training day on `date`. A class whose inputs did not change keeps its latest run."""
    if not body.class_codes and not body.all:
        raise HTTPException(422, "give class_codes or all: true")
    try:
        runs, skipped = svc.run_presence(session, request.app.state.settings, body.class_codes or None,
                                         on_date=body.on_date, trigger="api", scope=principal.scope())
    except svc.PresenceError as exc:
        raise _http(exc) from None
    session.commit()
    return {"runs": [{**r.__dict__, "classification": r.classification} for r in runs], "skipped_without_schedule": skipped}


@router.get("/classification")
def classification(principal: AnyRole, session: DbSession) -> list[dict[str, Any]]:
    """Every visible class: has punch records, needs a sampling inspection, or not computed yet."""
    return [{**c.__dict__, "computed_at": c.computed_at.isoformat() if c.computed_at else None,
             "classification": c.classification} for c in svc.classification(session, principal.scope())]


@router.get("/classes/{code}/runs")
def list_runs(code: str, principal: AnyRole, session: DbSession) -> list[dict[str, Any]]:
    try:
        cls = svc.class_by_code(session, code, principal.scope())
    except svc.PresenceError as exc:
        raise _http(exc) from None
    return [{"id": r.id, "version": r.version, "computed_at": r.computed_at.isoformat(), "trigger": r.trigger,
             "has_records": r.has_records, "punch_count": r.punch_count, "coverage": r.coverage,
             "inputs_hash": r.inputs_hash} for r in repo.runs_of(session, cls.id)]


@router.get("/classes/{code}/runs/{version}")
def get_run(code: str, version: str, principal: AnyRole, session: DbSession) -> dict[str, Any]:
    """A run's matrix (`latest` or a version number): reason code and name per trainee and day."""
    try:
        v = svc.load_run(session, code, principal.scope(), None if version == "latest" else _int(version))
    except svc.PresenceError as exc:
        raise _http(exc) from None
    import json

    return {
        "class_code": v.class_code, "version": v.run.version, "computed_at": v.run.computed_at.isoformat(),
        "has_records": v.run.has_records, "rule": json.loads(v.run.rule_json), "days": [d.isoformat() for d in v.days],
        "sessions": v.sessions, "day_coverage": v.day_coverage,
        "sessions_without_records": json.loads(v.run.missing_sessions_json),
        "reasons": {int(r): r.name.lower() for r in Reason},
        "trainees": [{"trainee_id": int(t), "name": n, "id_masked": m, "pin": p,
                      "days_present": int((v.codes[i] <= Reason.LATE).sum()),
                      "codes": [int(c) for c in v.codes[i]], "reasons": [Reason(int(c)).name.lower() for c in v.codes[i]]}
                     for i, (t, n, m, p) in enumerate(zip(v.trainee_ids, v.names, v.masked_ids, v.pins))],
    }


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise HTTPException(422, "version must be a number or 'latest'") from None


@router.get("/classes/{code}/report")
def report(code: str, request: Request, principal: AnyRole, session: DbSession,
           format: Literal["xlsx", "csv"] = "xlsx", language: Literal["zh", "en"] | None = None,
           version: Annotated[int | None, Query(ge=1)] = None) -> Response:
    """The sign-in sheet (签到表) of the class's latest (or given) run."""
    try:
        data, name, media = svc.report(session, code, format, language or request.app.state.settings.language,
                                       principal.scope(), version)
    except svc.PresenceError as exc:
        raise _http(exc) from None
    return Response(data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
