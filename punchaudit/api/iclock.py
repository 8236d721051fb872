"""ZKTeco PUSH (ADMS / iclock) endpoints, at the paths terminals are configured with.

Terminals authenticate by registered serial number (plus an optional per-device token in the query and
an IP allowlist). Every answer is plain text; `OK: <n>` is sent only after the batch is committed, so a
terminal whose push failed keeps its records and resends them.
"""
from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

from punchaudit.config import Settings
from punchaudit.services import ingest, terminals
from punchaudit.services.ingest import DeviceRefused, PayloadRejected, Push

router = APIRouter(tags=["terminals: ZKTeco PUSH"], include_in_schema=True)


def _text(body: str, status: int = 200) -> PlainTextResponse:
    return PlainTextResponse(body, status_code=status, media_type="text/plain")


def _push(request: Request, body: bytes) -> Push:
    q = request.query_params
    return Push(
        source="zkteco", serial=(q.get("SN") or q.get("sn") or "").strip(), table=(q.get("table") or "").strip() or None,
        body=body, query=str(request.url.query)[:2000], content_type=request.headers.get("content-type"),
        remote_addr=request.client.host if request.client else None, token=q.get("token"),
    )


Action = Callable[[Engine, Settings, ingest.DeviceInfo, Push], str]


async def _answer(request: Request, action: Action, *, with_body: bool = False) -> PlainTextResponse:
    """Authenticate the terminal by serial (token, allowlist), run `action` off the event loop, and turn
    refusals into the plain-text statuses terminals understand."""
    push = _push(request, await request.body() if with_body else b"")
    if not push.serial:
        return _text("missing SN\n", 400)
    engine, settings = request.app.state.engine, request.app.state.settings

    def run() -> str:
        return action(engine, settings, ingest.authorize(engine, push, settings), push)

    try:
        return _text(await run_in_threadpool(run))
    except DeviceRefused as exc:
        return _text(exc.reason + "\n", exc.status_code)
    except PayloadRejected as exc:
        return _text(f"rejected: {exc.reason}\n", 400)


@router.get("/iclock/cdata", response_class=PlainTextResponse, summary="Handshake (options=all) or remote attendance")
@router.get("/iclock/cdata.aspx", include_in_schema=False)
async def cdata_get(request: Request) -> PlainTextResponse:
    q = request.query_params

    def action(engine: Engine, settings: Settings, device: ingest.DeviceInfo, push: Push) -> str:
        if q.get("options", "").lower() != "all":
            return "OK"
        return terminals.zkteco_handshake(engine, settings, device, push, push_version=q.get("pushver"),
                                          language=q.get("language"))

    return await _answer(request, action)


@router.post("/iclock/cdata", response_class=PlainTextResponse, summary="Upload: ATTLOG, rtlog, OPERLOG, ATTPHOTO, options")
@router.post("/iclock/cdata.aspx", include_in_schema=False)
async def cdata_post(request: Request) -> PlainTextResponse:
    return await _answer(request, terminals.zkteco_upload, with_body=True)


@router.get("/iclock/getrequest", response_class=PlainTextResponse, summary="Poll for queued commands")
@router.get("/iclock/getrequest.aspx", include_in_schema=False)
async def getrequest(request: Request) -> PlainTextResponse:
    info = request.query_params.get("INFO")
    return await _answer(request, lambda engine, _s, device, push: terminals.zkteco_poll(engine, device, push, info=info))


@router.post("/iclock/devicecmd", response_class=PlainTextResponse, summary="Results of executed commands")
@router.post("/iclock/devicecmd.aspx", include_in_schema=False)
async def devicecmd(request: Request) -> PlainTextResponse:
    return await _answer(request, lambda engine, _s, device, push: terminals.zkteco_command_results(engine, device, push),
                         with_body=True)


@router.get("/iclock/ping", response_class=PlainTextResponse, summary="Heartbeat during long uploads")
@router.get("/iclock/ping.aspx", include_in_schema=False)
async def ping(request: Request) -> PlainTextResponse:
    def action(engine: Engine, _s: Settings, device: ingest.DeviceInfo, push: Push) -> str:
        terminals.touch(engine, device, push)
        return "OK"

    return await _answer(request, action)
