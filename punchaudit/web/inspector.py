"""The inspector's pages under /inspector: sign in with an inspector (or admin) key, the open
inspections, the review queue with the WebM clip of each sampled session, the verdict form and the
decision. Server-rendered HTML, Simplified Chinese by default (`?lang=en` for English).

Sign-in checks the key once and sets an HttpOnly, SameSite=Strict cookie holding the key's id, an
expiry and an HMAC under `secret_key` (never the key itself); every page and clip re-checks that the
key is not revoked. Forms carry a CSRF token derived from the cookie. No data without a session.
"""
from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from punchaudit.api.auth import DbSession, Principal, hash_key
from punchaudit.services import sampling as svc
from punchaudit.web import report
from punchaudit.web.i18n import labels
from punchaudit.web.templating import render
from storage import sampling as repo
from storage.schema.core import ApiKey, TrainingClass
from storage.schema.sampling import SamplingItem

router = APIRouter(prefix="/inspector", include_in_schema=False)
COOKIE = "pa_inspector"
SESSION_SECONDS = 8 * 3600


def _secret(request: Request) -> bytes:
    return request.app.state.settings.secret_key.encode()


def _sign(secret: bytes, payload: str) -> str:
    return hmac.new(secret, payload.encode(), hashlib.sha256).hexdigest()


def make_token(secret: bytes, key_id: int, now: float | None = None) -> str:
    payload = f"{key_id}.{int((now or time.time()) + SESSION_SECONDS)}"
    return f"{payload}.{_sign(secret, payload)}"


def csrf_for(secret: bytes, token: str) -> str:
    return _sign(secret, "csrf:" + token)[:32]


class NotSignedIn(Exception):
    pass


def _principal(request: Request, session: Session) -> tuple[Principal, str]:
    token = request.cookies.get(COOKIE, "")
    parts = token.split(".")
    if len(parts) != 3 or not hmac.compare_digest(parts[2], _sign(_secret(request), f"{parts[0]}.{parts[1]}")):
        raise NotSignedIn
    if not parts[1].isdigit() or int(parts[1]) < time.time() or not parts[0].isdigit():
        raise NotSignedIn
    key = session.get(ApiKey, int(parts[0]))
    if key is None or key.revoked_at is not None or key.role not in ("inspector", "admin"):
        raise NotSignedIn
    return Principal(key.id, key.name, key.role, key.institution_id), token


def inspector(request: Request, session: DbSession) -> tuple[Principal, str]:
    try:
        return _principal(request, session)
    except NotSignedIn:
        if request.method == "GET" and not request.url.path.startswith("/inspector/clips/"):
            raise HTTPException(status.HTTP_303_SEE_OTHER, headers={"Location": "/inspector/login"}) from None
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "sign in first") from None


Signed = Annotated[tuple[Principal, str], Depends(inspector)]


def _lang(request: Request, given: str | None = None) -> str:
    lang = given or request.query_params.get("lang") or request.app.state.settings.language
    return "en" if lang == "en" else "zh"


def _check_csrf(request: Request, token: str, csrf: str) -> None:
    if not hmac.compare_digest(csrf, csrf_for(_secret(request), token)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "stale form; reload the page")


def _page(name: str, request: Request, token: str | None, **ctx: object) -> HTMLResponse:
    lang = str(ctx.pop("lang", None) or _lang(request))
    csrf = csrf_for(_secret(request), token) if token else ""
    html = render(name, L=labels(lang), lang=lang, signed_in=token is not None, csrf=csrf, **ctx)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/login")
def login_form(request: Request) -> HTMLResponse:
    return _page("login.html", request, None)


@router.post("/login")
def login(request: Request, session: DbSession, key: Annotated[str, Form()], lang: Annotated[str, Form()] = "") -> Response:
    row = session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key.strip()), ApiKey.revoked_at.is_(None)))
    if row is None or row.role not in ("inspector", "admin"):
        return _page("login.html", request, None, lang=_lang(request, lang), error=labels(_lang(request, lang))["bad_key"])
    resp = RedirectResponse(f"/inspector/?lang={_lang(request, lang)}", status.HTTP_303_SEE_OTHER)
    resp.set_cookie(COOKIE, make_token(_secret(request), row.id), max_age=SESSION_SECONDS, httponly=True,
                    samesite="strict", path="/inspector", secure=request.url.scheme == "https")
    return resp


@router.post("/logout")
def logout(request: Request, who: Signed, csrf: Annotated[str, Form()]) -> Response:
    _check_csrf(request, who[1], csrf)
    resp = RedirectResponse("/inspector/login", status.HTTP_303_SEE_OTHER)
    resp.delete_cookie(COOKIE, path="/inspector")
    return resp


@router.get("/")
def index(request: Request, session: DbSession, who: Signed) -> HTMLResponse:
    rows = repo.list_inspections(session)
    codes = dict(session.execute(select(TrainingClass.id, TrainingClass.code)).tuples().all())
    view = [dict(id=r.id, class_code=codes.get(r.class_id, r.class_id), status=r.status, population_size=r.population_size,
                 sample_size=r.sample_size, opened_at=r.opened_at, decision=r.decision) for r in rows]
    return _page("index.html", request, who[1], rows=view)


def _inspection_page(request: Request, session: Session, token: str, inspection_id: int, *, flash: str | None = None,
                     error: str | None = None, lang: str | None = None) -> HTMLResponse:
    try:
        q = svc.queue(session, inspection_id)
    except svc.NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None
    return _page("inspection.html", request, token, q=q, row=q.inspection, plan=q.plan, ev=q.evaluation.to_json(),
                 flash=flash, error=error, lang=lang)


@router.get("/inspections/{inspection_id}")
def inspection(request: Request, session: DbSession, who: Signed, inspection_id: int) -> HTMLResponse:
    return _inspection_page(request, session, who[1], inspection_id)


@router.post("/inspections/{inspection_id}/items/{item_id}/verdict")
def verdict(
    request: Request, session: DbSession, who: Signed, inspection_id: int, item_id: int,
    csrf: Annotated[str, Form()], held: Annotated[str, Form()], head_count: Annotated[str, Form()] = "",
    footage_problem: Annotated[str, Form()] = "", notes: Annotated[str, Form()] = "", lang: Annotated[str, Form()] = "",
) -> HTMLResponse:
    principal, token = who
    _check_csrf(request, token, csrf)
    L = labels(_lang(request, lang))
    try:
        count = int(head_count) if head_count.strip() else None
        svc.record_verdict(session, inspection_id, item_id, inspector=principal.name, key_id=principal.key_id,
                           held_as_declared=held == "yes", head_count=count, notes=notes.strip() or None,
                           footage_problem=footage_problem or None)
        session.commit()
    except (svc.SamplingError, ValueError) as exc:
        session.rollback()
        return _inspection_page(request, session, token, inspection_id, error=str(exc), lang=_lang(request, lang))
    return _inspection_page(request, session, token, inspection_id, flash=L["verdict_saved"], lang=_lang(request, lang))


@router.post("/inspections/{inspection_id}/evaluate")
def evaluate(request: Request, session: DbSession, who: Signed, inspection_id: int, csrf: Annotated[str, Form()],
             lang: Annotated[str, Form()] = "") -> HTMLResponse:
    _check_csrf(request, who[1], csrf)
    ev = svc.evaluate_inspection(session, inspection_id, actor=who[0].name)
    session.commit()
    L = labels(_lang(request, lang))
    return _inspection_page(request, session, who[1], inspection_id, flash=f"{L['decision']}: {L[ev.decision]}",
                            lang=_lang(request, lang))


@router.post("/inspections/{inspection_id}/close")
def close(request: Request, session: DbSession, who: Signed, inspection_id: int, csrf: Annotated[str, Form()],
          lang: Annotated[str, Form()] = "") -> HTMLResponse:
    _check_csrf(request, who[1], csrf)
    try:
        svc.close_inspection(session, inspection_id, actor=who[0].name)
        session.commit()
    except svc.SamplingError as exc:
        session.rollback()
        return _inspection_page(request, session, who[1], inspection_id, error=str(exc), lang=_lang(request, lang))
    return _inspection_page(request, session, who[1], inspection_id, lang=_lang(request, lang))


@router.get("/clips/{item_id}")
def clip(session: DbSession, who: Signed, item_id: int) -> FileResponse:
    """The review clip; FileResponse answers Range requests, so the player can seek."""
    item = session.get(SamplingItem, item_id)
    if item is None or not item.clip_path or not Path(item.clip_path).is_file():
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no clip")
    return FileResponse(item.clip_path, media_type="video/webm", headers={"Cache-Control": "private, no-store"})


def _report_data(request: Request, session: Session, inspection_id: int) -> dict[str, object]:
    try:
        return report.report_data(session, inspection_id, _lang(request))
    except svc.NotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "not found") from None


@router.get("/inspections/{inspection_id}/report.html")
def report_html(request: Request, session: DbSession, who: Signed, inspection_id: int) -> HTMLResponse:
    return HTMLResponse(render("report.html", **_report_data(request, session, inspection_id)))


@router.get("/inspections/{inspection_id}/report.xlsx")
def report_xlsx(request: Request, session: DbSession, who: Signed, inspection_id: int) -> Response:
    return Response(report.xlsx_bytes(_report_data(request, session, inspection_id)), media_type=report.XLSX_TYPE,
                    headers={"Content-Disposition": f'attachment; filename="inspection-{inspection_id}.xlsx"'})
