"""ZKTeco PUSH (ADMS / iclock) endpoints, at the paths terminals are configured with.

Terminals authenticate by registered serial number (plus an optional per-device token in the query and
an IP allowlist). Every answer is plain text; `OK: <n>` is sent only after the batch is committed, so a
terminal whose push failed keeps its records and resends them.
"""
from __future__ import annotations

import logging

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from starlette.concurrency import run_in_threadpool

from devices import zkteco
from punchaudit.services import ingest, terminals
from punchaudit.services.ingest import DeviceRefused, PayloadRejected, Push

log = logging.getLogger("punchaudit.iclock")
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


async def _guarded(request: Request, body: bytes, handler) -> PlainTextResponse:  # type: ignore[no-untyped-def]
    push = _push(request, body)
    if not push.serial:
        return _text("missing SN\n", 400)
    try:
        return _text(await run_in_threadpool(handler, request.app, push))
    except DeviceRefused as exc:
        return _text(exc.reason + "\n", exc.status_code)
    except PayloadRejected as exc:
        return _text(f"rejected: {exc.reason}\n", 400)


def _device(app, push: Push) -> ingest.DeviceInfo:  # type: ignore[no-untyped-def]
    return ingest.authorize(app.state.engine, push, app.state.settings)


@router.get("/iclock/cdata", response_class=PlainTextResponse, summary="Handshake (options=all) or remote attendance")
@router.get("/iclock/cdata.aspx", include_in_schema=False)
async def cdata_get(request: Request) -> PlainTextResponse:
    def handle(app, push: Push) -> str:  # type: ignore[no-untyped-def]
        device = _device(app, push)
        q = request.query_params
        if q.get("options", "").lower() == "all":
            return terminals.zkteco_handshake(app.state.engine, app.state.settings, device, push,
                                              push_version=q.get("pushver"), language=q.get("language"))
        return "OK"

    return await _guarded(request, b"", handle)


@router.post("/iclock/cdata", response_class=PlainTextResponse, summary="Upload: ATTLOG, rtlog, OPERLOG, ATTPHOTO, options")
@router.post("/iclock/cdata.aspx", include_in_schema=False)
async def cdata_post(request: Request) -> PlainTextResponse:
    body = await request.body()

    def handle(app, push: Push) -> str:  # type: ignore[no-untyped-def]
        device = _device(app, push)
        return terminals.zkteco_upload(app.state.engine, app.state.settings, device, push)

    return await _guarded(request, body, handle)


@router.get("/iclock/getrequest", response_class=PlainTextResponse, summary="Poll for queued commands")
@router.get("/iclock/getrequest.aspx", include_in_schema=False)
async def getrequest(request: Request) -> PlainTextResponse:
    def handle(app, push: Push) -> str:  # type: ignore[no-untyped-def]
        device = _device(app, push)
        return terminals.zkteco_poll(app.state.engine, device, push, info=request.query_params.get("INFO"))

    return await _guarded(request, b"", handle)


@router.post("/iclock/devicecmd", response_class=PlainTextResponse, summary="Results of executed commands")
@router.post("/iclock/devicecmd.aspx", include_in_schema=False)
async def devicecmd(request: Request) -> PlainTextResponse:
    body = await request.body()

    def handle(app, push: Push) -> str:  # type: ignore[no-untyped-def]
        device = _device(app, push)
        return terminals.zkteco_command_results(app.state.engine, device, push)

    return await _guarded(request, body, handle)


@router.get("/iclock/ping", response_class=PlainTextResponse, summary="Heartbeat during long uploads")
@router.get("/iclock/ping.aspx", include_in_schema=False)
async def ping(request: Request) -> PlainTextResponse:
    def handle(app, push: Push) -> str:  # type: ignore[no-untyped-def]
        device = _device(app, push)
        terminals.touch(app.state.engine, device, push)
        return "OK"

    return await _guarded(request, b"", handle)


__all__ = ["router", "zkteco"]
